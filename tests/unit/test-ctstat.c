/* SPDX-License-Identifier: GPL-2.0-or-later */

/* ctstat's /proc path, pointed at a temporary root: the sysctls, the parser of
 * /proc/net/stat/nf_conntrack, and the rule that nothing asks ctnetlink while
 * nf_conntrack_netlink is absent. The ctnetlink path needs a kernel and is covered by the
 * integration suite. */

#include <check.h>
#include <sys/stat.h>
#include <sys/utsname.h>

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
        ck_assert_int_ge(asprintf(&p, "%s/proc/sys/net/netfilter/%s", dir, name), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

static void make_dirs(const char *root, const char *rel) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "mkdir -p -- '%s/%s'", root, rel), 0);
        ck_assert_int_eq(system(cmd), 0);
}

static char *make_tree(const char *count, const char *max) {
        char tmpl[] = "/tmp/test-ctstat.XXXXXX";
        _cleanup_free_ char *modules = NULL;
        char *root = mkdtemp(tmpl);
        FILE *f;

        ck_assert_ptr_nonnull(root);
        make_dirs(root, "proc/sys/net/netfilter");
        /* A kernel with module support: without /proc/modules nothing could be loaded. */
        ck_assert_int_ge(asprintf(&modules, "%s/proc/modules", root), 0);
        f = fopen(modules, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fclose(f), 0);
        write_file(root, "nf_conntrack_count", count);
        write_file(root, "nf_conntrack_max", max);
        return strdup(root);
}

static void write_stat(const char *root, const char *content) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        make_dirs(root, "proc/net/stat");
        ck_assert_int_ge(asprintf(&p, "%s/proc/net/stat/nf_conntrack", root), 0);
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
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
        /* No /proc/net/stat in this tree. */
        ck_assert(!s.has_cpu_stats);
        ck_assert_int_eq(s.counters_error, -ENOENT);
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
        ck_assert_int_ge(asprintf(&target, "%s/proc/sys/net/netfilter/nf_conntrack_max", root), 0);
        ck_assert_int_ge(asprintf(&link, "%s/proc/sys/net/netfilter/nf_conntrack_count", root), 0);
        ck_assert_int_eq(symlink(target, link), 0);
        r = ctstat_sample_proc(root, &s);
        remove_tree(root);
        ck_assert_int_eq(r, -ELOOP);
}
END_TEST


/* Header lines as kernels print them (net/netfilter/nf_conntrack_standalone.c). 6.1 and 6.18
 * print the same one (read from a 6.18 host's /proc/net/stat/nf_conntrack); 5.15 renamed
 * delete_list to chainlength, an older one still had searched and delete_list. */
#define HEADER_6_18 "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
#define HEADER_6_1 HEADER_6_18
#define HEADER_5_4 "entries  searched found new invalid ignore delete delete_list insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
#define ZERO_ROW "00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000\n"
/* entries clashres found new invalid ignore delete chain insert insert_failed drop early_drop
 * icmp_error expect_new expect_create expect_delete search_restart */
#define ROW_A "00000fce  00000001 00000002 00000000 00000004 00000000 00000000 00000003 00000010 000000c8 000001d8 00000005 00000006  00000000 00000000 00000000 00000007\n"
#define ROW_B "00000fce  00000010 00000020 00000000 00000040 00000000 00000000 00000030 00000100 000000a2 0000016f 00000050 00000060  00000000 00000000 00000000 00000070\n"

static const struct {
        const char *name;
        const char *text;
        int ret;
        unsigned n_cpus;
        uint64_t found, invalid, insert, insert_failed, drop, early_drop, error, search_restart;
        bool has_clash;
        uint64_t clash;
        bool has_chain;
        uint64_t chain;
} stat_cases[] = {
        { "6.18, this host idle", HEADER_6_18 ZERO_ROW ZERO_ROW, 0, 2,
          0, 0, 0, 0, 0, 0, 0, 0, true, 0, true, 0 },
        { "6.1, two CPUs summed", HEADER_6_1 ROW_A ROW_B, 0, 2,
          0x22, 0x44, 0x110, 0xc8 + 0xa2, 0x1d8 + 0x16f, 0x55, 0x66, 0x77, true, 0x11, true, 0x33 },
        { "5.4: searched and delete_list are not ours", HEADER_5_4 ROW_A, 0, 1,
          2, 4, 0x10, 0xc8, 0x1d8, 5, 6, 7, false, 0, false, 0 },
        /* By name, not position: a reordered header moves the values with it. */
        { "reordered", "drop entries insert\n00000009 00000fce 00000003\n", 0, 1,
          0, 0, 3, 0, 9, 0, 0, 0, false, 0, false, 0 },
        { "a newer kernel's chaintoolong and an unknown column", "entries drop chaintoolong future\n"
          "00000001 00000002 00000003 00000004\n00000001 00000002 00000003 00000004\n", 0, 2,
          0, 0, 0, 0, 4, 0, 0, 0, false, 0, true, 6 },
        { "upper-case hex, no final newline", "drop\nFFFFFFFF\nffffffff", 0, 2,
          0, 0, 0, 0, 0x1fffffffeull, 0, 0, 0, false, 0, false, 0 },
        { "blank lines", "drop insert\n\n00000001 00000002\n\n", 0, 1,
          0, 0, 2, 0, 1, 0, 0, 0, false, 0, false, 0 },
        /* Found by fuzzing: a line of blanks used to stop the row loop from advancing. */
        { "a line of blanks", "drop insert\n \t \n00000001 00000002\n  \n", 0, 1,
          0, 0, 2, 0, 1, 0, 0, 0, false, 0, false, 0 },
        { "empty", "", -EBADMSG, .n_cpus = 0 },
        { "header only", HEADER_6_18, -EBADMSG, .n_cpus = 0 },
        { "no drop column", "entries insert\n00000001 00000002\n", -EBADMSG, .n_cpus = 0 },
        { "short row", HEADER_6_18 "00000000 00000000\n", -EBADMSG, .n_cpus = 0 },
        { "long row", "drop\n00000001 00000002\n", -EBADMSG, .n_cpus = 0 },
        { "not hex", "drop\n0000000g\n", -EBADMSG, .n_cpus = 0 },
        { "negative", "drop\n-0000001\n", -EBADMSG, .n_cpus = 0 },
        { "past 32 bits", "drop\n100000000\n", -EBADMSG, .n_cpus = 0 },
        { "a name twice", "drop drop\n00000001 00000001\n", -EBADMSG, .n_cpus = 0 },
};

START_TEST(test_parse_proc_stat) {
        CtSample s = { .count = 4242, .max = 4343, .source = CTSTAT_SOURCE_PROC };
        int r = ctstat_parse_proc_stat(stat_cases[_i].text, &s);

        ck_assert_msg(r == stat_cases[_i].ret, "%s: got %d, want %d", stat_cases[_i].name, r,
                      stat_cases[_i].ret);
        /* Count and max are not the parser's (the entries column is the global count on
         * every row, not a per-CPU figure). */
        ck_assert_uint_eq(s.count, 4242);
        ck_assert_uint_eq(s.max, 4343);
        if (r < 0) {
                ck_assert(!s.has_cpu_stats);
                return;
        }
        ck_assert(s.has_cpu_stats);
        ck_assert_uint_eq(s.n_cpus, stat_cases[_i].n_cpus);
        ck_assert_uint_eq(s.found, stat_cases[_i].found);
        ck_assert_uint_eq(s.invalid, stat_cases[_i].invalid);
        ck_assert_uint_eq(s.insert, stat_cases[_i].insert);
        ck_assert_uint_eq(s.insert_failed, stat_cases[_i].insert_failed);
        ck_assert_uint_eq(s.drop, stat_cases[_i].drop);
        ck_assert_uint_eq(s.early_drop, stat_cases[_i].early_drop);
        ck_assert_uint_eq(s.error, stat_cases[_i].error);
        ck_assert_uint_eq(s.search_restart, stat_cases[_i].search_restart);
        ck_assert(s.has_clash_resolve == stat_cases[_i].has_clash);
        ck_assert_uint_eq(s.clash_resolve, stat_cases[_i].clash);
        ck_assert(s.has_chaintoolong == stat_cases[_i].has_chain);
        ck_assert_uint_eq(s.chaintoolong, stat_cases[_i].chain);
}
END_TEST

/* The same texts for a reader of another namespace's file: count is the "entries" column. */
static const struct {
        const char *name;
        const char *text;
        int ret;
        uint32_t count;
        uint64_t drop;
} entries_cases[] = {
        { "6.18 idle", HEADER_6_18 ZERO_ROW ZERO_ROW, 0, 0, 0 },
        { "6.1, 4046 entries", HEADER_6_1 ROW_A ROW_B, 0, 0xfce, 0x1d8 + 0x16f },
        { "the rows disagree: the first row's", "entries drop\n00000010 00000001\n00000011 00000001\n",
          0, 0x10, 2 },
        { "reordered", "drop entries insert\n00000009 00000fce 00000003\n", 0, 0xfce, 9 },
        { "the most a count can be", "entries drop\nffffffff 00000000\n", 0, UINT32_MAX, 0 },
        { "no entries column", "drop insert\n00000001 00000002\n", -EBADMSG, 0, 0 },
        { "entries twice", "entries drop entries\n00000001 00000002 00000003\n", -EBADMSG, 0, 0 },
        { "no drop column", "entries insert\n00000001 00000002\n", -EBADMSG, 0, 0 },
        { "header only", HEADER_6_18, -EBADMSG, 0, 0 },
};

START_TEST(test_parse_proc_stat_entries) {
        CtSample s = { .count = 4242, .max = 4343 };
        int r = ctstat_parse_proc_stat_entries(entries_cases[_i].text, &s);

        ck_assert_msg(r == entries_cases[_i].ret, "%s: got %d, want %d", entries_cases[_i].name, r,
                      entries_cases[_i].ret);
        ck_assert_uint_eq(s.max, 4343);
        if (r < 0) {
                ck_assert_uint_eq(s.count, 4242);
                ck_assert(!s.has_cpu_stats);
                return;
        }
        ck_assert(s.has_cpu_stats);
        ck_assert_uint_eq(s.count, entries_cases[_i].count);
        ck_assert_uint_eq(s.drop, entries_cases[_i].drop);
}
END_TEST

/* The host's own file, whatever its kernel: the parser must take it. */
START_TEST(test_parse_host_proc_stat) {
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = fopen("/proc/net/stat/nf_conntrack", "re");
        size_t size = 0;
        CtSample s = {};

        if (!f)
                return;         /* no conntrack here: the table above still runs */
        ck_assert_int_ge(getdelim(&text, &size, '\0', f), 0);
        ck_assert_int_eq(ctstat_parse_proc_stat(text, &s), 0);
        ck_assert_uint_ge(s.n_cpus, 1);
}
END_TEST

/* A sampler on a tree: counters come from the stat file; without one, and without
 * nf_conntrack_netlink, ctnetlink is not asked (the sample says why it has no counters). */
static const struct {
        const char *name;
        const char *stat;       /* NULL: no file */
        bool netlink_module;
        bool want_counters;
        int want_error;
} sampler_cases[] = {
        { "stat file",                            HEADER_6_18 ROW_A, false, true,  0 },
        { "stat file and netlink module",         HEADER_6_18 ROW_A, true,  true,  0 },
        { "no stat file, no netlink module",      NULL,              false, false, -ENOENT },
        { "malformed stat file: not ctnetlink",   "drop\nxyz\n",     true,  false, -EBADMSG },
};

START_TEST(test_sampler_tree) {
        _cleanup_free_ char *root = make_tree("12\n", "100\n");
        _cleanup_(ctstat_closep) CtStat *st = NULL;
        CtSample s = {};
        int r;

        if (sampler_cases[_i].stat)
                write_stat(root, sampler_cases[_i].stat);
        if (sampler_cases[_i].netlink_module)
                make_dirs(root, "sys/module/nf_conntrack_netlink");
        ck_assert(ctstat_conntrack_loaded(root));
        ck_assert(ctstat_netlink_loaded(root) == sampler_cases[_i].netlink_module);

        ck_assert_int_eq(ctstat_open(root, &st), 0);
        r = ctstat_sample(st, &s);
        remove_tree(root);
        ck_assert_msg(r == 0, "%s: %d", sampler_cases[_i].name, r);
        ck_assert_int_eq(s.source, CTSTAT_SOURCE_PROC);
        ck_assert_uint_eq(s.count, 12);
        ck_assert_uint_eq(s.max, 100);
        ck_assert(s.has_cpu_stats == sampler_cases[_i].want_counters);
        ck_assert_int_eq(s.counters_error, sampler_cases[_i].want_error);
        if (s.has_cpu_stats)
                ck_assert_uint_eq(s.drop, 0x1d8);
}
END_TEST

/* When a ctnetlink request loads nothing. */
static const struct {
        const char *name;
        bool sys_module;
        bool proc_modules;
        const char *builtin;    /* modules.builtin of this kernel's release, or NULL */
        bool want;
} netlink_loaded_cases[] = {
        { "loaded",                  true,  true,  NULL, true },
        { "absent",                  false, true,  NULL, false },
        { "built in",                false, true,  "kernel/net/netfilter/nf_conntrack_netlink.ko\n", true },
        { "another built in",        false, true,  "kernel/net/netfilter/nf_conntrack_netlink_x.ko\n"
                                                   "kernel/net/netfilter/nf_conntrack.ko\n", false },
        { "no module support",       false, false, NULL, true },
};

START_TEST(test_netlink_loaded) {
        _cleanup_free_ char *root = make_tree("1\n", "2\n"), *p = NULL, *dir = NULL;
        struct utsname u;
        bool got;

        if (netlink_loaded_cases[_i].sys_module)
                make_dirs(root, "sys/module/nf_conntrack_netlink");
        if (!netlink_loaded_cases[_i].proc_modules) {
                ck_assert_int_ge(asprintf(&p, "%s/proc/modules", root), 0);
                ck_assert_int_eq(unlink(p), 0);
        }
        if (netlink_loaded_cases[_i].builtin) {
                FILE *f;

                ck_assert_int_eq(uname(&u), 0);
                ck_assert_int_ge(asprintf(&dir, "lib/modules/%s", u.release), 0);
                make_dirs(root, dir);
                free(p);
                ck_assert_int_ge(asprintf(&p, "%s/%s/modules.builtin", root, dir), 0);
                f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                fputs(netlink_loaded_cases[_i].builtin, f);
                ck_assert_int_eq(fclose(f), 0);
        }
        got = ctstat_netlink_loaded(root);
        remove_tree(root);
        ck_assert_msg(got == netlink_loaded_cases[_i].want, "%s", netlink_loaded_cases[_i].name);
}
END_TEST

/* No nf_conntrack_count: nothing is asked at all. */
START_TEST(test_sampler_not_loaded) {
        _cleanup_free_ char *root = make_tree(NO_FILE, "100\n");
        _cleanup_(ctstat_closep) CtStat *st = NULL;
        CtSample s = { .count = 4242 };
        int r;

        write_stat(root, HEADER_6_18 ROW_A);
        ck_assert(!ctstat_conntrack_loaded(root));
        ck_assert_int_eq(ctstat_open(root, &st), 0);
        r = ctstat_sample(st, &s);
        remove_tree(root);
        ck_assert_int_eq(r, -ENOENT);
        ck_assert_uint_eq(s.count, 4242);
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
        tcase_add_loop_test(tc, test_parse_proc_stat, 0, ELEMENTSOF(stat_cases));
        tcase_add_loop_test(tc, test_parse_proc_stat_entries, 0, ELEMENTSOF(entries_cases));
        tcase_add_test(tc, test_parse_host_proc_stat);
        tcase_add_loop_test(tc, test_sampler_tree, 0, ELEMENTSOF(sampler_cases));
        tcase_add_test(tc, test_sampler_not_loaded);
        tcase_add_loop_test(tc, test_netlink_loaded, 0, ELEMENTSOF(netlink_loaded_cases));
        tcase_add_loop_test(tc, test_source_to_string, 0, ELEMENTSOF(source_cases));
        tcase_add_test(tc, test_open_close);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
