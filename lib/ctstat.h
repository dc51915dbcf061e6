/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "parse-util.h"

/* Conntrack table statistics of the current network namespace: the entry count and limit, and
 * the kernel's per-CPU event counters summed over CPUs. Read over ctnetlink, whose cost does not
 * depend on how many entries there are; when ctnetlink is unavailable (no nf_conntrack_netlink,
 * no CAP_NET_ADMIN), count and limit come from the sysctls instead and the counters are absent. */

typedef enum CtStatSource {
        CTSTAT_SOURCE_NETLINK,
        CTSTAT_SOURCE_PROC,
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

        int netlink_error;              /* source == PROC: why ctnetlink was not used */
} CtSample;

typedef struct CtStat CtStat;

/* Allocates the sampler and opens its netlink socket. sysctl_root is where the fallback reads
 * ("/proc/sys" on a live system). Failing to open the socket is not an error here: the sampler
 * retries on every sample and falls back meanwhile. Returns -ENOMEM only. */
int ctstat_open(const char *sysctl_root, CtStat **ret);
CtStat *ctstat_close(CtStat *s);
static inline void ctstat_closep(CtStat **s) {
        ctstat_close(*s);
}

/* Takes one sample. Returns 0 with ret filled, or the negative errno of the fallback when
 * neither ctnetlink nor the sysctls could be read (ret untouched then). */
int ctstat_sample(CtStat *s, CtSample *ret);

/* Whether nf_conntrack is in this kernel and namespace: its nf_conntrack_count exists. Asked
 * before every ctnetlink request, since a request would load the module otherwise. */
bool ctstat_conntrack_loaded(const char *sysctl_root);

/* The fallback alone: count and max from sysctl_root/net/netfilter/nf_conntrack_{count,max}. */
int ctstat_sample_proc(const char *sysctl_root, CtSample *ret);
