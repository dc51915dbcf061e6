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

/* One word per level, the same as the health: "critical", not "crit". */
static const char *level_to_string(TableLevel l) {
        return l == TABLE_LEVEL_CRIT ? "critical" : l == TABLE_LEVEL_WARN ? "warning" : "ok";
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
                return problem(s, HEALTH_UNKNOWN, "%s/run/ctguard/%s %s", arg_root, DAEMON_LOCK_FILE,
                               run_file_strerror(r));
        s->running = r > 0;
        if (!s->running)
                return problem(s, HEALTH_WARNING, "the ctguard daemon is not running; "
                               "thresholds and sysctls shown are computed from the configuration files");

        r = daemon_state_load(arg_root, &s->state);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return problem(s, HEALTH_UNKNOWN, "%s/run/ctguard/%s %s", arg_root, DAEMON_STATE_FILE,
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
        _cleanup_free_ char *sysfs = NULL, *proc = NULL;
        ModulePaths paths = {};
        int r;

        if (!c->ensure || !c->ensure[0])
                return 0;

        if (*arg_root) {
                if (asprintf(&sysfs, "%s/sys", arg_root) < 0 || asprintf(&proc, "%s/proc", arg_root) < 0)
                        return -ENOMEM;
                paths.sysfs = sysfs;
                paths.proc = proc;
        }
        r = module_context_new(&paths, &ctx);
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
                bool owned = !c->sysctls[i].origin ||
                             !streq(c->sysctls[i].origin, CONFIG_ORIGIN_FOLLOWED);

                r = sysctl_row(s, sysctl_root, c->sysctls[i].path, c->sysctls[i].value,
                               c->sysctls[i].origin, owned);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "96.2": count/max in tenths of a percent, rounded down. */
static uint64_t permille(uint64_t count, uint64_t max) {
        return max == 0 ? 0 : count * 1000 / max;
}

static int check_table(Status *s, const Config *c, const char *sysctl_root) {
        _cleanup_(ctstat_closep) CtStat *st = NULL;
        TablePolicyConfig tc = {};
        char cnt[32], max[32];
        uint64_t pm;
        int r;

        /* The thresholds the daemon enforces; the files' only without one. */
        if (s->have_state && s->state.crit_percent > 0) {
                s->warn_percent = s->state.warn_percent;
                s->crit_percent = s->state.crit_percent;
                s->thresholds_from_daemon = true;
        } else if (c) {
                s->warn_percent = c->warn_percent;
                s->crit_percent = c->crit_percent;
        }
        tc = (TablePolicyConfig) { .warn_percent = s->warn_percent, .crit_percent = s->crit_percent };

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
        pm = permille(s->sample.count, s->sample.max);
        s->level = s->crit_percent > 0 ? table_level_plain(&tc, s->sample.count, s->sample.max) :
                                         TABLE_LEVEL_OK;
        if (s->level != TABLE_LEVEL_OK)
                r = problem(s, s->level == TABLE_LEVEL_CRIT ? HEALTH_CRITICAL : HEALTH_WARNING,
                            "table %" PRIu64 ".%" PRIu64 "%% full (%s of %s), %s at %u%%",
                            pm / 10, pm % 10, format_count(cnt, s->sample.count),
                            format_count(max, s->sample.max),
                            level_to_string(s->level),
                            s->level == TABLE_LEVEL_CRIT ? s->crit_percent : s->warn_percent);
        if (r < 0)
                return r;

        for (size_t i = 0; s->have_state && i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                if (streq(e->name, "table-full") &&
                    e->time + TABLE_FULL_RECENT_USEC > now_usec(CLOCK_REALTIME))
                        return problem(s, HEALTH_CRITICAL, "the table was full and packets were "
                                       "dropped within the last %u minutes",
                                       (unsigned) (TABLE_FULL_RECENT_USEC / USEC_PER_MINUTE));
        }
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

static void print_text(const Status *s) {
        char buf[64], cnt[32], max[32];

        /* The verdict first: a monitoring system shows this line only. */
        printf("CTGUARD ");
        for (const char *p = health_to_string(s->health); *p; p++)
                putchar(*p - 'a' + 'A');
        printf(" - ");
        if (s->reason)
                printf("%s", s->reason);
        else if (s->have_sample) {
                uint64_t pm = permille(s->sample.count, s->sample.max);

                printf("table %" PRIu64 ".%" PRIu64 "%% full (%s of %s)", pm / 10, pm % 10,
                       format_count(cnt, s->sample.count), format_count(max, s->sample.max));
        } else
                printf("no problem found");
        printf(" | ");
        print_perfdata(s);
        printf("\n");

        printf("daemon: %s\n", s->running ? "running" : "not running");
        if (s->running && s->have_state) {
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
        if (s->held) {
                format_time(buf, sizeof(buf), hold_wallclock(&s->hold, s->hold.until, now_usec));
                printf("hold: held%s%s, until %s\n", s->hold.reason ? " for " : "",
                       strempty(s->hold.reason), s->hold.until == USEC_INFINITY ? "released" : buf);
        } else
                printf("hold: none\n");

        printf("modules:%s\n", s->n_modules == 0 ? " none guarded" : "");
        for (size_t i = 0; i < s->n_modules; i++)
                printf("  %-20s %s%s%s\n", s->modules[i].name,
                       s->modules[i].detail ?: s->modules[i].state,
                       s->modules[i].guarded && !streq(s->modules[i].guarded, s->modules[i].name) ? " as " : "",
                       s->modules[i].guarded && !streq(s->modules[i].guarded, s->modules[i].name) ? s->modules[i].guarded : "");

        printf("sysctls:%s\n", s->n_sysctls == 0 ? " none" : "");
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const SysctlRow *r = &s->sysctls[i];

                if (!r->actual)
                        printf("  %-50s %s (want %s)\n", r->key, strerror(-r->error), r->desired);
                else if (!r->owned)
                        printf("  %-50s %s followed\n", r->key, r->actual);
                else if (r->ok)
                        printf("  %-50s %s ok (%s)\n", r->key, r->actual, strempty(r->origin));
                else
                        printf("  %-50s %s DRIFTED (want %s, %s)\n", r->key, r->actual, r->desired,
                               strempty(r->origin));
        }

        if (s->have_sample) {
                uint64_t pm = permille(s->sample.count, s->sample.max);

                printf("table: %s of %s entries (%" PRIu64 ".%" PRIu64 "%%), level %s",
                       format_count(cnt, s->sample.count), format_count(max, s->sample.max),
                       pm / 10, pm % 10, level_to_string(s->level));
                if (s->crit_percent > 0)
                        printf(" (warning %u%%, critical %u%%, %s)", s->warn_percent, s->crit_percent,
                               s->thresholds_from_daemon ? "the daemon's" :
                               "from the configuration files, no daemon's");
                printf("\n");
                if (s->sample.has_cpu_stats)
                        printf("  drop %" PRIu64 ", early_drop %" PRIu64 ", insert_failed %" PRIu64
                               ", error %" PRIu64 " (since boot)\n",
                               s->sample.drop, s->sample.early_drop, s->sample.insert_failed, s->sample.error);
        } else
                printf("table: unknown\n");

        if (s->have_state && s->state.n_events > 0) {
                printf("last events:\n");
                for (size_t i = 0; i < s->state.n_events; i++) {
                        const DaemonEvent *e = daemon_state_event(&s->state, i);

                        format_time(buf, sizeof(buf), e->time);
                        printf("  %s %-18s %s\n", buf, e->name, e->message);
                }
        }

        STRV_FOREACH(p, s->problems)
                printf("problem: %s\n", *p);
}

static void json_time(JsonWriter *w, const char *key, usec_t t) {
        char buf[64];

        json_key(w, key);
        if (t == USEC_INFINITY)
                json_null(w);
        else
                json_string(w, format_time(buf, sizeof(buf), t));
}

static void json_counter(JsonWriter *w, const CtSample *sm, const char *key, uint64_t v) {
        json_key(w, key);
        if (sm->has_cpu_stats)
                json_unsigned(w, v);
        else
                json_null(w);
}

static int print_json(const Status *s) {
        JsonWriter w;

        json_init(&w, stdout);
        json_begin_object(&w);
        json_key(&w, "version");
        json_unsigned(&w, 2);
        json_key(&w, "status");
        json_string(&w, health_to_string(s->health));
        json_key(&w, "exit");
        json_unsigned(&w, s->health);
        json_key(&w, "reason");
        if (s->reason)
                json_string(&w, s->reason);
        else
                json_null(&w);

        json_key(&w, "daemon");
        json_begin_object(&w);
        json_key(&w, "running");
        json_bool(&w, s->running);
        json_key(&w, "pid");
        if (s->have_state)
                json_unsigned(&w, s->state.pid);
        else
                json_null(&w);
        if (s->have_state)
                json_time(&w, "started", s->state.started);
        else {
                json_key(&w, "started");
                json_null(&w);
        }
        json_key(&w, "mode");
        if (s->have_state && s->state.mode)
                json_string(&w, s->state.mode);
        else
                json_null(&w);
        json_key(&w, "heals");
        if (s->have_state)
                json_unsigned(&w, s->state.heals);
        else
                json_null(&w);
        json_key(&w, "restores");
        if (s->have_state)
                json_unsigned(&w, s->state.restores);
        else
                json_null(&w);
        json_key(&w, "reload");
        if (s->have_state && s->state.reload != DAEMON_RELOAD_NONE) {
                json_begin_object(&w);
                json_key(&w, "result");
                json_string(&w, daemon_reload_to_string(s->state.reload));
                json_time(&w, "time", s->state.reload_time);
                json_key(&w, "error");
                if (s->state.reload_error)
                        json_string(&w, s->state.reload_error);
                else
                        json_null(&w);
                json_end_object(&w);
        } else
                json_null(&w);
        json_key(&w, "config_changed");
        if (s->have_state && s->state.fingerprint)
                json_bool(&w, s->config_changed);
        else
                json_null(&w);
        json_end_object(&w);

        json_key(&w, "hold");
        json_begin_object(&w);
        json_key(&w, "held");
        json_bool(&w, s->held);
        if (s->held)
                json_time(&w, "until", hold_wallclock(&s->hold, s->hold.until, now_usec));
        else {
                json_key(&w, "until");
                json_null(&w);
        }
        json_key(&w, "reason");
        if (s->held && s->hold.reason)
                json_string(&w, s->hold.reason);
        else
                json_null(&w);
        json_end_object(&w);

        json_key(&w, "modules");
        json_begin_array(&w);
        for (size_t i = 0; i < s->n_modules; i++) {
                json_begin_object(&w);
                json_key(&w, "name");
                json_string(&w, s->modules[i].name);
                json_key(&w, "module");
                if (s->modules[i].guarded)
                        json_string(&w, s->modules[i].guarded);
                else
                        json_null(&w);
                json_key(&w, "state");
                json_string(&w, strempty(s->modules[i].state));
                json_key(&w, "present");
                json_bool(&w, s->modules[i].ok);
                json_end_object(&w);
        }
        json_end_array(&w);

        json_key(&w, "sysctls");
        json_begin_array(&w);
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const SysctlRow *r = &s->sysctls[i];

                json_begin_object(&w);
                json_key(&w, "key");
                json_string(&w, r->key);
                json_key(&w, "desired");
                json_string(&w, r->desired);
                json_key(&w, "actual");
                if (r->actual)
                        json_string(&w, r->actual);
                else
                        json_null(&w);
                json_key(&w, "origin");
                json_string(&w, strempty(r->origin));
                json_key(&w, "owned");
                json_bool(&w, r->owned);
                json_key(&w, "ok");
                json_bool(&w, r->ok);
                json_end_object(&w);
        }
        json_end_array(&w);

        json_key(&w, "table");
        if (s->have_sample) {
                json_begin_object(&w);
                json_key(&w, "source");
                json_string(&w, ctstat_source_to_string(s->sample.source));
                json_key(&w, "count");
                json_unsigned(&w, s->sample.count);
                json_key(&w, "max");
                json_unsigned(&w, s->sample.max);
                json_key(&w, "percent");
                json_decimal(&w, s->sample.max == 0 ? 0 : (uint64_t) s->sample.count * 10000 / s->sample.max, 2);
                json_key(&w, "level");
                json_string(&w, level_to_string(s->level));
                json_key(&w, "warning_percent");
                if (s->crit_percent > 0)
                        json_unsigned(&w, s->warn_percent);
                else
                        json_null(&w);
                json_key(&w, "critical_percent");
                if (s->crit_percent > 0)
                        json_unsigned(&w, s->crit_percent);
                else
                        json_null(&w);
                json_key(&w, "thresholds_from");
                json_string(&w, s->thresholds_from_daemon ? "daemon" : "configuration");
                json_counter(&w, &s->sample, "drop", s->sample.drop);
                json_counter(&w, &s->sample, "early_drop", s->sample.early_drop);
                json_counter(&w, &s->sample, "insert_failed", s->sample.insert_failed);
                json_counter(&w, &s->sample, "error", s->sample.error);
                json_end_object(&w);
        } else
                json_null(&w);

        json_key(&w, "events");
        json_begin_array(&w);
        for (size_t i = 0; s->have_state && i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                json_begin_object(&w);
                json_time(&w, "time", e->time);
                json_key(&w, "event");
                json_string(&w, e->name);
                json_key(&w, "message");
                json_string(&w, e->message);
                json_end_object(&w);
        }
        json_end_array(&w);

        json_key(&w, "problems");
        json_begin_array(&w);
        STRV_FOREACH(p, s->problems)
                json_string(&w, *p);
        json_end_array(&w);

        json_end_object(&w);
        return json_finish(&w);
}

static const char status_usage[] =
        "Usage: ctguard status [--netns] [--json]\n"
        "\n"
        "Shows the guarded modules (built in, live or missing), the guarded sysctls (desired\n"
        "and actual), the conntrack count against the maximum, the drop counters, the hold\n"
        "state, whether the daemon runs, and its last events.\n"
        "\n"
        "     --netns       Instead, every network namespace that tracks connections, fullest\n"
        "                   first: inode, name, PID, pod/container, count, fill, drops\n"
        "     --json        One JSON object (schema in ctguard(8))\n"
        "\n"
        "Exit status, as monitoring plugins expect: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN;\n"
        "64 for a usage error. With --netns: 0, or 1 if the namespaces cannot be listed.\n";

int verb_status(int argc, char *argv[]) {
        enum { ARG_JSON = _ARG_VERB_FIRST, ARG_NETNS };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "json",  no_argument, NULL, ARG_JSON },
                { "netns", no_argument, NULL, ARG_NETNS },
                {}
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        _cleanup_(status_done) Status s = {};
        bool json = false, netns = false;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, options, NULL)) >= 0) {
                if (opt == ARG_JSON) {
                        json = true;
                        continue;
                }
                if (opt == ARG_NETNS) {
                        netns = true;
                        continue;
                }
                r = verb_other_option(opt, status_usage);
                if (r >= 0)
                        return r;
        }
        r = verb_no_more_args(argc, argv);
        if (r >= 0)
                return r;
        if (netns)
                return verb_status_netns(json);

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
        if (r < 0) {
                log_error_errno(r, "Failed to collect the status: %m");
                s.health = HEALTH_UNKNOWN;
                if (!s.reason)
                        s.reason = strdup("failed to collect the status");
        }

        if (json)
                r = print_json(&s);
        else {
                print_text(&s);
                r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the status: %m"), HEALTH_UNKNOWN;
        return s.health;
}
