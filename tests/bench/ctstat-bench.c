/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Cost of one ctstat sample against an empty and a full conntrack table, and how long ct-insert
 * takes to fill it, in a private network namespace.
 *
 *   ctstat-bench [PATH-TO-CT-INSERT [ENTRIES [SAMPLES]]]
 *
 * Exits 77 without root or network namespaces. */

#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "ctstat.h"
#include "macro.h"
#include "parse-util.h"

extern char **environ;

static usec_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;

        return x < y ? -1 : x > y;
}

static int run(char * const argv[], usec_t *ret_elapsed) {
        usec_t t0 = now_usec();
        pid_t pid;
        int r, status;

        r = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
        if (r != 0)
                return -r;
        if (waitpid(pid, &status, 0) < 0)
                return negative_errno();
        *ret_elapsed = now_usec() - t0;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Median and 90th percentile of n samples taken through s (proc: the fallback alone). */
static int measure(CtStat *s, bool proc, unsigned n, CtSample *ret_last) {
        _cleanup_free_ usec_t *t = calloc(n, sizeof(usec_t));
        CtSample sample = {};
        int r;

        if (!t)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                usec_t t0 = now_usec();

                r = proc ? ctstat_sample_proc("/proc/sys", &sample) : ctstat_sample(s, &sample);
                if (r < 0)
                        return r;
                t[i] = now_usec() - t0;
        }
        qsort(t, n, sizeof(usec_t), cmp_usec);
        printf("  %-8s count=%-7u max=%-7u cpus=%u insert=%llu  median %4llu us  p90 %4llu us\n",
               ctstat_source_to_string(sample.source), sample.count, sample.max, sample.n_cpus,
               (unsigned long long) sample.insert, (unsigned long long) t[n / 2],
               (unsigned long long) t[n * 9 / 10]);
        *ret_last = sample;
        return 0;
}

int main(int argc, char *argv[]) {
        const char *ct_insert = argc > 1 ? argv[1] : getenv("CT_INSERT");
        unsigned entries = 250000, samples = 2000;
        _cleanup_(ctstat_closep) CtStat *s = NULL;
        CtSample last;
        usec_t elapsed;
        int r;

        if ((argc > 2 && parse_unsigned(argv[2], &entries) < 0) ||
            (argc > 3 && (parse_unsigned(argv[3], &samples) < 0 || samples == 0))) {
                fprintf(stderr, "usage: ctstat-bench [CT-INSERT [ENTRIES [SAMPLES]]]\n");
                return 2;
        }
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "ctstat-bench: needs root and network namespaces, skipping\n");
                return 77;
        }

        r = ctstat_open("/proc/sys", &s);
        if (r < 0)
                return fprintf(stderr, "ctstat_open: %s\n", strerror(-r)), 1;

        printf("empty table, %u samples:\n", samples);
        if (measure(s, false, samples, &last) < 0 || measure(s, true, samples, &last) < 0)
                return fprintf(stderr, "sampling failed\n"), 1;

        if (!ct_insert)
                return 0;

        char count_small[] = "10000";
        char *small[] = { (char *) ct_insert, (char *) "-q", (char *) "--count", count_small,
                          NULL };
        char *flush[] = { (char *) ct_insert, (char *) "--delete-all", NULL };
        char count_big[16];
        char *big[] = { (char *) ct_insert, (char *) "-q", (char *) "--count", count_big, NULL };

        snprintf(count_big, sizeof(count_big), "%u", entries);

        if (run(small, &elapsed) < 0)
                return fprintf(stderr, "ct-insert failed\n"), 1;
        printf("ct-insert 10000 entries: %llu ms (including process start)\n",
               (unsigned long long) (elapsed / USEC_PER_MSEC));
        if (run(flush, &elapsed) < 0)
                return fprintf(stderr, "ct-insert --delete-all failed\n"), 1;
        if (run(big, &elapsed) < 0)
                return fprintf(stderr, "ct-insert failed\n"), 1;
        printf("ct-insert %u entries: %llu ms (including process start)\n", entries,
               (unsigned long long) (elapsed / USEC_PER_MSEC));

        printf("%u entries, %u samples:\n", entries, samples);
        if (measure(s, false, samples, &last) < 0 || measure(s, true, samples, &last) < 0)
                return fprintf(stderr, "sampling failed\n"), 1;
        return 0;
}
