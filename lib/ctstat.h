/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "parse-util.h"

/* Conntrack table statistics of the current network namespace: the entry count and limit, and
 * the kernel's per-CPU event counters summed over CPUs. Looking must never load a module: the
 * count and limit come from /proc/sys/net/netfilter/nf_conntrack_{count,max} and the counters
 * from /proc/net/stat/nf_conntrack, which cost the same as a ctnetlink query and load nothing.
 * ctnetlink is asked only for the counters, only where /proc lacks them, and only while
 * nf_conntrack_netlink is already loaded: a ctnetlink request without it makes the kernel load
 * it (and nf_conntrack with it). Every path is found beneath one root directory, "" for /. */

typedef enum CtStatSource {
        CTSTAT_SOURCE_NETLINK,          /* the counters came over ctnetlink */
        CTSTAT_SOURCE_PROC,             /* everything from /proc */
        _CTSTAT_SOURCE_MAX,
        _CTSTAT_SOURCE_INVALID = -EINVAL,
} CtStatSource;

const char *ctstat_source_to_string(CtStatSource s);

typedef struct CtSample {
        CtStatSource source;
        usec_t timestamp;               /* CLOCK_MONOTONIC when taken */
        uint32_t count;                 /* entries now */
        uint32_t max;                   /* nf_conntrack_max */

        /* Per-CPU counters summed, since the namespace was created; only if has_cpu_stats. They
         * wrap at 2^32 per CPU in the kernel, so compare samples by difference. */
        bool has_cpu_stats;
        unsigned n_cpus;                /* CPUs that reported */
        uint64_t found;
        uint64_t invalid;
        uint64_t insert;
        uint64_t insert_failed;
        uint64_t drop;
        uint64_t early_drop;
        uint64_t error;
        uint64_t search_restart;
        /* Not every kernel has these columns (/proc only; ctnetlink has no clash count). */
        bool has_clash_resolve;
        uint64_t clash_resolve;
        bool has_chaintoolong;
        uint64_t chaintoolong;

        int counters_error;             /* !has_cpu_stats: why the counters could not be read */
} CtSample;

typedef struct CtStat CtStat;

/* Allocates the sampler. root is the directory /proc and /sys are found beneath ("" or NULL
 * for /), the same boundary as every other kernel-facing module. No socket is opened until
 * ctnetlink is needed. Returns -ENOMEM only. */
int ctstat_open(const char *root, CtStat **ret);
CtStat *ctstat_close(CtStat *s);
static inline void ctstat_closep(CtStat **s) {
        ctstat_close(*s);
}

/* Takes one sample. Returns 0 with ret filled, -ENOENT when nf_conntrack is not loaded (nothing
 * is asked then), or the negative errno of reading the count and limit (ret untouched then).
 * Counters that cannot be read leave has_cpu_stats false with counters_error set. */
int ctstat_sample(CtStat *s, CtSample *ret);

/* The ctnetlink path alone, count and limit included, whatever /proc has: for the benchmark
 * and the tests that compare both. It loads nf_conntrack_netlink if it is absent: never call it
 * from the daemon. */
int ctstat_sample_netlink(CtStat *s, CtSample *ret);

/* Whether nf_conntrack is in this kernel and namespace: root/proc/sys/net/netfilter/
 * nf_conntrack_count exists. */
bool ctstat_conntrack_loaded(const char *root);

/* Whether a ctnetlink request would load nothing: nf_conntrack_netlink is loaded
 * (root/sys/module/nf_conntrack_netlink), built in (root/lib/modules/RELEASE/modules.builtin),
 * or the kernel has no module support (no root/proc/modules). Asked before every ctnetlink
 * request and every table dump. */
bool ctstat_netlink_loaded(const char *root);

/* /proc alone: count and max from root/proc/sys/net/netfilter/nf_conntrack_{count,max}, the
 * counters from root/proc/net/stat/nf_conntrack when it can be read (else counters_error). */
int ctstat_sample_proc(const char *root, CtSample *ret);

/* Parses the text of /proc/net/stat/nf_conntrack: a header naming the columns, then one row of
 * hexadecimal counters per CPU. Columns are found by their name in the header, never by
 * position (kernels renamed and reused them); unknown ones are skipped. Fills the counters,
 * n_cpus and has_cpu_stats of ret, and nothing else. -EBADMSG for a malformed text. */
int ctstat_parse_proc_stat(const char *text, CtSample *ret);

/* The same, and count from the "entries" column (the namespace's nf_conntrack_count, repeated
 * on every row; the first row's is taken): for a reader of another namespace's file, which has
 * no sysctl beside it. -EBADMSG also when there is no "entries" column. */
int ctstat_parse_proc_stat_entries(const char *text, CtSample *ret);
