/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"
#include "daemon-state.h"

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

/* Records the mode, thresholds and counts in force, and writes the file if they changed. */
void publisher_update(Publisher *p, const Config *c, unsigned heals, unsigned restores);

/* The sysctls guarded (owned) and followed, with their origin and status: copied. */
int publisher_set_sysctls(Publisher *p, const DaemonSysctl *rows, size_t n);

/* The configuration loaded (at start, or by a reload that took): its fingerprint
 * (daemon_config_fingerprint()) and the --config path, if any. */
int publisher_set_config(Publisher *p, const char *fingerprint, const char *config_main);

/* The result of a reload, at time (CLOCK_REALTIME); error: a rejected one's first error. */
int publisher_set_reload(Publisher *p, usec_t time, bool ok, const char *error);

/* AutoRaise's budget and last raise (table_guard_budget()); written if they changed. */
void publisher_set_budget(Publisher *p, const DaemonBudget *budget, const DaemonRaise *raise);

/* Why the daemon's last sample lacked the per-CPU counters (a positive errno), 0 if it had
 * them; written if it changed. */
void publisher_set_counters_error(Publisher *p, int error);
