/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <time.h>

#include "time-util.h"
#include "daemon-state.h"
#include "log.h"
#include "publish.h"

struct Publisher {
        char *root;
        int lock_fd;
        DaemonState state;
        int last_error;         /* a failing write is reported once, not on every event */
        char *last_text;        /* what was written last: an unchanged state is not rewritten */
};

int publisher_new(const char *root, Publisher **ret) {
        Publisher *p;
        int fd;

        fd = daemon_lock_take(root);
        if (fd < 0)
                return fd;

        p = calloc(1, sizeof(Publisher));
        if (!p) {
                safe_close(fd);
                return -ENOMEM;
        }
        p->lock_fd = fd;
        p->root = strdup(root);
        p->state.pid = (unsigned) getpid();
        p->state.started = now_usec(CLOCK_REALTIME);
        if (!p->root) {
                publisher_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

Publisher *publisher_free(Publisher *p) {
        if (!p)
                return NULL;
        daemon_state_done(&p->state);
        free(p->last_text);
        safe_close(p->lock_fd);
        free(p->root);
        free(p);
        return NULL;
}

static void save(Publisher *p) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (daemon_state_format(&p->state, &text) < 0)
                return;
        if (p->last_text && streq(p->last_text, text))
                return;
        r = daemon_state_save(p->root, &p->state);
        if (r >= 0) {
                free(p->last_text);
                p->last_text = TAKE_PTR(text);
        }

        if (r < 0 && r != p->last_error)
                /* Not log_event(): that would call back into us. */
                log_warning_errno(r, "Failed to write %s%s/%s for 'ctguard status', ignoring: %m",
                                  p->root, DAEMON_STATE_DIR, DAEMON_STATE_FILE);
        p->last_error = r < 0 ? r : 0;
}

void publisher_on_event(void *userdata, int level, const char *event, const char *message) {
        Publisher *p = userdata;

        if (daemon_state_add_event(&p->state, now_usec(CLOCK_REALTIME), event, message) < 0)
                return;
        save(p);
}

static int replace(char **dst, const char *v);

void publisher_update(Publisher *p, const Config *c, unsigned heals, unsigned restores) {
        char budget[TABLE_BUDGET_FORMAT_MAX];
        char *mode;

        mode = strdup(guard_mode_to_string(c->mode));
        if (mode) {
                free(p->state.mode);
                p->state.mode = mode;
        }
        p->state.have_auto_raise = true;
        p->state.auto_raise = c->auto_raise;
        (void) replace(&p->state.memory_budget,
                       table_budget_format(&c->memory_budget, budget, sizeof(budget)));
        p->state.warn_percent = c->warn_percent;
        p->state.crit_percent = c->crit_percent;
        p->state.heals = heals;
        p->state.restores = restores;
        save(p);
}

int publisher_set_sysctls(Publisher *p, const DaemonSysctl *rows, size_t n) {
        int r = daemon_state_set_sysctls(&p->state, rows, n);

        if (r >= 0)
                save(p);
        return r;
}

static int replace(char **dst, const char *v) {
        char *n = NULL;

        if (v && !(n = strdup(v)))
                return -ENOMEM;
        free(*dst);
        *dst = n;
        return 0;
}

int publisher_set_config(Publisher *p, const char *fingerprint, const char *config_main) {
        int r;

        r = replace(&p->state.fingerprint, fingerprint);
        if (r >= 0)
                r = replace(&p->state.config_main, config_main);
        if (r >= 0)
                save(p);
        return r;
}

int publisher_set_reload(Publisher *p, usec_t time, bool ok, const char *error) {
        int r = replace(&p->state.reload_error, ok ? NULL : error);

        p->state.reload = ok ? DAEMON_RELOAD_OK : DAEMON_RELOAD_REJECTED;
        p->state.reload_time = time;
        save(p);
        return r;
}

void publisher_set_counters_error(Publisher *p, int error) {
        p->state.counters_error = error;
        save(p);
}

void publisher_set_budget(Publisher *p, const DaemonBudget *budget, const DaemonRaise *raise) {
        p->state.budget = *budget;
        p->state.raise = *raise;
        save(p);
}
