/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The per-namespace reader against the real kernel: namespaces made here with "ip netns add"
 * (a name and nobody in it: opened by entering it) and "unshare --net" (a process and no name:
 * opened through /proc/PID), each filled by ct-insert, read from outside. The program runs in a
 * network namespace of its own and a mount namespace with its own /run, so that neither the
 * host's conntrack table nor its /run/netns is touched. */

#include <check.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ctstat.h"
#include "macro.h"
#include "netns-sample.h"
#include "netns-scan.h"
#include "netns-test.h"
#include "time-util.h"

extern char **environ;

static int spawn_wait(char **argv) {
        pid_t pid;
        int status;

        ck_assert_int_eq(posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint64_t inode_of(const char *path) {
        struct stat st;

        ck_assert_msg(stat(path, &st) == 0, "stat %s: %m", path);
        return st.st_ino;
}

static uint32_t own_count(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_count", "re");
        unsigned v;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%u", &v), 1);
        return v;
}

static void sample_count_is(NetnsReader *r, uint32_t want) {
        CtSample s = {};

        ck_assert_int_eq(netns_reader_sample(r, &s), 0);
        ck_assert(s.has_cpu_stats);
        ck_assert_uint_ge(s.n_cpus, 1);
        ck_assert_uint_eq(s.max, 0);
        ck_assert_uint_eq(s.count, want);
}

/* A name and nobody in it: the reader enters it for the open and comes back; the descriptor
 * keeps reading that namespace from outside. */
START_TEST(test_named) {
        char name[64], path[128], count[16];
        _cleanup_(netns_list_done) NetnsList l = {};
        _cleanup_(netns_reader_closep) NetnsReader *r = NULL;
        uint64_t own = inode_of("/proc/thread-self/ns/net"), inode;
        const Netns *ns;
        CtSample s;

        snprintf(name, sizeof(name), "ctguard-sample-%d", (int) getpid());
        snprintf(path, sizeof(path), "/run/netns/%s", name);
        ck_assert_int_eq(spawn_wait((char *[]) { "ip", "netns", "add", name, NULL }), 0);
        inode = inode_of(path);
        ck_assert_uint_ne(inode, own);

        ck_assert_int_eq(netns_scan(NULL, &l), 0);
        ns = netns_list_find(&l, inode);
        ck_assert_ptr_nonnull(ns);
        ck_assert_str_eq(ns->name, name);
        ck_assert_int_eq(ns->pid, 0);
        ck_assert(!ns->host);

        ck_assert_int_eq(netns_reader_open(NULL, ns, &r), 0);
        ck_assert_uint_eq(netns_reader_inode(r), inode);
        /* Back where we were. */
        ck_assert_uint_eq(inode_of("/proc/thread-self/ns/net"), own);
        ck_assert_uint_eq(inode_of("/proc/self/ns/net"), own);
        sample_count_is(r, 0);

        /* 123 there, 7 here: the reader sees only its namespace's. */
        snprintf(count, sizeof(count), "%u", 123u);
        ck_assert_int_eq(spawn_wait((char *[]) { "ip", "netns", "exec", name, (char *) ct_insert, "-q",
                                                 "--count", count, NULL }), 0);
        ck_assert_int_eq(run_ct_insert("--count", "7", "--src", "10.77.0.0/24", NULL), 0);
        ck_assert_uint_eq(own_count(), 7);
        sample_count_is(r, 123);
        /* Again: pread from 0 reads the file afresh. */
        sample_count_is(r, 123);
        ck_assert_int_eq(spawn_wait((char *[]) { "ip", "netns", "exec", name, (char *) ct_insert, "-q",
                                                 "--count", "77", "--src", "10.78.0.0/24", NULL }), 0);
        sample_count_is(r, 200);

        /* Deleted: the next scan no longer finds it. The open descriptor still holds the
         * namespace (the reason readers are closed after a scan), and closing it is clean. */
        ck_assert_int_eq(spawn_wait((char *[]) { "ip", "netns", "delete", name, NULL }), 0);
        netns_list_done(&l);
        ck_assert_int_eq(netns_scan(NULL, &l), 0);
        ck_assert_ptr_null(netns_list_find(&l, inode));
        ck_assert_int_eq(netns_reader_sample(r, &s), 0);
        ck_assert_uint_eq(s.count, 200);
        ck_assert_ptr_null(netns_reader_close(TAKE_PTR(r)));

        /* A Netns for a name that is gone: -ESRCH, nothing entered. */
        ck_assert_int_eq(netns_reader_open(NULL, &(Netns) { .inode = inode, .name = name }, &r), -ESRCH);
        ck_assert_ptr_null(r);
        ck_assert_uint_eq(inode_of("/proc/thread-self/ns/net"), own);
}
END_TEST

/* The namespace of pid's process, once unshare has made it (it execs in place, keeping pid). */
static bool moved(pid_t pid, uint64_t own, uint64_t *ret) {
        char p[64];
        struct stat st;

        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int) pid);
        if (stat(p, &st) < 0 || st.st_ino == own)
                return false;
        *ret = st.st_ino;
        return true;
}

/* A process and no name: read through /proc/PID, and a PID that no longer is in the namespace
 * (exited, or reused by another namespace's process) is refused by the inode. */
START_TEST(test_pid) {
        _cleanup_(netns_list_done) NetnsList l = {};
        _cleanup_(netns_reader_closep) NetnsReader *r = NULL;
        uint64_t own = inode_of("/proc/self/ns/net"), inode = 0;
        char *argv[] = { "unshare", "--net", "sleep", "600", NULL };
        char nsarg[64];
        usec_t deadline;
        const Netns *ns;
        Netns other;
        pid_t pid;
        int status;

        ck_assert_int_eq(posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ), 0);
        deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
        while (!moved(pid, own, &inode)) {
                ck_assert_msg(now_usec(CLOCK_MONOTONIC) < deadline, "unshare did not move");
                ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        /* Until it is sleep, comm is unshare's. */
        deadline = now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;
        for (;;) {
                char p[64], comm[32] = "";
                FILE *f;

                snprintf(p, sizeof(p), "/proc/%d/comm", (int) pid);
                f = fopen(p, "re");
                ck_assert_ptr_nonnull(f);
                ck_assert_ptr_nonnull(fgets(comm, sizeof(comm), f));
                fclose(f);
                if (streq(comm, "sleep\n"))
                        break;
                ck_assert_msg(now_usec(CLOCK_MONOTONIC) < deadline, "unshare did not exec sleep");
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }

        snprintf(nsarg, sizeof(nsarg), "--net=/proc/%d/ns/net", (int) pid);
        ck_assert_int_eq(spawn_wait((char *[]) { "nsenter", nsarg, (char *) ct_insert, "-q",
                                                 "--count", "45", NULL }), 0);

        ck_assert_int_eq(netns_scan(NULL, &l), 0);
        ns = netns_list_find(&l, inode);
        ck_assert_ptr_nonnull(ns);
        ck_assert_int_eq(ns->pid, pid);
        ck_assert_str_eq(ns->comm, "sleep");
        ck_assert_ptr_null(ns->name);

        ck_assert_int_eq(netns_reader_open(NULL, ns, &r), 0);
        sample_count_is(r, 45);

        /* The PID as if reused by a process of another namespace: the inode tells. */
        other = (Netns) { .inode = own, .pid = pid };
        {
                _cleanup_(netns_reader_closep) NetnsReader *bad = NULL;
                ck_assert_int_eq(netns_reader_open(NULL, &other, &bad), -ESRCH);
                ck_assert_ptr_null(bad);
        }

        /* The process exits: its PID leads nowhere, the namespace is no longer found, and the
         * reader opened before still reads it until closed. */
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        {
                _cleanup_(netns_reader_closep) NetnsReader *gone = NULL;
                ck_assert_int_eq(netns_reader_open(NULL, ns, &gone), -ESRCH);
        }
        netns_list_done(&l);
        ck_assert_int_eq(netns_scan(NULL, &l), 0);
        ck_assert_ptr_null(netns_list_find(&l, inode));
        sample_count_is(r, 45);
        ck_assert_ptr_null(netns_reader_close(TAKE_PTR(r)));
}
END_TEST

/* Our own namespace, through our own PID: the count the sysctl shows. */
START_TEST(test_self) {
        _cleanup_(netns_reader_closep) NetnsReader *r = NULL;
        Netns self = { .inode = inode_of("/proc/self/ns/net"), .pid = getpid() };

        ck_assert_int_eq(netns_reader_open(NULL, &self, &r), 0);
        ck_assert_int_eq(run_ct_insert("--count", "31", "--src", "10.79.0.0/24", NULL), 0);
        sample_count_is(r, own_count());
}
END_TEST

/* ip netns add writes /run/netns: here a tmpfs of our own mount namespace, not the host's. */
static int private_run(void) {
        if (unshare(CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
                fprintf(stderr, "test-netns-sample: no private /run (%m), skipping\n");
                return 77;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        Suite *s = suite_create("netns-sample");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed, r;

        r = netns_test_enter("test-netns-sample", argc, argv);
        if (r != 0)
                return r;
        r = private_run();
        if (r != 0)
                return r;
        if (system("command -v ip >/dev/null && command -v unshare >/dev/null && "
                   "command -v nsenter >/dev/null") != 0) {
                fprintf(stderr, "test-netns-sample: needs ip, unshare and nsenter, skipping\n");
                return 77;
        }

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_named);
        tcase_add_test(tc, test_pid);
        tcase_add_test(tc, test_self);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
