/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>
#include <sysexits.h>
#include <time.h>

#include "time-util.h"
#include "ctstat.h"
#include "daemon-state.h"
#include "hold.h"
#include "json.h"
#include "log.h"
#include "module-policy.h"
#include "modules.h"
#include "run-file.h"
#include "snapshot.h"
#include "sysctl-key.h"
#include "sysctl.h"
#include "table-policy.h"
#include "table-raise.h"
#include "verbs.h"

/* Exit codes as monitoring plugins expect them. */
typedef enum Health {
        HEALTH_OK = 0,
        HEALTH_WARNING = 1,
        HEALTH_CRITICAL = 2,
        HEALTH_UNKNOWN = 3,
} Health;

static const char *health_to_string(Health h) {
        static const char * const t[] = { "ok", "warning", "critical", "unknown" };
        return t[h];
}

/* Critical beats warning beats unknown beats ok: "unknown" only when nothing found is worse
 * than what could not be checked. */
static int health_rank(Health h) {
        static const int rank[] = { [HEALTH_OK] = 0, [HEALTH_UNKNOWN] = 1, [HEALTH_WARNING] = 2,
                                    [HEALTH_CRITICAL] = 3 };
        return rank[h];
}

static void health_raise(Health *h, Health n) {
        if (health_rank(n) > health_rank(*h))
                *h = n;
}

/* "252,101": counts are read at a glance. */
static const char *format_count(char buf[static 32], uint64_t v) {
        char t[32];
        size_t n, o = 0;

        n = (size_t) snprintf(t, sizeof(t), "%" PRIu64, v);
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && (n - i) % 3 == 0)
                        buf[o++] = ',';
                buf[o++] = t[i];
        }
        buf[o] = '\0';
        return buf;
}

/* What a level of the table means to a monitoring system. */
static Health level_health(TableLevel l) {
        return l == TABLE_LEVEL_CRIT ? HEALTH_CRITICAL : l == TABLE_LEVEL_WARN ? HEALTH_WARNING : HEALTH_OK;
}

/* One word per level, the same as the health: "critical", not "crit". */
static const char *level_to_string(TableLevel l) {
        return health_to_string(level_health(l));
}

typedef struct ModuleRow {
        char *name;
        char *guarded;          /* the module actually checked (an alias' target) */
        const char *state;      /* "live", "builtin", "missing", ..., or "gone" */
        char *detail;
        bool ok;
} ModuleRow;

typedef struct SysctlRow {
        char *key;
        const char *desired;
        const char *origin;
        char *actual;           /* NULL: unavailable */
        int error;
        bool owned;             /* false: followed, any value is right */
        bool ok;
        const char *assigned;   /* raised by AutoRaise over this assigned value, else NULL */
} SysctlRow;

typedef struct Status {
        Health health;
        bool running;
        DaemonState state;
        bool have_state;
        Hold hold;
        bool held;
        ModuleRow *modules;
        size_t n_modules;
        SysctlRow *sysctls;
        size_t n_sysctls;
        CtSample sample;
        bool have_sample;
        int sample_error;
        TableLevel level;
        unsigned warn_percent, crit_percent;    /* 0: unknown */
        bool thresholds_from_daemon;
        bool config_changed;
        /* AutoRaise: the daemon's (have_state), else computed from the files. */
        bool have_auto_raise;
        bool auto_raise;
        char memory_budget[TABLE_BUDGET_FORMAT_MAX];
        DaemonBudget budget;
        DaemonRaise raise;
        char **problems;
        char *reason;           /* the first line's: the worst problem, or the table */
        Health reason_health;
} Status;

static void status_done(Status *s) {
        daemon_state_done(&s->state);
        hold_done(&s->hold);
        for (size_t i = 0; i < s->n_modules; i++) {
                free(s->modules[i].name);
                free(s->modules[i].guarded);
                free(s->modules[i].detail);
        }
        free(s->modules);
        for (size_t i = 0; i < s->n_sysctls; i++) {
                free(s->sysctls[i].key);
                free(s->sysctls[i].actual);
        }
        free(s->sysctls);
        strv_free(s->problems);
        free(s->reason);
}

static int problem(Status *s, Health h, const char *fmt, ...) _printf_(3, 4);
static int problem(Status *s, Health h, const char *fmt, ...) {
        char *m;
        va_list ap;
        int k;

        health_raise(&s->health, h);
        va_start(ap, fmt);
        k = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        /* The first line names the first of the worst problems. */
        if (h != HEALTH_OK && (!s->reason || health_rank(h) > health_rank(s->reason_health))) {
                free(s->reason);
                s->reason = strdup(m);
                s->reason_health = h;
        }
        return strv_push(&s->problems, m);
}

static int check_daemon(Status *s) {
        int r;

        r = daemon_lock_probe(arg_root);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && r != -ENOENT)
                return problem(s, HEALTH_UNKNOWN, "%s" DAEMON_STATE_DIR "/%s %s", arg_root, DAEMON_LOCK_FILE,
                               run_file_strerror(r));
        s->running = r > 0;
        if (!s->running)
                return problem(s, HEALTH_WARNING, "the ctguard daemon is not running; "
                               "thresholds and sysctls shown are computed from the configuration files");

        r = daemon_state_load(arg_root, &s->state);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(s, HEALTH_UNKNOWN, "%s" DAEMON_STATE_DIR "/%s %s", arg_root, DAEMON_STATE_FILE,
                               run_file_strerror(r));
        s->have_state = true;

        if (s->state.reload == DAEMON_RELOAD_REJECTED) {
                r = problem(s, HEALTH_WARNING, "last reload rejected%s%s", s->state.reload_error ? ": " : "",
                            strempty(s->state.reload_error));
                if (r < 0)
                        return r;
        }
        if (s->state.fingerprint) {
                _cleanup_free_ char *fp = NULL;

                r = daemon_config_fingerprint(arg_root, s->state.config_main, &fp);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || !streq(fp, s->state.fingerprint)) {
                        s->config_changed = true;
                        r = problem(s, HEALTH_WARNING, "configuration files changed since the last reload");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int check_hold(Status *s) {
        int r = hold_load(arg_root, &s->hold);

        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(s, HEALTH_UNKNOWN, "the hold file %s/" HOLD_DIR "/" HOLD_FILE " %s",
                               arg_root, run_file_strerror(r));
        s->held = hold_in_force(&s->hold, now_usec);
        if (s->held)
                return problem(s, HEALTH_WARNING, "on hold%s%s: nothing is healed",
                               s->hold.reason ? ": " : "", strempty(s->hold.reason));
        return 0;
}

static int check_modules(Status *s, const Config *c) {
        _cleanup_(module_context_freep) ModuleContext *ctx = NULL;
        int r;

        if (!c->ensure || !c->ensure[0])
                return 0;

        r = verb_module_context(&ctx);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(s, HEALTH_UNKNOWN, "cannot inspect kernel modules: %s", strerror(-r));

        s->modules = calloc(strv_length(c->ensure), sizeof(ModuleRow));
        if (!s->modules)
                return -ENOMEM;

        STRV_FOREACH(name, c->ensure) {
                ModuleRow *row = &s->modules[s->n_modules++];
                ModuleResolution res;
                ModuleStatus st;

                row->name = strdup(*name);
                if (!row->name)
                        return -ENOMEM;

                r = module_resolve(ctx, *name, &res, &row->guarded);
                if (r < 0)
                        return problem(s, HEALTH_UNKNOWN, "cannot resolve module %s: %s", *name,
                                       strerror(-r));
                if (res == MODULE_RESOLUTION_GONE) {
                        /* A legacy name this kernel does not have: nothing to guard. */
                        row->state = "gone";
                        row->ok = true;
                        continue;
                }
                if (!row->guarded) {
                        row->guarded = strdup(*name);
                        if (!row->guarded)
                                return -ENOMEM;
                }

                r = module_get_status(ctx, row->guarded, &st);
                if (r < 0)
                        return problem(s, HEALTH_UNKNOWN, "cannot read the state of module %s: %s",
                                       row->guarded, strerror(-r));
                row->state = module_state_to_string(st.state);
                row->detail = strdup(module_status_describe(&st));
                if (!row->detail)
                        return -ENOMEM;
                row->ok = module_state_present(st.state);
                if (!row->ok) {
                        r = problem(s, HEALTH_CRITICAL, "module %s is %s", row->guarded, row->state);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int sysctl_row(Status *s, const char *sysctl_root, const char *path, const char *value,
                      const char *origin, bool owned) {
        SysctlRow *row = &s->sysctls[s->n_sysctls++];
        int r;

        row->key = sysctl_path_to_key(path);
        if (!row->key)
                return -ENOMEM;
        row->desired = value;
        row->origin = origin;
        row->owned = owned;
        row->error = sysctl_read(sysctl_root, path, &row->actual);
        if (row->error == -ENOMEM)
                return row->error;
        if (row->error < 0) {
                /* A followed key gone with its module is nothing to warn about. */
                if (!owned)
                        return 0;
                return problem(s, HEALTH_WARNING, "sysctl %s cannot be read: %s", row->key,
                               strerror(-row->error));
        }
        /* A followed value is whatever was written last: the daemon adopts it. */
        row->ok = !owned || sysctl_value_equal(row->actual, row->desired);
        if (!row->ok) {
                r = problem(s, HEALTH_WARNING, "sysctl %s is %s, should be %s", row->key,
                            row->actual, row->desired);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_sysctls(Status *s, Config *c, const char *sysctl_root) {
        int r;

        /* What the daemon enforces is what counts; the files only without a daemon. */
        if (s->have_state) {
                s->sysctls = calloc(s->state.n_sysctls + 1, sizeof(SysctlRow));
                if (!s->sysctls)
                        return -ENOMEM;
                for (size_t i = 0; i < s->state.n_sysctls; i++) {
                        const DaemonSysctl *d = &s->state.sysctls[i];

                        r = sysctl_row(s, sysctl_root, d->path, d->value, d->origin, d->owned);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (!c)
                return 0;

        /* Without a daemon, the current values of the keys [Sysctl] does not assign are what
         * it would follow. */
        r = config_add_followed(c, sysctl_root);
        if (r < 0)
                return problem(s, HEALTH_UNKNOWN, "cannot read sysctls: %s", strerror(-r));
        s->sysctls = calloc(c->n_sysctls + 1, sizeof(SysctlRow));
        if (!s->sysctls)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_sysctls; i++) {
                r = sysctl_row(s, sysctl_root, c->sysctls[i].path, c->sysctls[i].value,
                               c->sysctls[i].origin, !sysctl_setting_followed(&c->sysctls[i]));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The thresholds the daemon enforces; the files' only without one. */
static void choose_thresholds(Status *s, const Config *c) {
        if (s->have_state && s->state.crit_percent > 0) {
                s->warn_percent = s->state.warn_percent;
                s->crit_percent = s->state.crit_percent;
                s->thresholds_from_daemon = true;
        } else if (c) {
                s->warn_percent = c->warn_percent;
                s->crit_percent = c->crit_percent;
        }
}

static int check_table_level(Status *s) {
        TablePolicyConfig tc = { .warn_percent = s->warn_percent, .crit_percent = s->crit_percent };
        char cnt[32], max[32], pct[TABLE_PERCENT_FORMAT_MAX];

        s->level = s->crit_percent > 0 ? table_level_plain(&tc, s->sample.count, s->sample.max) :
                                         TABLE_LEVEL_OK;
        if (s->level == TABLE_LEVEL_OK)
                return 0;
        return problem(s, level_health(s->level), "table %s full (%s of %s), %s at %u%%",
                       table_percent_format(s->sample.count, s->sample.max, pct),
                       format_count(cnt, s->sample.count), format_count(max, s->sample.max),
                       level_to_string(s->level),
                       s->level == TABLE_LEVEL_CRIT ? s->crit_percent : s->warn_percent);
}

/* The daemon's own samples lack the drop counters (status reads its own, which may work):
 * the daemon cannot see a full table, whatever this reader sees. */
static int check_daemon_counters(Status *s) {
        if (!s->have_state || s->state.counters_error <= 0)
                return 0;
        return problem(s, HEALTH_WARNING, "the daemon cannot read the conntrack counters (%s): "
                       "it cannot see dropped packets", strerror(s->state.counters_error));
}

/* The drop counters count since boot: only the daemon's table-full event says "full now". */
static int check_table_full(Status *s) {
        for (size_t i = 0; s->have_state && i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                if (streq(e->name, table_event_to_string(TABLE_EVENT_FULL)) &&
                    table_full_recent(e->time, now_usec(CLOCK_REALTIME)))
                        return problem(s, HEALTH_CRITICAL, "the table was full and packets were "
                                       "dropped within the last %u minutes",
                                       (unsigned) (TABLE_FULL_RECENT_USEC / USEC_PER_MINUTE));
        }
        return 0;
}

static int check_table(Status *s, const Config *c, const char *sysctl_root) {
        _cleanup_(ctstat_closep) CtStat *st = NULL;
        int r;

        choose_thresholds(s, c);

        r = ctstat_open(arg_root, &st);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                r = ctstat_sample(st, &s->sample);
        if (r < 0) {
                s->sample_error = r;
                return problem(s, HEALTH_UNKNOWN, "cannot read the conntrack count: %s", strerror(-r));
        }
        s->have_sample = true;
        if (!s->sample.has_cpu_stats) {
                r = problem(s, HEALTH_OK, "the drop counters cannot be read (they need "
                            "/proc/net/stat/nf_conntrack or ctnetlink with CAP_NET_ADMIN)");
                if (r < 0)
                        return r;
        }
        r = check_table_level(s);
        if (r < 0)
                return r;
        r = check_daemon_counters(s);
        if (r < 0)
                return r;
        return check_table_full(s);
}

/* The sysctl rows that hold AutoRaise's last raise: the daemon enforces the raised value, and
 * the row says so rather than pass it off as the file's. */
static void mark_raised(Status *s, const Config *c) {
        static const char * const paths[] = { "net/netfilter/nf_conntrack_max",
                                              "net/netfilter/nf_conntrack_buckets" };

        if (s->state.raise.time == 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                uint64_t to = i == 0 ? s->state.raise.to_max : s->state.raise.to_buckets;
                const SysctlSetting *st = c ? config_find_sysctl(c, paths[i]) : NULL;
                _cleanup_free_ char *key = sysctl_path_to_key(paths[i]);
                char v[32];

                snprintf(v, sizeof(v), "%" PRIu64, to);
                for (size_t j = 0; key && j < s->n_sysctls; j++) {
                        SysctlRow *r = &s->sysctls[j];

                        if (streq(r->key, key) && r->owned && streq(r->desired, v))
                                r->assigned = st && st->value ? st->value : "?";
                }
        }
}

/* AutoRaise's budget: what the daemon priced, or, without a daemon, what the files and the
 * kernel's prices give for the table as it is now. Nothing here is a problem: a budget spent
 * shows as table-budget-exhausted among the events. */
static int check_budget(Status *s, const Config *c, const char *sysctl_root) {
        _cleanup_free_ char *v = NULL;
        TableRaiseInput in = {};
        uint64_t mem_total;
        unsigned buckets;

        if (s->have_state) {
                mark_raised(s, c);
                s->have_auto_raise = s->state.have_auto_raise;
                s->auto_raise = s->state.auto_raise;
                snprintf(s->memory_budget, sizeof(s->memory_budget), "%s",
                         strempty(s->state.memory_budget));
                s->budget = s->state.budget;
                s->raise = s->state.raise;
                return 0;
        }
        if (!c)
                return 0;
        s->have_auto_raise = true;
        s->auto_raise = c->auto_raise;
        (void) table_budget_format(&c->memory_budget, s->memory_budget, sizeof(s->memory_budget));
        if (!c->auto_raise || !s->have_sample)
                return 0;
        /* Only files are read: looking loads no module. */
        if (table_raise_read_object_size(arg_root, &in.object_size) < 0 ||
            table_raise_read_mem_total(arg_root, &mem_total) < 0 ||
            sysctl_read(sysctl_root, "net/netfilter/nf_conntrack_buckets", &v) < 0 ||
            parse_unsigned(v, &buckets) < 0)
                return 0;
        in.buckets = buckets;
        in.max = s->sample.max;
        in.budget = table_budget_bytes(&c->memory_budget, mem_total);
        daemon_budget_price(&in, &s->budget);
        return 0;
}

/* RFC 3339 with the zone's offset: "2026-12-01T22:05:26+01:00". */
static const char *format_time(char *buf, size_t n, usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        char zone[8];
        struct tm tm;

        if (!localtime_r(&sec, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
            strftime(zone, sizeof(zone), "%z", &tm) != 5) {
                snprintf(buf, n, "@%" PRIu64, t / USEC_PER_SEC);
                return buf;
        }
        snprintf(buf + strlen(buf), n - strlen(buf), "%.3s:%.2s", zone, zone + 3);
        return buf;
}

/* Perfdata as the monitoring plugin guidelines have it: count in entries with warn and crit
 * from the percents, drops as a counter ("c"), empty where unknown. */
static void print_perfdata(const Status *s) {
        if (!s->have_sample) {
                printf("count=;;;0; drops=c");
                return;
        }
        printf("count=%" PRIu32, s->sample.count);
        if (s->crit_percent > 0)
                printf(";%" PRIu64 ";%" PRIu64, (uint64_t) s->sample.max * s->warn_percent / 100,
                       (uint64_t) s->sample.max * s->crit_percent / 100);
        else
                printf(";;");
        printf(";0;%" PRIu32 " drops=", s->sample.max);
        if (s->sample.has_cpu_stats)
                printf("%" PRIu64, s->sample.drop);
        printf("c");
}

/* "auto-raise: on (MemoryBudget=5%, the daemon's)", how the budget is spent, and the last
 * raise with why. */
static void print_budget_text(const Status *s) {
        const DaemonBudget *b = &s->budget;
        const DaemonRaise *r = &s->raise;
        char t[5][32], buf[64];

        if (!s->have_auto_raise)
                return;
        printf("auto-raise: %s (MemoryBudget=%s, %s)\n", s->auto_raise ? "on" : "off",
               s->memory_budget, s->have_state ? "the daemon's" : "from the configuration files, no daemon's");
        if (b->known)
                printf("  budget %s bytes: used %s (%s entries x %" PRIu64 " bytes + %s buckets x %u bytes), "
                       "headroom %s bytes, %s more entries\n",
                       format_count(t[0], b->bytes), format_count(t[1], b->used),
                       format_count(t[2], b->max), b->entry_bytes, format_count(t[3], b->buckets),
                       TABLE_RAISE_BUCKET_BYTES, format_count(t[4], b->headroom),
                       format_count(buf, b->headroom_entries));
        else if (s->auto_raise)
                printf("  budget unknown (the nf_conntrack entry size or MemTotal cannot be read)\n");
        if (r->time == 0)
                return;
        format_time(buf, sizeof(buf), r->time);
        printf("  max raised by AutoRaise at %s from %s to %s entries, buckets %s to %s "
               "(the table reached CritPercent or dropped packets)",
               buf, format_count(t[0], r->from_max), format_count(t[1], r->to_max),
               format_count(t[2], r->from_buckets), format_count(t[3], r->to_buckets));
        if (s->have_sample && s->sample.max != r->to_max)
                printf("; now %s, set since", format_count(t[4], s->sample.max));
        printf("\n");
}

/* The verdict first: a monitoring system shows this line only. */
static void print_verdict(const Status *s) {
        char cnt[32], max[32], pct[TABLE_PERCENT_FORMAT_MAX];

        printf("CTGUARD ");
        for (const char *p = health_to_string(s->health); *p; p++)
                putchar(*p - 'a' + 'A');
        printf(" - ");
        if (s->reason)
                printf("%s", s->reason);
        else if (s->have_sample)
                printf("table %s full (%s of %s)", table_percent_format(s->sample.count, s->sample.max, pct),
                       format_count(cnt, s->sample.count), format_count(max, s->sample.max));
        else
                printf("no problem found");
        printf(" | ");
        print_perfdata(s);
        printf("\n");
}

static void print_daemon(const Status *s) {
        char buf[64];

        printf("daemon: %s\n", s->running ? "running" : "not running");
        if (!s->running || !s->have_state)
                return;
        format_time(buf, sizeof(buf), s->state.started);
        printf("  pid %u, mode %s, since %s, %u chain heal(s), %u sysctl restore(s)\n",
               s->state.pid, strempty(s->state.mode), buf, s->state.heals, s->state.restores);
        if (s->state.reload != DAEMON_RELOAD_NONE) {
                format_time(buf, sizeof(buf), s->state.reload_time);
                printf("  last reload %s at %s%s%s\n", daemon_reload_to_string(s->state.reload),
                       buf, s->state.reload_error ? ": " : "", strempty(s->state.reload_error));
        }
        if (s->config_changed)
                printf("  configuration files changed since the last reload\n");
}

static void print_hold(const Status *s) {
        char buf[64];

        if (!s->held) {
                printf("hold: none\n");
                return;
        }
        format_time(buf, sizeof(buf), hold_wallclock(&s->hold, s->hold.until, now_usec));
        printf("hold: held%s%s, until %s\n", s->hold.reason ? " for " : "",
               strempty(s->hold.reason), s->hold.until == USEC_INFINITY ? "released" : buf);
}

static void print_modules(const Status *s) {
        printf("modules:%s\n", s->n_modules == 0 ? " none guarded" : "");
        for (size_t i = 0; i < s->n_modules; i++) {
                const ModuleRow *m = &s->modules[i];
                bool alias = m->guarded && !streq(m->guarded, m->name);

                printf("  %-20s %s%s%s\n", m->name, m->detail ?: m->state, alias ? " as " : "",
                       alias ? m->guarded : "");
        }
}

static void print_sysctls(const Status *s) {
        printf("sysctls:%s\n", s->n_sysctls == 0 ? " none" : "");
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const SysctlRow *r = &s->sysctls[i];

                if (!r->actual)
                        printf("  %-50s %s (want %s)\n", r->key, strerror(-r->error), r->desired);
                else if (!r->owned)
                        printf("  %-50s %s followed\n", r->key, r->actual);
                else if (r->ok && r->assigned)
                        printf("  %-50s %s ok, raised by AutoRaise over %s (%s)\n", r->key, r->actual,
                               r->assigned, strempty(r->origin));
                else if (r->ok)
                        printf("  %-50s %s ok (%s)\n", r->key, r->actual, strempty(r->origin));
                else
                        printf("  %-50s %s DRIFTED (want %s, %s)\n", r->key, r->actual, r->desired,
                               strempty(r->origin));
        }
}

static void print_table(const Status *s) {
        char cnt[32], max[32], pct[TABLE_PERCENT_FORMAT_MAX];

        if (!s->have_sample) {
                printf("table: unknown\n");
                return;
        }
        printf("table: %s of %s entries (%s), level %s",
               format_count(cnt, s->sample.count), format_count(max, s->sample.max),
               table_percent_format(s->sample.count, s->sample.max, pct), level_to_string(s->level));
        if (s->crit_percent > 0)
                printf(" (warning %u%%, critical %u%%, %s)", s->warn_percent, s->crit_percent,
                       s->thresholds_from_daemon ? "the daemon's" :
                       "from the configuration files, no daemon's");
        printf("\n");
        if (s->sample.has_cpu_stats)
                printf("  drop %" PRIu64 ", early_drop %" PRIu64 ", insert_failed %" PRIu64
                       ", error %" PRIu64 " (since boot)\n",
                       s->sample.drop, s->sample.early_drop, s->sample.insert_failed, s->sample.error);
}

static void print_events(const Status *s) {
        char buf[64];

        if (!s->have_state || s->state.n_events == 0)
                return;
        printf("last events:\n");
        for (size_t i = 0; i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                format_time(buf, sizeof(buf), e->time);
                printf("  %s %-18s %s\n", buf, e->name, e->message);
        }
}

static void print_text(const Status *s) {
        print_verdict(s);
        print_daemon(s);
        print_hold(s);
        print_modules(s);
        print_sysctls(s);
        print_table(s);
        print_budget_text(s);
        print_events(s);
        STRV_FOREACH(p, s->problems)
                printf("problem: %s\n", *p);
}

/* Members that are null when unknown: a document has every member on every path. */
static void json_time(JsonWriter *w, const char *key, usec_t t) {
        char buf[64];

        json_key(w, key);
        if (t == USEC_INFINITY)
                json_null(w);
        else
                json_string(w, format_time(buf, sizeof(buf), t));
}

static void json_string_member(JsonWriter *w, const char *key, const char *v) {
        json_key(w, key);
        if (v)
                json_string(w, v);
        else
                json_null(w);
}

static void json_unsigned_member(JsonWriter *w, const char *key, bool known, uint64_t v) {
        json_key(w, key);
        if (known)
                json_unsigned(w, v);
        else
                json_null(w);
}

static void json_bool_member(JsonWriter *w, const char *key, bool known, bool v) {
        json_key(w, key);
        if (known)
                json_bool(w, v);
        else
                json_null(w);
}

static void json_reload(JsonWriter *w, const DaemonState *st) {
        json_key(w, "reload");
        if (st->reload == DAEMON_RELOAD_NONE) {
                json_null(w);
                return;
        }
        json_begin_object(w);
        json_string_member(w, "result", daemon_reload_to_string(st->reload));
        json_time(w, "time", st->reload_time);
        json_string_member(w, "error", st->reload_error);
        json_end_object(w);
}

static void json_daemon(JsonWriter *w, const Status *s) {
        bool known = s->have_state;

        json_key(w, "daemon");
        json_begin_object(w);
        json_bool_member(w, "running", true, s->running);
        json_unsigned_member(w, "pid", known, s->state.pid);
        json_time(w, "started", known ? s->state.started : USEC_INFINITY);
        json_string_member(w, "mode", known ? s->state.mode : NULL);
        json_unsigned_member(w, "heals", known, s->state.heals);
        json_unsigned_member(w, "restores", known, s->state.restores);
        if (known)
                json_reload(w, &s->state);
        else {
                json_key(w, "reload");
                json_null(w);
        }
        json_bool_member(w, "config_changed", known && s->state.fingerprint, s->config_changed);
        json_end_object(w);
}

static void json_hold(JsonWriter *w, const Status *s) {
        json_key(w, "hold");
        json_begin_object(w);
        json_bool_member(w, "held", true, s->held);
        json_time(w, "until", s->held ? hold_wallclock(&s->hold, s->hold.until, now_usec) : USEC_INFINITY);
        json_string_member(w, "reason", s->held ? s->hold.reason : NULL);
        json_end_object(w);
}

static void json_modules(JsonWriter *w, const Status *s) {
        json_key(w, "modules");
        json_begin_array(w);
        for (size_t i = 0; i < s->n_modules; i++) {
                json_begin_object(w);
                json_string_member(w, "name", s->modules[i].name);
                json_string_member(w, "module", s->modules[i].guarded);
                json_string_member(w, "state", strempty(s->modules[i].state));
                json_bool_member(w, "present", true, s->modules[i].ok);
                json_end_object(w);
        }
        json_end_array(w);
}

static void json_sysctls(JsonWriter *w, const Status *s) {
        json_key(w, "sysctls");
        json_begin_array(w);
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const SysctlRow *r = &s->sysctls[i];

                json_begin_object(w);
                json_string_member(w, "key", r->key);
                json_string_member(w, "desired", r->desired);
                json_string_member(w, "actual", r->actual);
                json_string_member(w, "origin", strempty(r->origin));
                json_bool_member(w, "owned", true, r->owned);
                json_bool_member(w, "ok", true, r->ok);
                json_end_object(w);
        }
        json_end_array(w);
}

static void json_table(JsonWriter *w, const Status *s) {
        const CtSample *sm = &s->sample;

        json_key(w, "table");
        if (!s->have_sample) {
                json_null(w);
                return;
        }
        json_begin_object(w);
        json_string_member(w, "source", ctstat_source_to_string(sm->source));
        json_unsigned_member(w, "count", true, sm->count);
        json_unsigned_member(w, "max", true, sm->max);
        json_key(w, "percent");
        json_decimal(w, table_fraction(sm->count, sm->max, 10000), 2);
        json_string_member(w, "level", level_to_string(s->level));
        json_unsigned_member(w, "warning_percent", s->crit_percent > 0, s->warn_percent);
        json_unsigned_member(w, "critical_percent", s->crit_percent > 0, s->crit_percent);
        json_string_member(w, "thresholds_from", s->thresholds_from_daemon ? "daemon" : "configuration");
        json_unsigned_member(w, "drop", sm->has_cpu_stats, sm->drop);
        json_unsigned_member(w, "early_drop", sm->has_cpu_stats, sm->early_drop);
        json_unsigned_member(w, "insert_failed", sm->has_cpu_stats, sm->insert_failed);
        json_unsigned_member(w, "error", sm->has_cpu_stats, sm->error);
        json_end_object(w);
}

static void json_events(JsonWriter *w, const Status *s) {
        json_key(w, "events");
        json_begin_array(w);
        for (size_t i = 0; s->have_state && i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                json_begin_object(w);
                json_time(w, "time", e->time);
                json_string_member(w, "event", e->name);
                json_string_member(w, "message", e->message);
                json_end_object(w);
        }
        json_end_array(w);
}

static void json_u64_member(JsonWriter *w, const char *key, uint64_t v) {
        json_key(w, key);
        json_unsigned(w, v);
}

/* "auto_raise": { enabled, memory_budget, from, budget: {...} | null, raised: {...} | null },
 * null when neither the daemon nor the files say. */
static void print_budget_json(JsonWriter *w, const Status *s) {
        const DaemonBudget *b = &s->budget;
        const DaemonRaise *r = &s->raise;

        json_key(w, "auto_raise");
        if (!s->have_auto_raise) {
                json_null(w);
                return;
        }
        json_begin_object(w);
        json_key(w, "enabled");
        json_bool(w, s->auto_raise);
        json_key(w, "memory_budget");
        json_string(w, s->memory_budget);
        json_key(w, "from");
        json_string(w, s->have_state ? "daemon" : "configuration");
        json_key(w, "budget");
        if (b->known) {
                json_begin_object(w);
                json_u64_member(w, "bytes", b->bytes);
                json_u64_member(w, "used", b->used);
                json_u64_member(w, "headroom", b->headroom);
                json_u64_member(w, "headroom_entries", b->headroom_entries);
                json_u64_member(w, "entry_bytes", b->entry_bytes);
                json_u64_member(w, "bucket_bytes", TABLE_RAISE_BUCKET_BYTES);
                json_u64_member(w, "max", b->max);
                json_u64_member(w, "buckets", b->buckets);
                json_end_object(w);
        } else
                json_null(w);
        json_key(w, "raised");
        if (r->time > 0) {
                json_begin_object(w);
                json_time(w, "time", r->time);
                json_u64_member(w, "from_max", r->from_max);
                json_u64_member(w, "to_max", r->to_max);
                json_u64_member(w, "from_buckets", r->from_buckets);
                json_u64_member(w, "to_buckets", r->to_buckets);
                json_end_object(w);
        } else
                json_null(w);
        json_end_object(w);
}

/* The schema of ctguard(8): version 2, every member present on every path. */
static int print_json(const Status *s) {
        JsonWriter w;

        json_init(&w, stdout);
        json_begin_object(&w);
        json_unsigned_member(&w, "version", true, 2);
        json_string_member(&w, "status", health_to_string(s->health));
        json_unsigned_member(&w, "exit", true, s->health);
        json_string_member(&w, "reason", s->reason);
        json_daemon(&w, s);
        json_hold(&w, s);
        json_modules(&w, s);
        json_sysctls(&w, s);
        json_table(&w, s);
        print_budget_json(&w, s);
        json_events(&w, s);
        json_key(&w, "problems");
        json_begin_array(&w);
        STRV_FOREACH(p, s->problems)
                json_string(&w, *p);
        json_end_array(&w);
        json_end_object(&w);
        return json_finish(&w);
}

typedef struct StatusArgs {
        bool json;
        bool netns;
} StatusArgs;

static const VerbOption status_options[] = {
        VERB_OPTION_FLAG("netns", "Instead, every network namespace that tracks connections, fullest first",
                         StatusArgs, netns),
        VERB_OPTION_JSON("One JSON object (schema in ctguard(8))", StatusArgs, json),
        {}
};

const VerbSyntax verb_status_syntax = {
        .name = "status",
        .description =
                "Shows the guarded modules (built in, live or missing), the guarded sysctls (desired\n"
                "and actual), the conntrack count against the maximum, the drop counters, the hold\n"
                "state, whether the daemon runs, and its last events.\n",
        .options = status_options,
        .epilogue =
                "Exit status, as monitoring plugins expect: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN;\n"
                "64 for a usage error. With --netns: 0, or 1 if the namespaces cannot be listed.\n",
};

int verb_status(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        _cleanup_(status_done) Status s = {};
        StatusArgs a = {};
        int r;

        r = verb_parse_argv(&verb_status_syntax, argc, argv, &a);
        if (r >= 0)
                return r;
        if (a.netns)
                return verb_status_netns(a.json);

        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), HEALTH_UNKNOWN;

        /* From here on every path prints a verdict, "unknown" with the problem at worst. */
        r = verb_load_config(&c);
        if (r == -ENOMEM)
                return log_oom(), HEALTH_UNKNOWN;
        if (r < 0) {
                c = NULL;
                r = problem(&s, HEALTH_UNKNOWN, "the configuration is invalid (see 'ctguard check-config')");
        }
        if (r >= 0)
                r = check_daemon(&s);
        if (r >= 0)
                r = check_hold(&s);
        if (r >= 0 && c)
                r = check_modules(&s, c);
        if (r >= 0)
                r = check_sysctls(&s, c, sysctl_root);
        if (r >= 0)
                r = check_table(&s, c, sysctl_root);
        if (r >= 0)
                r = check_budget(&s, c, sysctl_root);
        if (r < 0) {
                log_error_errno(r, "Failed to collect the status: %m");
                s.health = HEALTH_UNKNOWN;
                if (!s.reason)
                        s.reason = strdup("failed to collect the status");
        }

        if (a.json)
                r = print_json(&s);
        else {
                print_text(&s);
                r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the status: %m"), HEALTH_UNKNOWN;
        return s.health;
}
