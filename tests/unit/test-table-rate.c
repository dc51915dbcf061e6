/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <inttypes.h>

#include "macro.h"
#include "table-rate.h"

#define S USEC_PER_SEC

/* Time to full over sample sequences: a sample every `step` ms for `n` samples, the count from
 * a start, a slope per second and a deterministic jitter pattern. */
typedef struct GrowthCase {
        const char *name;
        unsigned n, step_ms;
        double start, per_sec;
        int jitter;                     /* +jitter, -jitter, 0, repeating */
        uint64_t max;
        int want;                       /* 1: growing, 0: none */
        double rate_lo, rate_hi;
        uint64_t secs_lo, secs_hi;
} GrowthCase;

static const GrowthCase growth_cases[] = {
        { "growing steadily", 61, 1000, 1000, 2100, 0, 200000, 1, 2099, 2101, 35, 35 },
        { "growing with noise", 300, 200, 50000, 500, 300, 100000, 1, 480, 520, 39, 43 },
        { "flat", 61, 1000, 5000, 0, 0, 10000, 0, 0, 0, 0, 0 },
        { "flat with noise", 300, 200, 5000, 0, 40, 10000, 0, 0, 0, 0, 0 },
        { "falling", 61, 1000, 9000, -50, 0, 10000, 0, 0, 0, 0, 0 },
        { "falling with noise", 61, 1000, 9000, -20, 15, 10000, 0, 0, 0, 0, 0 },
        { "slow drift below the noise", 61, 1000, 5000, 0.5, 60, 10000, 0, 0, 0, 0, 0 },
        { "already full", 61, 1000, 9000, 100, 0, 12000, 1, 99, 101, 0, 0 },
        { "too few samples", 2, 1000, 1000, 1000, 0, 100000, 0, 0, 0, 0, 0 },
        { "too short a span", 5, 100, 1000, 1000, 0, 100000, 0, 0, 0, 0, 0 },
        { "only the last minute counts", 180, 1000, 1000, 0, 0, 100000, 0, 0, 0, 0, 0 },
};

START_TEST(test_growth) {
        const GrowthCase *c = &growth_cases[_i];
        static TableGrowth g;
        double rate = -1;
        uint64_t secs = 99999;
        int r;

        g = TABLE_GROWTH_INIT;
        for (unsigned i = 0; i < c->n; i++) {
                double t = (double) i * c->step_ms / 1000;
                double v = c->start + c->per_sec * t;
                int j = c->jitter == 0 ? 0 : (i % 3 == 0 ? c->jitter : i % 3 == 1 ? -c->jitter : 0);

                /* The "last minute" case: a steep climb long ago, flat for the last minute. */
                if (streq(c->name, "only the last minute counts"))
                        v = i < 100 ? 1000 + 500 * i : 1000 + 500 * 100;
                table_growth_add(&g, (usec_t) i * c->step_ms * USEC_PER_MSEC, (uint64_t) (v + j));
        }
        r = table_growth_estimate(&g, c->max, &rate, &secs);
        ck_assert_msg(r == c->want, "%s: got %d (rate %f)", c->name, r, rate);
        if (r == 0) {
                ck_assert_msg(rate == -1 && secs == 99999, "%s: outputs written", c->name);
                return;
        }
        ck_assert_msg(rate >= c->rate_lo && rate <= c->rate_hi, "%s: rate %f", c->name, rate);
        ck_assert_msg(secs >= c->secs_lo && secs <= c->secs_hi, "%s: %" PRIu64 " s", c->name,
                      secs);
}
END_TEST

START_TEST(test_growth_edges) {
        static TableGrowth g;
        double rate;
        uint64_t secs;

        g = TABLE_GROWTH_INIT;
        ck_assert_int_eq(table_growth_estimate(&g, 0, &rate, &secs), -EINVAL);
        for (unsigned i = 0; i < 10; i++)
                table_growth_add(&g, (100 + i) * S, 1000 + 100 * i);
        ck_assert_int_eq(table_growth_estimate(&g, 10000, &rate, &secs), 1);
        /* The clock going back forgets the history. */
        table_growth_add(&g, 5 * S, 1000);
        ck_assert_uint_eq(g.n, 1);
        ck_assert_int_eq(table_growth_estimate(&g, 10000, &rate, &secs), 0);
        /* More samples than the ring holds: the oldest go, the estimate still works. */
        g = TABLE_GROWTH_INIT;
        for (unsigned i = 0; i < 3 * TABLE_GROWTH_SAMPLES_MAX; i++)
                table_growth_add(&g, i * 10 * USEC_PER_MSEC, 1000 + i);
        ck_assert_uint_eq(g.n, TABLE_GROWTH_SAMPLES_MAX);
        ck_assert_int_eq(table_growth_estimate(&g, 100000, &rate, &secs), 1);
        ck_assert(rate > 99.9 && rate < 100.1);
}
END_TEST

typedef struct FormatCase {
        double rate;
        uint64_t secs;
        const char *want;
} FormatCase;

static const FormatCase format_cases[] = {
        { 2134.0, 40, "full in about 40 s at +2,100 entries/s" },
        { 2150.0, 40, "full in about 40 s at +2,200 entries/s" },
        { 1234567.0, 3, "full in about 3 s at +1,200,000 entries/s" },
        { 52.3, 99, "full in about 99 s at +52 entries/s" },
        { 5.24, 114, "full in about 110 s at +5.2 entries/s" },
        { 0.37, 600, "full in about 10 min at +0.37 entries/s" },
        { 9.96, 7200, "full in about 2 h at +10 entries/s" },
        { 100.0, 0, "full in about 0 s at +100 entries/s" },
};

START_TEST(test_format) {
        const FormatCase *c = &format_cases[_i];
        char buf[TABLE_GROWTH_FORMAT_MAX];

        ck_assert_str_eq(table_growth_format(buf, sizeof(buf), c->rate, c->secs), c->want);
}
END_TEST

/* Counter rates over sequences: the value of one counter per step (NONE: absent), the events
 * written as "name:delta@rate" with '*' for a reminder and '!' for a reset. */
#define NONE UINT64_MAX
#define W32 (UINT64_C(1) << 32)

typedef struct RateStep {
        usec_t t;
        uint64_t v;
        const char *want;
} RateStep;

typedef struct RateCase {
        const char *name;
        TableCounter counter;
        RateStep steps[12];
} RateCase;

static const RateCase rate_cases[] = {
        { "rises reported at once, then once per interval", TABLE_COUNTER_INSERT_FAILED, {
                { 0 * S, 100, "" },                     /* baseline: not news */
                { 10 * S, 100, "" },
                { 20 * S, 300, "insert_failed:200@20" },
                { 30 * S, 400, "" },                    /* within 5 min: held */
                { 320 * S, 700, "insert_failed:400*@1" },       /* 400 in 300 s, rounded down */
                { 700 * S, 700, "" },
                { 710 * S, 800, "early:no" },
                {}
        }},
        { "a module reload resets the counter", TABLE_COUNTER_EARLY_DROP, {
                { 0 * S, 5000, "" },
                { 10 * S, 30, "early_drop:30!@3" },     /* went down: 30 since the reset */
                { 400 * S, 60, "early_drop:30*@0" },      /* began in the open window */
                {}
        }},
        { "a CPU's 32-bit counter wraps", TABLE_COUNTER_CHAIN_TOO_LONG, {
                { 0 * S, 3 * W32 - 10, "" },
                { 2 * S, 2 * W32 + 90, "chaintoolong:100@50" },   /* one CPU wrapped */
                {}
        }},
        { "an absent counter starts over", TABLE_COUNTER_CLASH_RESOLVE, {
                { 0 * S, 10, "" },
                { 1 * S, NONE, "" },
                { 2 * S, 500, "" },                     /* a new baseline, not 490 */
                { 3 * S, 510, "clash_resolve:10@10" },
                {}
        }},
        { "drop has a rate too", TABLE_COUNTER_DROP, {
                { 0 * S, 0, "" },
                { 4 * S, 4000, "drop:4000@1000" },
                {}
        }},
};

START_TEST(test_rates) {
        const RateCase *c = &rate_cases[_i];
        TableRates r = TABLE_RATES_INIT;

        for (size_t i = 0; i < ELEMENTSOF(c->steps) && c->steps[i].want; i++) {
                const RateStep *s = &c->steps[i];
                TableCounterSample cs = { .time = s->t };
                TableCounterEvent ev[_TABLE_COUNTER_MAX];
                char got[128] = "";
                size_t n;

                if (s->v != NONE) {
                        cs.value[c->counter] = s->v;
                        cs.have[c->counter] = true;
                }
                n = table_rates_evaluate(&r, &cs, 5 * USEC_PER_MINUTE, ev);
                ck_assert_uint_le(n, 1);
                if (n == 1) {
                        ck_assert_int_eq(ev[0].counter, c->counter);
                        snprintf(got, sizeof(got), "%s:%" PRIu64 "%s%s@%" PRIu64,
                                 table_counter_to_string(ev[0].counter), ev[0].delta,
                                 ev[0].repeat ? "*" : "", ev[0].reset ? "!" : "",
                                 (uint64_t) ev[0].per_sec);
                }
                if (streq(s->want, "early:no"))
                        ck_assert_msg(n == 1 && !ev[0].repeat, "%s step %zu", c->name, i);
                else
                        ck_assert_msg(streq(got, s->want), "%s step %zu: got '%s', want '%s'",
                                      c->name, i, got, s->want);
        }
}
END_TEST

START_TEST(test_counter_names) {
        static const char * const events[] = {
                "table-insert-failed", "table-early-drop", "table-chain-too-long",
                "table-clash-resolve", "table-full",
        };

        for (TableCounter c = 0; c < _TABLE_COUNTER_MAX; c++) {
                ck_assert_ptr_nonnull(table_counter_to_string(c));
                ck_assert_str_eq(table_counter_event(c), events[c]);
                ck_assert_ptr_nonnull(table_counter_meaning(c));
        }
        ck_assert_ptr_null(table_counter_to_string(_TABLE_COUNTER_MAX));
        ck_assert_ptr_null(table_counter_event(-1));
        ck_assert_str_eq(table_counter_to_string(TABLE_COUNTER_CHAIN_TOO_LONG), "chaintoolong");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("table-rate");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_growth, 0, ELEMENTSOF(growth_cases));
        tcase_add_test(tc, test_growth_edges);
        tcase_add_loop_test(tc, test_format, 0, ELEMENTSOF(format_cases));
        tcase_add_loop_test(tc, test_rates, 0, ELEMENTSOF(rate_cases));
        tcase_add_test(tc, test_counter_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
