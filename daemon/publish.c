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

void publisher_update(Publisher *p, const Config *c, unsigned heals, unsigned restores) {
        char *mode;

        mode = strdup(guard_mode_to_string(c->mode));
        if (mode) {
                free(p->state.mode);
                p->state.mode = mode;
        }
        p->state.heals = heals;
        p->state.restores = restores;
        daemon_state_clear_desired(&p->state);
        for (size_t i = 0; i < c->n_sysctls; i++)
                (void) daemon_state_set_desired(&p->state, c->sysctls[i].path, c->sysctls[i].value);
        save(p);
}
