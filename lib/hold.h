/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "parse-util.h"

/* The maintenance hold: "ctguard hold" writes <root>/run/ctguard/hold, the daemon reads it on
 * every tick, and while it is in force heals nothing. It is a file so that it survives a
 * daemon restart, in /run so that it does not survive a reboot, and its times count on
 * CLOCK_BOOTTIME: the same for every process, never stepped (a wall clock set at boot by NTP or
 * an RTC would end a hold, or make it last for years), and reset at a reboot like /run itself.
 * A wall-clock time is only ever computed for display. "ctguard release" does not delete it but
 * records the release, so that the daemon can tell a release (which also clears its flap guard)
 * from a hold that expired.
 *
 * The file, written in one piece by rename(2):
 *
 *     State=held              (or released)
 *     Clock=boottime          the clock of Since and Until; a file without it (written by an
 *                             older ctguard) counts in µs since the epoch (CLOCK_REALTIME)
 *     Since=USEC              when it was held or released
 *     Until=USEC              held: when it ends by itself, or "infinity"
 *     Reason=TEXT             held: optional, one line
 */

#define HOLD_DIR "run/ctguard"                  /* below the root */
#define HOLD_FILE "hold"
#define HOLD_REASON_MAX 256u
#define HOLD_FILE_SIZE_MAX 4096u

/* "ctguard hold" without --for: a forgotten hold must not leave the host unguarded for good. */
#define HOLD_DURATION_DEFAULT USEC_PER_HOUR
#define HOLD_DURATION_MAX USEC_PER_WEEK         /* beyond that: --for=infinity, deliberately */

/* The clock new holds count on. */
#define HOLD_CLOCK CLOCK_BOOTTIME

/* How the hold code reads a clock: now_usec() (time-util.h), or a test's own. */
typedef usec_t (*ClockFunc)(clockid_t clock);

typedef struct Hold {
        bool held;              /* false: the file records a release */
        clockid_t clock;        /* of since and until: HOLD_CLOCK, or CLOCK_REALTIME (old file) */
        usec_t since;
        usec_t until;           /* held: USEC_INFINITY for "until released" */
        char *reason;           /* held: NULL if none was given */
} Hold;

void hold_done(Hold *h);

/* A reason is at most HOLD_REASON_MAX bytes of printable text: no control characters. */
bool hold_reason_valid(const char *reason);

/* A hold (held) for duration (USEC_INFINITY: until released) from now, or a release (!held),
 * on HOLD_CLOCK read through now. reason is borrowed, not copied. */
Hold hold_make(bool held, usec_t duration, const char *reason, ClockFunc now);

/* The time now on h's own clock. */
usec_t hold_clock_now(const Hold *h, ClockFunc now);

/* Whether h is in force now: held and not expired on its own clock. NULL: false. */
bool hold_in_force(const Hold *h, ClockFunc now);

/* The wall-clock time (µs since the epoch) of t on h's clock, for display only. */
usec_t hold_wallclock(const Hold *h, usec_t t, ClockFunc now);

/* Parses the file's text. Unknown keys are ignored, so that a newer ctguard's file still
 * reads; a missing State or Since, a held state without Until, a bad number or reason: -EBADMSG. */
int hold_parse(const char *text, size_t size, Hold *ret);

/* The file's text for h. -EINVAL if h is inconsistent (a bad reason). */
int hold_format(const Hold *h, char **ret);

/* "<root>/run/ctguard/hold"; root "" for /. */
char *hold_path(const char *root);

/* Reads the file. -ENOENT if there is none (never held); a symlink, FIFO or oversized file is
 * refused without blocking (run-file.h), a corrupt one is -EBADMSG. */
int hold_load(const char *root, Hold *ret);

/* Creates <root>/run/ctguard (0755) if needed, and returns its path: the daemon watches it. */
int hold_dir_create(const char *root, char **ret_path);

/* Writes the file atomically: a temporary file in the same directory, fsync'ed, renamed over
 * the old one. Creates <root>/run/ctguard (0755) if needed; the file is 0644. */
int hold_save(const char *root, const Hold *h);
