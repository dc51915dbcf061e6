/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"
#include "metrics.h"

static const char header_6[] =
        "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
        "early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";

static const struct {
        const char *name;
        const char *text;
        int error;
        uint64_t entries;
        bool have[_METRICS_CT_MAX];
        uint64_t value[_METRICS_CT_MAX];
} stat_cases[] = {
        { "two CPUs summed, entries not",
          "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
          "early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
          "00000010  00000001 00000000 00000000 00000002 00000000 00000000 00000003 00000000 00000004 00000005 00000006 00000000  00000000 00000000 00000000 00000007\n"
          "00000010  00000001 00000000 00000000 0000000a 00000000 00000000 00000003 00000000 00000004 ffffffff 00000006 00000000  00000000 00000000 00000000 00000007\n",
          0, 16,
          { true, true, true, true, true, true, true },
          { [METRICS_CT_DROP] = 0x100000004ull, [METRICS_CT_EARLY_DROP] = 12,
            [METRICS_CT_INSERT_FAILED] = 8, [METRICS_CT_INVALID] = 12,
            [METRICS_CT_SEARCH_RESTART] = 14, [METRICS_CT_CLASH_RESOLVE] = 2,
            [METRICS_CT_CHAINTOOLONG] = 6 } },
        { "an older kernel without clashres and chainlength: those stay unknown",
          "entries searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error expect_new expect_create expect_delete search_restart\n"
          "00000002 00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000\n",
          0, 2,
          { [METRICS_CT_DROP] = true, [METRICS_CT_EARLY_DROP] = true, [METRICS_CT_INSERT_FAILED] = true,
            [METRICS_CT_INVALID] = true, [METRICS_CT_SEARCH_RESTART] = true },
          { [METRICS_CT_DROP] = 3, [METRICS_CT_INVALID] = 1 } },
        { "a header alone", header_6, -EBADMSG, 0, {}, {} },
        { "a short row", "entries drop\n00000001\n", -EBADMSG, 0, {}, {} },
        { "not hex", "entries drop\n00000001 xyz\n", -EBADMSG, 0, {}, {} },
        { "empty", "", -EBADMSG, 0, {}, {} },
};

START_TEST(test_conntrack_stat) {
        char path[] = "/tmp/test-metrics-XXXXXX";
        int fd = mkstemp(path);
        size_t n = strlen(stat_cases[_i].text);
        Metrics m = {};
        int r;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, stat_cases[_i].text, n), (ssize_t) n);
        close(fd);
        r = metrics_read_conntrack_stat(path, &m);
        unlink(path);
        ck_assert_msg(r == stat_cases[_i].error, "%s: got %d", stat_cases[_i].name, r);
        if (r < 0) {
                /* Nothing half-read is reported. */
                ck_assert(!m.have_entries);
                for (size_t c = 0; c < _METRICS_CT_MAX; c++)
                        ck_assert(!m.have_counter[c]);
                return;
        }
        ck_assert(m.have_entries);
        ck_assert_uint_eq(m.entries, stat_cases[_i].entries);
        for (size_t c = 0; c < _METRICS_CT_MAX; c++) {
                ck_assert_msg(m.have_counter[c] == stat_cases[_i].have[c], "%s: %s",
                              stat_cases[_i].name, metrics_counter_to_string(c));
                if (m.have_counter[c])
                        ck_assert_msg(m.counter[c] == stat_cases[_i].value[c], "%s: %s = %llu",
                                      stat_cases[_i].name, metrics_counter_to_string(c),
                                      (unsigned long long) m.counter[c]);
        }
}
END_TEST

START_TEST(test_missing_file) {
        Metrics m = {};

        ck_assert_int_eq(metrics_read_conntrack_stat("/nonexistent/nf_conntrack", &m), -ENOENT);
}
END_TEST

/* A model with nothing known writes only what is always known: the build and the time. */
START_TEST(test_nothing_known) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        Metrics m = { .version = "1" };

        ck_assert_int_eq(metrics_write(&m, f), 0);
        fclose(f);
        ck_assert_str_eq(out, "# HELP ctguard_build_info Always 1; the version label says which ctguard wrote this.\n"
                              "# TYPE ctguard_build_info gauge\nctguard_build_info{version=\"1\"} 1\n");
}
END_TEST

/* Namespaces: the K fullest get series of their own, fullest first, and one sum the rest; a
 * drop sum with an unknown member is unknown. */
static const struct {
        unsigned k;
        const char *expected;
} netns_cases[] = {
        { 2,
          "ctguard_netns_watched 4\n"
          "ctguard_netns_conntrack_entries{netns=\"30\",name=\"b\"} 900\n"
          "ctguard_netns_conntrack_entries{netns=\"10\",name=\"pid 7 (nginx)\"} 50\n"
          "ctguard_netns_conntrack_entries{netns=\"other\",name=\"\"} 5\n"
          "ctguard_netns_conntrack_drop_total{netns=\"30\",name=\"b\"} 12\n"
          "ctguard_netns_conntrack_drop_total{netns=\"10\",name=\"pid 7 (nginx)\"} 0\n" },
        { 0,
          "ctguard_netns_watched 4\n"
          "ctguard_netns_conntrack_entries{netns=\"other\",name=\"\"} 955\n" },
        { 1000,
          "ctguard_netns_watched 4\n"
          "ctguard_netns_conntrack_entries{netns=\"30\",name=\"b\"} 900\n"
          "ctguard_netns_conntrack_entries{netns=\"10\",name=\"pid 7 (nginx)\"} 50\n"
          "ctguard_netns_conntrack_entries{netns=\"20\",name=\"a\\\"q\"} 5\n"
          "ctguard_netns_conntrack_entries{netns=\"40\",name=\"c\"} 0\n"
          "ctguard_netns_conntrack_entries{netns=\"other\",name=\"\"} 0\n"
          "ctguard_netns_conntrack_drop_total{netns=\"30\",name=\"b\"} 12\n"
          "ctguard_netns_conntrack_drop_total{netns=\"10\",name=\"pid 7 (nginx)\"} 0\n"
          "ctguard_netns_conntrack_drop_total{netns=\"40\",name=\"c\"} 3\n"
          "ctguard_netns_conntrack_drop_total{netns=\"other\",name=\"\"} 0\n" },
};

START_TEST(test_netns) {
        static const MetricsNetns ns[] = {
                { .inode = 20, .name = "a\"q", .entries = 5 },
                { .inode = 40, .name = "c", .entries = 0, .have_drop = true, .drop = 3 },
                { .inode = 30, .name = "b", .entries = 900, .have_drop = true, .drop = 12 },
                { .inode = 10, .name = "pid 7 (nginx)", .entries = 50, .have_drop = true },
        };
        _cleanup_free_ char *out = NULL, *samples = NULL;
        size_t size = 0, n = 0;
        FILE *f = open_memstream(&out, &size), *g = open_memstream(&samples, &n);
        Metrics m = { .version = "1", .netns = ns, .n_netns = ELEMENTSOF(ns),
                      .top_netns = netns_cases[_i].k };

        ck_assert_int_eq(metrics_write(&m, f), 0);
        fclose(f);
        /* The samples alone: HELP and TYPE are the writer's business. */
        for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (strncmp(l, "ctguard_netns", 13) == 0)
                        fprintf(g, "%s\n", l);
        fclose(g);
        ck_assert_str_eq(samples, netns_cases[_i].expected);
}
END_TEST

/* Namespaces=host: no namespace series at all. */
START_TEST(test_netns_host) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        Metrics m = { .version = "1", .top_netns = 10 };

        ck_assert_int_eq(metrics_write(&m, f), 0);
        fclose(f);
        ck_assert_ptr_null(strstr(out, "netns"));
}
END_TEST

static Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_conntrack_stat, 0, ELEMENTSOF(stat_cases));
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_nothing_known);
        tcase_add_loop_test(tc, test_netns, 0, ELEMENTSOF(netns_cases));
        tcase_add_test(tc, test_netns_host);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(metrics_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
