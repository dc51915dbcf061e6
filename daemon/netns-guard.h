/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "parse-util.h"
#include "table-policy.h"

/* The namespace guard, for [Conntrack] Namespaces=all: every NamespaceScanIntervalSec it finds
 * the network namespaces of the host (lib/netns-scan.c) and keeps one reader per namespace
 * (lib/netns-sample.c), closing the readers of namespaces no longer found; at every tick it
 * samples each and runs the table policy (lib/table-policy.c, with the time to full of
 * lib/table-rate.c) per namespace against the host's nf_conntrack_max, one global limit every
 * namespace may fill on its own. Its events are the table guard's table-warn, table-crit,
 * table-ok and table-full, with CTGUARD_NETNS= (the inode), CTGUARD_NETNS_NAME= (what the
 * message calls it), CTGUARD_NETNS_PID=, CTGUARD_POD_UID= and CTGUARD_CONTAINER_ID= where
 * known. The daemon's own namespace and PID 1's stay with the table guard. With
 * Namespaces=host it holds nothing and does nothing. */

typedef struct NetnsGuard NetnsGuard;

/* root: where /proc and /run are, "" for /. */
int netns_guard_new(const char *root, const Config *c, NetnsGuard **ret);
NetnsGuard *netns_guard_free(NetnsGuard *g);
static inline void netns_guard_freep(NetnsGuard **g) {
        netns_guard_free(*g);
}

/* After a reload: thresholds and intervals apply from the next sample; Namespaces=host closes
 * every reader, Namespaces=all scans at the next tick. */
void netns_guard_set_config(NetnsGuard *g, const Config *c);

/* Scans if a scan is due, then samples every namespace at monotonic time now, against max (the
 * host's nf_conntrack_max; 0 if unknown: levels are left as they are). Returns the interval
 * until the next sample it wants: the poll interval, or the fast one while a namespace is at
 * WarnPercent or above; USEC_INFINITY with Namespaces=host. */
usec_t netns_guard_tick(NetnsGuard *g, usec_t now, uint64_t max);

/* One watched namespace, for metrics and status. Valid until the next tick. */
typedef struct NetnsGuardView {
        uint64_t inode;
        const char *name;               /* as in the events */
        bool valid;                     /* a sample was taken */
        uint64_t count;
        bool have_drop;
        uint64_t drop;
        TableLevel level;
} NetnsGuardView;

/* Calls f for every watched namespace that has a reader, in inode order. */
void netns_guard_foreach(const NetnsGuard *g, void (*f)(const NetnsGuardView *v, void *userdata),
                         void *userdata);

/* Whether Namespaces=all is in effect. */
bool netns_guard_enabled(const NetnsGuard *g);
