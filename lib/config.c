/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <ctype.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>

#include "conf-files.h"
#include "config.h"
#include "macro.h"
#include "strv.h"
#include "sysctl-key.h"
#include "sysctl-type.h"

static const char * const guard_mode_table[_GUARD_MODE_MAX] = {
        [GUARD_MODE_ENFORCE] = "enforce",
        [GUARD_MODE_MONITOR] = "monitor",
};

const char *guard_mode_to_string(GuardMode m) {
        if (m < 0 || m >= _GUARD_MODE_MAX)
                return NULL;
        return guard_mode_table[m];
}

GuardMode guard_mode_from_string(const char *s) {
        for (int i = 0; i < _GUARD_MODE_MAX; i++)
                if (streq(guard_mode_table[i], s))
                        return (GuardMode) i;
        return _GUARD_MODE_INVALID;
}

static const char * const namespace_scope_table[_NAMESPACE_SCOPE_MAX] = {
        [NAMESPACE_SCOPE_HOST] = "host",
        [NAMESPACE_SCOPE_ALL] = "all",
};

const char *namespace_scope_to_string(NamespaceScope s) {
        if (s < 0 || s >= _NAMESPACE_SCOPE_MAX)
                return NULL;
        return namespace_scope_table[s];
}

NamespaceScope namespace_scope_from_string(const char *s) {
        for (int i = 0; i < _NAMESPACE_SCOPE_MAX; i++)
                if (streq(namespace_scope_table[i], s))
                        return (NamespaceScope) i;
        return _NAMESPACE_SCOPE_INVALID;
}

/* ---- errors ---- */

void config_errors_done(ConfigErrors *e) {
        for (size_t i = 0; i < e->n; i++)
                free(e->messages[i]);
        free(e->messages);
        *e = (ConfigErrors) {};
}

/* File names, keys and values come from whoever wrote the files: control characters are
 * written as \xNN, so that a message stays on one line and cannot drive a terminal. */
static char *escape_controls(const char *s) {
        size_t n = 0;
        char *r, *q;

        for (const char *p = s; *p; p++)
                n += ((unsigned char) *p < ' ' || *p == 0x7f) ? 4 : 1;
        r = malloc(n + 1);
        if (!r)
                return NULL;
        q = r;
        for (const char *p = s; *p; p++) {
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        q += sprintf(q, "\\x%02x", (unsigned) (unsigned char) *p);
                else
                        *q++ = *p;
        }
        *q = '\0';
        return r;
}

static int errors_add(ConfigErrors *e, const char *file, unsigned line, const char *fmt, ...)
        _printf_(4, 5);

static int errors_add(ConfigErrors *e, const char *file, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL, *raw = NULL;
        char *m, **n;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;

        if (line > 0)
                k = asprintf(&raw, "%s:%u: %s", file, line, what);
        else
                k = asprintf(&raw, "%s: %s", file, what);
        if (k < 0)
                return -ENOMEM;
        m = escape_controls(raw);
        if (!m)
                return -ENOMEM;

        n = reallocarray(e->messages, e->n + 1, sizeof(char *));
        if (!n) {
                free(m);
                return -ENOMEM;
        }
        e->messages = n;
        e->messages[e->n++] = m;
        return 0;
}

/* ---- [Sysctl] settings ---- */

static void sysctl_setting_done(SysctlSetting *s) {
        free(s->path);
        free(s->value);
        free(s->origin);
}

const SysctlSetting *config_find_sysctl(const Config *c, const char *path) {
        for (size_t i = 0; i < c->n_sysctls; i++)
                if (streq(c->sysctls[i].path, path))
                        return &c->sysctls[i];
        return NULL;
}

static int replace_str(char **p, const char *v) {
        char *n = strdup(v);

        if (!n)
                return -ENOMEM;
        free(*p);
        *p = n;
        return 0;
}

int config_set_sysctl(Config *c, const char *path, const char *value, const char *origin) {
        SysctlSetting *s = (SysctlSetting *) config_find_sysctl(c, path), *n;

        if (s) {
                /* The last assignment wins; it takes the place of the first in the order. */
                if (replace_str(&s->value, value) < 0 || replace_str(&s->origin, origin) < 0)
                        return -ENOMEM;
                return 0;
        }

        n = reallocarray(c->sysctls, c->n_sysctls + 1, sizeof(SysctlSetting));
        if (!n)
                return -ENOMEM;
        c->sysctls = n;
        s = &c->sysctls[c->n_sysctls];
        *s = (SysctlSetting) {
                .path = strdup(path),
                .value = strdup(value),
                .origin = strdup(origin),
        };
        if (!s->path || !s->value || !s->origin) {
                sysctl_setting_done(s);
                return -ENOMEM;
        }
        c->n_sysctls++;
        return 0;
}

/* ---- value parsers: 0, or -EINVAL/-ERANGE with a message written to why ---- */

static int why_set(char **why, const char *fmt, ...) _printf_(2, 3);
static int why_set(char **why, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(why, fmt, ap) < 0)
                *why = NULL;
        va_end(ap);
        return *why ? -EINVAL : -ENOMEM;
}

static int parse_span_in(const char *v, usec_t min, usec_t max, usec_t *ret, const char *key,
                         char **why) {
        char a[FORMAT_TIMESPAN_MAX], b[FORMAT_TIMESPAN_MAX];
        usec_t t;
        int r;

        r = parse_sec(v, &t);
        if (r == -EINVAL)
                return why_set(why, "%s= has an invalid time span '%s' (write e.g. 200ms, 1s, 10min)",
                               key, v);
        if (r < 0 || t < min || t > max)
                return why_set(why, "%s=%s is out of range (%s..%s)", key, v,
                               format_timespan(a, sizeof(a), min), format_timespan(b, sizeof(b), max));
        *ret = t;
        return 0;
}

static int parse_unsigned_in(const char *v, unsigned min, unsigned max, unsigned *ret,
                             const char *key, char **why) {
        unsigned u;
        int r;

        r = parse_unsigned(v, &u);
        if (r == -EINVAL)
                return why_set(why, "%s= has an invalid number '%s'", key, v);
        if (r < 0 || u < min || u > max)
                return why_set(why, "%s=%s is out of range (%u..%u)", key, v, min, max);
        *ret = u;
        return 0;
}

static int parse_mode(const char *v, const char *key, GuardMode *ret, char **why) {
        GuardMode m = guard_mode_from_string(v);

        if (m < 0)
                return why_set(why, "%s= must be 'enforce' or 'monitor', not '%s'", key, v);
        *ret = m;
        return 0;
}

static int parse_scope(const char *v, const char *key, NamespaceScope *ret, char **why) {
        NamespaceScope n = namespace_scope_from_string(v);

        if (n < 0)
                return why_set(why, "%s= must be 'host' or 'all', not '%s'", key, v);
        *ret = n;
        return 0;
}

static int parse_bool(const char *v, const char *key, bool *ret, char **why) {
        int r = parse_boolean(v);

        if (r < 0)
                return why_set(why, "%s= must be a boolean, not '%s'", key, v);
        *ret = r;
        return 0;
}

static int parse_budget(const char *v, const char *key, TableBudget *ret, char **why) {
        TableBudget b;
        int r;

        r = table_budget_parse(v, &b);
        if (r == -ERANGE)
                return why_set(why, "%s=%s is out of range (1%%..100%%)", key, v);
        if (r < 0)
                return why_set(why, "%s= must be a size (512M, 2G) or a percentage of MemTotal "
                               "(5%%), not '%s'", key, v);
        *ret = b;
        return 0;
}

static bool valid_module_name(const char *n) {
        size_t l = strlen(n);

        /* MODULE_NAME_LEN is 64 including the terminator; names are [A-Za-z0-9_-]. */
        if (l == 0 || l > 55)
                return false;
        for (const char *p = n; *p; p++)
                if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-')
                        return false;
        return true;
}

static int parse_modules(const char *v, const char *key, size_t max, char ***ret, char **why) {
        _cleanup_strv_free_ char **l = NULL, **dedup = NULL;
        int r;

        r = strv_split_whitespace(v, &l);
        if (r < 0)
                return r;
        if (strv_length(l) > max)
                return why_set(why, "%s= lists %zu modules, at most %zu are allowed", key,
                               strv_length(l), max);

        r = strv_split_whitespace("", &dedup);
        if (r < 0)
                return r;
        STRV_FOREACH(m, l) {
                if (!valid_module_name(*m))
                        return why_set(why, "%s= has an invalid module name '%s'", key, *m);
                /* The kernel treats '-' and '_' in module names alike. */
                for (char *p = *m; *p; p++)
                        if (*p == '-')
                                *p = '_';
                if (strv_contains(dedup, *m))
                        return why_set(why, "%s= lists module '%s' twice", key, *m);
                r = strv_extend(&dedup, *m);
                if (r < 0)
                        return r;
        }

        strv_free(*ret);
        *ret = TAKE_PTR(dedup);
        return 0;
}

/* An absolute, normalised directory, or empty to disable. */
static int parse_path(const char *v, const char *key, char **ret, char **why) {
        char *d;
        bool ok = v[0] == '\0' || v[0] == '/';

        for (const char *p = v; ok && *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        ok = false;
        if (ok && v[0] && (strstr(v, "//") || strstr(v, "/./") || strstr(v, "/../") ||
                           (strlen(v) >= 2 && streq(v + strlen(v) - 2, "/.")) ||
                           (strlen(v) >= 3 && streq(v + strlen(v) - 3, "/..")) ||
                           (strlen(v) > 1 && v[strlen(v) - 1] == '/')))
                ok = false;
        if (!ok)
                return why_set(why, "%s= must be an absolute, normalised path or empty, not '%s'",
                               key, v);
        d = strdup(v);
        if (!d)
                return -ENOMEM;
        free(*ret);
        *ret = d;
        return 0;
}

/* One assignment of [Sysctl]: name is the key as written. */
static int parse_sysctl(Config *c, const char *name, const char *value, const char *origin,
                        char **why) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sysctl_key_normalize(name, &path);
        if (r == -EINVAL)
                return why_set(why, "'%s' is not a valid sysctl key (lower-case a-z, 0-9, '_', "
                               "'-', separated by '.' or '/', no empty, '.' or '..' components)",
                               name);
        if (r == -EPERM)
                return why_set(why, "sysctl '%s' is not on the allow-list (%s)", name,
                               sysctl_allow_list_text);
        if (r < 0)
                return r;
        if (*value == '\0')
                return why_set(why, "sysctl '%s' has an empty value", name);
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < ' ' && *p != '\t')
                        return why_set(why, "sysctl '%s' has a control character in its value",
                                       name);
        r = sysctl_type_check(sysctl_type_of(path), value);
        if (r < 0)
                return why_set(why, "sysctl '%s' takes %s, not '%s'%s", name,
                               sysctl_type_to_string(sysctl_type_of(path)), value,
                               r == -ERANGE ? " (out of range)" : "");
        if (!config_find_sysctl(c, path) && c->n_sysctls >= CONFIG_SYSCTLS_MAX)
                return why_set(why, "too many sysctl assignments (at most %u)", CONFIG_SYSCTLS_MAX);
        r = config_set_sysctl(c, path, value, origin);
        if (r < 0)
                return r;
        c->sysctl_snapshot = false;
        return 0;
}

static void *item_field(const ConfigItem *it, Config *c) {
        return (uint8_t *) c + it->offset;
}

static const void *item_field_const(const ConfigItem *it, const Config *c) {
        return (const uint8_t *) c + it->offset;
}

/* Reads value into the row's field. name is the key as written (for [Sysctl]), origin where
 * the value comes from (NULL for a default). Returns 0; or a negative errno with why set for a
 * bad value, without why when out of memory. */
static int item_parse(const ConfigItem *it, Config *c, const char *name, const char *value,
                      const char *origin, char **why) {
        void *p = item_field(it, c);

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                return parse_mode(value, it->name, p, why);
        case CONFIG_TYPE_SCOPE:
                return parse_scope(value, it->name, p, why);
        case CONFIG_TYPE_SPAN:
                return parse_span_in(value, it->min, it->max, p, it->name, why);
        case CONFIG_TYPE_UNSIGNED:
                return parse_unsigned_in(value, (unsigned) it->min, (unsigned) it->max, p,
                                         it->name, why);
        case CONFIG_TYPE_BOOLEAN:
                return parse_bool(value, it->name, p, why);
        case CONFIG_TYPE_BUDGET:
                return parse_budget(value, it->name, p, why);
        case CONFIG_TYPE_MODULES:
                return parse_modules(value, it->name, it->max, p, why);
        case CONFIG_TYPE_PATH:
                return parse_path(value, it->name, p, why);
        case CONFIG_TYPE_SYSCTL:
                return parse_sysctl(c, name, value, origin ?: "default", why);
        }
        return -EINVAL;
}

/* Gives the row its built-in default. */
static int item_set_default(const ConfigItem *it, Config *c) {
        _cleanup_free_ char *why = NULL;
        int r;

        switch (it->type) {
        case CONFIG_TYPE_SYSCTL:
                /* Nothing assigned: every followable key is followed. */
                c->sysctl_snapshot = true;
                return 0;
        case CONFIG_TYPE_MODE:
        case CONFIG_TYPE_SCOPE:
        case CONFIG_TYPE_SPAN:
        case CONFIG_TYPE_UNSIGNED:
        case CONFIG_TYPE_BOOLEAN:
        case CONFIG_TYPE_BUDGET:
        case CONFIG_TYPE_MODULES:
        case CONFIG_TYPE_PATH:
                break;
        }
        /* test-config checks that every default parses: failing here is running out of memory. */
        r = item_parse(it, c, it->name, it->def, NULL, &why);
        return r < 0 ? -ENOMEM : 0;
}

static void item_free(const ConfigItem *it, Config *c) {
        void *p = item_field(it, c);

        switch (it->type) {
        case CONFIG_TYPE_MODE:
        case CONFIG_TYPE_SCOPE:
        case CONFIG_TYPE_SPAN:
        case CONFIG_TYPE_UNSIGNED:
        case CONFIG_TYPE_BOOLEAN:
        case CONFIG_TYPE_BUDGET:
                return;
        case CONFIG_TYPE_MODULES:
                strv_free(*(char ***) p);
                return;
        case CONFIG_TYPE_PATH:
                free(*(char **) p);
                return;
        case CONFIG_TYPE_SYSCTL:
                for (size_t i = 0; i < c->n_sysctls; i++)
                        sysctl_setting_done(&c->sysctls[i]);
                free(c->sysctls);
                return;
        }
}

/* ---- the keys: one row each ---- */

/* A row's C type is checked against its field, and its place against its ConfigKey: a row that
 * is missing, out of order or of the wrong type does not compile. */
#define CHECK_(cond, msg) (0 * sizeof(struct { _Static_assert(cond, msg); char c_; }))
#define FIELD_(field, ctype)                                                                  \
        (offsetof(Config, field) +                                                             \
         CHECK_(__builtin_types_compatible_p(__typeof__(((Config *) NULL)->field), ctype),      \
                "Config." #field " is not " #ctype))
#define ROW_(k, t, ctype, sect, nm, field, d, lo, hi, a, h)                                   \
        {                                                                                     \
                .key = (k) + CHECK_((k) == __COUNTER__ - CONFIG_ROW_FIRST,                     \
                                    #k " is not in its place in config_items[]"),              \
                .section = (sect),                                                            \
                .name = (nm),                                                                 \
                .type = (t),                                                                  \
                .offset = FIELD_(field, ctype),                                               \
                .def = (d),                                                                   \
                .min = (lo),                                                                  \
                .max = (hi),                                                                  \
                .also = (a),                                                                  \
                .help = (h),                                                                  \
        }
/* One per type: the C type of the field, and which of default, range and rule apply. */
#define ROW_MODE(k, s, n, f, d, h) \
        ROW_(k, CONFIG_TYPE_MODE, GuardMode, s, n, f, d, 0, 0, NULL, h)
#define ROW_SCOPE(k, s, n, f, d, h) \
        ROW_(k, CONFIG_TYPE_SCOPE, NamespaceScope, s, n, f, d, 0, 0, NULL, h)
#define ROW_SPAN(k, s, n, f, d, lo, hi, a, h) \
        ROW_(k, CONFIG_TYPE_SPAN, usec_t, s, n, f, d, lo, hi, a, h)
#define ROW_UNSIGNED(k, s, n, f, d, lo, hi, a, h) \
        ROW_(k, CONFIG_TYPE_UNSIGNED, unsigned, s, n, f, d, lo, hi, a, h)
#define ROW_BOOLEAN(k, s, n, f, d, h) \
        ROW_(k, CONFIG_TYPE_BOOLEAN, bool, s, n, f, d, 0, 0, NULL, h)
#define ROW_BUDGET(k, s, n, f, d, h) \
        ROW_(k, CONFIG_TYPE_BUDGET, TableBudget, s, n, f, d, 0, 0, NULL, h)
#define ROW_MODULES(k, s, n, f, d, hi, h) \
        ROW_(k, CONFIG_TYPE_MODULES, char **, s, n, f, d, 0, hi, NULL, h)
#define ROW_PATH(k, s, n, f, d, h) \
        ROW_(k, CONFIG_TYPE_PATH, char *, s, n, f, d, 0, 0, NULL, h)
#define ROW_SYSCTL(k, s, f, h) \
        ROW_(k, CONFIG_TYPE_SYSCTL, SysctlSetting *, s, NULL, f, NULL, 0, 0, NULL, h)

enum { CONFIG_ROW_FIRST = __COUNTER__ + 1 };

/* Sections appear in the order of their first row: config_dump() writes them so. */
const ConfigItem config_items[] = {
        ROW_MODE(CONFIG_GUARD_MODE, "Guard", "Mode", mode, "enforce",
                 "Heal (reload modules, restore sysctls), or only report what would be done"),
        ROW_SPAN(CONFIG_GUARD_POLL_INTERVAL, "Guard", "PollIntervalSec", poll_interval, "1s",
                 CONFIG_POLL_MIN, CONFIG_POLL_MAX, NULL,
                 "How often sysctls and the conntrack count are checked"),
        ROW_MODULES(CONFIG_MODULES_ENSURE, "Modules", "Ensure", ensure,
                    "nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat", CONFIG_ENSURE_MAX,
                    "Modules kept loaded, in load order; empty guards none"),
        ROW_UNSIGNED(CONFIG_MODULES_RELOAD_BURST, "Modules", "ReloadBurst", reload_burst, "5",
                     CONFIG_RELOAD_BURST_MIN, CONFIG_RELOAD_BURST_MAX, NULL,
                     "At most this many chain reloads within ReloadIntervalSec="),
        ROW_SPAN(CONFIG_MODULES_RELOAD_INTERVAL, "Modules", "ReloadIntervalSec", reload_interval,
                 "10min", CONFIG_RELOAD_INTERVAL_MIN, CONFIG_RELOAD_INTERVAL_MAX, NULL,
                 "The window of ReloadBurst=; beyond it ctguard stops healing and raises an alert"),
        ROW_SYSCTL(CONFIG_SYSCTL, "Sysctl", sysctls,
                   "Sysctls to keep at a value, dotted or slashed as in sysctl.d(5)"),
        ROW_UNSIGNED(CONFIG_CONNTRACK_WARN_PERCENT, "Conntrack", "WarnPercent", warn_percent, "80",
                     CONFIG_PERCENT_MIN, CONFIG_PERCENT_MAX, NULL,
                     "Warn when the table is this full, in percent of nf_conntrack_max"),
        ROW_UNSIGNED(CONFIG_CONNTRACK_CRIT_PERCENT, "Conntrack", "CritPercent", crit_percent, "95",
                     CONFIG_PERCENT_MIN, CONFIG_PERCENT_MAX, "above WarnPercent=",
                     "Raise a critical alert when the table is this full"),
        ROW_SPAN(CONFIG_CONNTRACK_FAST_POLL_INTERVAL, "Conntrack", "FastPollIntervalSec",
                 fast_poll_interval, "200ms", CONFIG_POLL_MIN, CONFIG_POLL_MAX,
                 "at most PollIntervalSec=", "Poll interval while the table is above WarnPercent="),
        ROW_UNSIGNED(CONFIG_CONNTRACK_TOP_TALKERS, "Conntrack", "TopTalkers", top_talkers, "10",
                     0, CONFIG_TOP_TALKERS_MAX, NULL,
                     "How many top sources, destinations, ports and states alerts name; 0: no "
                     "table dumps"),
        ROW_BOOLEAN(CONFIG_CONNTRACK_AUTO_RAISE, "Conntrack", "AutoRaise", auto_raise, "no",
                    "Raise nf_conntrack_max and the hash size when the table fills, within "
                    "MemoryBudget="),
        ROW_BUDGET(CONFIG_CONNTRACK_MEMORY_BUDGET, "Conntrack", "MemoryBudget", memory_budget, "5%",
                   "What the table may cost"),
        ROW_SPAN(CONFIG_CONNTRACK_RAISE_INTERVAL, "Conntrack", "RaiseIntervalSec", raise_interval,
                 "1min", CONFIG_RAISE_INTERVAL_MIN, CONFIG_RAISE_INTERVAL_MAX, NULL,
                 "At most one raise in this interval; a hash resize rehashes every entry"),
        ROW_SCOPE(CONFIG_CONNTRACK_NAMESPACES, "Conntrack", "Namespaces", namespaces, "host",
                  "Watch the host's table alone, or every network namespace's table too, each "
                  "against nf_conntrack_max"),
        ROW_SPAN(CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL, "Conntrack", "NamespaceScanIntervalSec",
                 namespace_scan_interval, "10s", CONFIG_NAMESPACE_SCAN_MIN,
                 CONFIG_NAMESPACE_SCAN_MAX, NULL,
                 "With Namespaces=all, how often to look for namespaces that appeared or went"),
        ROW_PATH(CONFIG_METRICS_TEXTFILE_DIRECTORY, "Metrics", "TextfileDirectory",
                 textfile_directory, "/var/lib/prometheus/node-exporter",
                 "The node_exporter textfile directory the daemon writes ctguard.prom to"),
        ROW_UNSIGNED(CONFIG_METRICS_TOP_NAMESPACES, "Metrics", "TopNamespaces", top_namespaces,
                     "10", 0, CONFIG_TOP_NAMESPACES_MAX, NULL,
                     "With Namespaces=all, how many of the fullest namespaces get metrics series "
                     "of their own; the rest are summed"),
};
_Static_assert(ELEMENTSOF(config_items) == _CONFIG_KEY_MAX, "one row per ConfigKey");

/* ---- the configuration object ---- */

Config *config_new(void) {
        _cleanup_(config_freep) Config *c = NULL;

        c = calloc(1, sizeof(Config));
        if (!c)
                return NULL;
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++)
                if (item_set_default(&config_items[k], c) < 0)
                        return NULL;
        if (strv_split_whitespace("", &c->files) < 0)
                return NULL;
        return TAKE_PTR(c);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++) {
                item_free(&config_items[k], c);
                free(c->origins[k]);
        }
        strv_free(c->files);
        free(c);
        return NULL;
}

/* ---- reading one file ---- */

typedef enum SectionState {
        SECTION_NONE,           /* no section header yet */
        SECTION_KNOWN,
        SECTION_BAD,            /* unknown or malformed: reported once, its keys are skipped */
} SectionState;

typedef struct ParseContext {
        Config *config;
        ConfigErrors *errors;
        const char *name;
        const char *text, *end, *pos;
        unsigned line;
        unsigned pending_line;  /* an assignment handed to inih that has not reached handler() */
        SectionState section;
        int oom;
} ParseContext;

static void ctx_error_at(ParseContext *ctx, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void ctx_error_at(ParseContext *ctx, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0 || errors_add(ctx->errors, ctx->name, line, "%s", m) < 0)
                ctx->oom = -ENOMEM;
}

#define ctx_error(ctx, ...) ctx_error_at((ctx), (ctx)->line, __VA_ARGS__)

static bool known_section(const char *s, size_t n) {
        for (size_t k = 0; k < _CONFIG_KEY_MAX; k++)
                if (strlen(config_items[k].section) == n && strneq(config_items[k].section, s, n))
                        return true;
        return false;
}

/* inih's notion of white space (isspace() in the C locale). */
static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Checks one line (already without its line ending and a BOM, not indented, no NUL) and returns
 * false if inih must not see it. inih would otherwise guess: read "Key:value" as an assignment,
 * end the key at an inline comment ("Key ;x=y") and then drop the line without a word. */
static bool line_acceptable(ParseContext *ctx, char *l, size_t n) {
        bool was_space = false;
        size_t i;

        if (l[0] == '[') {
                char *close = memchr(l, ']', n);
                size_t rest;

                if (!close) {
                        ctx_error(ctx, "malformed section header, expected [Section]");
                        ctx->section = SECTION_BAD;
                        return false;
                }
                rest = strspn(close + 1, " \t");
                if (close[1 + rest] != '\0' && close[1 + rest] != '#' && close[1 + rest] != ';') {
                        ctx_error(ctx, "trailing text after section header");
                        ctx->section = SECTION_BAD;
                        return false;
                }
                if (!known_section(l + 1, (size_t) (close - l - 1))) {
                        ctx_error(ctx, "unknown section [%.*s] (known: [Guard], [Modules], "
                                  "[Sysctl], [Conntrack])", (int) (close - l - 1), l + 1);
                        ctx->section = SECTION_BAD;
                        return false;
                }
                ctx->section = SECTION_KNOWN;
                return true;
        }

        /* The key ends where inih ends it: at '=' or ':', or at a ';' after white space. */
        for (i = 0; i < n; i++) {
                if (l[i] == '=' || l[i] == ':' || (was_space && l[i] == ';'))
                        break;
                was_space = is_space(l[i]);
        }
        if (i >= n || l[i] != '=') {
                ctx_error(ctx, "malformed line, expected KEY=VALUE");
                return false;
        }
        if (i == 0) {
                ctx_error(ctx, "assignment without a key");
                return false;
        }
        if (ctx->section == SECTION_NONE) {
                ctx_error(ctx, "assignment outside of a section");
                return false;
        }
        if (ctx->section != SECTION_KNOWN)
                return false;

        ctx->pending_line = ctx->line;
        return true;
}

/* Every assignment handed to inih must reach handler(); one that did not was dropped by inih
 * and must not pass silently. */
static void check_pending(ParseContext *ctx) {
        if (ctx->pending_line == 0)
                return;
        ctx_error_at(ctx, ctx->pending_line, "malformed line, expected KEY=VALUE");
        ctx->pending_line = 0;
}

/* An inih reader over the in-memory text, one line per call; it counts lines so that every
 * error carries FILE:LINE. Only section headers and assignments reach inih. */
static char *reader(char *str, int num, void *stream) {
        ParseContext *ctx = stream;
        const char *nl, *p;
        size_t n, skip;

        check_pending(ctx);

        for (;;) {
                if (ctx->pos >= ctx->end)
                        return NULL;

                p = ctx->pos;
                nl = memchr(p, '\n', (size_t) (ctx->end - p));
                n = nl ? (size_t) (nl - p) : (size_t) (ctx->end - p);
                ctx->pos = nl ? nl + 1 : ctx->end;
                ctx->line++;

                if (n > 0 && p[n - 1] == '\r')
                        n--;
                if (ctx->line == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
                        p += 3;
                        n -= 3;
                }

                if (memchr(p, '\0', n)) {
                        ctx_error(ctx, "line contains a NUL byte");
                        continue;
                }
                if (n >= (size_t) num || n > CONFIG_LINE_MAX) {
                        ctx_error(ctx, "line too long (more than %u characters)", CONFIG_LINE_MAX);
                        /* A truncated key line would be misread; the section a long header
                         * names is unknown, so its keys are skipped too. */
                        if (p[0] == '[')
                                ctx->section = SECTION_BAD;
                        continue;
                }

                skip = 0;
                while (skip < n && is_space(p[skip]))
                        skip++;
                if (skip == n || p[skip] == '#' || p[skip] == ';')
                        continue;       /* blank line or comment */
                if (skip > 0) {
                        /* inih would take an indented line as the continuation of the previous
                         * value; ctguard has no continuation lines, and guessing is worse. */
                        ctx_error(ctx, "line starts with white space (continuation lines are "
                                  "not supported)");
                        if (p[skip] == '[')
                                ctx->section = SECTION_BAD;
                        continue;
                }

                memcpy(str, p, n);
                str[n] = '\0';
                if (!line_acceptable(ctx, str, n))
                        continue;
                return str;
        }
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        ParseContext *ctx = user;
        _cleanup_free_ char *why = NULL, *origin = NULL;

        ctx->pending_line = 0;
        if (ctx->section != SECTION_KNOWN)
                return 1;

        if (asprintf(&origin, "%s:%u", ctx->name, ctx->line) < 0) {
                ctx->oom = -ENOMEM;
                return 1;
        }

        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                const ConfigItem *it = &config_items[k];
                int r;

                if (!streq(it->section, section) || (it->name && !streq(it->name, name)))
                        continue;

                r = item_parse(it, ctx->config, name, value, origin, &why);
                if (r < 0 && !why) {
                        ctx->oom = r;
                        return 1;
                }
                if (r < 0) {
                        ctx_error(ctx, "%s", why);
                        return 1;
                }
                /* A [Sysctl] assignment keeps its origin with its value. */
                if (it->name) {
                        free(ctx->config->origins[k]);
                        ctx->config->origins[k] = TAKE_PTR(origin);
                }
                return 1;
        }

        ctx_error(ctx, "unknown key '%s' in section [%s]", name, section);
        return 1;
}

int config_parse_text(Config *c, const char *name, const char *text, size_t size,
                      ConfigErrors *errors) {
        ParseContext ctx = {
                .config = c,
                .errors = errors,
                .name = name,
                .text = text,
                .pos = text,
                .end = text + size,
        };
        size_t before = errors->n;

        /* inih's own verdict is not needed: every line it could object to is refused (and
         * reported with its line number) before inih sees it, or caught by check_pending(). */
        (void) ini_parse_stream(reader, &ctx, handler, &ctx);
        check_pending(&ctx);
        if (ctx.oom < 0)
                return ctx.oom;
        return errors->n > before ? -EINVAL : 0;
}

/* Every cross-key rule is checked, so that one run reports all of them. */
int config_validate(Config *c, ConfigErrors *errors) {
        const char *o;
        int r = 0;

        if (c->warn_percent >= c->crit_percent) {
                o = c->origins[CONFIG_CONNTRACK_CRIT_PERCENT] ?: c->origins[CONFIG_CONNTRACK_WARN_PERCENT];
                if (errors_add(errors, o ?: "configuration", 0,
                               "WarnPercent=%u must be below CritPercent=%u",
                               c->warn_percent, c->crit_percent) < 0)
                        return -ENOMEM;
                r = -EINVAL;
        }
        if (c->fast_poll_interval > c->poll_interval) {
                char a[FORMAT_TIMESPAN_MAX], b[FORMAT_TIMESPAN_MAX];

                o = c->origins[CONFIG_CONNTRACK_FAST_POLL_INTERVAL] ?: c->origins[CONFIG_GUARD_POLL_INTERVAL];
                if (errors_add(errors, o ?: "configuration", 0,
                               "FastPollIntervalSec=%s must not be longer than PollIntervalSec=%s",
                               format_timespan(a, sizeof(a), c->fast_poll_interval),
                               format_timespan(b, sizeof(b), c->poll_interval)) < 0)
                        return -ENOMEM;
                r = -EINVAL;
        }
        return r;
}

static const char *conf_error_text(int e) {
        switch (e) {
        case -EPERM:
                return "refused: not owned by root";
        case -EACCES:
                return "refused: writable by group or others";
        case -EFBIG:
                return "refused: larger than 1 MiB";
        case -EBADFD:
                return "refused: not a regular file";
        default:
                return NULL;
        }
}

int config_load(const char *root, const char *main_override, Config **ret, ConfigErrors *errors) {
        _cleanup_(conf_file_list_done) ConfFileList files = {};
        _cleanup_(config_freep) Config *c = NULL;
        size_t before = errors->n;
        int r;

        c = config_new();
        if (!c)
                return -ENOMEM;

        r = conf_files_list(root, main_override, &files);
        if (r < 0)
                return r;

        for (size_t i = 0; i < files.n; i++) {
                _cleanup_free_ char *data = NULL;
                const char *why;
                size_t size;
                int k = files.items[i].error;

                if (k == 0) {
                        _cleanup_free_ char *dir = NULL;

                        k = conf_parents_trust_check(files.items[i].path, &dir);
                        if (k == -ENOMEM)
                                return k;
                        if (dir) {
                                r = errors_add(errors, files.items[i].path, 0,
                                               "refused: directory %s is %s", dir,
                                               k == -EPERM ? "not owned by root" :
                                                             "writable by group or others");
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        /* A file that cannot be resolved is reported by the read below. */
                        k = conf_file_read(files.items[i].path, CONFIG_FILE_SIZE_MAX, &data, &size);
                }
                if (k == -ENOMEM)
                        return k;
                if (k < 0) {
                        why = conf_error_text(k);
                        if (why)
                                r = errors_add(errors, files.items[i].path, 0, "%s", why);
                        else
                                r = errors_add(errors, files.items[i].path, 0, "cannot read: %s",
                                               strerror(-k));
                        if (r < 0)
                                return r;
                        continue;
                }

                r = strv_extend(&c->files, files.items[i].path);
                if (r < 0)
                        return r;
                r = config_parse_text(c, files.items[i].path, data, size, errors);
                if (r == -ENOMEM)
                        return r;
        }

        /* Cross-key rules only make sense once every file parsed cleanly. */
        if (errors->n == before) {
                r = config_validate(c, errors);
                if (r == -ENOMEM)
                        return r;
        }
        if (errors->n > before)
                return -EINVAL;

        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- output ---- */

#define DUMP_ORIGIN_COLUMN 40u

/* Writes "name=value ; origin" with the origins aligned. The origin is a comment, but it names
 * a file, so control characters are escaped. Where the line would be longer than the parser
 * accepts, the origin goes on a comment line of its own above, so that the output always reads
 * back. prefix "#" writes the assignment itself as a comment. */
static int dump_value(FILE *f, const char *prefix, const char *name, const char *value,
                      const char *origin) {
        _cleanup_free_ char *o = escape_controls(origin ?: "default");
        size_t n;

        if (!o)
                return -ENOMEM;

        n = strlen(prefix) + strlen(name) + 1 + strlen(value);
        if (MAX(n, DUMP_ORIGIN_COLUMN) + 3 + strlen(o) > CONFIG_LINE_MAX) {
                fprintf(f, "# %s\n%s%s=%s\n", o, prefix, name, value);
                return 0;
        }
        fprintf(f, "%s%s=%s%*s ; %s\n", prefix, name, value,
                (int) (n < DUMP_ORIGIN_COLUMN ? DUMP_ORIGIN_COLUMN - n : 0), "", o);
        return 0;
}

static bool sysctl_followed(const SysctlSetting *s) {
        return s->origin && streq(s->origin, CONFIG_ORIGIN_FOLLOWED);
}

/* The assigned sysctls as "key=value", separated by spaces. */
static int sysctls_to_string(const Config *c, char **ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = strv_split_whitespace("", &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_sysctls; i++) {
                _cleanup_free_ char *key = NULL, *kv = NULL;

                if (sysctl_followed(&c->sysctls[i]))
                        continue;
                key = sysctl_path_to_key(c->sysctls[i].path);
                if (!key || asprintf(&kv, "%s=%s", key, c->sysctls[i].value) < 0)
                        return -ENOMEM;
                r = strv_extend(&l, kv);
                if (r < 0)
                        return r;
        }
        *ret = strv_join(l, " ");
        return *ret ? 0 : -ENOMEM;
}

int config_value_to_string(const Config *c, ConfigKey k, char **ret) {
        char buf[MAX(FORMAT_TIMESPAN_MAX, TABLE_BUDGET_FORMAT_MAX)];
        const ConfigItem *it;
        const void *p;
        const char *v = NULL;
        char *s = NULL;

        if (k < 0 || k >= _CONFIG_KEY_MAX)
                return -EINVAL;
        it = &config_items[k];
        p = item_field_const(it, c);

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                v = guard_mode_to_string(*(const GuardMode *) p);
                break;
        case CONFIG_TYPE_SCOPE:
                v = namespace_scope_to_string(*(const NamespaceScope *) p);
                break;
        case CONFIG_TYPE_SPAN:
                v = format_timespan(buf, sizeof(buf), *(const usec_t *) p);
                break;
        case CONFIG_TYPE_UNSIGNED:
                snprintf(buf, sizeof(buf), "%u", *(const unsigned *) p);
                v = buf;
                break;
        case CONFIG_TYPE_BOOLEAN:
                v = *(const bool *) p ? "yes" : "no";
                break;
        case CONFIG_TYPE_BUDGET:
                v = table_budget_format(p, buf, sizeof(buf));
                break;
        case CONFIG_TYPE_MODULES:
                s = strv_join(*(char ** const *) p, " ");
                if (!s)
                        return -ENOMEM;
                break;
        case CONFIG_TYPE_PATH:
                v = *(char * const *) p;
                break;
        case CONFIG_TYPE_SYSCTL:
                return sysctls_to_string(c, ret);
        }
        if (!s) {
                if (!v)
                        return -EINVAL;
                s = strdup(v);
                if (!s)
                        return -ENOMEM;
        }
        *ret = s;
        return 0;
}

const char *config_item_range(const ConfigItem *it, char *buf, size_t size) {
        char a[FORMAT_TIMESPAN_MAX], b[FORMAT_TIMESPAN_MAX];
        int n = 0;

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                for (int m = 0; m < _GUARD_MODE_MAX && n >= 0 && (size_t) n < size; m++)
                        n += snprintf(buf + n, size - n, "%s%s", m == 0 ? "" : " or ",
                                      guard_mode_to_string(m));
                break;
        case CONFIG_TYPE_SCOPE:
                for (int m = 0; m < _NAMESPACE_SCOPE_MAX && n >= 0 && (size_t) n < size; m++)
                        n += snprintf(buf + n, size - n, "%s%s", m == 0 ? "" : " or ",
                                      namespace_scope_to_string(m));
                break;
        case CONFIG_TYPE_SPAN:
                n = snprintf(buf, size, "%s..%s", format_timespan(a, sizeof(a), it->min),
                             format_timespan(b, sizeof(b), it->max));
                break;
        case CONFIG_TYPE_UNSIGNED:
                n = snprintf(buf, size, "%" PRIu64 "..%" PRIu64, it->min, it->max);
                break;
        case CONFIG_TYPE_BOOLEAN:
                n = snprintf(buf, size, "a boolean");
                break;
        case CONFIG_TYPE_BUDGET:
                n = snprintf(buf, size, "bytes with an optional K, M, G or T suffix, or "
                             "1%%..100%% of MemTotal");
                break;
        case CONFIG_TYPE_MODULES:
                n = snprintf(buf, size, "at most %" PRIu64 " module names", it->max);
                break;
        case CONFIG_TYPE_PATH:
                n = snprintf(buf, size, "an absolute path, or empty");
                break;
        case CONFIG_TYPE_SYSCTL:
                return NULL;
        }
        if (it->also && n >= 0 && (size_t) n < size)
                snprintf(buf + n, size - n, ", %s", it->also);
        return buf;
}

char *config_item_doc(const ConfigItem *it) {
        char range[CONFIG_RANGE_MAX];
        const char *r = config_item_range(it, range, sizeof(range));
        char *s;

        if ((r ? asprintf(&s, "%s (%s).", it->help, r) : asprintf(&s, "%s.", it->help)) < 0)
                return NULL;
        return s;
}

/* [Sysctl]: the assignments, and the followed values as comments (read back, the output must
 * not assign them). */
static int dump_sysctls(const Config *c, FILE *f) {
        int r;

        if (c->sysctl_snapshot)
                fputs("# nothing assigned: the netfilter sysctls are followed\n", f);
        for (size_t i = 0; i < c->n_sysctls; i++) {
                _cleanup_free_ char *key = sysctl_path_to_key(c->sysctls[i].path);

                if (!key)
                        return -ENOMEM;
                r = dump_value(f, sysctl_followed(&c->sysctls[i]) ? "#" : "", key,
                               c->sysctls[i].value, c->sysctls[i].origin);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_dump(const Config *c, FILE *f) {
        const char *section = NULL;
        int r;

        fputs("# Effective ctguard configuration; each value is followed by its origin.\n", f);
        if (!c->files || !c->files[0])
                fputs("# No configuration files: built-in defaults.\n", f);
        STRV_FOREACH(file, c->files) {
                _cleanup_free_ char *e = escape_controls(*file);

                if (!e)
                        return -ENOMEM;
                fprintf(f, "# read %s\n", e);
        }

        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                const ConfigItem *it = &config_items[k];
                _cleanup_free_ char *doc = NULL, *v = NULL;

                if (!section || !streq(section, it->section)) {
                        section = it->section;
                        fprintf(f, "\n[%s]\n", section);
                }
                doc = config_item_doc(it);
                if (!doc)
                        return -ENOMEM;
                fprintf(f, "# %s\n", doc);

                if (it->type == CONFIG_TYPE_SYSCTL) {
                        r = dump_sysctls(c, f);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = config_value_to_string(c, k, &v);
                if (r < 0)
                        return r;
                r = dump_value(f, "", it->name, v, c->origins[k]);
                if (r < 0)
                        return r;
        }

        return ferror(f) ? -EIO : 0;
}

static bool strv_equal(char * const *a, char * const *b) {
        size_t n = strv_length(a);

        if (strv_length(b) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

/* The [Sysctl] assignments in the same order; followed values are state of the running
 * system, not configuration. */
static bool sysctls_equal(const Config *a, const Config *b) {
        if (a->sysctl_snapshot != b->sysctl_snapshot)
                return false;
        for (size_t i = 0, j = 0;; i++, j++) {
                while (i < a->n_sysctls && sysctl_followed(&a->sysctls[i]))
                        i++;
                while (j < b->n_sysctls && sysctl_followed(&b->sysctls[j]))
                        j++;
                if (i >= a->n_sysctls || j >= b->n_sysctls)
                        return i >= a->n_sysctls && j >= b->n_sysctls;
                if (!streq(a->sysctls[i].path, b->sysctls[j].path) ||
                    !streq(a->sysctls[i].value, b->sysctls[j].value))
                        return false;
        }
}

static bool item_equal(const ConfigItem *it, const Config *a, const Config *b) {
        const void *p = item_field_const(it, a), *q = item_field_const(it, b);

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                return *(const GuardMode *) p == *(const GuardMode *) q;
        case CONFIG_TYPE_SCOPE:
                return *(const NamespaceScope *) p == *(const NamespaceScope *) q;
        case CONFIG_TYPE_SPAN:
                return *(const usec_t *) p == *(const usec_t *) q;
        case CONFIG_TYPE_UNSIGNED:
                return *(const unsigned *) p == *(const unsigned *) q;
        case CONFIG_TYPE_BOOLEAN:
                return *(const bool *) p == *(const bool *) q;
        case CONFIG_TYPE_BUDGET:
                return ((const TableBudget *) p)->bytes == ((const TableBudget *) q)->bytes &&
                       ((const TableBudget *) p)->percent == ((const TableBudget *) q)->percent;
        case CONFIG_TYPE_MODULES:
                return strv_equal(*(char ** const *) p, *(char ** const *) q);
        case CONFIG_TYPE_PATH:
                return streq(*(char * const *) p, *(char * const *) q);
        case CONFIG_TYPE_SYSCTL:
                return sysctls_equal(a, b);
        }
        return false;
}

bool config_equal(const Config *a, const Config *b) {
        for (int k = 0; k < _CONFIG_KEY_MAX; k++)
                if (!item_equal(&config_items[k], a, b))
                        return false;
        return true;
}
