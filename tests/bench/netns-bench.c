/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The cost of watching every network namespace: N namespaces, each made by a child process
 * that unshares one and waits, plus more children joining them round robin up to P processes;
 * then the scan (netns_scan() over all of /proc) and the per-namespace sample (one pread of each
 * reader's /proc/net/stat/nf_conntrack and its parse), timed in wall clock and in this process's
 * CPU time (user and system: the reads are system calls).
 *
 *   netns-bench NAMESPACES PROCESSES ROUNDS
 *
 * Prints:
 *   setup: N namespaces, P processes (made here); the scan finds S namespaces, T processes
 *   scan: median A ms, p90 B ms wall; median C ms cpu (R runs)
 *   open: N readers in D ms
 *   sample: N namespaces, R rounds: per namespace median E us, p90 F us (cpu median G us);
 *           per tick median H us cpu = I % of a core at 1 s polling
 * Needs root (unshare(CLONE_NEWNET)); exits 77 without. The children die with it. */

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "macro.h"
#include "netns-sample.h"
#include "netns-scan.h"
#include "parse-util.h"

#define SCAN_RUNS 15u

static double now_us(clockid_t c) {
        struct timespec ts;

        clock_gettime(c, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double quantile(double *v, size_t n, double q) {
        qsort(v, n, sizeof(double), cmp_double);
        return v[(size_t) ((double) (n - 1) * q + 0.5)];
}

/* A child that waits for its parent's death (or a SIGKILL), after joining or making a netns. */
static pid_t spawn_child(int ready_fd, pid_t join) {
        pid_t pid = fork();

        if (pid != 0)
                return pid;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (join > 0) {
                char p[64];
                int fd;

                snprintf(p, sizeof(p), "/proc/%d/ns/net", (int) join);
                fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
                        _exit(1);
        } else if (unshare(CLONE_NEWNET) < 0)
                _exit(1);
        if (write(ready_fd, "x", 1) != 1)
                _exit(1);
        for (;;)
                pause();
}

int main(int argc, char *argv[]) {
        unsigned n_ns, n_procs, rounds;
        _cleanup_free_ pid_t *kids = NULL;
        _cleanup_free_ uint64_t *inodes = NULL;
        _cleanup_free_ NetnsReader **readers = NULL;
        _cleanup_free_ double *per_ns = NULL, *per_ns_cpu = NULL, *tick_cpu = NULL;
        double scan_wall[SCAN_RUNS], scan_cpu[SCAN_RUNS], t0, c0, open_ms = 0;
        size_t scanned_ns = 0, n_kids = 0;
        int pipefd[2], status = 0;
        unsigned scanned_procs = 0;
        struct rlimit rl;
        DIR *d;

        if (argc != 4 || parse_unsigned(argv[1], &n_ns) < 0 || parse_unsigned(argv[2], &n_procs) < 0 ||
            parse_unsigned(argv[3], &rounds) < 0 || n_ns < 1 || n_procs < n_ns || rounds < 1) {
                fprintf(stderr, "usage: %s NAMESPACES PROCESSES ROUNDS (PROCESSES >= NAMESPACES >= 1)\n", argv[0]);
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "netns-bench: needs root, skipping\n");
                return 77;
        }
        /* One descriptor per reader, and a few. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n_ns + 64) {
                rl.rlim_cur = MIN(rl.rlim_max, (rlim_t) n_ns + 64);
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        kids = calloc(n_procs, sizeof(pid_t));
        inodes = calloc(n_ns, sizeof(uint64_t));
        readers = calloc(n_ns, sizeof(NetnsReader *));
        per_ns = calloc(rounds, sizeof(double));
        per_ns_cpu = calloc(rounds, sizeof(double));
        tick_cpu = calloc(rounds, sizeof(double));
        if (!kids || !inodes || !readers || !per_ns || !per_ns_cpu || !tick_cpu || pipe2(pipefd, O_CLOEXEC) < 0) {
                fprintf(stderr, "netns-bench: out of memory\n");
                return 1;
        }

        for (unsigned i = 0; i < n_procs; i++) {
                pid_t pid = spawn_child(pipefd[1], i < n_ns ? 0 : kids[i % n_ns]);
                char c;

                if (pid < 0) {
                        fprintf(stderr, "netns-bench: fork: %m\n");
                        status = 1;
                        goto finish;
                }
                kids[n_kids++] = pid;
                if (read(pipefd[0], &c, 1) != 1) {
                        fprintf(stderr, "netns-bench: a child could not make or join its namespace\n");
                        status = 1;
                        goto finish;
                }
                if (i < n_ns) {
                        char p[64];
                        struct stat st;

                        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int) pid);
                        if (stat(p, &st) < 0) {
                                fprintf(stderr, "netns-bench: stat %s: %m\n", p);
                                status = 1;
                                goto finish;
                        }
                        inodes[i] = st.st_ino;
                }
        }

        /* The scan, as the daemon runs it at every NamespaceScanIntervalSec=. */
        for (unsigned k = 0; k < SCAN_RUNS; k++) {
                NetnsList l = {};
                int r;

                t0 = now_us(CLOCK_MONOTONIC);
                c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
                r = netns_scan(NULL, &l);
                scan_cpu[k] = now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
                scan_wall[k] = now_us(CLOCK_MONOTONIC) - t0;
                if (r < 0) {
                        fprintf(stderr, "netns-bench: netns_scan: %s\n", strerror(-r));
                        status = 1;
                        goto finish;
                }
                if (k == SCAN_RUNS - 1) {
                        /* Open a reader for each of ours from the last scan. */
                        scanned_ns = l.n;
                        t0 = now_us(CLOCK_MONOTONIC);
                        for (unsigned i = 0; i < n_ns; i++) {
                                const Netns *ns = netns_list_find(&l, inodes[i]);

                                if (!ns || netns_reader_open(NULL, ns, &readers[i]) < 0) {
                                        fprintf(stderr, "netns-bench: namespace %u not found or not opened\n", i);
                                        status = 1;
                                        netns_list_done(&l);
                                        goto finish;
                                }
                        }
                        open_ms = (now_us(CLOCK_MONOTONIC) - t0) / 1e3;
                }
                netns_list_done(&l);
        }
        d = opendir("/proc");
        if (d) {
                struct dirent *de;

                while ((de = readdir(d)))
                        scanned_procs += de->d_name[0] >= '1' && de->d_name[0] <= '9';
                closedir(d);
        }

        /* The samples: every reader once per round, as one poll tick. */
        for (unsigned k = 0; k < rounds; k++) {
                t0 = now_us(CLOCK_MONOTONIC);
                c0 = now_us(CLOCK_PROCESS_CPUTIME_ID);
                for (unsigned i = 0; i < n_ns; i++) {
                        CtSample s;
                        int r = netns_reader_sample(readers[i], &s);

                        if (r < 0) {
                                fprintf(stderr, "netns-bench: sample: %s\n", strerror(-r));
                                status = 1;
                                goto finish;
                        }
                }
                tick_cpu[k] = now_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
                per_ns[k] = (now_us(CLOCK_MONOTONIC) - t0) / n_ns;
                per_ns_cpu[k] = tick_cpu[k] / n_ns;
        }

        printf("setup: %u namespaces, %u processes (made here); the scan finds %zu namespaces, %u processes\n",
               n_ns, n_procs, scanned_ns, scanned_procs);
        printf("scan: median %.2f ms, p90 %.2f ms wall; median %.2f ms cpu (%u runs)\n",
               quantile(scan_wall, SCAN_RUNS, 0.5) / 1e3, quantile(scan_wall, SCAN_RUNS, 0.9) / 1e3,
               quantile(scan_cpu, SCAN_RUNS, 0.5) / 1e3, SCAN_RUNS);
        printf("open: %u readers in %.2f ms\n", n_ns, open_ms);
        {
                double tick = quantile(tick_cpu, rounds, 0.5);

                printf("sample: %u namespaces, %u rounds: per namespace median %.2f us, p90 %.2f us (cpu median %.2f us); "
                       "per tick median %.1f us cpu = %.4f %% of a core at 1 s polling\n",
                       n_ns, rounds, quantile(per_ns, rounds, 0.5), quantile(per_ns, rounds, 0.9),
                       quantile(per_ns_cpu, rounds, 0.5), tick, tick / 1e6 * 100);
        }

finish:
        for (unsigned i = 0; i < n_ns; i++)
                netns_reader_close(readers[i]);
        for (size_t i = 0; i < n_kids; i++)
                kill(kids[i], SIGKILL);
        for (size_t i = 0; i < n_kids; i++)
                waitpid(kids[i], NULL, 0);
        return status;
}
