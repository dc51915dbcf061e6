/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parsing of the value types ctguard's configuration and command line accept. */

typedef uint64_t usec_t;
#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define USEC_PER_WEEK (7ULL * USEC_PER_DAY)

/* Returns 1 for true, 0 for false, -EINVAL otherwise. Accepts what systemd accepts. */
int parse_boolean(const char *v);

/* A decimal unsigned integer, no sign, no leading or trailing junk. */
int parse_unsigned(const char *s, unsigned *ret);

/* A systemd time span: "200ms", "1s", "10min", "1h 30min", "1.5s"; a bare number is seconds. */
int parse_sec(const char *s, usec_t *ret);

/* The shortest exact systemd spelling of a span: "200ms", "10min", "1h 30min". */
char *format_timespan(char *buf, size_t l, usec_t t);
#define FORMAT_TIMESPAN_MAX 64
