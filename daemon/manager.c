/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <signal.h>
#include <systemd/sd-daemon.h>

#include "daemon-state.h"
#include "log.h"
#include "manager.h"
#include "run-file.h"
#include "sysctl-policy.h"
#include "strv.h"
#include "time-util.h"

static void log_config_errors(const ConfigErrors *e) {
        for (size_t i = 0; i < e->n; i++)
                log_error("%s", e->messages[i]);
}

static void format_status(Manager *m, char *buf, size_t size) {
        SysctlGuardCounts sc = {};
        ModuleGuardCounts mc;
        char table[96] = "table unknown";

        if (m->sysctl_guard)
                sysctl_guard_counts(m->sysctl_guard, &sc);
        module_guard_counts(m->module_guard, &mc);
        if (m->table_guard) {
                TableStatus ts;

                table_guard_status(m->table_guard, &ts);
                (void) table_status_format(&ts, table, sizeof(table));
        }
        /* One line for "systemctl status": what an operator checks first. "ctguard status"
         * has the details. */
        snprintf(buf, size, "%s, %s, modules ok %u/%u, sysctls ok %zu/%zu, %lu heal(s) since start, %s",
                 guard_mode_to_string(m->config->mode), table, mc.present, mc.guarded, sc.ok,
                 sc.guarded, mc.heals + sc.restores,
                 mc.flapping ? "stopped: modules flapping" : mc.held ? "held" : "not held");
}

/* What the daemon enforces, for every reader: the sysctl guard's own rows, owned and followed,
 * with their status. The publisher rewrites the state file only when they changed. */
typedef struct SysctlRows {
        DaemonSysctl *rows;
        size_t n, allocated;
} SysctlRows;

static void collect_sysctl(const SysctlGuardView *v, void *userdata) {
        SysctlRows *t = userdata;

        if (t->n >= t->allocated) {
                size_t k = MAX(t->allocated * 2, (size_t) 16);
                DaemonSysctl *n = reallocarray(t->rows, k, sizeof(DaemonSysctl));

                if (!n)
                        return;
                t->rows = n;
                t->allocated = k;
        }
        t->rows[t->n++] = (DaemonSysctl) {
                .path = (char *) v->path,
                .value = (char *) v->value,
                .origin = (char *) v->origin,
                .owned = v->owned,
                .status = (char *) sysctl_key_status_to_string(v->status),
        };
}

static void publish_sysctls(Manager *m) {
        SysctlRows t = {};

        if (!m->publisher || !m->sysctl_guard)
                return;
        sysctl_guard_foreach(m->sysctl_guard, collect_sysctl, &t);
        (void) publisher_set_sysctls(m->publisher, t.rows, t.n);
        free(t.rows);
}

/* Followed values survive a restart of the daemon, not a reboot: the previous run left them in
 * its state file under /run/ctguard. Read before this run publishes anything. */
static void seed_followed(Manager *m, const DaemonState *previous) {
        for (size_t i = 0; i < previous->n_sysctls; i++) {
                const DaemonSysctl *d = &previous->sysctls[i];
                int r;

                if (d->owned || !d->path || !d->value)
                        continue;
                r = sysctl_guard_seed_followed(m->sysctl_guard, d->path, d->value);
                if (r < 0 && r != -EPERM)
                        log_debug_errno(r, "Ignoring the followed value %s=%s of the previous run: %m",
                                        d->path, d->value);
        }
}

static void publish_config(Manager *m) {
        _cleanup_free_ char *fp = NULL;

        if (!m->publisher)
                return;
        if (daemon_config_fingerprint(m->root, m->config_path, &fp) < 0)
                fp = NULL;
        (void) publisher_set_config(m->publisher, fp, m->config_path);
        publish_sysctls(m);
}

static void publish_budget(Manager *m) {
        DaemonBudget b;
        DaemonRaise r;

        if (!m->publisher || !m->table_guard)
                return;
        table_guard_budget(m->table_guard, &b, &r);
        publisher_set_budget(m->publisher, &b, &r);
        publisher_set_counters_error(m->publisher, table_guard_counters_error(m->table_guard));
}

static void notify_status(Manager *m) {
        SysctlGuardCounts sc = {};
        ModuleGuardCounts mc;

        if (m->sysctl_guard)
                sysctl_guard_counts(m->sysctl_guard, &sc);
        module_guard_counts(m->module_guard, &mc);
        if (m->publisher)
                publisher_update(m->publisher, m->config, (unsigned) mc.heals, (unsigned) sc.restores);

        format_status(m, m->status, sizeof(m->status));
        (void) sd_notifyf(false, "STATUS=%s", m->status);
}

/* Whatever changed the line since it was last sent (a module lost or healed, a hold taken or
 * released, outside any tick), it is sent again. */
static void refresh_status(Manager *m) {
        char line[sizeof(m->status)];

        format_status(m, line, sizeof(line));
        if (!streq(line, m->status))
                notify_status(m);
}

/* Every event goes to the state file and to the metrics' counts. */
static void on_event(void *userdata, int level, const char *event, const char *message) {
        Manager *m = userdata;

        if (m->publisher)
                publisher_on_event(m->publisher, level, event, message);
        metrics_textfile_on_event(m->metrics, event);
}

/* nf_conntrack_max is one limit for every namespace: the host's, as the table guard read it. */
static uint64_t host_max(Manager *m) {
        TableStatus ts;

        table_guard_status(m->table_guard, &ts);
        return ts.valid ? ts.sample.max : 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        ModuleGuardCounts mc;
        bool table_changed;
        usec_t next, netns_next, now;
        int r;

        /* usec is when the tick was due, which after a stall is long past. */
        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                now = usec;

        /* The guards run here, each tick: nothing in this loop may block for long. The module
         * guard goes first: it reads the hold, which the sysctl guard obeys too. */
        module_guard_tick(m->module_guard);
        if (sysctl_guard_tick(m->sysctl_guard, now) > 0)
                notify_status(m);
        /* Also what a file watch changed between ticks: the file is rewritten only if a row
         * differs. */
        publish_sysctls(m);
        /* Looking never loads a module: only a daemon that heals may dump the table over
         * ctnetlink while nf_conntrack_netlink is absent. */
        module_guard_counts(m->module_guard, &mc);
        table_guard_set_may_load(m->table_guard, m->config->mode == GUARD_MODE_ENFORCE &&
                                                 !mc.held && !mc.flapping);
        /* The table guard picks the interval: faster while the table is filling up. */
        next = table_guard_tick(m->table_guard, now, &table_changed);
        publish_budget(m);
        netns_next = netns_guard_tick(m->netns_guard, now, host_max(m));
        next = MIN(next, netns_next);
        if (table_changed)
                notify_status(m);
        else
                refresh_status(m);

        metrics_textfile_tick(m->metrics, m, now);

        r = sd_event_source_set_time(s, tick_next(usec, now, next));
        if (r < 0)
                return log_error_errno(r, "Failed to rearm the poll timer: %m");
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata);
        return 0;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIG%s, stopping.", sigabbrev_np((int) si->ssi_signo));
        /* A change a file watch saw since the last tick is what the next run follows. */
        publish_sysctls(m);
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static void log_config_loaded(const Config *c, const char *why) {
        _cleanup_free_ char *files = strv_join(c->files, " "), *field = NULL;

        if (asprintf(&field, "CTGUARD_FILES=%s", files ?: "") < 0)
                field = NULL;
        const char *fields[] = { field, NULL };

        log_event(EVENT_CONFIG_LOADED, field ? fields : NULL,
                  "Configuration %s: mode %s, %zu sysctl(s) guarded%s, %zu file(s) read.", why,
                  guard_mode_to_string(c->mode), c->n_sysctls,
                  c->sysctl_snapshot ? " (none assigned: the netfilter sysctls are followed)" : "",
                  strv_length(c->files));
}

int manager_reload(Manager *m) {
        _cleanup_(config_errors_done) ConfigErrors errors = {};
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration...");

        /* Nothing is carried over from the previous configuration: the sysctl guard keeps the
         * values it follows itself, and an assignment removed turns into a followed key. */
        r = config_load(m->root, m->config_path, &c, &errors);
        if (r < 0) {
                _cleanup_free_ char *count = NULL, *first = NULL;

                m->reloads_rejected++;
                log_config_errors(&errors);
                if (asprintf(&count, "CTGUARD_ERRORS=%zu", errors.n) < 0)
                        count = NULL;
                if (errors.n > 0 && asprintf(&first, "CTGUARD_ERROR=%s", errors.messages[0]) < 0)
                        first = NULL;
                const char *fields[] = { count, first, NULL };
                if (r == -EINVAL)
                        log_event(EVENT_CONFIG_REJECTED, count ? fields : NULL,
                                  "Configuration rejected with %zu error(s), keeping the previous one.",
                                  errors.n);
                else
                        log_event(EVENT_CONFIG_REJECTED, NULL,
                                  "Failed to reload the configuration, keeping the previous one: %s",
                                  strerror(-r));
                if (m->publisher)
                        (void) publisher_set_reload(m->publisher, now_usec(CLOCK_REALTIME), false,
                                                    errors.n > 0 ? errors.messages[0] : strerror(-r));
                (void) sd_notify(false, "READY=1");
                notify_status(m);
                return r;
        }

        config_free(m->config);
        m->config = TAKE_PTR(c);
        m->reloads++;
        log_config_loaded(m->config, "reloaded");
        /* The result first: a reader that sees the new fingerprint sees the reload with it. */
        if (m->publisher)
                (void) publisher_set_reload(m->publisher, now_usec(CLOCK_REALTIME), true, NULL);
        publish_config(m);

        r = sysctl_guard_set_config(m->sysctl_guard, m->config);
        if (r < 0)
                log_warning_errno(r, "Failed to update the sysctl guard, it keeps the previous values: %m");
        r = module_guard_reload(m->module_guard);
        if (r < 0)
                log_warning_errno(r, "Failed to update the module guard: %m");
        table_guard_set_config(m->table_guard, m->config);
        netns_guard_set_config(m->netns_guard, m->config);

        /* A changed poll interval takes effect from the next tick on. */
        (void) sd_notify(false, "READY=1");
        notify_status(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        log_set_event_hook(NULL, NULL);
        publisher_free(m->publisher);
        metrics_textfile_free(m->metrics);
        module_guard_free(m->module_guard);
        table_guard_free(m->table_guard);
        netns_guard_free(m->netns_guard);
        sysctl_guard_free(m->sysctl_guard);
        sd_event_source_unref(m->tick);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->root);
        free(m->config_path);
        free(m->sysctl_root);
        free(m);
        return NULL;
}

/* The event loop: the signals, the watchdog and the tick. */
static int manager_setup_loop(Manager *m) {
        sigset_t mask;
        int r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_terminate, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGINT, on_terminate, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return r;

        /* Serves WatchdogSec= from the loop itself: a stalled loop is a dead daemon. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        /* 1 ms accuracy: the default 250 ms slack would add up to a quarter second to every
         * restore and heal, for no measurable saving in CPU. */
        return sd_event_add_time_relative(m->event, &m->tick, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                          on_tick, m);
}

/* The three guards, seeded with what the previous run followed. */
static int manager_guards_new(Manager *m, const DaemonState *previous) {
        int r;

        r = sysctl_guard_new(m->sysctl_root, m->event, m->config, &m->sysctl_guard);
        if (r < 0)
                return r;
        seed_followed(m, previous);

        /* After the sysctl guard: a heal hands over to it. */
        r = module_guard_new(m, &m->module_guard);
        if (r < 0)
                return r;

        r = table_guard_new(m->event, m->root, m->config, &m->table_guard);
        if (r < 0)
                return r;
        return table_guard_attach(m->table_guard, m->sysctl_guard);
}

int manager_new(const char *root, const char *config_path, Config *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(daemon_state_done) DaemonState previous = {};
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m) {
                config_free(config);
                return -ENOMEM;
        }
        m->config = config;
        m->root = strdup(strempty(root));
        m->config_path = config_path ? strdup(config_path) : NULL;
        if (!m->root || (config_path && !m->config_path) ||
            asprintf(&m->sysctl_root, "%s/proc/sys", m->root) < 0)
                return -ENOMEM;

        /* What the previous run followed, before this run's publisher replaces its file. */
        r = daemon_state_load(m->root, &previous);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Ignoring the state a previous ctguard left in %s%s/%s: %s",
                                  m->root, DAEMON_STATE_DIR, DAEMON_STATE_FILE, run_file_strerror(r));

        /* First, so that the guards' first events are already recorded for "ctguard status".
         * Two daemons on one root would fight each other: refuse the second. */
        r = publisher_new(m->root, &m->publisher);
        if (r == -EBUSY)
                return log_error_errno(r, "Another ctguard daemon is running (it holds %s/run/ctguard/daemon.lock).",
                                       m->root);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning_errno(r, "Failed to take %s/run/ctguard/daemon.lock (%s), 'ctguard status' will not see this daemon.",
                                  m->root, run_file_strerror(r));
        r = metrics_textfile_new(&m->metrics);
        if (r < 0)
                return r;
        log_set_event_hook(on_event, m);

        r = manager_setup_loop(m);
        if (r < 0)
                return r;
        r = manager_guards_new(m, &previous);
        if (r < 0)
                return r;
        r = netns_guard_new(m->root, m->config, &m->netns_guard);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        log_config_loaded(m->config, "loaded");
        publish_config(m);
        (void) sd_notify(false, "READY=1");
        notify_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}
