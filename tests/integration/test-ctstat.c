/* SPDX-License-Identifier: GPL-2.0-or-later */

/* ctstat against the running kernel, in a network namespace this program creates for itself
 * (it dies with the program, entries and all): ct-insert fills the table, and ctstat must read
 * back exactly that count, the namespace's limit and sane per-CPU counters from /proc, agree
 * with ctnetlink and with conntrack(8), and ask ctnetlink only where /proc lacks the counters.
 *
 *   test-ctstat [CT-INSERT]      (or CT_INSERT in the environment)
 *
 * Exits 77 without root or network namespaces, and without conntrack(8) (after running the
 * rest: a comparison that could not be made is not a pass). */

#include <check.h>
#include <grp.h>

#include "ctstat.h"
#include "macro.h"
#include "netns-test.h"
#include "parse-util.h"
#include "time-util.h"

static uint32_t sysctl_u32(const char *name) {
        _cleanup_free_ char *p = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        unsigned v;

        ck_assert_int_ge(asprintf(&p, "/proc/sys/net/netfilter/%s", name), 0);
        f = fopen(p, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%u", &v), 1);
        return v;
}

/* Empties the table. Freed entries leave the count as soon as their last reference goes, which
 * may be just after the flush returns: poll for it against a deadline. */
static void flush_table(void) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        ck_assert_int_eq(run_ct_insert("--delete-all", NULL), 0);
        while (sysctl_u32("nf_conntrack_count") != 0) {
                ck_assert_msg(now_usec(CLOCK_MONOTONIC) < deadline, "table still has %u entries after a flush",
                              sysctl_u32("nf_conntrack_count"));
                usleep(10000);
        }
}

static void sample_ok(CtStat *s, CtSample *ret) {
        int r = ctstat_sample(s, ret);

        ck_assert_msg(r == 0, "ctstat_sample: %s", strerror(-r));
}

static const unsigned count_cases[] = { 0, 1, 999, 10000, 100000 };

START_TEST(test_count_and_max) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        unsigned n = count_cases[_i];
        CtSample before, after;
        char num[16];

        ck_assert_int_eq(ctstat_open(NULL, &s), 0);
        flush_table();
        sample_ok(s, &before);

        if (n > 0) {
                snprintf(num, sizeof(num), "%u", n);
                ck_assert_int_eq(run_ct_insert("--count", num, NULL), 0);
        }
        sample_ok(s, &after);

        ck_assert_msg(after.source == CTSTAT_SOURCE_PROC, "source %s, counters error %d",
                      ctstat_source_to_string(after.source), after.counters_error);
        ck_assert_int_eq(after.counters_error, 0);
        ck_assert_uint_eq(after.count, n);
        ck_assert_uint_eq(after.count, sysctl_u32("nf_conntrack_count"));
        ck_assert_uint_eq(after.max, sysctl_u32("nf_conntrack_max"));
        ck_assert_uint_gt(after.timestamp, before.timestamp);

        /* Per-CPU counters: every online CPU reports; each entry ct-insert made is one
         * insert on some CPU, and nothing else happens in this namespace. */
        ck_assert(after.has_cpu_stats);
        ck_assert_uint_ge(after.n_cpus, (unsigned) sysconf(_SC_NPROCESSORS_ONLN));
        ck_assert_uint_eq(after.insert - before.insert, n);
        ck_assert_uint_eq(after.insert_failed, before.insert_failed);
        ck_assert_uint_eq(after.drop, before.drop);
        ck_assert_uint_eq(after.early_drop, before.early_drop);
        ck_assert_uint_eq(after.error, before.error);
}
END_TEST

/* Sums the per-CPU counters conntrack -S prints ("cpu=0 found=0 invalid=0 insert=3 ..."). */
static void conntrack_stats(CtSample *ret) {
        _cleanup_free_ char *line = NULL;
        size_t sz = 0;
        CtSample c = {};
        FILE *f;

        f = popen("conntrack -S 2>/dev/null", "re");
        ck_assert_ptr_nonnull(f);
        while (getline(&line, &sz, f) > 0) {
                static const struct {
                        const char *name;
                        size_t offset;
                } fields[] = {
                        { "found=",          offsetof(CtSample, found) },
                        { "invalid=",        offsetof(CtSample, invalid) },
                        { "insert=",         offsetof(CtSample, insert) },
                        { "insert_failed=",  offsetof(CtSample, insert_failed) },
                        { "drop=",           offsetof(CtSample, drop) },
                        { "early_drop=",     offsetof(CtSample, early_drop) },
                        { "error=",          offsetof(CtSample, error) },
                        { "search_restart=", offsetof(CtSample, search_restart) },
                };

                if (!strneq(line, "cpu=", 4))
                        continue;
                c.n_cpus++;
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        const char *p = line;

                        /* Whole words only: "insert=" must not match inside "insert_failed=". */
                        while ((p = strstr(p, fields[i].name)) && p[-1] != ' ' && p[-1] != '\t')
                                p++;
                        ck_assert_msg(p, "no %s in '%s'", fields[i].name, line);
                        *(uint64_t *) ((char *) &c + fields[i].offset) +=
                                strtoull(p + strlen(fields[i].name), NULL, 10);
                }
        }
        ck_assert_int_eq(pclose(f), 0);
        *ret = c;
}

static void assert_same_counters(const CtSample *a, const CtSample *b) {
        ck_assert_uint_eq(a->n_cpus, b->n_cpus);
        ck_assert_uint_eq(a->found, b->found);
        ck_assert_uint_eq(a->invalid, b->invalid);
        ck_assert_uint_eq(a->insert, b->insert);
        ck_assert_uint_eq(a->insert_failed, b->insert_failed);
        ck_assert_uint_eq(a->drop, b->drop);
        ck_assert_uint_eq(a->early_drop, b->early_drop);
        ck_assert_uint_eq(a->error, b->error);
        ck_assert_uint_eq(a->search_restart, b->search_restart);
}

/* Nothing else happens in this namespace between the samples, so /proc/net/stat and ctnetlink
 * must give the same counters. */
static void fill_with_refusals(void) {
        flush_table();
        ck_assert_int_eq(run_ct_insert("--count", "1234", NULL), 0);
        /* A second time: every entry is refused, which the counters must not take for
         * inserts. */
        ck_assert_int_ne(run_ct_insert("--count", "1234", NULL), 0);
}

START_TEST(test_proc_agrees_with_netlink) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        CtSample proc, nl;

        ck_assert_int_eq(ctstat_open(NULL, &s), 0);
        fill_with_refusals();
        sample_ok(s, &proc);
        ck_assert_int_eq(ctstat_sample_netlink(s, &nl), 0);
        ck_assert_int_eq(proc.source, CTSTAT_SOURCE_PROC);
        ck_assert_int_eq(nl.source, CTSTAT_SOURCE_NETLINK);
        ck_assert(proc.has_cpu_stats && nl.has_cpu_stats);
        assert_same_counters(&proc, &nl);
        ck_assert_uint_eq(proc.count, 1234);
        ck_assert_uint_eq(nl.count, 1234);
        ck_assert_uint_eq(proc.max, nl.max);
        /* 6.18 and 6.1 have both columns. */
        ck_assert(proc.has_clash_resolve);
        ck_assert(proc.has_chaintoolong);
}
END_TEST

START_TEST(test_agrees_with_conntrack) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        CtSample ours, theirs;

        ck_assert_int_eq(ctstat_open(NULL, &s), 0);
        fill_with_refusals();
        sample_ok(s, &ours);
        conntrack_stats(&theirs);
        assert_same_counters(&ours, &theirs);
        ck_assert_uint_eq(ours.count, 1234);
}
END_TEST

/* A root whose /proc has no net/stat: with nf_conntrack_netlink loaded the counters come over
 * ctnetlink; without it nothing asks ctnetlink (a request would load the module). */
static const bool netlink_cases[] = { true, false };

START_TEST(test_netlink_only_where_proc_lacks) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        char tmpl[] = "/tmp/test-ctstat.XXXXXX";
        _cleanup_free_ char *cmd = NULL;
        const char *root = mkdtemp(tmpl);
        bool loaded = netlink_cases[_i];
        CtSample a;
        int r;

        ck_assert_ptr_nonnull(root);
        /* proc/modules: a kernel with module support, where absence means a load. */
        ck_assert_int_ge(asprintf(&cmd, "mkdir -p '%1$s/proc' '%1$s/sys/module/%2$s' && "
                                  "ln -s /proc/sys '%1$s/proc/sys' && : >'%1$s/proc/modules'",
                                  root, loaded ? "nf_conntrack_netlink" : "other"), 0);
        ck_assert_int_eq(system(cmd), 0);

        flush_table();
        ck_assert_int_eq(run_ct_insert("--count", "55", NULL), 0);
        ck_assert_int_eq(ctstat_open(root, &s), 0);
        r = ctstat_sample(s, &a);
        free(cmd);
        ck_assert_int_ge(asprintf(&cmd, "rm -rf -- '%s'", root), 0);
        ck_assert_int_eq(system(cmd), 0);

        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(a.count, 55);
        if (loaded) {
                ck_assert_int_eq(a.source, CTSTAT_SOURCE_NETLINK);
                ck_assert(a.has_cpu_stats);
                ck_assert_uint_ge(a.insert, 55);
        } else {
                ck_assert_int_eq(a.source, CTSTAT_SOURCE_PROC);
                ck_assert(!a.has_cpu_stats);
                ck_assert_int_eq(a.counters_error, -ENOENT);
        }
}
END_TEST

/* One sampler, many samples, the table changing in between: the socket is reused and every
 * reply matches its own request. */
START_TEST(test_reuse) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        static const char * const srcs[] = { "10.50.0.0/24", "10.51.0.0/24", "10.52.0.0/24" };
        CtSample a;

        ck_assert_int_eq(ctstat_open(NULL, &s), 0);
        flush_table();
        for (size_t k = 0; k < ELEMENTSOF(srcs); k++) {
                for (unsigned i = 0; i < 500; i++) {
                        sample_ok(s, &a);
                        ck_assert_int_eq(a.source, CTSTAT_SOURCE_PROC);
                        ck_assert_uint_eq(a.count, 100 * k);
                }
                ck_assert_int_eq(run_ct_insert("--count", "100", "--src", srcs[k], NULL), 0);
        }
        sample_ok(s, &a);
        ck_assert_uint_eq(a.count, 300);
}
END_TEST

/* Without CAP_NET_ADMIN ctnetlink says EPERM; /proc is readable by anyone, counters and all. */
START_TEST(test_fallback_unprivileged) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        CtSample a;

        flush_table();
        ck_assert_int_eq(run_ct_insert("--count", "777", NULL), 0);

        /* This test runs in a child of its own: dropping privileges is final only there. */
        ck_assert_int_eq(setgroups(0, NULL), 0);
        ck_assert_int_eq(setresgid(65534, 65534, 65534), 0);
        ck_assert_int_eq(setresuid(65534, 65534, 65534), 0);

        ck_assert_int_eq(ctstat_open(NULL, &s), 0);
        sample_ok(s, &a);
        ck_assert_int_eq(a.source, CTSTAT_SOURCE_PROC);
        ck_assert_uint_eq(a.count, 777);
        ck_assert_uint_eq(a.max, sysctl_u32("nf_conntrack_max"));
        ck_assert(a.has_cpu_stats);
        ck_assert_uint_ge(a.insert, 777);
        ck_assert_int_eq(ctstat_sample_netlink(s, &a), -EPERM);
}
END_TEST

int main(int argc, char *argv[]) {
        Suite *suite;
        TCase *tc;
        SRunner *sr;
        bool have_conntrack;
        int failed, r;

        r = netns_test_enter("test-ctstat", argc, argv);
        if (r != 0)
                return r;
        have_conntrack = system("command -v conntrack >/dev/null") == 0;

        suite = suite_create("ctstat-netns");
        tc = tcase_create("netns");
        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_count_and_max, 0, ELEMENTSOF(count_cases));
        tcase_add_test(tc, test_proc_agrees_with_netlink);
        if (have_conntrack)
                tcase_add_test(tc, test_agrees_with_conntrack);
        tcase_add_loop_test(tc, test_netlink_only_where_proc_lacks, 0, ELEMENTSOF(netlink_cases));
        tcase_add_test(tc, test_reuse);
        tcase_add_test(tc, test_fallback_unprivileged);
        suite_add_tcase(suite, tc);

        sr = srunner_create(suite);
        /* Each test in a child: the unprivileged one drops its credentials for good. */
        srunner_set_fork_status(sr, CK_FORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        if (failed > 0)
                return 1;
        if (!have_conntrack) {
                printf("SKIP: conntrack(8) is not installed, the comparison with it did not run\n");
                return 77;
        }
        return 0;
}
