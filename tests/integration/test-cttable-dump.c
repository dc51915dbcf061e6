/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The blocking dump of "ctguard top" (ct_dump_all(): one thread receives while the caller
 * counts) against the running kernel, in a network namespace of its own filled by ct-insert:
 * every entry counted exactly once whatever the table's size, including tables of one
 * buffer, several and many; a cap reached mid-dump stops both threads with the count exact
 * up to the cap; and the result agrees with the non-blocking dump the daemon uses
 * (ct_dump_step()), repeated to give a race a chance to show.
 *
 *   test-cttable-dump [CT-INSERT]      (or CT_INSERT in the environment)
 *
 * Exits 77 without root or network namespaces. */

#include <check.h>
#include <poll.h>

#include "cttable.h"
#include "macro.h"
#include "netns-test.h"

static uint64_t top_count(const CtAggregate *a, CtBy by, size_t i) {
        _cleanup_free_ CtTopItem *items = NULL;
        size_t n;

        ck_assert_int_eq(ct_aggregate_top(a, by, i + 1, &items, &n), 0);
        return i < n ? items[i].count : 0;
}

static void fill(unsigned a, unsigned b) {
        char na[16], nb[16];

        snprintf(na, sizeof(na), "%u", a);
        snprintf(nb, sizeof(nb), "%u", b);
        ck_assert_int_eq(run_ct_insert("--delete-all", NULL), 0);
        if (a > 0)
                ck_assert_int_eq(run_ct_insert("--count", na, "--src", "10.9.0.0/16",
                                               "--dport", "443", NULL), 0);
        if (b > 0)
                ck_assert_int_eq(run_ct_insert("--count", nb, "--src", "10.7.0.7", "--proto", "udp",
                                               "--dport", "53", "--state", "UNREPLIED", NULL), 0);
}

/* Sizes around one netlink buffer (some 130 entries) and across many. */
static const struct {
        unsigned a, b;
} sizes[] = {
        { 0, 0 }, { 1, 0 }, { 0, 1 }, { 100, 29 }, { 130, 3 }, { 400, 260 }, { 20000, 5000 },
};

START_TEST(test_exact) {
        _cleanup_(ct_aggregate_freep) CtAggregate *agg = NULL;
        unsigned a = sizes[_i].a, b = sizes[_i].b;

        fill(a, b);
        ck_assert_int_eq(ct_aggregate_new(&CT_LIMITS_COMMAND, &agg), 0);
        ck_assert_int_eq(ct_dump_all(agg), 0);
        ck_assert_uint_eq(ct_aggregate_entries(agg), a + b);
        ck_assert(!ct_aggregate_truncated(agg));
        /* 10.7.0.7 alone has b entries; each of the a sources has one. */
        ck_assert_uint_eq(ct_aggregate_keys(agg, CT_BY_SRC), a + (b > 0));
        ck_assert_uint_eq(top_count(agg, CT_BY_SRC, 0), b > 1 ? b : (a + b > 0));
        ck_assert_uint_eq(ct_aggregate_keys(agg, CT_BY_DPORT), (a > 0) + (b > 0));
        ck_assert_uint_eq(top_count(agg, CT_BY_DPORT, 0), MAX(a, b));
        ck_assert_uint_eq(top_count(agg, CT_BY_DPORT, 1), MIN(a, b));
}
END_TEST

/* The cap falls inside the first buffer, at a buffer's end, and deep into the dump: the
 * receiver must stop wherever it is, and no entry past the cap is counted. */
static const uint64_t caps[] = { 1, 50, 131, 7777, 24999 };

START_TEST(test_capped) {
        _cleanup_(ct_aggregate_freep) CtAggregate *agg = NULL;
        CtLimits l = CT_LIMITS_COMMAND;

        if (_i == 0)
                fill(20000, 5000);
        l.max_entries = caps[_i];
        ck_assert_int_eq(ct_aggregate_new(&l, &agg), 0);
        ck_assert_int_eq(ct_dump_all(agg), 0);
        ck_assert_uint_eq(ct_aggregate_entries(agg), caps[_i]);
        ck_assert(ct_aggregate_truncated(agg));
}
END_TEST

/* What the daemon's step-wise dump counts, for comparison. */
static void dump_stepwise(CtAggregate *agg) {
        _cleanup_(ct_dump_freep) CtDump *d = NULL;
        int r;

        ck_assert_int_eq(ct_dump_new(true, &d), 0);
        for (;;) {
                struct pollfd p = { .fd = ct_dump_fd(d), .events = POLLIN };

                r = ct_dump_step(d, agg, 4);
                if (r != 0)
                        break;
                ck_assert_int_ge(poll(&p, 1, 10 * 1000), 1);
        }
        ck_assert_int_eq(r, 1);
}

START_TEST(test_agrees_with_stepwise) {
        _cleanup_(ct_aggregate_freep) CtAggregate *want = NULL;

        fill(20000, 5000);
        ck_assert_int_eq(ct_aggregate_new(&CT_LIMITS_COMMAND, &want), 0);
        dump_stepwise(want);
        ck_assert_uint_eq(ct_aggregate_entries(want), 25000);

        for (unsigned round = 0; round < 30; round++) {
                _cleanup_(ct_aggregate_freep) CtAggregate *got = NULL;

                ck_assert_int_eq(ct_aggregate_new(&CT_LIMITS_COMMAND, &got), 0);
                ck_assert_int_eq(ct_dump_all(got), 0);
                ck_assert_uint_eq(ct_aggregate_entries(got), ct_aggregate_entries(want));
                for (CtBy by = 0; by < _CT_BY_MAX; by++) {
                        ck_assert_uint_eq(ct_aggregate_keys(got, by), ct_aggregate_keys(want, by));
                        for (size_t i = 0; i < 3; i++)
                                ck_assert_uint_eq(top_count(got, by, i), top_count(want, by, i));
                }
        }
}
END_TEST

int main(int argc, char *argv[]) {
        Suite *suite;
        TCase *tc;
        SRunner *sr;
        int failed, r;

        r = netns_test_enter("test-cttable-dump", argc, argv);
        if (r != 0)
                return r;

        suite = suite_create("cttable-dump-netns");
        tc = tcase_create("netns");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_exact, 0, ELEMENTSOF(sizes));
        tcase_add_loop_test(tc, test_capped, 0, ELEMENTSOF(caps));
        tcase_add_test(tc, test_agrees_with_stepwise);
        suite_add_tcase(suite, tc);

        sr = srunner_create(suite);
        /* In order, in this process: test_capped's first case fills the table for the rest. */
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
