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
