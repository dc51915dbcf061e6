/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>

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

/* ---- the configuration object ---- */

Config *config_new(void) {
        Config *c;

        c = calloc(1, sizeof(Config));
        if (!c)
                return NULL;

        *c = (Config) {
                .mode = GUARD_MODE_ENFORCE,
                .poll_interval = USEC_PER_SEC,
                .reload_burst = 5,
                .reload_interval = 10 * USEC_PER_MINUTE,
                .sysctl_snapshot = true,
                .warn_percent = 80,
                .crit_percent = 95,
                .fast_poll_interval = 200 * USEC_PER_MSEC,
                .top_talkers = 10,
                .auto_raise = false,
                .memory_budget = TABLE_BUDGET_DEFAULT,
                .raise_interval = USEC_PER_MINUTE,
                .namespaces = NAMESPACE_SCOPE_HOST,
                .namespace_scan_interval = 10 * USEC_PER_SEC,
                .top_namespaces = 10,
        };

        c->textfile_directory = strdup(CONFIG_TEXTFILE_DIRECTORY_DEFAULT);
        if (!c->textfile_directory)
                return config_free(c);

        if (strv_split_whitespace("nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat",
                                  &c->ensure) < 0 ||
            strv_split_whitespace("", &c->files) < 0)
                return config_free(c);
        return c;
}

static void sysctl_setting_done(SysctlSetting *s) {
        free(s->path);
        free(s->value);
        free(s->origin);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        strv_free(c->ensure);
        free(c->textfile_directory);
        for (size_t i = 0; i < c->n_sysctls; i++)
                sysctl_setting_done(&c->sysctls[i]);
        free(c->sysctls);
        for (size_t i = 0; i < _CONFIG_KEY_MAX; i++)
                free(c->origins[i]);
        strv_free(c->files);
        free(c);
        return NULL;
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

typedef int (*value_parser)(Config *c, const char *v, char **why);

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

static int parse_mode(Config *c, const char *v, char **why) {
        GuardMode m = guard_mode_from_string(v);

        if (m < 0)
                return why_set(why, "Mode= must be 'enforce' or 'monitor', not '%s'", v);
        c->mode = m;
        return 0;
}

static int parse_poll(Config *c, const char *v, char **why) {
        return parse_span_in(v, CONFIG_POLL_MIN, CONFIG_POLL_MAX, &c->poll_interval,
                             "PollIntervalSec", why);
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

static int parse_ensure(Config *c, const char *v, char **why) {
        _cleanup_strv_free_ char **l = NULL, **dedup = NULL;
        int r;

        r = strv_split_whitespace(v, &l);
        if (r < 0)
                return r;
        if (strv_length(l) > CONFIG_ENSURE_MAX)
                return why_set(why, "Ensure= lists %zu modules, at most %u are allowed",
                               strv_length(l), CONFIG_ENSURE_MAX);

        r = strv_split_whitespace("", &dedup);
        if (r < 0)
                return r;
        STRV_FOREACH(m, l) {
                if (!valid_module_name(*m))
                        return why_set(why, "Ensure= has an invalid module name '%s'", *m);
                /* The kernel treats '-' and '_' in module names alike. */
                for (char *p = *m; *p; p++)
                        if (*p == '-')
                                *p = '_';
                if (strv_contains(dedup, *m))
                        return why_set(why, "Ensure= lists module '%s' twice", *m);
                r = strv_extend(&dedup, *m);
                if (r < 0)
                        return r;
        }

        strv_free(c->ensure);
        c->ensure = TAKE_PTR(dedup);
        return 0;
}

static int parse_burst(Config *c, const char *v, char **why) {
        return parse_unsigned_in(v, CONFIG_RELOAD_BURST_MIN, CONFIG_RELOAD_BURST_MAX,
                                 &c->reload_burst, "ReloadBurst", why);
}

static int parse_reload_interval(Config *c, const char *v, char **why) {
        return parse_span_in(v, CONFIG_RELOAD_INTERVAL_MIN, CONFIG_RELOAD_INTERVAL_MAX,
                             &c->reload_interval, "ReloadIntervalSec", why);
}

static int parse_warn(Config *c, const char *v, char **why) {
        return parse_unsigned_in(v, CONFIG_PERCENT_MIN, CONFIG_PERCENT_MAX, &c->warn_percent,
                                 "WarnPercent", why);
}

static int parse_crit(Config *c, const char *v, char **why) {
        return parse_unsigned_in(v, CONFIG_PERCENT_MIN, CONFIG_PERCENT_MAX, &c->crit_percent,
                                 "CritPercent", why);
}

static int parse_fast_poll(Config *c, const char *v, char **why) {
        return parse_span_in(v, CONFIG_POLL_MIN, CONFIG_POLL_MAX, &c->fast_poll_interval,
                             "FastPollIntervalSec", why);
}

static int parse_top(Config *c, const char *v, char **why) {
        return parse_unsigned_in(v, 0, CONFIG_TOP_TALKERS_MAX, &c->top_talkers, "TopTalkers",
                                 why);
}

/* An absolute, normalised directory, or empty to disable. */
static int parse_textfile_directory(Config *c, const char *v, char **why) {
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
                return why_set(why, "TextfileDirectory= must be an absolute, normalised path or "
                               "empty, not '%s'", v);
        d = strdup(v);
        if (!d)
                return -ENOMEM;
        free(c->textfile_directory);
        c->textfile_directory = d;
        return 0;
}

static int parse_auto_raise(Config *c, const char *v, char **why) {
        int r = parse_boolean(v);

        if (r < 0)
                return why_set(why, "AutoRaise= must be a boolean, not '%s'", v);
        c->auto_raise = r;
        return 0;
}

static int parse_memory_budget(Config *c, const char *v, char **why) {
        TableBudget b;
        int r;

        r = table_budget_parse(v, &b);
        if (r == -ERANGE)
                return why_set(why, "MemoryBudget=%s is out of range (1%%..100%%)", v);
        if (r < 0)
                return why_set(why, "MemoryBudget= must be a size (512M, 2G) or a percentage "
                               "of MemTotal (5%%), not '%s'", v);
        c->memory_budget = b;
        return 0;
}

static int parse_raise_interval(Config *c, const char *v, char **why) {
        return parse_span_in(v, CONFIG_RAISE_INTERVAL_MIN, CONFIG_RAISE_INTERVAL_MAX,
                             &c->raise_interval, "RaiseIntervalSec", why);
}

static int parse_namespaces(Config *c, const char *v, char **why) {
        NamespaceScope s = namespace_scope_from_string(v);

        if (s < 0)
                return why_set(why, "Namespaces= must be 'host' or 'all', not '%s'", v);
        c->namespaces = s;
        return 0;
}

static int parse_namespace_scan(Config *c, const char *v, char **why) {
        return parse_span_in(v, CONFIG_NAMESPACE_SCAN_MIN, CONFIG_NAMESPACE_SCAN_MAX,
                             &c->namespace_scan_interval, "NamespaceScanIntervalSec", why);
}

static int parse_top_namespaces(Config *c, const char *v, char **why) {
        return parse_unsigned_in(v, 0, CONFIG_TOP_NAMESPACES_MAX, &c->top_namespaces,
                                 "TopNamespaces", why);
}

static const struct {
        const char *section;
        const char *name;
        value_parser parse;
} config_items[_CONFIG_KEY_MAX] = {
        [CONFIG_GUARD_MODE]                   = { "Guard",     "Mode",                parse_mode },
        [CONFIG_GUARD_POLL_INTERVAL]          = { "Guard",     "PollIntervalSec",     parse_poll },
        [CONFIG_MODULES_ENSURE]               = { "Modules",   "Ensure",              parse_ensure },
        [CONFIG_MODULES_RELOAD_BURST]         = { "Modules",   "ReloadBurst",         parse_burst },
        [CONFIG_MODULES_RELOAD_INTERVAL]      = { "Modules",   "ReloadIntervalSec",   parse_reload_interval },
        [CONFIG_CONNTRACK_WARN_PERCENT]       = { "Conntrack", "WarnPercent",         parse_warn },
        [CONFIG_CONNTRACK_CRIT_PERCENT]       = { "Conntrack", "CritPercent",         parse_crit },
        [CONFIG_CONNTRACK_FAST_POLL_INTERVAL] = { "Conntrack", "FastPollIntervalSec", parse_fast_poll },
        [CONFIG_CONNTRACK_TOP_TALKERS]        = { "Conntrack", "TopTalkers",          parse_top },
        [CONFIG_CONNTRACK_AUTO_RAISE]         = { "Conntrack", "AutoRaise",           parse_auto_raise },
        [CONFIG_CONNTRACK_MEMORY_BUDGET]      = { "Conntrack", "MemoryBudget",        parse_memory_budget },
        [CONFIG_CONNTRACK_RAISE_INTERVAL]     = { "Conntrack", "RaiseIntervalSec",    parse_raise_interval },
        [CONFIG_CONNTRACK_NAMESPACES]         = { "Conntrack", "Namespaces",          parse_namespaces },
        [CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL] = { "Conntrack", "NamespaceScanIntervalSec", parse_namespace_scan },
        [CONFIG_METRICS_TEXTFILE_DIRECTORY]   = { "Metrics",   "TextfileDirectory",   parse_textfile_directory },
        [CONFIG_METRICS_TOP_NAMESPACES]       = { "Metrics",   "TopNamespaces",       parse_top_namespaces },
};

static const char * const config_sections[] = { "Guard", "Modules", "Sysctl", "Conntrack", "Metrics" };

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
        for (size_t i = 0; i < ELEMENTSOF(config_sections); i++)
                if (strlen(config_sections[i]) == n && strneq(config_sections[i], s, n))
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

        if (streq(section, "Sysctl")) {
                _cleanup_free_ char *path = NULL;
                int r;

                r = sysctl_key_normalize(name, &path);
                if (r == -EINVAL) {
                        ctx_error(ctx, "'%s' is not a valid sysctl key (lower-case a-z, 0-9, "
                                  "'_', '-', separated by '.' or '/', no empty, '.' or '..' "
                                  "components)", name);
                        return 1;
                }
                if (r == -EPERM) {
                        ctx_error(ctx, "sysctl '%s' is not on the allow-list (%s)", name,
                                  sysctl_allow_list_text);
                        return 1;
                }
                if (r < 0) {
                        ctx->oom = r;
                        return 1;
                }
                if (*value == '\0') {
                        ctx_error(ctx, "sysctl '%s' has an empty value", name);
                        return 1;
                }
                for (const char *p = value; *p; p++)
                        if ((unsigned char) *p < ' ' && *p != '\t') {
                                ctx_error(ctx, "sysctl '%s' has a control character in its value",
                                          name);
                                return 1;
                        }
                r = sysctl_type_check(sysctl_type_of(path), value);
                if (r < 0) {
                        ctx_error(ctx, "sysctl '%s' takes %s, not '%s'%s", name,
                                  sysctl_type_to_string(sysctl_type_of(path)), value,
                                  r == -ERANGE ? " (out of range)" : "");
                        return 1;
                }
                if (!config_find_sysctl(ctx->config, path) &&
                    ctx->config->n_sysctls >= CONFIG_SYSCTLS_MAX) {
                        ctx_error(ctx, "too many sysctl assignments (at most %u)", CONFIG_SYSCTLS_MAX);
                        return 1;
                }
                if (config_set_sysctl(ctx->config, path, value, origin) < 0)
                        ctx->oom = -ENOMEM;
                ctx->config->sysctl_snapshot = false;
                return 1;
        }

        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                int r;

                if (!streq(config_items[k].section, section) || !streq(config_items[k].name, name))
                        continue;

                r = config_items[k].parse(ctx->config, value, &why);
                if (r == -ENOMEM) {
                        ctx->oom = r;
                        return 1;
                }
                if (r < 0) {
                        ctx_error(ctx, "%s", why);
                        return 1;
                }
                free(ctx->config->origins[k]);
                ctx->config->origins[k] = TAKE_PTR(origin);
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

int config_dump(const Config *c, FILE *f) {
        char buf[FORMAT_TIMESPAN_MAX], num[32], budget[TABLE_BUDGET_FORMAT_MAX];
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
                _cleanup_free_ char *joined = NULL;
                const char *v;

                if (!section || !streq(section, config_items[k].section)) {
                        section = config_items[k].section;
                        /* [Sysctl] sits between [Modules] and [Conntrack], as in the shipped file. */
                        if (streq(section, "Conntrack")) {
                                fputs("\n[Sysctl]\n", f);
                                if (c->sysctl_snapshot)
                                        fputs("# nothing assigned: the netfilter sysctls are followed\n", f);
                                /* Followed values are shown as comments: read back, the
                                 * output must not assign them. */
                                for (size_t i = 0; i < c->n_sysctls; i++) {
                                        _cleanup_free_ char *key = sysctl_path_to_key(c->sysctls[i].path);

                                        if (!key)
                                                return -ENOMEM;
                                        r = dump_value(f, sysctl_followed(&c->sysctls[i]) ? "#" : "",
                                                       key, c->sysctls[i].value, c->sysctls[i].origin);
                                        if (r < 0)
                                                return r;
                                }
                        }
                        fprintf(f, "\n[%s]\n", section);
                }

                switch (k) {
                case CONFIG_GUARD_MODE:
                        v = guard_mode_to_string(c->mode);
                        break;
                case CONFIG_GUARD_POLL_INTERVAL:
                        v = format_timespan(buf, sizeof(buf), c->poll_interval);
                        break;
                case CONFIG_MODULES_ENSURE:
                        v = joined = strv_join(c->ensure, " ");
                        if (!v)
                                return -ENOMEM;
                        break;
                case CONFIG_MODULES_RELOAD_BURST:
                        snprintf(num, sizeof(num), "%u", c->reload_burst);
                        v = num;
                        break;
                case CONFIG_MODULES_RELOAD_INTERVAL:
                        v = format_timespan(buf, sizeof(buf), c->reload_interval);
                        break;
                case CONFIG_CONNTRACK_WARN_PERCENT:
                        snprintf(num, sizeof(num), "%u", c->warn_percent);
                        v = num;
                        break;
                case CONFIG_CONNTRACK_CRIT_PERCENT:
                        snprintf(num, sizeof(num), "%u", c->crit_percent);
                        v = num;
                        break;
                case CONFIG_CONNTRACK_FAST_POLL_INTERVAL:
                        v = format_timespan(buf, sizeof(buf), c->fast_poll_interval);
                        break;
                case CONFIG_CONNTRACK_TOP_TALKERS:
                        snprintf(num, sizeof(num), "%u", c->top_talkers);
                        v = num;
                        break;
                case CONFIG_CONNTRACK_AUTO_RAISE:
                        v = c->auto_raise ? "yes" : "no";
                        break;
                case CONFIG_CONNTRACK_MEMORY_BUDGET:
                        v = table_budget_format(&c->memory_budget, budget, sizeof(budget));
                        if (!v)
                                return -EINVAL;
                        break;
                case CONFIG_CONNTRACK_RAISE_INTERVAL:
                        v = format_timespan(buf, sizeof(buf), c->raise_interval);
                        break;
                case CONFIG_CONNTRACK_NAMESPACES:
                        v = namespace_scope_to_string(c->namespaces);
                        break;
                case CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL:
                        v = format_timespan(buf, sizeof(buf), c->namespace_scan_interval);
                        break;
                case CONFIG_METRICS_TEXTFILE_DIRECTORY:
                        v = c->textfile_directory;
                        break;
                case CONFIG_METRICS_TOP_NAMESPACES:
                        snprintf(num, sizeof(num), "%u", c->top_namespaces);
                        v = num;
                        break;
                default:
                        return -EINVAL;
                }
                r = dump_value(f, "", config_items[k].name, v, c->origins[k]);
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

bool config_equal(const Config *a, const Config *b) {
        if (a->mode != b->mode ||
            a->poll_interval != b->poll_interval ||
            !strv_equal(a->ensure, b->ensure) ||
            a->reload_burst != b->reload_burst ||
            a->reload_interval != b->reload_interval ||
            a->sysctl_snapshot != b->sysctl_snapshot ||
            a->warn_percent != b->warn_percent ||
            a->crit_percent != b->crit_percent ||
            a->fast_poll_interval != b->fast_poll_interval ||
            a->top_talkers != b->top_talkers ||
            a->auto_raise != b->auto_raise ||
            a->memory_budget.bytes != b->memory_budget.bytes ||
            a->memory_budget.percent != b->memory_budget.percent ||
            a->raise_interval != b->raise_interval ||
            a->namespaces != b->namespaces ||
            a->namespace_scan_interval != b->namespace_scan_interval ||
            !streq(a->textfile_directory, b->textfile_directory) ||
            a->top_namespaces != b->top_namespaces)
                return false;

        /* Followed values are state of the running system, not configuration. */
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
