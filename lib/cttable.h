/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Who fills the conntrack table: a dump of the table over ctnetlink
 * folded into counts by source address, destination address, destination port, state and
 * protocol, from which the top N of each are taken.
 *
 * The aggregation is O(1) per entry (one keyed hash lookup per dimension) and bounded: at most
 * max_entries entries are counted (then the result is "truncated") and at most max_keys
 * distinct keys kept per dimension (entries of further keys are counted as "unattributed":
 * the counts of the keys kept stay exact, but a key first seen after the cap is missed; the
 * word is not "untracked", which is conntrack's own state of packets it does not track). The
 * hash is SipHash keyed with a random seed, because the addresses and ports are chosen by
 * whoever sends the traffic, and a flood crafted to collide must not make it quadratic.
 *
 * The dump reads one netlink buffer at a time, so a non-blocking caller can interleave it with
 * other work: ct_dump_step() reads what is there and returns. */

typedef enum CtBy {
        CT_BY_SRC,
        CT_BY_DST,
        CT_BY_DPORT,
        CT_BY_STATE,
        CT_BY_PROTO,
        _CT_BY_MAX,
        _CT_BY_INVALID = -EINVAL,
} CtBy;

/* "src", "dst", "dport", "state", "proto". */
const char *ct_by_to_string(CtBy by);
CtBy ct_by_from_string(const char *s);

/* What the aggregation needs of one entry: its original direction and its state. */
typedef struct CtEntry {
        uint8_t family;                 /* AF_INET or AF_INET6 */
        uint8_t proto;                  /* IPPROTO_* */
        uint8_t src[16];                /* network order; IPv4 in the first 4 bytes */
        uint8_t dst[16];
        bool has_dport;                 /* TCP, UDP, UDP-Lite, SCTP, DCCP */
        uint16_t dport;                 /* host order */
        int tcp_state;                  /* TCP_CONNTRACK_*, or -1 */
        uint32_t status;                /* IPS_* bits */
} CtEntry;

/* A key of one dimension; compared and hashed as a whole, so unused fields are zero. */
typedef struct CtKey {
        uint8_t family;
        uint8_t proto;
        uint8_t state;                  /* TCP state + 1, 0: none */
        uint8_t flags;                  /* CT_KEY_* */
        uint16_t port;
        uint16_t reserved;
        uint8_t addr[16];
} CtKey;

enum {
        CT_KEY_HAS_PORT  = 1 << 0,
        CT_KEY_UNREPLIED = 1 << 1,      /* no packet seen in the reply direction */
        CT_KEY_REPLIED   = 1 << 2,      /* non-TCP: replied, not assured */
        CT_KEY_ASSURED   = 1 << 3,      /* non-TCP: assured (kept from early drop) */
};

/* Keys as text, the same in the journal and in "ctguard top":
 *   src, dst  "10.0.0.5", "2001:db8::1"
 *   dport     "tcp:443", "udp:53"; protocols without ports by name: "icmp"
 *   state     TCP by its state, unreplied ones marked: "tcp:ESTABLISHED",
 *             "tcp:SYN_SENT:UNREPLIED"; other protocols by what was seen: "udp:UNREPLIED",
 *             "udp:REPLIED", "udp:ASSURED"
 *   proto     "tcp", "udp", "icmp", "icmpv6", "sctp", "dccp", "udplite", "gre", else the number
 * None contains a space or a '=', so "KEY=COUNT" lists stay parseable (a '/' would make
 * "10.0.0.5/3000" read as a prefix). */
#define CT_KEY_STRLEN_MAX 64
int ct_key_format(CtBy by, const CtKey *k, char *buf, size_t size);

/* SipHash-1-3 of the key's 24 bytes (as laid out in memory) under a 128-bit seed. */
uint64_t ct_key_hash(const uint64_t seed[2], const CtKey *k);

/* Orders keys of one dimension: addresses and ports numerically, IPv4 before IPv6. */
int ct_key_compare(const CtKey *a, const CtKey *b);

typedef struct CtTopItem {
        CtKey key;
        uint64_t count;
} CtTopItem;

typedef struct CtLimits {
        uint64_t max_entries;           /* entries counted at most; then the dump stops */
        size_t max_keys;                /* distinct keys kept per dimension */
        unsigned dims;                  /* CT_BY_MASK() of the dimensions counted; 0: all */
} CtLimits;

#define CT_BY_MASK(by) (1u << (by))

/* For the one-shot command: the whole of any table a kernel can hold. */
#define CT_LIMITS_COMMAND ((CtLimits) { .max_entries = UINT64_C(1) << 26, .max_keys = 1u << 22 })
/* For the daemon's alerts: at most 7 MiB per address or port dimension (2^18 slots of 28 bytes
 * hold 2^17 keys below 70% load). */
#define CT_LIMITS_DAEMON ((CtLimits) { .max_entries = UINT64_C(1) << 24, .max_keys = 1u << 17 })

typedef struct CtAggregate CtAggregate;

int ct_aggregate_new(const CtLimits *limits, CtAggregate **ret);
CtAggregate *ct_aggregate_free(CtAggregate *a);
static inline void ct_aggregate_freep(CtAggregate **a) {
        ct_aggregate_free(*a);
}

/* Counts one entry in every dimension. Returns -ENOBUFS (and counts nothing) once max_entries
 * entries were counted. */
int ct_aggregate_add(CtAggregate *a, const CtEntry *e);

uint64_t ct_aggregate_entries(const CtAggregate *a);
/* Entries counted but whose key in this dimension was not kept (max_keys reached). */
uint64_t ct_aggregate_unattributed(const CtAggregate *a, CtBy by);
/* The most unattributed entries of any dimension: 0 if every key was kept. */
uint64_t ct_aggregate_unattributed_max(const CtAggregate *a);
/* Distinct keys kept in this dimension. */
size_t ct_aggregate_keys(const CtAggregate *a, CtBy by);
/* Truncated: max_entries was reached, the entries after it were not counted. Interrupted: the
 * kernel flagged the dump as disturbed by a table change (entries may be missing or counted
 * twice). */
bool ct_aggregate_truncated(const CtAggregate *a);
bool ct_aggregate_interrupted(const CtAggregate *a);
void ct_aggregate_set_interrupted(CtAggregate *a);

/* A count's share of the entries counted, in percent (0 if none were). */
double ct_aggregate_percent(const CtAggregate *a, uint64_t count);

/* "src,dst,...": the dimensions named, as CT_BY_MASK() bits in *ret (at least one). -EINVAL
 * for an empty list, an empty item or an unknown name. */
int ct_by_mask_from_string(const char *s, unsigned *ret);

/* The n largest counts of a dimension, largest first, ties in key order. *ret is allocated
 * (NULL if there are none). */
int ct_aggregate_top(const CtAggregate *a, CtBy by, size_t n, CtTopItem **ret, size_t *ret_n);

/* Formats the top n of a dimension as "KEY=COUNT KEY=COUNT ..." (empty if none). */
int ct_aggregate_format_top(const CtAggregate *a, CtBy by, size_t n, char **ret);

/* The dump. */
typedef struct CtDump CtDump;

/* Opens a ctnetlink socket of the current network namespace and asks for a dump of every
 * family. nonblock: ct_dump_step() returns instead of waiting for data. -EPERM without
 * CAP_NET_ADMIN; -EPROTONOSUPPORT/-ENOENT without nf_conntrack_netlink. */
int ct_dump_new(bool nonblock, CtDump **ret);
CtDump *ct_dump_free(CtDump *d);
static inline void ct_dump_freep(CtDump **d) {
        ct_dump_free(*d);
}
int ct_dump_fd(const CtDump *d);
uint64_t ct_dump_bytes(const CtDump *d);

/* Reads up to max_reads netlink buffers and counts their entries into a. Returns 1 when the
 * dump is complete (or max_entries was reached: the rest is not read), 0 when more is to come
 * (on a non-blocking dump: no data yet), negative errno on failure. */
int ct_dump_step(CtDump *d, CtAggregate *a, unsigned max_reads);

/* The whole dump, blocking. */
int ct_dump_all(CtAggregate *a);

/* Parses one ctnetlink message of a dump (IPCTNL_MSG_CT_NEW) into an entry: -EAFNOSUPPORT for a
 * family other than IPv4 and IPv6, -EBADMSG if an attribute is malformed or the addresses or
 * the protocol are missing. */
struct nlmsghdr;
int ct_entry_from_nlmsg(const struct nlmsghdr *nlh, CtEntry *ret);
