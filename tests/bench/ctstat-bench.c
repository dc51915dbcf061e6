/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Cost of one ctstat sample against an empty and a full conntrack table, and how long ct-insert
 * takes to fill one, in private network namespaces.
 *
 *   ctstat-bench [PATH-TO-CT-INSERT [ENTRIES [SAMPLES]]]
 *
 * The machine may be shared, and its speed can change twofold for seconds at a time. Measuring
 * the empty table first and the full one afterwards would put such a phase on one side only and
 * make the ratio meaningless. So both tables exist at once, one namespace each, and the samples
 * alternate between them: one in each per round, the first side swapped every round. Without
 * CT-INSERT both namespaces stay empty, and the ratios show the noise alone.
 *
 * Exits 77 without root or network namespaces. */

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>

#include "ctstat.h"
#include "macro.h"
#include "parse-util.h"
#include "time-util.h"

extern char **environ;

typedef enum Side {
        SIDE_EMPTY,
        SIDE_FULL,
        _SIDE_MAX,
} Side;

typedef enum Kind {
        KIND_NETLINK,   /* ctstat_sample_netlink(): count, max and counters over ctnetlink */
        KIND_PROC,      /* ctstat_sample(): what the daemon does, /proc only; see main() */
        _KIND_MAX,
} Kind;

typedef struct Series {
        usec_t *t;              /* one duration per round */
        CtSample last;
        double median;          /* µs, interpolated: see quantile() */
        double p90;
} Series;

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;

        return x < y ? -1 : x > y;
}

/* The q-quantile of n sorted durations, in µs with a fraction. The clock counts whole µs, so a
 * sample of 5.3 µs reads 5 or 6 depending on where the clock stood when it started: the plain
 * median of 5 µs samples moves in steps of 20 %, too coarse for a 1.1x target. Treating each
 * reading k as the bin [k - 0.5, k + 0.5) and interpolating inside the bin that holds the
 * quantile (the median of grouped data) recovers the fraction from how the samples split
 * between neighbouring readings. */
static double quantile(const usec_t *t, unsigned n, double q) {
        unsigned i = (unsigned) (q * n), lo, hi;
        double v;

        if (i >= n)
                i = n - 1;
        for (lo = i; lo > 0 && t[lo - 1] == t[i]; lo--)
                ;
        for (hi = i + 1; hi < n && t[hi] == t[i]; hi++)
                ;
        v = (double) t[i] - 0.5 + (q * n - lo) / (hi - lo);
        return v < 0 ? 0 : v;
}

static void series_finish(Series *s, unsigned n) {
        qsort(s->t, n, sizeof(usec_t), cmp_usec);
        s->median = quantile(s->t, n, 0.5);
        s->p90 = quantile(s->t, n, 0.9);
}

static void series_print(const Series *s) {
        printf("  %-8s count=%-7u max=%-7u cpus=%u insert=%llu  median %7.2f us  p90 %7.2f us\n",
               ctstat_source_to_string(s->last.source), s->last.count, s->last.max,
               s->last.n_cpus, (unsigned long long) s->last.insert, s->median, s->p90);
}

static int run(char * const argv[], usec_t *ret_elapsed) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        pid_t pid;
        int r, status;

        r = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
        if (r != 0)
                return -r;
        if (waitpid(pid, &status, 0) < 0)
                return negative_errno();
        *ret_elapsed = now_usec(CLOCK_MONOTONIC) - t0;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Moves this process into a new network namespace and returns an fd that leads back to it. */
static int netns_new(int *ret_fd) {
        int fd;

        if (unshare(CLONE_NEWNET) < 0)
                return negative_errno();
        fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

/* One timed sample in the namespace of ns_fd. Both kinds enter the namespace first, untimed:
 * the proc files resolve against the caller's namespace when opened, and so does the check
 * ctstat_sample() makes before each request (the socket itself stays in the namespace it was
 * opened in). */
static int sample_one(int ns_fd, CtStat *stat, Kind kind, Series *s, unsigned i) {
        usec_t t0;
        int r;

        if (setns(ns_fd, CLONE_NEWNET) < 0)
                return negative_errno();

        t0 = now_usec(CLOCK_MONOTONIC);
        r = kind == KIND_PROC ? ctstat_sample(stat, &s->last) :
                                ctstat_sample_netlink(stat, &s->last);
        s->t[i] = now_usec(CLOCK_MONOTONIC) - t0;
        return r;
}

static int fill(const char *ct_insert, unsigned entries) {
        char count_small[] = "10000";
        char *small[] = { (char *) ct_insert, (char *) "-q", (char *) "--count", count_small,
                          NULL };
        char *flush[] = { (char *) ct_insert, (char *) "--delete-all", NULL };
        char count_big[16];
        char *big[] = { (char *) ct_insert, (char *) "-q", (char *) "--count", count_big, NULL };
        usec_t elapsed;
        int r;

        snprintf(count_big, sizeof(count_big), "%u", entries);

        r = run(small, &elapsed);
        if (r < 0)
                return r;
        printf("ct-insert 10000 entries: %llu ms (including process start)\n",
               (unsigned long long) (elapsed / USEC_PER_MSEC));
        r = run(flush, &elapsed);
        if (r < 0)
                return r;
        r = run(big, &elapsed);
        if (r < 0)
                return r;
        printf("ct-insert %u entries: %llu ms (including process start)\n", entries,
               (unsigned long long) (elapsed / USEC_PER_MSEC));
        return 0;
}

int main(int argc, char *argv[]) {
        const char *ct_insert = argc > 1 ? argv[1] : getenv("CT_INSERT");
        unsigned entries = 250000, samples = 2000;
        int ns_fd[_SIDE_MAX] = { -EBADF, -EBADF };
        CtStat *stat[_SIDE_MAX] = {};
        Series series[_SIDE_MAX][_KIND_MAX] = {};
        int r, ret = 1;

        if ((argc > 2 && parse_unsigned(argv[2], &entries) < 0) ||
            (argc > 3 && (parse_unsigned(argv[3], &samples) < 0 || samples == 0))) {
                fprintf(stderr, "usage: ctstat-bench [CT-INSERT [ENTRIES [SAMPLES]]]\n");
                return 2;
        }
        if (!ct_insert)
                entries = 0;
        if (geteuid() != 0) {
                fprintf(stderr, "ctstat-bench: needs root and network namespaces, skipping\n");
                return 77;
        }

        /* Each CtStat is opened in its own namespace: a netlink socket answers for the
         * namespace it was created in, wherever its owner moves afterwards. */
        for (Side side = 0; side < _SIDE_MAX; side++) {
                r = netns_new(&ns_fd[side]);
                if (r < 0) {
                        fprintf(stderr, "ctstat-bench: needs root and network namespaces (%s), "
                                "skipping\n", strerror(-r));
                        ret = 77;
                        goto finish;
                }
                r = ctstat_open("", &stat[side]);
                if (r < 0) {
                        fprintf(stderr, "ctstat_open: %s\n", strerror(-r));
                        goto finish;
                }
                for (Kind kind = 0; kind < _KIND_MAX; kind++) {
                        series[side][kind].t = calloc(samples, sizeof(usec_t));
                        if (!series[side][kind].t) {
                                fprintf(stderr, "ctstat-bench: out of memory\n");
                                goto finish;
                        }
                }
        }

        /* Still in the last namespace created, the full one: ct-insert inherits it. */
        if (ct_insert) {
                r = fill(ct_insert, entries);
                if (r < 0) {
                        fprintf(stderr, "ct-insert failed: %s\n", strerror(-r));
                        goto finish;
                }
        }

        for (unsigned i = 0; i < samples; i++)
                for (Kind kind = 0; kind < _KIND_MAX; kind++)
                        for (unsigned j = 0; j < _SIDE_MAX; j++) {
                                /* Empty first in even rounds, full first in odd ones: whatever
                                 * the first or second sample of a pair pays more (a cache
                                 * refilled after setns(), say) falls on both sides equally. */
                                Side side = (i + j) % _SIDE_MAX;

                                r = sample_one(ns_fd[side], stat[side], kind, &series[side][kind],
                                               i);
                                if (r < 0) {
                                        fprintf(stderr, "sampling failed: %s\n", strerror(-r));
                                        goto finish;
                                }
                        }

        printf("interleaved: %u rounds of one sample in each namespace, first side swapped "
               "every round\n", samples);
        for (Side side = 0; side < _SIDE_MAX; side++) {
                if (side == SIDE_EMPTY)
                        printf("empty table, %u samples:\n", samples);
                else
                        printf("%u entries, %u samples:\n", entries, samples);
                for (Kind kind = 0; kind < _KIND_MAX; kind++) {
                        series_finish(&series[side][kind], samples);
                        series_print(&series[side][kind]);
                }
        }

        /* Reading nf_conntrack_count, nf_conntrack_max and /proc/net/stat/nf_conntrack costs the
         * same whatever the table holds: the kernel keeps the count in a counter, the rest per
         * CPU, and never walks the table for them. So the proc ratio is the control. It should
         * read 1.00x, and whatever it is off by is the machine's noise, which bounds what the
         * netlink ratio can tell. */
        printf("full/empty medians: netlink %.3fx, proc %.3fx (proc is O(1) by construction: "
               "the control for machine noise)\n",
               series[SIDE_FULL][KIND_NETLINK].median /
                       series[SIDE_EMPTY][KIND_NETLINK].median,
               series[SIDE_FULL][KIND_PROC].median / series[SIDE_EMPTY][KIND_PROC].median);
        ret = 0;

finish:
        for (Side side = 0; side < _SIDE_MAX; side++) {
                for (Kind kind = 0; kind < _KIND_MAX; kind++)
                        free(series[side][kind].t);
                ctstat_close(stat[side]);
                safe_close(ns_fd[side]);
        }
        return ret;
}
