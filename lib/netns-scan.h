/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Finding every network namespace of the host: the distinct inodes of root/proc/PID/ns/net
 * and of the files in root/run/netns (ip-netns(8)'s names). Each is named by what an operator
 * recognises: its /run/netns name if any; else a representative process (the lowest PID in it)
 * with its command; and the pod UID and container id its cgroup path shows
 * (netns-ident.h). A process that exits, or a name removed, while the scan runs is skipped
 * quietly. Reads only; enters nothing. */

typedef struct Netns {
        uint64_t inode;         /* of the nsfs file: CTGUARD_NETNS= */
        bool host;              /* the namespace of root/proc/1 (the host's own) */
        pid_t pid;              /* representative: the lowest PID in it; 0 if it has none */
        char *comm;             /* that process's command, NULL if none */
        char *name;             /* its root/run/netns name, NULL if none (the first, sorted) */
        char *pod_uid;          /* from the representative's cgroup, NULL if none */
        char *container_id;     /* likewise */
} Netns;

typedef struct NetnsList {
        Netns *items;           /* sorted by inode */
        size_t n;
} NetnsList;

/* Scans below root ("" or NULL for /). Returns 0 with the list, -ENOMEM, or the negative errno
 * of opening root/proc (a missing root/run/netns is no error). */
int netns_scan(const char *root, NetnsList *ret);
void netns_list_done(NetnsList *l);

/* The entry for inode, or NULL. */
const Netns *netns_list_find(const NetnsList *l, uint64_t inode);

/* The name shown for a namespace in events and status: "NAME", else "pid PID (COMM)", else
 * "netns:[INODE]". Writes into buf and returns it. */
const char *netns_display_name(const Netns *ns, char *buf, size_t size);
