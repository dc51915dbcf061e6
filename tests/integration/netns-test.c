/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "macro.h"
#include "netns-test.h"

extern char **environ;

const char *ct_insert;

int run_ct_insert(const char *arg, ...) {
        char *argv[16] = { (char *) ct_insert, (char *) "-q" };
        size_t n = 2;
        va_list ap;
        pid_t pid;
        int status;

        va_start(ap, arg);
        for (const char *a = arg; a; a = va_arg(ap, const char *)) {
                ck_assert_uint_lt(n, ELEMENTSOF(argv) - 1);
                argv[n++] = (char *) a;
        }
        va_end(ap);
        argv[n] = NULL;

        ck_assert_int_eq(posix_spawn(&pid, ct_insert, NULL, NULL, argv, environ), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void net_ns_id(const char *path, char *buf, size_t size) {
        struct stat st;

        if (stat(path, &st) < 0)
                snprintf(buf, size, "?");
        else
                snprintf(buf, size, "%llu:%llu", (unsigned long long) st.st_dev,
                         (unsigned long long) st.st_ino);
}

int netns_test_enter(const char *name, int argc, char *argv[]) {
        char before[64], after[64];

        ct_insert = argc > 1 ? argv[1] : getenv("CT_INSERT");
        if (!ct_insert) {
                fprintf(stderr, "usage: %s CT-INSERT (or CT_INSERT=)\n", name);
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "%s: needs root, skipping\n", name);
                return 77;
        }
        net_ns_id("/proc/self/ns/net", before, sizeof(before));
        if (unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "%s: no network namespace (%m), skipping\n", name);
                return 77;
        }
        net_ns_id("/proc/self/ns/net", after, sizeof(after));
        if (streq(before, after) || streq(after, "?")) {
                fprintf(stderr, "%s: not in a new network namespace\n", name);
                return 1;
        }
        if (access("/proc/sys/net/netfilter/nf_conntrack_count", F_OK) < 0) {
                fprintf(stderr, "%s: the kernel has no conntrack, skipping\n", name);
                return 77;
        }
        return 0;
}
