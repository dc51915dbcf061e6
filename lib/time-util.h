/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <time.h>

#include "parse-util.h"

/* The time on a clock in µs: CLOCK_MONOTONIC for intervals, CLOCK_BOOTTIME for deadlines other
 * processes read (the hold file: it does not step), CLOCK_REALTIME only for times shown to
 * people (the daemon's events). Code that must be tested across a clock step takes this
 * function as a parameter (hold.h's ClockFunc). */
static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

/* When a periodic timer that was due at scheduled and ran at now fires next. On time, the
 * cadence is kept (scheduled + interval, no drift from dispatch latency); after a stall past
 * that point (a suspended VM, a stopped process), the missed ticks are skipped, not run
 * back-to-back to catch up: the next one is a full interval after now. */
static inline usec_t tick_next(usec_t scheduled, usec_t now, usec_t interval) {
        usec_t next = scheduled + interval;

        return next > now ? next : now + interval;
}
