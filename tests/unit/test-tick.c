/* SPDX-License-Identifier: GPL-2.0-or-later */

/* tick_next(): the daemon's poll timer keeps its cadence when on time and skips missed ticks
 * after a stall instead of firing them back-to-back. */

#include <check.h>

#include "macro.h"
#include "time-util.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
#define MS(x) ((usec_t) (x) * USEC_PER_MSEC)

static const struct {
        const char *name;
        usec_t scheduled, now, interval, want;
} tick_cases[] = {
        { "on time",                         S(10), S(10),          S(1), S(11) },
        { "late by 2 ms: cadence kept",      S(10), S(10) + MS(2),  S(1), S(11) },
        { "late by just under a tick",       S(10), S(11) - 1,      S(1), S(11) },
        { "late by exactly a tick",          S(10), S(11),          S(1), S(12) },
        { "stalled 30 s: one tick, not 30",  S(10), S(40) + MS(5),  S(1), S(41) + MS(5) },
        { "faster interval after a stall",   S(10), S(20),          MS(200), S(20) + MS(200) },
        { "first tick at 0",                 0,     MS(1),          S(1), S(1) },
};

START_TEST(test_tick_next) {
        usec_t got = tick_next(tick_cases[_i].scheduled, tick_cases[_i].now, tick_cases[_i].interval);

        ck_assert_msg(got == tick_cases[_i].want, "%s: got %llu, want %llu", tick_cases[_i].name,
                      (unsigned long long) got, (unsigned long long) tick_cases[_i].want);
        ck_assert(got > tick_cases[_i].now);
}
END_TEST

/* A stall replayed tick by tick: after it, the ticks that follow are a whole interval apart. */
START_TEST(test_no_burst_after_stall) {
        usec_t scheduled = S(5), now = S(65), prev = now;

        for (unsigned i = 0; i < 10; i++) {
                usec_t next = tick_next(scheduled, now, S(1));

                ck_assert_uint_ge(next - prev, S(1));
                prev = now = scheduled = next;  /* the loop wakes on time from here */
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("tick");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_tick_next, 0, ELEMENTSOF(tick_cases));
        tcase_add_test(tc, test_no_burst_after_stall);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
