/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse-util.h"

/* Rates of the conntrack table. Pure: the caller passes the time in.
 *
 * Time to full: the count's growth over the last minute, fitted by least squares over every
 * sample of the window (a first/last difference would take the noise of two samples at face
 * value). Growth counts only when the fitted rise over the window is at least 1 entry and at
 * least twice the residual standard deviation: a flat table whose count jitters is not
 * "growing". Then the seconds until the count reaches max at that rate.
 *
 * Counter rates: the summed per-CPU counters insert_failed, early_drop, chaintoolong
 * ("chainlength" in /proc/net/stat/nf_conntrack), clash_resolve ("clashres") and drop, each
 * turned into a delta and a rate per second between samples with table_counter_delta() (a
 * 32-bit wrap of one CPU's counter is exact, a counter that went down was reset by a module
 * reload). A rising counter is reported at once, then at most once per repeat interval with
 * everything counted since the previous report. */

#define TABLE_GROWTH_WINDOW (60 * USEC_PER_SEC)
#define TABLE_GROWTH_SAMPLES_MAX 512u   /* a minute at the fastest poll of 200 ms is 300 */
#define TABLE_GROWTH_MIN_SAMPLES 3u
#define TABLE_GROWTH_MIN_SPAN USEC_PER_SEC

typedef struct TableGrowth {
        usec_t time[TABLE_GROWTH_SAMPLES_MAX];
        uint64_t count[TABLE_GROWTH_SAMPLES_MAX];
        size_t first, n;                /* a ring: the oldest, how many */
} TableGrowth;

#define TABLE_GROWTH_INIT ((TableGrowth) {})

/* Adds a sample and forgets those older than the window. A time that goes back forgets all. */
void table_growth_add(TableGrowth *g, usec_t time, uint64_t count);

/* Returns 1 with the rate (entries per second, > 0) and the seconds until count reaches max (0
 * if it is there already), 0 if the table is not growing or too few samples span too little
 * time, -EINVAL if max is 0. */
int table_growth_estimate(const TableGrowth *g, uint64_t max, double *ret_rate,
                          uint64_t *ret_seconds);

/* "full in about 40 s at +2,100 entries/s": two significant digits, thousands separated. */
char *table_growth_format(char *buf, size_t l, double rate, uint64_t seconds);
#define TABLE_GROWTH_FORMAT_MAX 96

typedef enum TableCounter {
        TABLE_COUNTER_INSERT_FAILED,
        TABLE_COUNTER_EARLY_DROP,
        TABLE_COUNTER_CHAIN_TOO_LONG,
        TABLE_COUNTER_CLASH_RESOLVE,
        TABLE_COUNTER_DROP,
        _TABLE_COUNTER_MAX,
        _TABLE_COUNTER_INVALID = -EINVAL,
} TableCounter;

/* "insert_failed", "early_drop", "chaintoolong", "clash_resolve", "drop": conntrack -S's names. */
const char *table_counter_to_string(TableCounter c);
/* The journal's CTGUARD_EVENT=: "table-insert-failed", "table-early-drop",
 * "table-chain-too-long", "table-clash-resolve"; drop is table-policy.h's "table-full". */
const char *table_counter_event(TableCounter c);
/* What a rise means, one line for the message. */
const char *table_counter_meaning(TableCounter c);

typedef struct TableCounterSample {
        usec_t time;                    /* CLOCK_MONOTONIC */
        uint64_t value[_TABLE_COUNTER_MAX];
        bool have[_TABLE_COUNTER_MAX];  /* absent: the kernel or the source has no such counter */
} TableCounterSample;

typedef struct TableCounterEvent {
        TableCounter counter;
        uint64_t delta;                 /* counted since the previous report */
        double per_sec;                 /* delta over the time it was counted in */
        usec_t since;                   /* the sample before the first counted rise */
        bool repeat;                    /* the previous report's window was still open */
        bool reset;                     /* the counter went down (module reload) in this sample */
} TableCounterEvent;

typedef struct TableCounterState {
        bool have;
        uint64_t last;
        usec_t last_time;
        uint64_t pending;
        usec_t pending_since;
        bool alerted;
        usec_t alerted_at;
        uint64_t resets;
} TableCounterState;

typedef struct TableRates {
        TableCounterState c[_TABLE_COUNTER_MAX];
} TableRates;

#define TABLE_RATES_INIT ((TableRates) {})

/* Feeds one sample; writes up to _TABLE_COUNTER_MAX events to ret, in TableCounter order, and
 * returns how many. The first sample of a counter is its baseline. A counter that disappears
 * (absent in a sample) starts over with a new baseline. */
size_t table_rates_evaluate(TableRates *r, const TableCounterSample *s, usec_t repeat_interval,
                            TableCounterEvent ret[static _TABLE_COUNTER_MAX]);
