/* SPDX-License-Identifier: GPL-2.0-or-later */

/* When an unload is over: module_settle_next() over tables of observations and times. */

#include <check.h>

#include "macro.h"
#include "module-settle.h"

#define MS USEC_PER_MSEC
#define T0 (1000 * USEC_PER_SEC)        /* an arbitrary CLOCK_MONOTONIC */

static const ModuleSettleInput NOTHING = {};
static const ModuleSettleInput GOING = { .going = true };
static const ModuleSettleInput MISSING = { .missing = true };
static const ModuleSettleInput MISSING_LOOSE = { .missing = true, .loose = true };
static const ModuleSettleInput GOING_MISSING_LOOSE = { .going = true, .missing = true, .loose = true };
static const ModuleSettleInput LOOSE = { .loose = true };

static const struct {
        const char *what;
        usec_t removed[3];              /* remove events before the look, 0-terminated */
        const ModuleSettleInput *in;
        usec_t now;
        usec_t expect;                  /* 0: go ahead */
        bool running_after;
} cases[] = {
        { "no event, nothing going: go ahead (an idle tick)",
          { 0 }, &NOTHING, T0, 0, false },
        { "no event, something missing: go ahead (a tick finds it)",
          { 0 }, &MISSING_LOOSE, T0, 0, false },
        { "no event, a module going: poll until it is gone",
          { 0 }, &GOING, T0, T0 + MODULE_SETTLE_POLL, true },

        { "nothing left unused (the chain gone with what it needs, or held by others): at once",
          { T0 }, &MISSING, T0 + 1 * MS, 0, false },
        { "loaded again by someone else: nothing to wait for",
          { T0 }, &LOOSE, T0 + 1 * MS, 0, false },
        { "nf_nat gone, nf_conntrack unused: wait for quiet",
          { T0 }, &MISSING_LOOSE, T0 + 1 * MS, T0 + MODULE_SETTLE_QUIET, true },
        { "quiet counts from the last remove event",
          { T0, T0 + 100 * MS }, &MISSING_LOOSE, T0 + 120 * MS,
          T0 + 100 * MS + MODULE_SETTLE_QUIET, true },
        { "quiet over: go ahead",
          { T0 }, &MISSING_LOOSE, T0 + MODULE_SETTLE_QUIET, 0, false },
        { "going: poll, whatever else",
          { T0 }, &GOING_MISSING_LOOSE, T0 + 300 * MS, T0 + 300 * MS + MODULE_SETTLE_POLL, true },
        { "never past the longest settle, even while going",
          { T0 }, &GOING_MISSING_LOOSE, T0 + MODULE_SETTLE_MAX, 0, false },
        { "events keep coming: still bounded by the first",
          { T0, T0 + 1900 * MS }, &MISSING_LOOSE, T0 + MODULE_SETTLE_MAX, 0, false },
        { "an old settle left behind does not hold up a new unload",
          { T0, T0 + 10 * USEC_PER_SEC }, &MISSING_LOOSE, T0 + 10 * USEC_PER_SEC + 1 * MS,
          T0 + 10 * USEC_PER_SEC + MODULE_SETTLE_QUIET, true },
};

START_TEST(test_settle) {
        ModuleSettle s = {};
        usec_t at;

        for (size_t k = 0; k < ELEMENTSOF(cases[_i].removed) && cases[_i].removed[k]; k++)
                module_settle_removed(&s, cases[_i].removed[k]);
        at = module_settle_next(&s, cases[_i].in, cases[_i].now);
        ck_assert_msg(at == cases[_i].expect, "%s: %llu, expected %llu", cases[_i].what,
                      (unsigned long long) at, (unsigned long long) cases[_i].expect);
        ck_assert_msg(module_settle_running(&s, cases[_i].now) == cases[_i].running_after,
                      "%s: running", cases[_i].what);
        if (at == 0)
                ck_assert_msg(s.start == 0 && s.last_remove == 0, "%s: not reset", cases[_i].what);
}
END_TEST

/* A whole "modprobe -r" of the chain as the daemon sees it, look by look. */
START_TEST(test_unload_sequence) {
        ModuleSettle s = {};

        /* nf_nat's remove event; nf_conntrack unused, not yet going. */
        module_settle_removed(&s, T0);
        ck_assert_uint_eq(module_settle_next(&s, &MISSING_LOOSE, T0), T0 + MODULE_SETTLE_QUIET);
        /* nf_conntrack going: look again shortly. */
        ck_assert_uint_eq(module_settle_next(&s, &GOING_MISSING_LOOSE, T0 + 40 * MS),
                          T0 + 40 * MS + MODULE_SETTLE_POLL);
        /* nf_conntrack gone, the defrag modules and libcrc32c unused. */
        module_settle_removed(&s, T0 + 90 * MS);
        ck_assert_uint_eq(module_settle_next(&s, &MISSING_LOOSE, T0 + 91 * MS),
                          T0 + 90 * MS + MODULE_SETTLE_QUIET);
        /* The rest gone: nothing left to take out, heal now. */
        module_settle_removed(&s, T0 + 200 * MS);
        ck_assert_uint_eq(module_settle_next(&s, &MISSING, T0 + 201 * MS), 0);
        ck_assert(!module_settle_running(&s, T0 + 201 * MS));

        /* The next look, with nothing going on, goes ahead too. */
        ck_assert_uint_eq(module_settle_next(&s, &NOTHING, T0 + 300 * MS), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("module-settle");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_settle, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_unload_sequence);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
