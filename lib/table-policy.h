/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse-util.h"

/* The conntrack table policy: from successive samples of count, maximum and the summed "drop"
 * counter, decides which alerts to raise and how soon to look again. Pure: it reads no clock
 * and touches nothing; the caller passes the time in and acts on the verdict.
 *
 * Levels have hysteresis: the table becomes "warn" when count/max reaches WarnPercent and
 * "crit" when it reaches CritPercent, but only drops back a level once it is a margin below the
 * threshold it crossed — 5 points, or half the threshold if that is smaller, so that a
 * threshold of 1% still has a way back. Each drop of level raises table-ok (with the level it
 * drops to); each rise raises table-warn or table-crit. While a level lasts, the alert is
 * repeated every repeat_interval, not every sample.
 *
 * Drops: every increase of the kernel's drop counter (packets dropped because the table was
 * full) is accumulated and reported as table-full, at once the first time and then at most once
 * per repeat_interval; reports carry every drop since the previous report, so their sum is
 * exact. A counter that goes down was reset (the module was reloaded): its new value is the
 * number of drops since the reset, never a negative delta — unless it went down by the wrap of
 * a CPU's 32-bit counter, which is told apart by the arithmetic modulo 2^32. */

#define TABLE_HYSTERESIS_POINTS 5u
#define TABLE_REPEAT_INTERVAL (5 * USEC_PER_MINUTE)

/* A table-full this recent means the table is full now, and is CRITICAL to every reader: the
 * daemon repeats table-full at most every TABLE_REPEAT_INTERVAL while drops go on, and the drop
 * counters themselves count since boot and cannot say "now". */
#define TABLE_FULL_RECENT_USEC TABLE_REPEAT_INTERVAL

typedef enum TableLevel {
        TABLE_LEVEL_OK,
        TABLE_LEVEL_WARN,
        TABLE_LEVEL_CRIT,
        _TABLE_LEVEL_MAX,
        _TABLE_LEVEL_INVALID = -EINVAL,
} TableLevel;

const char *table_level_to_string(TableLevel l);

typedef enum TableEventType {
        TABLE_EVENT_WARN,
        TABLE_EVENT_CRIT,
        TABLE_EVENT_OK,
        TABLE_EVENT_FULL,
        _TABLE_EVENT_MAX,
        _TABLE_EVENT_INVALID = -EINVAL,
} TableEventType;

/* "table-warn", "table-crit", "table-ok", "table-full": the journal's CTGUARD_EVENT=. */
const char *table_event_to_string(TableEventType t);

typedef struct TablePolicyConfig {
        unsigned warn_percent;          /* 1..100, below crit_percent */
        unsigned crit_percent;          /* 1..100 */
        usec_t poll_interval;
        usec_t fast_poll_interval;      /* used from level warn up */
        usec_t repeat_interval;         /* reminders while a condition lasts */
} TablePolicyConfig;

typedef struct TableSample {
        usec_t time;                    /* CLOCK_MONOTONIC */
        uint64_t count;
        uint64_t max;                   /* 0: unknown, levels are left as they are */
        uint64_t drop;                  /* summed over CPUs */
        bool have_drop;
} TableSample;

typedef struct TableEvent {
        TableEventType type;
        TableLevel level;               /* the level after this event */
        bool repeat;                    /* a reminder: the condition already was reported */
        uint64_t count;
        uint64_t max;
        unsigned percent;               /* count * 100 / max, rounded down */
        uint64_t drops;                 /* TABLE_EVENT_FULL: drops since the previous report */
        usec_t time;                    /* the sample's */
        usec_t since;                   /* when the level (or the dropping) began */
} TableEvent;

#define TABLE_EVENTS_MAX 2u

typedef struct TableVerdict {
        TableEvent events[TABLE_EVENTS_MAX];
        size_t n_events;
        bool drop_counter_reset;        /* the drop counter went down in this sample */
        usec_t next_poll;               /* interval until the next sample */
} TableVerdict;

typedef struct TablePolicy {
        TableLevel level;
        usec_t level_since;
        usec_t level_alerted;           /* last table-warn/table-crit */

        bool have_drop;
        uint64_t last_drop;
        uint64_t pending_drops;         /* counted, not yet reported */
        bool full_alerted;
        usec_t full_alerted_at;
        usec_t pending_since;           /* when the first unreported drop was seen */
        uint64_t drop_resets;
} TablePolicy;

#define TABLE_POLICY_INIT ((TablePolicy) { .level = TABLE_LEVEL_OK })

/* Checks a configuration: percentages in 1..100, warn below crit, intervals non-zero. */
int table_policy_config_validate(const TablePolicyConfig *c);

/* Feeds one sample; fills the verdict. Returns -EINVAL for an invalid configuration (p is not
 * touched then), 0 otherwise. */
int table_policy_evaluate(TablePolicy *p, const TablePolicyConfig *c, const TableSample *s,
                          TableVerdict *ret);

/* The interval until the next sample for the current level. */
usec_t table_policy_poll_interval(const TablePolicy *p, const TablePolicyConfig *c);

/* The level the thresholds give for one sample with no history (no hysteresis): for a one-shot
 * status. TABLE_LEVEL_OK if max is 0. */
TableLevel table_level_plain(const TablePolicyConfig *c, uint64_t count, uint64_t max);

/* Where a level is left, in half percentage points: threshold - min(5, threshold / 2), times 2. */
unsigned table_clear_half_points(unsigned threshold);

/* count * 100 / max rounded down, 0 if max is 0; saturates instead of overflowing. */
unsigned table_percent(uint64_t count, uint64_t max);

/* count * unit / max rounded down (unit 100: percent, 1000: tenths, 10000: hundredths), 0 if
 * max is 0; saturates like table_percent(). Every reader shows the fill through this. */
uint64_t table_fraction(uint64_t count, uint64_t max, uint64_t unit);

/* "96.2%": the fill in tenths of a percent, rounded down, as messages and status show it. */
#define TABLE_PERCENT_FORMAT_MAX 24u
const char *table_percent_format(uint64_t count, uint64_t max, char buf[static TABLE_PERCENT_FORMAT_MAX]);

/* Whether a table-full event at event_time still means "full now" at now (the same clock):
 * within TABLE_FULL_RECENT_USEC, or in the future of a clock that went back. */
bool table_full_recent(usec_t event_time, usec_t now);

/* The increase of a summed per-CPU kernel counter from before to now: exact across the wrap of
 * one CPU's 32-bit counter; if the counter went down otherwise (the module was reloaded and the
 * counters started from zero), the new value, with *ret_reset set. Shared by every counter
 * ctguard follows (drop here, the others in table-rate.h). */
uint64_t table_counter_delta(uint64_t before, uint64_t now, bool *ret_reset);
