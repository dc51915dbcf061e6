/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <inttypes.h>
#include <limits.h>

#include "macro.h"
#include "table-policy.h"

/* Each case is a sequence of samples; after each, the verdict is written as a string and
 * compared: events separated by ' ', "table-ok" with the new level in parentheses, table-full
 * with its drops, '*' marking a reminder, '!' a drop counter reset, and "fast" when the next
 * poll uses the fast interval. */

#define S USEC_PER_SEC
#define NO_DROP UINT64_MAX

typedef struct Step {
        usec_t t;
        uint64_t count, max, drop;
        const char *want;
} Step;

typedef struct Case {
        const char *name;
        unsigned warn, crit;
        Step steps[16];
} Case;

static const Case cases[] = {
        { "up through warn and crit, down with hysteresis", 80, 95, {
                { 0 * S,  100, 1000, NO_DROP, "" },
                { 1 * S,  799, 1000, NO_DROP, "" },
                { 2 * S,  800, 1000, NO_DROP, "table-warn fast" },
                { 3 * S,  900, 1000, NO_DROP, "fast" },
                { 4 * S,  950, 1000, NO_DROP, "table-crit fast" },
                { 5 * S,  949, 1000, NO_DROP, "fast" },
                { 6 * S,  900, 1000, NO_DROP, "fast" },         /* 90% is not below 95 - 5 */
                { 7 * S,  899, 1000, NO_DROP, "table-ok(warn) fast" },
                { 8 * S,  750, 1000, NO_DROP, "fast" },
                { 9 * S,  749, 1000, NO_DROP, "table-ok(ok)" },
                { 10 * S, 799, 1000, NO_DROP, "" },
                { 11 * S, 800, 1000, NO_DROP, "table-warn fast" },
                {}
        }},
        { "straight from ok to crit and back", 80, 95, {
                { 0 * S, 0,    1000, NO_DROP, "" },
                { 1 * S, 1000, 1000, NO_DROP, "table-crit fast" },
                { 2 * S, 1200, 1000, NO_DROP, "fast" },          /* over 100%: still crit */
                { 3 * S, 10,   1000, NO_DROP, "table-ok(ok)" },
                {}
        }},
        { "reminders every repeat interval, not every sample", 80, 95, {
                { 0 * S,   800, 1000, NO_DROP, "table-warn fast" },
                { 1 * S,   810, 1000, NO_DROP, "fast" },
                { 299 * S, 810, 1000, NO_DROP, "fast" },
                { 300 * S, 810, 1000, NO_DROP, "table-warn* fast" },
                { 500 * S, 810, 1000, NO_DROP, "fast" },
                { 600 * S, 810, 1000, NO_DROP, "table-warn* fast" },
                { 650 * S, 960, 1000, NO_DROP, "table-crit fast" },     /* a rise is never held back */
                { 700 * S, 949, 1000, NO_DROP, "fast" },
                { 949 * S, 949, 1000, NO_DROP, "fast" },
                { 950 * S, 949, 1000, NO_DROP, "table-crit* fast" },
                { 951 * S, 100, 1000, NO_DROP, "table-ok(ok)" },
                { 952 * S, 100, 1000, NO_DROP, "" },
                {}
        }},
        { "thresholds of 1% and 2% of 262144 (the namespace test)", 1, 2, {
                { 0 * S, 2621, 262144, NO_DROP, "" },
                { 1 * S, 2622, 262144, NO_DROP, "table-warn fast" },
                { 2 * S, 5242, 262144, NO_DROP, "fast" },
                { 3 * S, 5243, 262144, NO_DROP, "table-crit fast" },
                { 4 * S, 2622, 262144, NO_DROP, "fast" },       /* crit=2 is left below 1% */
                { 5 * S, 2621, 262144, NO_DROP, "table-ok(warn) fast" },
                { 6 * S, 1311, 262144, NO_DROP, "fast" },       /* warn=1 is left below 0.5% */
                { 7 * S, 1310, 262144, NO_DROP, "table-ok(ok)" },
                {}
        }},
        { "no maximum known: the level stays", 80, 95, {
                { 0 * S, 900, 1000, NO_DROP, "table-warn fast" },
                { 1 * S, 0,   0,    NO_DROP, "fast" },
                { 2 * S, 900, 1000, NO_DROP, "fast" },
                {}
        }},
        { "a raised maximum clears the level", 80, 95, {
                { 0 * S, 990, 1000, NO_DROP, "table-crit fast" },
                { 1 * S, 990, 4000, NO_DROP, "table-ok(ok)" },
                {}
        }},
        { "drops: baseline, first report at once, then at most every 5 min", 80, 95, {
                { 0 * S,   10, 1000, 10, "" },          /* drops from before are not news */
                { 1 * S,   10, 1000, 15, "table-full(5)" },
                { 2 * S,   10, 1000, 20, "" },
                { 100 * S, 10, 1000, 27, "" },
                { 300 * S, 10, 1000, 27, "" },
                { 301 * S, 10, 1000, 27, "table-full*(12)" },   /* every drop is reported */
                { 302 * S, 10, 1000, 27, "" },
                { 700 * S, 10, 1000, 28, "table-full(1)" },     /* after a quiet window */
                {}
        }},
        { "drop counter reset by a module reload", 80, 95, {
                { 0 * S,   10, 1000, 1000, "" },
                { 1 * S,   10, 1000, 1005, "table-full(5)" },
                { 400 * S, 10, 1000, 3,    "! table-full(3)" },
                { 401 * S, 10, 1000, 3,    "" },
                { 402 * S, 10, 1000, 0,    "!" },               /* a reset to zero: nothing lost */
                { 403 * S, 10, 1000, 2,    "" },                /* within 5 min of the last */
                { 702 * S, 10, 1000, 2,    "table-full*(2)" },
                {}
        }},
        { "a CPU's 32-bit counter wraps: not a reset", 80, 95, {
                { 0 * S,   10, 1000, UINT64_C(4294967286), "" },          /* 2^32 - 10 */
                { 1 * S,   10, 1000, 5, "table-full(15)" },
                { 400 * S, 10, 1000, UINT64_C(6000000000), "table-full(5999999995)" },
                /* Two CPUs, one wraps: the sum drops by 2^32 - 20. */
                { 800 * S, 10, 1000, UINT64_C(6000000000) - UINT64_C(4294967296) + 20,
                  "table-full(20)" },
                /* Down by more than 2^31 modulo 2^32: a reset. */
                { 1200 * S, 10, 1000, 1, "! table-full(1)" },
                {}
        }},
        { "full and crit in one sample", 80, 95, {
                { 0 * S, 900,  1000, 0, "table-warn fast" },
                { 1 * S, 1000, 1000, 4, "table-crit table-full(4) fast" },
                { 2 * S, 1000, 1000, 9, "fast" },
                { 3 * S, 700,  1000, 9, "table-ok(ok)" },
                {}
        }},
        { "drops unknown in some samples", 80, 95, {
                { 0 * S, 10, 1000, 5,       "" },
                { 1 * S, 10, 1000, NO_DROP, "" },
                { 2 * S, 10, 1000, 8,       "table-full(3)" },
                {}
        }},
};

static void format_verdict(const TableVerdict *v, usec_t fast, char *buf, size_t size) {
        size_t n = 0;

#define APPEND(...) n += (size_t) snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__)
        buf[0] = '\0';
        if (v->drop_counter_reset)
                APPEND("! ");
        for (size_t i = 0; i < v->n_events; i++) {
                const TableEvent *e = &v->events[i];

                APPEND("%s%s", table_event_to_string(e->type), e->repeat ? "*" : "");
                if (e->type == TABLE_EVENT_OK)
                        APPEND("(%s)", table_level_to_string(e->level));
                if (e->type == TABLE_EVENT_FULL)
                        APPEND("(%" PRIu64 ")", e->drops);
                APPEND(" ");
        }
        if (v->next_poll == fast)
                APPEND("fast");
#undef APPEND
        while (n > 0 && n < size && buf[n - 1] == ' ')
                buf[--n] = '\0';
}

START_TEST(test_sequences) {
        const Case *c = &cases[_i];
        TablePolicyConfig cfg = {
                .warn_percent = c->warn,
                .crit_percent = c->crit,
                .poll_interval = S,
                .fast_poll_interval = 200 * USEC_PER_MSEC,
                .repeat_interval = TABLE_REPEAT_INTERVAL,
        };
        TablePolicy p = TABLE_POLICY_INIT;

        for (size_t k = 0; c->steps[k].want; k++) {
                const Step *st = &c->steps[k];
                TableSample s = {
                        .time = st->t,
                        .count = st->count,
                        .max = st->max,
                        .drop = st->drop == NO_DROP ? 0 : st->drop,
                        .have_drop = st->drop != NO_DROP,
                };
                TableVerdict v;
                char got[256];

                ck_assert_int_eq(table_policy_evaluate(&p, &cfg, &s, &v), 0);
                format_verdict(&v, cfg.fast_poll_interval, got, sizeof(got));
                ck_assert_msg(streq(got, st->want), "%s, step %zu (%" PRIu64 "/%" PRIu64 "): got \"%s\", want \"%s\"",
                              c->name, k, st->count, st->max, got, st->want);
                ck_assert_uint_eq(table_policy_poll_interval(&p, &cfg), v.next_poll);
        }
}
END_TEST

START_TEST(test_event_fields) {
        TablePolicyConfig cfg = { 80, 95, S, S / 5, TABLE_REPEAT_INTERVAL };
        TablePolicy p = TABLE_POLICY_INIT;
        TableSample s = { .time = 7 * S, .count = 209716, .max = 262144, .drop = 0, .have_drop = true };
        TableVerdict v;

        ck_assert_int_eq(table_policy_evaluate(&p, &cfg, &s, &v), 0);
        ck_assert_uint_eq(v.n_events, 1);
        ck_assert_int_eq(v.events[0].type, TABLE_EVENT_WARN);
        ck_assert_int_eq(v.events[0].level, TABLE_LEVEL_WARN);
        ck_assert_uint_eq(v.events[0].count, 209716);
        ck_assert_uint_eq(v.events[0].max, 262144);
        ck_assert_uint_eq(v.events[0].percent, 80);
        ck_assert_uint_eq(v.events[0].since, 7 * S);

        /* A reminder says since when the condition lasts. */
        s.time = 7 * S + TABLE_REPEAT_INTERVAL;
        ck_assert_int_eq(table_policy_evaluate(&p, &cfg, &s, &v), 0);
        ck_assert_uint_eq(v.n_events, 1);
        ck_assert(v.events[0].repeat);
        ck_assert_uint_eq(v.events[0].since, 7 * S);
        ck_assert_uint_eq(v.events[0].time, 7 * S + TABLE_REPEAT_INTERVAL);

        s.time += S;
        s.drop = 3;
        ck_assert_int_eq(table_policy_evaluate(&p, &cfg, &s, &v), 0);
        ck_assert_uint_eq(v.n_events, 1);
        ck_assert_int_eq(v.events[0].type, TABLE_EVENT_FULL);
        ck_assert_int_eq(v.events[0].level, TABLE_LEVEL_WARN);
        ck_assert_uint_eq(v.events[0].drops, 3);
}
END_TEST

static const struct {
        TablePolicyConfig c;
        int ret;
} config_cases[] = {
        { { 80, 95, S, S / 5, S },  0 },
        { { 1, 2, S, S, S },        0 },
        { { 99, 100, S, S, S },     0 },
        { { 0, 95, S, S, S },       -EINVAL },
        { { 95, 95, S, S, S },      -EINVAL },
        { { 96, 95, S, S, S },      -EINVAL },
        { { 80, 101, S, S, S },     -EINVAL },
        { { 80, 95, 0, S, S },      -EINVAL },
        { { 80, 95, S, 0, S },      -EINVAL },
        { { 80, 95, S, S, 0 },      -EINVAL },
};

START_TEST(test_config) {
        TablePolicy p = TABLE_POLICY_INIT, before;
        TableSample s = { .time = S, .count = 1000, .max = 1000 };
        TableVerdict v = { .n_events = 42 };

        ck_assert_int_eq(table_policy_config_validate(&config_cases[_i].c), config_cases[_i].ret);
        before = p;
        ck_assert_int_eq(table_policy_evaluate(&p, &config_cases[_i].c, &s, &v),
                         config_cases[_i].ret);
        if (config_cases[_i].ret < 0) {
                ck_assert_uint_eq(v.n_events, 42);      /* untouched */
                ck_assert_mem_eq(&p, &before, sizeof(p));
        }
}
END_TEST

static const struct {
        uint64_t count, max;
        unsigned percent;
} percent_cases[] = {
        { 0, 0, 0 },
        { 5, 0, 0 },
        { 0, 100, 0 },
        { 209715, 262144, 79 },
        { 209716, 262144, 80 },
        { 262144, 262144, 100 },
        { 300000, 262144, 114 },
        { UINT64_MAX, UINT64_MAX, 99 },         /* saturates instead of wrapping */
        { UINT64_MAX, 1, UINT_MAX },
};

START_TEST(test_percent) {
        ck_assert_uint_eq(table_percent(percent_cases[_i].count, percent_cases[_i].max),
                          percent_cases[_i].percent);
}
END_TEST

/* The fill readers show: whole percent (journal fields), tenths (messages, status), hundredths
 * (status --json), all rounded down, with table_percent()'s saturation. */
static const struct {
        uint64_t count, max;
        unsigned unit;
        uint64_t fraction;
        const char *formatted;
} fraction_cases[] = {
        { 0, 0, 1000, 0, "0.0%" },
        { 5, 0, 1000, 0, "0.0%" },
        { 209715, 262144, 100, 79, "79.9%" },
        { 209715, 262144, 1000, 799, "79.9%" },
        { 209715, 262144, 10000, 7999, "79.9%" },
        { 252101, 262144, 1000, 961, "96.1%" },
        { 1, 150, 1000, 6, "0.6%" },
        { 262144, 262144, 10000, 10000, "100.0%" },
        { 300000, 262144, 1000, 1144, "114.4%" },
        { UINT64_MAX, UINT64_MAX, 1000, 999, "99.9%" },        /* saturates, as table_percent() */
        { UINT64_MAX, UINT64_MAX, 100, 99, "99.9%" },
};

START_TEST(test_fraction) {
        char buf[TABLE_PERCENT_FORMAT_MAX];

        ck_assert_uint_eq(table_fraction(fraction_cases[_i].count, fraction_cases[_i].max,
                                         fraction_cases[_i].unit), fraction_cases[_i].fraction);
        ck_assert_str_eq(table_percent_format(fraction_cases[_i].count, fraction_cases[_i].max, buf),
                         fraction_cases[_i].formatted);
        if (fraction_cases[_i].unit == 100)
                ck_assert_uint_eq(table_percent(fraction_cases[_i].count, fraction_cases[_i].max),
                                  fraction_cases[_i].fraction);
}
END_TEST

/* A table-full event means "full now" for TABLE_FULL_RECENT_USEC, to the daemon and every
 * reader; a clock that went back keeps it recent rather than dropping the alarm. */
static const struct {
        usec_t event, now;
        bool recent;
} recent_cases[] = {
        { 1000 * S, 1000 * S, true },
        { 1000 * S, 1000 * S + TABLE_FULL_RECENT_USEC - 1, true },
        { 1000 * S, 1000 * S + TABLE_FULL_RECENT_USEC, false },
        { 1000 * S, 5000 * S, false },
        { 1000 * S, 999 * S, true },
        { USEC_INFINITY - 1, USEC_INFINITY - 1, true },         /* no overflow */
};

START_TEST(test_full_recent) {
        ck_assert(table_full_recent(recent_cases[_i].event, recent_cases[_i].now) ==
                  recent_cases[_i].recent);
}
END_TEST

static const struct {
        uint64_t count, max;
        TableLevel level;
} plain_cases[] = {
        { 0, 0, TABLE_LEVEL_OK },
        { 10, 0, TABLE_LEVEL_OK },
        { 799, 1000, TABLE_LEVEL_OK },
        { 800, 1000, TABLE_LEVEL_WARN },
        { 949, 1000, TABLE_LEVEL_WARN },
        { 950, 1000, TABLE_LEVEL_CRIT },
        { 5000, 1000, TABLE_LEVEL_CRIT },
};

START_TEST(test_level_plain) {
        TablePolicyConfig cfg = { 80, 95, S, S / 5, TABLE_REPEAT_INTERVAL };

        ck_assert_int_eq(table_level_plain(&cfg, plain_cases[_i].count, plain_cases[_i].max),
                         plain_cases[_i].level);
}
END_TEST

START_TEST(test_clear) {
        ck_assert_uint_eq(table_clear_half_points(80), 150);   /* 75% */
        ck_assert_uint_eq(table_clear_half_points(10), 10);    /* 5% */
        ck_assert_uint_eq(table_clear_half_points(9), 9);      /* 4.5% */
        ck_assert_uint_eq(table_clear_half_points(1), 1);      /* 0.5% */
        ck_assert_uint_eq(table_clear_half_points(100), 190);
}
END_TEST

START_TEST(test_names) {
        ck_assert_str_eq(table_event_to_string(TABLE_EVENT_WARN), "table-warn");
        ck_assert_str_eq(table_event_to_string(TABLE_EVENT_CRIT), "table-crit");
        ck_assert_str_eq(table_event_to_string(TABLE_EVENT_OK), "table-ok");
        ck_assert_str_eq(table_event_to_string(TABLE_EVENT_FULL), "table-full");
        ck_assert_ptr_null(table_event_to_string(_TABLE_EVENT_MAX));
        ck_assert_ptr_null(table_event_to_string(-1));
        ck_assert_str_eq(table_level_to_string(TABLE_LEVEL_CRIT), "crit");
        ck_assert_ptr_null(table_level_to_string(_TABLE_LEVEL_MAX));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("table-policy");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_sequences, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_event_fields);
        tcase_add_loop_test(tc, test_config, 0, ELEMENTSOF(config_cases));
        tcase_add_loop_test(tc, test_percent, 0, ELEMENTSOF(percent_cases));
        tcase_add_loop_test(tc, test_fraction, 0, ELEMENTSOF(fraction_cases));
        tcase_add_loop_test(tc, test_full_recent, 0, ELEMENTSOF(recent_cases));
        tcase_add_loop_test(tc, test_level_plain, 0, ELEMENTSOF(plain_cases));
        tcase_add_test(tc, test_clear);
        tcase_add_test(tc, test_names);
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
