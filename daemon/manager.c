/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <signal.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"
#include "snapshot.h"
#include "strv.h"

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

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        bool table_changed;
        usec_t next;
        int r;

        /* The guards run here, each tick: nothing in this loop may block for long. The module
         * guard goes first: it reads the hold, which the sysctl guard obeys too. */
        module_guard_tick(m->module_guard);
        if (sysctl_guard_tick(m->sysctl_guard, usec) > 0)
                notify_status(m);
        /* The table guard picks the interval: faster while the table is filling up. */
        next = table_guard_tick(m->table_guard, usec, &table_changed);
        if (table_changed)
                notify_status(m);
        else
                refresh_status(m);

        metrics_textfile_tick(m->metrics, m, usec);

        r = sd_event_source_set_time(s, usec + next);
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
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

static void log_config_loaded(const Config *c, const char *why) {
        _cleanup_free_ char *files = strv_join(c->files, " "), *field = NULL;

        if (asprintf(&field, "CTGUARD_FILES=%s", files ?: "") < 0)
                field = NULL;
        const char *fields[] = { field, NULL };

        log_event(LOG_INFO, "config-loaded", field ? fields : NULL,
                  "Configuration %s: mode %s, %zu sysctl(s) guarded%s, %zu file(s) read.", why,
                  guard_mode_to_string(c->mode), c->n_sysctls,
                  c->sysctl_snapshot ? " (snapshot of the values at start)" : "",
                  strv_length(c->files));
}

int manager_reload(Manager *m) {
        _cleanup_(config_errors_done) ConfigErrors errors = {};
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration...");

        r = config_load(m->root, m->config_path, &c, &errors);
        if (r == 0)
                r = config_inherit_snapshot(c, m->config);
        if (r == 0 && c->sysctl_snapshot && !m->config->sysctl_snapshot)
                /* [Sysctl] used to assign keys and no longer does: record what is there now. */
                r = config_take_snapshot(c, m->sysctl_root);
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
                        log_event(LOG_ERR, "config-rejected", count ? fields : NULL,
                                  "Configuration rejected with %zu error(s), keeping the previous one.",
                                  errors.n);
                else
                        log_event(LOG_ERR, "config-rejected", NULL,
                                  "Failed to reload the configuration, keeping the previous one: %s",
                                  strerror(-r));
                (void) sd_notify(false, "READY=1");
                notify_status(m);
                return r;
        }

        config_free(m->config);
        m->config = TAKE_PTR(c);
        m->reloads++;
        log_config_loaded(m->config, "reloaded");

        r = sysctl_guard_set_config(m->sysctl_guard, m->config);
        if (r < 0)
                log_warning_errno(r, "Failed to update the sysctl guard, it keeps the previous values: %m");
        r = module_guard_reload(m->module_guard);
        if (r < 0)
                log_warning_errno(r, "Failed to update the module guard: %m");
        table_guard_set_config(m->table_guard, m->config);

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

int manager_new(const char *root, const char *config_path, Config *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
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

        /* First, so that the guards' first events are already recorded for "ctguard status".
         * Two daemons on one root would fight each other: refuse the second. */
        r = publisher_new(m->root, &m->publisher);
        if (r == -EBUSY)
                return log_error_errno(r, "Another ctguard daemon is running (it holds %s/run/ctguard/daemon.lock).",
                                       m->root);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                log_warning_errno(r, "Failed to take %s/run/ctguard/daemon.lock, 'ctguard status' will not see this daemon: %m",
                                  m->root);
        r = metrics_textfile_new(&m->metrics);
        if (r < 0)
                return r;
        log_set_event_hook(on_event, m);

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
        r = sd_event_add_time_relative(m->event, &m->tick, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                       on_tick, m);
        if (r < 0)
                return r;

        r = config_take_snapshot(m->config, m->sysctl_root);
        if (r < 0)
                return r;

        r = sysctl_guard_new(m->sysctl_root, m->event, m->config, &m->sysctl_guard);
        if (r < 0)
                return r;

        /* After the sysctl guard: a heal hands over to it. */
        r = module_guard_new(m, &m->module_guard);
        if (r < 0)
                return r;

        r = table_guard_new(m->event, m->sysctl_root, m->config, &m->table_guard);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        log_config_loaded(m->config, "loaded");
        (void) sd_notify(false, "READY=1");
        notify_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}
