/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The sysctl fallback of ctstat, pointed at a temporary tree. The ctnetlink path needs a kernel
 * and is covered by the integration suite. */

#include <check.h>
#include <sys/stat.h>

#include "ctstat.h"
#include "macro.h"

#define NO_FILE NULL

static const struct {
        const char *count;      /* file contents, or NO_FILE */
        const char *max;
        int ret;
        uint32_t want_count;
        uint32_t want_max;
} proc_cases[] = {
        { "0\n",          "262144\n",     0,       0,          262144 },
        { "12345\n",      "65536\n",      0,       12345,      65536 },
        { "7",            "8",            0,       7,          8 },            /* no newline */
        { "4294967295\n", "4294967295\n", 0,       4294967295u, 4294967295u },
        { "10 \n",        "20\n",         0,       10,         20 },           /* trailing blank */
        { NO_FILE,        "262144\n",     -ENOENT, 0,          0 },
        { "5\n",          NO_FILE,        -ENOENT, 0,          0 },
        { NO_FILE,        NO_FILE,        -ENOENT, 0,          0 },
        { "",             "262144\n",     -EINVAL, 0,          0 },
        { "abc\n",        "262144\n",     -EINVAL, 0,          0 },
        { "-1\n",         "262144\n",     -EINVAL, 0,          0 },
        { "5\n",          "0x100\n",      -EINVAL, 0,          0 },
        { "1 2\n",        "262144\n",     -EINVAL, 0,          0 },
        { "4294967296\n", "262144\n",     -ERANGE, 0,          0 },
        { "5\n",          "99999999999\n", -ERANGE, 0,         0 },
};

static void write_file(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        if (!content)
                return;
        ck_assert_int_ge(asprintf(&p, "%s/net/netfilter/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

static char *make_tree(const char *count, const char *max) {
        char tmpl[] = "/tmp/test-ctstat.XXXXXX";
        _cleanup_free_ char *net = NULL, *nf = NULL;
        char *root = mkdtemp(tmpl);

        ck_assert_ptr_nonnull(root);
        ck_assert_int_ge(asprintf(&net, "%s/net", root), 0);
        ck_assert_int_ge(asprintf(&nf, "%s/net/netfilter", root), 0);
        ck_assert_int_eq(mkdir(net, 0755), 0);
        ck_assert_int_eq(mkdir(nf, 0755), 0);
        write_file(root, "nf_conntrack_count", count);
        write_file(root, "nf_conntrack_max", max);
        return strdup(root);
}

static void remove_tree(const char *root) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf -- '%s'", root), 0);
        ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_sample_proc) {
        _cleanup_free_ char *root = make_tree(proc_cases[_i].count, proc_cases[_i].max);
        CtSample s = { .count = 4242, .max = 4343 };
        int r;

        ck_assert_ptr_nonnull(root);
        r = ctstat_sample_proc(root, &s);
        remove_tree(root);

        ck_assert_msg(r == proc_cases[_i].ret, "count '%s', max '%s': got %d, want %d",
                      strempty(proc_cases[_i].count), strempty(proc_cases[_i].max), r,
                      proc_cases[_i].ret);
        if (r < 0) {
                /* Untouched on failure. */
                ck_assert_uint_eq(s.count, 4242);
                ck_assert_uint_eq(s.max, 4343);
                return;
        }
        ck_assert_int_eq(s.source, CTSTAT_SOURCE_PROC);
        ck_assert_uint_eq(s.count, proc_cases[_i].want_count);
        ck_assert_uint_eq(s.max, proc_cases[_i].want_max);
        ck_assert(!s.has_cpu_stats);
        ck_assert_uint_eq(s.insert, 0);
        ck_assert_uint_gt(s.timestamp, 0);
}
END_TEST

START_TEST(test_sample_proc_missing_root) {
        CtSample s;

        ck_assert_int_eq(ctstat_sample_proc("/nonexistent/ctstat-test", &s), -ENOENT);
}
END_TEST

/* A symlink placed where the count should be is refused rather than followed. */
START_TEST(test_sample_proc_symlink) {
        _cleanup_free_ char *root = make_tree(NO_FILE, "100\n"), *link = NULL, *target = NULL;
        CtSample s;
        int r;

        ck_assert_ptr_nonnull(root);
        ck_assert_int_ge(asprintf(&target, "%s/net/netfilter/nf_conntrack_max", root), 0);
        ck_assert_int_ge(asprintf(&link, "%s/net/netfilter/nf_conntrack_count", root), 0);
        ck_assert_int_eq(symlink(target, link), 0);
        r = ctstat_sample_proc(root, &s);
        remove_tree(root);
        ck_assert_int_eq(r, -ELOOP);
}
END_TEST

static const struct {
        CtStatSource s;
        const char *name;
} source_cases[] = {
        { CTSTAT_SOURCE_NETLINK, "netlink" },
        { CTSTAT_SOURCE_PROC,    "proc" },
        { _CTSTAT_SOURCE_MAX,    NULL },
        { _CTSTAT_SOURCE_INVALID, NULL },
};

START_TEST(test_source_to_string) {
        const char *n = ctstat_source_to_string(source_cases[_i].s);

        if (source_cases[_i].name)
                ck_assert_str_eq(n, source_cases[_i].name);
        else
                ck_assert_ptr_null(n);
}
END_TEST

START_TEST(test_open_close) {
        CtStat *s = NULL;

        ck_assert_int_eq(ctstat_open("/nonexistent/ctstat-test", &s), 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_null(ctstat_close(s));
        ck_assert_ptr_null(ctstat_close(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("ctstat");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_sample_proc, 0, ELEMENTSOF(proc_cases));
        tcase_add_test(tc, test_sample_proc_missing_root);
        tcase_add_test(tc, test_sample_proc_symlink);
        tcase_add_loop_test(tc, test_source_to_string, 0, ELEMENTSOF(source_cases));
        tcase_add_test(tc, test_open_close);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
