/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "parse-util.h"
#include "sysctl-policy.h"

/* The sysctl guard: keeps every sysctl [Sysctl] assigns (owned) at its configured value, and
 * follows the netfilter keys it does not assign (sysctl_followed_paths()): their value is
 * whatever was last written to them, put back only after a module reload reset it (see
 * OWNERSHIP in ctguard.conf(5)). It runs lib/sysctl-policy.c against the files below the
 * sysctl root and writes the journal events: sysctl-restored, sysctl-adopted, sysctl-drift,
 * sysctl-unavailable, sysctl-available, sysctl-readonly, sysctl-failed and sysctl-fight, each
 * with CTGUARD_KEY=, CTGUARD_OLD= (the value found, or for sysctl-adopted the value followed
 * before), CTGUARD_NEW= (the value configured or followed) and, for failures, CTGUARD_ERRNO=.
 *
 * Changes are noticed two ways. Every poll tick reads each key (sysctl_guard_tick()). In
 * addition, when given an event loop, the guard puts an inotify watch on each key's file:
 * procfs does not support poll() on most sysctls, but every write(2) to a file raises
 * IN_MODIFY, so a value changed by sysctl(8) or "echo >" is seen and restored at once. Changes
 * the kernel makes itself (a module reload resetting its defaults) do not go through write(2),
 * and are left to the tick and to sysctl_guard_apply_all(). Setting CTGUARD_SYSCTL_WATCH=0 in
 * the environment turns the watches off (to measure polling alone). */

typedef struct SysctlGuard SysctlGuard;

typedef struct SysctlGuardCounts {
        size_t guarded;         /* owned, and followed ones that hold a value */
        size_t followed;        /* of those, followed */
        size_t ok;
        size_t drifted;         /* differ, not written: monitor mode or held */
        size_t unavailable;
        size_t readonly;
        size_t failed;          /* last write or read failed */
        size_t fighting;        /* left alone for a fight window */
        unsigned long restores; /* since start, across reloads */
        unsigned long fights;
} SysctlGuardCounts;

/* Guards c's sysctls (copied; c may be freed afterwards) below sysctl_root. event may be NULL:
 * then nothing is watched and only ticks notice changes. Looks at nothing until the first
 * tick. */
int sysctl_guard_new(const char *sysctl_root, sd_event *event, const Config *c,
                     SysctlGuard **ret);
SysctlGuard *sysctl_guard_free(SysctlGuard *g);
static inline void sysctl_guard_freep(SysctlGuard **g) {
        sysctl_guard_free(*g);
}

/* After a successful reload: takes the new desired values and mode. Every key starts afresh:
 * fights, read-only and failure states are forgotten and will be reported again if they
 * persist. On failure the guard keeps the previous configuration. */
int sysctl_guard_set_config(SysctlGuard *g, const Config *c);

/* Maintenance hold: while held, drift is reported (sysctl-drift) and nothing is written. On
 * release, the next tick restores whatever drifted. */
void sysctl_guard_set_held(SysctlGuard *g, bool held);

/* Looks at every key once, at monotonic time now. Returns 1 if any key changed state or was
 * reported since the previous tick (so the caller may refresh its status line), 0 if not. */
int sysctl_guard_tick(SysctlGuard *g, usec_t now);

/* For the module guard, right after it (re)loaded the conntrack modules: applies every
 * guarded sysctl as soon as its file appears, waiting until deadline (CLOCK_MONOTONIC) at
 * most. Keys that failed or were read-only get another chance (it is a new module instance).
 * It waits only for keys that existed at some point before; keys never seen are applied if
 * present and otherwise left to the ticks, so a key no kernel has does not cost the whole wait.
 * This blocks the event loop (checking every 10ms): keep the deadline short, a second or two,
 * and well below WatchdogSec=. Returns 0 when every key that was waited for is there (whether
 * or not it could be written: that is reported as events), -ETIMEDOUT if some did not appear
 * in time. */
int sysctl_guard_apply_all(SysctlGuard *g, usec_t deadline);

/* For tests: called instead of sleeping each time sysctl_guard_apply_all() waits, with the time
 * it would sleep; NULL restores nanosleep(). Lets a test make a file appear exactly while the
 * guard waits for it, instead of guessing when that is. */
void sysctl_guard_set_nap(SysctlGuard *g, void (*nap)(usec_t usec, void *userdata), void *userdata);

/* The "hashsize" module parameter matching the guarded nf_conntrack_buckets, for the module
 * loader: 0 and the size, -ENOENT if that key is not guarded, -EINVAL if its value is not a
 * positive number. */
int sysctl_guard_desired_hashsize(const SysctlGuard *g, unsigned *ret);

void sysctl_guard_counts(const SysctlGuard *g, SysctlGuardCounts *ret);

/* One guarded or followed key, for whoever publishes them. value is the configured value
 * (owned) or the value followed; origin "FILE:LINE" for owned keys, "followed" for the others.
 * Followed keys that hold no value yet (never seen) or cannot be written here (not followed)
 * are not listed. */
typedef struct SysctlGuardView {
        const char *path, *key, *value;
        const char *origin;
        bool owned;
        SysctlKeyStatus status;
} SysctlGuardView;

void sysctl_guard_foreach(const SysctlGuard *g, void (*cb)(const SysctlGuardView *v, void *userdata),
                          void *userdata);

/* Tells the guard what a followed key held before this daemon started (from the state file a
 * previous run left under /run/ctguard). Call it before the first tick. The value is what the
 * key is put back to if its module turns out to have been reloaded (the key is missing at
 * first, and comes back different), and what counts as already known: finding it is no
 * sysctl-adopted event. A key found holding something else at the first look is adopted, as
 * any change ctguard did not see happen. -EPERM for a key that is never followed, -EINVAL for
 * an impossible value; a key [Sysctl] assigns is left as configured (0). */
int sysctl_guard_seed_followed(SysctlGuard *g, const char *path, const char *value);

/* For AutoRaise, after it wrote a larger value to path (nf_conntrack_max, nf_conntrack_buckets):
 * the guard keeps that value from now on, whether [Sysctl] assigns the key (the assignment is
 * the floor AutoRaise started from, and is no longer restored over the raise) or it is followed
 * (the raise is adopted without a sysctl-adopted event). The raised value is what a module
 * reload gets back, and a reload of the configuration keeps it while it is above the value
 * assigned then. -ENOENT if the key is not guarded (not there yet). */
int sysctl_guard_raise(SysctlGuard *g, const char *path, const char *value);

/* Whether the guard writes at all now: Mode=enforce and not on hold. */
bool sysctl_guard_may_write(const SysctlGuard *g);
