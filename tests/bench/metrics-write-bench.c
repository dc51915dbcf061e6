/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cost of one exposition as the daemon writes it: the table read from /proc, the text
 * formatted for 4 modules and 15 sysctls, written to a temporary file and renamed. Prints the
 * median and p90 over N rounds and the size in bytes.
 *
 *     metrics-write-bench DIR [N] */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "metrics.h"
#include "time-util.h"

static int cmp(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        static const MetricsModule modules[] = {
                { "nf_defrag_ipv4", true, METRICS_MODULE_LIVE },
                { "nf_defrag_ipv6", true, METRICS_MODULE_LIVE },
                { "nf_conntrack", true, METRICS_MODULE_LIVE },
                { "nf_nat", true, METRICS_MODULE_LIVE },
        };
        MetricsSysctl sysctls[15];
        char keys[15][64];
        MetricsEventCount events[] = { { "config-loaded", 1 }, { "module-chain-present", 1 } };
        unsigned n = argc > 2 ? (unsigned) atoi(argv[2]) : 2000;
        usec_t *t;
        size_t size = 0;

        if (argc < 2 || n == 0)
                return fprintf(stderr, "usage: metrics-write-bench DIR [N]\n"), 2;
        t = calloc(n, sizeof(usec_t));
        if (!t)
                return 1;
        for (size_t i = 0; i < ELEMENTSOF(sysctls); i++) {
                snprintf(keys[i], sizeof(keys[i]), "net.netfilter.nf_conntrack_tcp_timeout_%zu", i);
                sysctls[i] = (MetricsSysctl) { keys[i], false, "432000", "432000" };
        }

        for (unsigned r = 0; r < n; r++) {
                _cleanup_free_ char *text = NULL, *tmp = NULL, *path = NULL;
                usec_t t0 = now_usec(CLOCK_MONOTONIC);
                Metrics m = {
                        .version = "bench", .daemon_known = true, .up = true, .started = 1,
                        .modules = modules, .n_modules = ELEMENTSOF(modules),
                        .sysctls = sysctls, .n_sysctls = ELEMENTSOF(sysctls),
                        .have_heals = true, .have_restores = true, .have_failures = true,
                        .events = events, .n_events = ELEMENTSOF(events),
                        .have_hold = true, .have_flapping = true,
                        .timestamp = now_usec(CLOCK_REALTIME),
                };
                FILE *f;
                int fd;

                (void) metrics_read_table("", "/proc/sys", &m);
                f = open_memstream(&text, &size);
                if (!f || metrics_write(&m, f) < 0 || fclose(f) != 0)
                        return fprintf(stderr, "write failed\n"), 1;
                if (asprintf(&tmp, "%s/.ctguard.prom.XXXXXX", argv[1]) < 0 ||
                    asprintf(&path, "%s/ctguard.prom", argv[1]) < 0)
                        return 1;
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, text, size) != (ssize_t) size ||
                    close(fd) < 0 || rename(tmp, path) < 0)
                        return fprintf(stderr, "%s: %m\n", tmp), 1;
                t[r] = now_usec(CLOCK_MONOTONIC) - t0;
        }
        qsort(t, n, sizeof(usec_t), cmp);
        printf("metrics-write: one exposition written (median / p90, n=%u): %llu / %llu us, %zu bytes\n",
               n, (unsigned long long) t[n / 2], (unsigned long long) t[n * 9 / 10], size);
        free(t);
        return 0;
}
