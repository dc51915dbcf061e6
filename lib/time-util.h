/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <time.h>

#include "parse-util.h"

/* The time on a clock in µs: CLOCK_MONOTONIC for intervals, CLOCK_REALTIME for times that
 * other processes read (the hold file, the daemon's state file). */
static inline usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}
