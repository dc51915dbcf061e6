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
static void health_raise(Health *h, Health n) {
        static const int rank[] = { [HEALTH_OK] = 0, [HEALTH_UNKNOWN] = 1, [HEALTH_WARNING] = 2,
                                    [HEALTH_CRITICAL] = 3 };
        if (rank[n] > rank[*h])
                *h = n;
}

/* A table-full event this recent makes the status critical: the drop counters themselves
 * count since boot and cannot say "now". */
#define RECENT_FULL_USEC (5 * USEC_PER_MINUTE)

typedef struct ModuleRow {
        char *name;
        char *guarded;          /* the module actually checked (an alias' target) */
        const char *state;      /* "live", "builtin", "absent", ..., or "gone" */
        char *detail;
        bool ok;
} ModuleRow;

typedef struct SysctlRow {
        char *key;
        const char *desired;
        const char *origin;
        char *actual;           /* NULL: unavailable */
        int error;
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
        char **problems;
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
        return strv_push(&s->problems, m);
}

static int check_daemon(Status *s) {
        int r;

        r = daemon_lock_probe(arg_root);
        if (r < 0 && r != -ENOENT && r != -EACCES)
                return r;
        s->running = r > 0;
        if (!s->running)
                return problem(s, HEALTH_WARNING, "the ctguard daemon is not running");

        r = daemon_state_load(arg_root, &s->state);
        if (r == -ENOMEM)
                return r;
        s->have_state = r >= 0;
        return 0;
}

static int check_hold(Status *s) {
        int r = hold_load(arg_root, &s->hold);

        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return problem(s, HEALTH_UNKNOWN, "cannot read the hold state: %s", strerror(-r));
        s->held = module_policy_hold_active(&s->hold, now_usec(CLOCK_REALTIME));
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

static int check_sysctls(Status *s, Config *c, const char *sysctl_root) {
        int r;

        /* A snapshot lives in the daemon's memory; without a daemon, the current values are
         * what it would guard. */
        if (c->sysctl_snapshot) {
                if (s->have_state)
                        for (size_t i = 0; i < s->state.n_desired; i++) {
                                r = config_set_sysctl(c, s->state.desired[i].path,
                                                      s->state.desired[i].value, "snapshot");
                                if (r < 0)
                                        return r;
                        }
                else {
                        r = config_take_snapshot(c, sysctl_root);
                        if (r < 0)
                                return problem(s, HEALTH_UNKNOWN, "cannot read sysctls: %s",
                                               strerror(-r));
                }
        }

        s->sysctls = calloc(c->n_sysctls + 1, sizeof(SysctlRow));
        if (!s->sysctls)
                return -ENOMEM;

        for (size_t i = 0; i < c->n_sysctls; i++) {
                SysctlRow *row = &s->sysctls[s->n_sysctls++];

                row->key = sysctl_path_to_key(c->sysctls[i].path);
                if (!row->key)
                        return -ENOMEM;
                row->desired = c->sysctls[i].value;
                row->origin = c->sysctls[i].origin;
                row->error = sysctl_read(sysctl_root, c->sysctls[i].path, &row->actual);
                if (row->error == -ENOMEM)
                        return row->error;
                if (row->error < 0) {
                        r = problem(s, HEALTH_WARNING, "sysctl %s cannot be read: %s", row->key,
                                    strerror(-row->error));
                        if (r < 0)
                                return r;
                        continue;
                }
                row->ok = sysctl_value_equal(row->actual, row->desired);
                if (!row->ok) {
                        r = problem(s, HEALTH_WARNING, "sysctl %s is %s, should be %s", row->key,
                                    row->actual, row->desired);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int check_table(Status *s, const Config *c, const char *sysctl_root) {
        _cleanup_(ctstat_closep) CtStat *st = NULL;
        TablePolicyConfig tc = {
                .warn_percent = c->warn_percent,
                .crit_percent = c->crit_percent,
        };
        int r;

        r = ctstat_open(arg_root, &st);
        if (r < 0)
                return r;
        r = ctstat_sample(st, &s->sample);
        if (r < 0) {
                s->sample_error = r;
                return problem(s, HEALTH_UNKNOWN, "cannot read the conntrack count: %s", strerror(-r));
        }
        s->have_sample = true;
        s->level = table_level_plain(&tc, s->sample.count, s->sample.max);
        if (s->level >= TABLE_LEVEL_CRIT)
                r = problem(s, HEALTH_CRITICAL, "conntrack table %u%% full (%" PRIu32 " of %" PRIu32 ")",
                            table_percent(s->sample.count, s->sample.max), s->sample.count, s->sample.max);
        else if (s->level >= TABLE_LEVEL_WARN)
                r = problem(s, HEALTH_WARNING, "conntrack table %u%% full (%" PRIu32 " of %" PRIu32 ")",
                            table_percent(s->sample.count, s->sample.max), s->sample.count, s->sample.max);
        if (r < 0)
                return r;

        for (size_t i = 0; s->have_state && i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                if (streq(e->name, "table-full") && e->time + RECENT_FULL_USEC > now_usec(CLOCK_REALTIME))
                        return problem(s, HEALTH_CRITICAL, "the table was full and packets were "
                                       "dropped within the last 5 minutes");
        }
        return 0;
}

static void print_time(char *buf, size_t n, usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&sec, &tm) || strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, n, "@%" PRIu64, t / USEC_PER_SEC);
}

static void print_text(const Status *s, const Config *c) {
        char buf[64];

        printf("ctguard: %s\n", s->running ? "running" : "not running");
        if (s->running && s->have_state) {
                print_time(buf, sizeof(buf), s->state.started);
                printf("  pid %u, mode %s, since %s, %u chain heal(s), %u sysctl restore(s)\n",
                       s->state.pid, strempty(s->state.mode), buf, s->state.heals, s->state.restores);
        }
        if (s->held) {
                print_time(buf, sizeof(buf), s->hold.until);
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

        printf("sysctls:%s\n", s->n_sysctls == 0 ? " none guarded" : "");
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const SysctlRow *r = &s->sysctls[i];

                if (!r->actual)
                        printf("  %-50s %s (want %s)\n", r->key, strerror(-r->error), r->desired);
                else if (r->ok)
                        printf("  %-50s %s ok\n", r->key, r->actual);
                else
                        printf("  %-50s %s DRIFTED (want %s)\n", r->key, r->actual, r->desired);
        }

        if (s->have_sample) {
                printf("table: %" PRIu32 " of %" PRIu32 " entries (%u%%), level %s (warn %u%%, crit %u%%)\n",
                       s->sample.count, s->sample.max, table_percent(s->sample.count, s->sample.max),
                       table_level_to_string(s->level), c->warn_percent, c->crit_percent);
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

                        print_time(buf, sizeof(buf), e->time);
                        printf("  %s %-18s %s\n", buf, e->name, e->message);
                }
        }

        STRV_FOREACH(p, s->problems)
                printf("problem: %s\n", *p);
        printf("status: %s\n", health_to_string(s->health));
}

static int print_json(const Status *s, const Config *c) {
        JsonWriter w;

        json_init(&w, stdout);
        json_begin_object(&w);
        json_key(&w, "version");
        json_unsigned(&w, 1);
        json_key(&w, "status");
        json_string(&w, health_to_string(s->health));
        json_key(&w, "exit");
        json_unsigned(&w, s->health);

        json_key(&w, "daemon");
        json_begin_object(&w);
        json_key(&w, "running");
        json_bool(&w, s->running);
        if (s->running && s->have_state) {
                json_key(&w, "pid");
                json_unsigned(&w, s->state.pid);
                json_key(&w, "started_usec");
                json_unsigned(&w, s->state.started);
                json_key(&w, "mode");
                json_string(&w, strempty(s->state.mode));
                json_key(&w, "heals");
                json_unsigned(&w, s->state.heals);
                json_key(&w, "restores");
                json_unsigned(&w, s->state.restores);
        }
        json_end_object(&w);

        json_key(&w, "hold");
        json_begin_object(&w);
        json_key(&w, "held");
        json_bool(&w, s->held);
        if (s->held) {
                json_key(&w, "since_usec");
                json_unsigned(&w, s->hold.since);
                json_key(&w, "until_usec");
                if (s->hold.until == USEC_INFINITY)
                        json_null(&w);
                else
                        json_unsigned(&w, s->hold.until);
                json_key(&w, "reason");
                if (s->hold.reason)
                        json_string(&w, s->hold.reason);
                else
                        json_null(&w);
        }
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
                json_unsigned(&w, table_percent(s->sample.count, s->sample.max));
                json_key(&w, "level");
                json_string(&w, table_level_to_string(s->level));
                json_key(&w, "warn_percent");
                json_unsigned(&w, c->warn_percent);
                json_key(&w, "crit_percent");
                json_unsigned(&w, c->crit_percent);
                if (s->sample.has_cpu_stats) {
                        json_key(&w, "drop");
                        json_unsigned(&w, s->sample.drop);
                        json_key(&w, "early_drop");
                        json_unsigned(&w, s->sample.early_drop);
                        json_key(&w, "insert_failed");
                        json_unsigned(&w, s->sample.insert_failed);
                        json_key(&w, "error");
                        json_unsigned(&w, s->sample.error);
                }
                json_end_object(&w);
        } else
                json_null(&w);

        json_key(&w, "events");
        json_begin_array(&w);
        for (size_t i = 0; s->have_state && i < s->state.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s->state, i);

                json_begin_object(&w);
                json_key(&w, "time_usec");
                json_unsigned(&w, e->time);
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
        "Usage: ctguard status [--json]\n"
        "\n"
        "Shows the guarded modules (built in, live or missing), the guarded sysctls (desired\n"
        "and actual), the conntrack count against the maximum, the drop counters, the hold\n"
        "state, whether the daemon runs, and its last events.\n"
        "\n"
        "     --json        One JSON object (schema in ctguard(8))\n"
        "\n"
        "Exit status, as monitoring plugins expect: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n";

int verb_status(int argc, char *argv[]) {
        enum { ARG_JSON = _ARG_VERB_FIRST };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "json", no_argument, NULL, ARG_JSON },
                {}
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        _cleanup_(status_done) Status s = {};
        bool json = false;
        int opt, r;

        optind = 0;
        while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, options, NULL)) >= 0) {
                if (opt == ARG_JSON) {
                        json = true;
                        continue;
                }
                /* A usage error is UNKNOWN to a monitoring system. */
                r = verb_other_option(opt, status_usage);
                if (r >= 0)
                        return r == EXIT_SUCCESS ? r : HEALTH_UNKNOWN;
        }
        if (verb_no_more_args(argc, argv) >= 0)
                return HEALTH_UNKNOWN;

        r = verb_load_config(&c);
        if (r < 0)
                return HEALTH_UNKNOWN;
        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), HEALTH_UNKNOWN;

        r = check_daemon(&s);
        if (r >= 0)
                r = check_hold(&s);
        if (r >= 0)
                r = check_modules(&s, c);
        if (r >= 0)
                r = check_sysctls(&s, c, sysctl_root);
        if (r >= 0)
                r = check_table(&s, c, sysctl_root);
        if (r < 0)
                return log_error_errno(r, "Failed to collect the status: %m"), HEALTH_UNKNOWN;

        if (json)
                r = print_json(&s, c);
        else {
                print_text(&s, c);
                r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to write the status: %m"), HEALTH_UNKNOWN;
        return s.health;
}
