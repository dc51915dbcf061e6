/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"

/* Publishes what "ctguard status" needs from the running daemon (lib/daemon-state.h): the
 * lock that says a daemon runs, and the state file with the guarded values, heal counts and
 * last events. Written on start, on reload and on every event; never on a quiet tick. */

typedef struct Publisher Publisher;

/* Takes the daemon lock below root. -EBUSY: another daemon runs with this root. */
int publisher_new(const char *root, Publisher **ret);
Publisher *publisher_free(Publisher *p);
static inline void publisher_freep(Publisher **p) {
        publisher_free(*p);
}

/* Receives every event from log_event(), see log_set_event_hook(). */
void publisher_on_event(void *userdata, int level, const char *event, const char *message);

/* Records the configuration's guarded values and the counts, and writes the file. */
void publisher_update(Publisher *p, const Config *c, unsigned heals, unsigned restores);
