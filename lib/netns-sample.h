/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "ctstat.h"
#include "netns-scan.h"

/* One reader per network namespace: a descriptor of that namespace's /proc/net/stat/nf_conntrack,
 * opened once and read again (pread from 0) at every sample. The kernel binds the file to the
 * namespace at open, so later reads need no process inside and enter nothing.
 *
 * Opening: through root/proc/PID/net/stat/nf_conntrack of the namespace's representative
 * process (its ns/net inode checked before and after, so a reused PID is detected: -ESRCH);
 * for a namespace known only by its /run/netns name, by entering it for the open alone
 * (setns(2), which needs CAP_SYS_ADMIN; -EPERM without it) and returning at once.
 *
 * The open descriptor keeps the namespace alive: close the reader when the namespace is no
 * longer found by a scan. */

typedef struct NetnsReader NetnsReader;

/* -ENOENT if the namespace tracks nothing (no nf_conntrack there), -ESRCH if it vanished. */
int netns_reader_open(const char *root, const Netns *ns, NetnsReader **ret);
NetnsReader *netns_reader_close(NetnsReader *r);
static inline void netns_reader_closep(NetnsReader **r) {
        netns_reader_close(*r);
}

uint64_t netns_reader_inode(const NetnsReader *r);

/* Fills ret's count (the "entries" column) and the summed counters (has_cpu_stats set); max is
 * left 0: nf_conntrack_max is one global limit, the caller takes it from the host sample.
 * -EBADMSG for a text that does not parse. */
int netns_reader_sample(NetnsReader *r, CtSample *ret);
