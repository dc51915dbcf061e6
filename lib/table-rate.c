/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>

#include "macro.h"
#include "table-policy.h"
#include "table-rate.h"

void table_growth_add(TableGrowth *g, usec_t time, uint64_t count) {
        size_t last;

        if (g->n > 0) {
                last = (g->first + g->n - 1) % TABLE_GROWTH_SAMPLES_MAX;
                if (time < g->time[last])
                        g->n = 0;       /* the clock went back: nothing before is comparable */
        }
        if (g->n == TABLE_GROWTH_SAMPLES_MAX) {
                g->first = (g->first + 1) % TABLE_GROWTH_SAMPLES_MAX;
                g->n--;
        }
        if (g->n == 0)
                g->first = 0;
        last = (g->first + g->n) % TABLE_GROWTH_SAMPLES_MAX;
        g->time[last] = time;
        g->count[last] = count;
        g->n++;

        while (g->n > 1 && time - g->time[g->first] > TABLE_GROWTH_WINDOW) {
                g->first = (g->first + 1) % TABLE_GROWTH_SAMPLES_MAX;
                g->n--;
        }
}

int table_growth_estimate(const TableGrowth *g, uint64_t max, double *ret_rate,
                          uint64_t *ret_seconds) {
        double mx = 0, my = 0, sxx = 0, sxy = 0, syy = 0, b, rise, ssr, left, secs;
        usec_t t0, span;
        uint64_t last;

        if (max == 0)
                return -EINVAL;
        if (g->n < TABLE_GROWTH_MIN_SAMPLES)
                return 0;
        t0 = g->time[g->first];
        span = g->time[(g->first + g->n - 1) % TABLE_GROWTH_SAMPLES_MAX] - t0;
        if (span < TABLE_GROWTH_MIN_SPAN)
                return 0;

        /* Centred sums: counts in the millions keep their precision. */
        for (size_t i = 0; i < g->n; i++) {
                size_t k = (g->first + i) % TABLE_GROWTH_SAMPLES_MAX;

                mx += (double) (g->time[k] - t0) / USEC_PER_SEC;
                my += (double) g->count[k];
        }
        mx /= (double) g->n;
        my /= (double) g->n;
        for (size_t i = 0; i < g->n; i++) {
                size_t k = (g->first + i) % TABLE_GROWTH_SAMPLES_MAX;
                double dx = (double) (g->time[k] - t0) / USEC_PER_SEC - mx;
                double dy = (double) g->count[k] - my;

                sxx += dx * dx;
                sxy += dx * dy;
                syy += dy * dy;
        }
        if (sxx <= 0)
                return 0;
        b = sxy / sxx;
        if (!(b > 0))
                return 0;

        /* Significant growth: the fitted rise over the window stands out of the residual
         * scatter by two standard deviations (compared squared, no libm needed). */
        rise = b * (double) span / USEC_PER_SEC;
        ssr = syy - b * sxy;
        if (ssr < 0)
                ssr = 0;
        if (rise < 1 || rise * rise < 4 * ssr / (double) (g->n - 2))
                return 0;

        last = g->count[(g->first + g->n - 1) % TABLE_GROWTH_SAMPLES_MAX];
        left = last >= max ? 0 : (double) (max - last);
        secs = left / b;
        *ret_rate = b;
        if (secs >= 1e15)
                *ret_seconds = UINT64_C(1000000000000000);
        else {
                uint64_t s = (uint64_t) secs;

                *ret_seconds = s + ((double) s < secs);
        }
        return 1;
}

/* v rounded to two significant digits, for v >= 10. */
static uint64_t two_digits(double v) {
        uint64_t p = 1;

        while (v / (double) p >= 100)
                p *= 10;
        return (uint64_t) (v / (double) p + 0.5) * p;
}

/* "2,100": thousands separated. */
static void format_thousands(char *buf, size_t l, uint64_t v) {
        char digits[32];
        size_t n, o = 0;

        n = (size_t) snprintf(digits, sizeof(digits), "%" PRIu64, v);
        for (size_t i = 0; i < n && o + 2 < l; i++) {
                if (i > 0 && (n - i) % 3 == 0)
                        buf[o++] = ',';
                buf[o++] = digits[i];
        }
        buf[o] = '\0';
}

char *table_growth_format(char *buf, size_t l, double rate, uint64_t seconds) {
        char r[40], t[40];

        if (rate >= 9.95)
                format_thousands(r, sizeof(r), two_digits(rate));
        else if (rate >= 0.995)
                snprintf(r, sizeof(r), "%.1f", rate);
        else
                snprintf(r, sizeof(r), "%.2f", rate);

        if (seconds < 100)
                snprintf(t, sizeof(t), "%" PRIu64 " s", seconds);
        else if (seconds < 120)
                snprintf(t, sizeof(t), "%" PRIu64 " s", (seconds + 5) / 10 * 10);
        else if (seconds < 2 * 3600)
                snprintf(t, sizeof(t), "%" PRIu64 " min", (seconds + 30) / 60);
        else
                snprintf(t, sizeof(t), "%" PRIu64 " h", (seconds + 1800) / 3600);

        snprintf(buf, l, "full in about %s at +%s entries/s", t, r);
        return buf;
}

static const struct {
        const char *name, *event, *meaning;
} counters[_TABLE_COUNTER_MAX] = {
        [TABLE_COUNTER_INSERT_FAILED] = {
                "insert_failed", "table-insert-failed",
                "new entries could not be inserted: races or clashes between packets of one flow",
        },
        [TABLE_COUNTER_EARLY_DROP] = {
                "early_drop", "table-early-drop",
                "entries were evicted to make room: the table is full of unreplied entries",
        },
        [TABLE_COUNTER_CHAIN_TOO_LONG] = {
                "chaintoolong", "table-chain-too-long",
                "a hash chain passed the kernel's length limit: the hash is too small for the load "
                "(AutoRaise grows the buckets)",
        },
        [TABLE_COUNTER_CLASH_RESOLVE] = {
                "clash_resolve", "table-clash-resolve",
                "packets of one new flow raced to create its entry and the kernel merged them "
                "(harmless in itself, typical of parallel UDP such as DNS A and AAAA queries)",
        },
        [TABLE_COUNTER_DROP] = {
                "drop", "table-full",
                "packets were dropped for want of a free entry: the table is full",
        },
};

const char *table_counter_to_string(TableCounter c) {
        if (c < 0 || c >= _TABLE_COUNTER_MAX)
                return NULL;
        return counters[c].name;
}

const char *table_counter_event(TableCounter c) {
        if (c < 0 || c >= _TABLE_COUNTER_MAX)
                return NULL;
        return counters[c].event;
}

const char *table_counter_meaning(TableCounter c) {
        if (c < 0 || c >= _TABLE_COUNTER_MAX)
                return NULL;
        return counters[c].meaning;
}

static bool due(usec_t now, usec_t last, usec_t interval) {
        return now < last || now - last >= interval;
}

size_t table_rates_evaluate(TableRates *r, const TableCounterSample *s, usec_t repeat_interval,
                            TableCounterEvent ret[static _TABLE_COUNTER_MAX]) {
        size_t n = 0;

        for (TableCounter c = 0; c < _TABLE_COUNTER_MAX; c++) {
                TableCounterState *st = &r->c[c];
                uint64_t delta = 0;
                bool reset = false;

                if (!s->have[c]) {
                        /* Gone (another source, an older kernel): a new baseline when back. */
                        *st = (TableCounterState) { .resets = st->resets };
                        continue;
                }
                if (st->have) {
                        delta = table_counter_delta(st->last, s->value[c], &reset);
                        if (reset)
                                st->resets++;
                }
                if (delta > 0) {
                        if (st->pending == 0)
                                st->pending_since = st->last_time;
                        st->pending = st->pending > UINT64_MAX - delta ? UINT64_MAX :
                                      st->pending + delta;
                }
                st->have = true;
                st->last = s->value[c];
                st->last_time = s->time;

                if (st->pending == 0)
                        continue;
                if (st->alerted && !due(s->time, st->alerted_at, repeat_interval))
                        continue;

                usec_t span = s->time > st->pending_since ? s->time - st->pending_since : 0;

                ret[n++] = (TableCounterEvent) {
                        .counter = c,
                        .delta = st->pending,
                        .per_sec = span > 0 ? (double) st->pending * USEC_PER_SEC / (double) span :
                                              (double) st->pending,
                        .since = st->pending_since,
                        .repeat = st->alerted &&
                                  !due(st->pending_since, st->alerted_at, repeat_interval),
                        .reset = reset,
                };
                st->alerted = true;
                st->alerted_at = s->time;
                st->pending = 0;
        }
        return n;
}
