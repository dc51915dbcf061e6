/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <inttypes.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "cttable.h"
#include "macro.h"

_Static_assert(sizeof(CtKey) == 24, "CtKey is hashed as three 64-bit words");

static const char * const by_names[_CT_BY_MAX] = {
        [CT_BY_SRC] = "src",
        [CT_BY_DST] = "dst",
        [CT_BY_DPORT] = "dport",
        [CT_BY_STATE] = "state",
        [CT_BY_PROTO] = "proto",
};

const char *ct_by_to_string(CtBy by) {
        if (by < 0 || by >= _CT_BY_MAX)
                return NULL;
        return by_names[by];
}

CtBy ct_by_from_string(const char *s) {
        for (CtBy by = 0; by < _CT_BY_MAX; by++)
                if (s && streq(by_names[by], s))
                        return by;
        return _CT_BY_INVALID;
}

int ct_by_mask_from_string(const char *s, unsigned *ret) {
        unsigned mask = 0;

        if (!s)
                return -EINVAL;
        for (const char *p = s;;) {
                size_t len = strcspn(p, ",");
                CtBy by = _CT_BY_INVALID;

                for (CtBy b = 0; b < _CT_BY_MAX; b++)
                        if (strlen(by_names[b]) == len && strneq(by_names[b], p, len))
                                by = b;
                if (by < 0)
                        return -EINVAL;
                mask |= CT_BY_MASK(by);
                if (p[len] == '\0')
                        break;
                p += len + 1;
        }
        *ret = mask;
        return 0;
}

/* --- keys ------------------------------------------------------------------------------------- */

static const char *proto_name(uint8_t p) {
        switch (p) {
        case IPPROTO_TCP:       return "tcp";
        case IPPROTO_UDP:       return "udp";
        case IPPROTO_ICMP:      return "icmp";
        case IPPROTO_ICMPV6:    return "icmpv6";
        case IPPROTO_SCTP:      return "sctp";
        case IPPROTO_DCCP:      return "dccp";
        case IPPROTO_UDPLITE:   return "udplite";
        case IPPROTO_GRE:       return "gre";
        default:                return NULL;
        }
}

static const char * const tcp_state_names[] = {
        [TCP_CONNTRACK_NONE] = "NONE",
        [TCP_CONNTRACK_SYN_SENT] = "SYN_SENT",
        [TCP_CONNTRACK_SYN_RECV] = "SYN_RECV",
        [TCP_CONNTRACK_ESTABLISHED] = "ESTABLISHED",
        [TCP_CONNTRACK_FIN_WAIT] = "FIN_WAIT",
        [TCP_CONNTRACK_CLOSE_WAIT] = "CLOSE_WAIT",
        [TCP_CONNTRACK_LAST_ACK] = "LAST_ACK",
        [TCP_CONNTRACK_TIME_WAIT] = "TIME_WAIT",
        [TCP_CONNTRACK_CLOSE] = "CLOSE",
        [TCP_CONNTRACK_SYN_SENT2] = "SYN_SENT2",
};

static bool proto_has_ports(uint8_t p) {
        return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_UDPLITE || p == IPPROTO_SCTP ||
               p == IPPROTO_DCCP;
}

int ct_key_format(CtBy by, const CtKey *k, char *buf, size_t size) {
        char pbuf[4];
        const char *p = proto_name(k->proto);
        int n;

        if (!p) {
                snprintf(pbuf, sizeof(pbuf), "%u", k->proto);
                p = pbuf;
        }

        switch (by) {
        case CT_BY_SRC:
        case CT_BY_DST:
                if (!inet_ntop(k->family, k->addr, buf, (socklen_t) size))
                        return -ENOSPC;
                return 0;
        case CT_BY_DPORT:
                if (k->flags & CT_KEY_HAS_PORT)
                        n = snprintf(buf, size, "%s:%u", p, k->port);
                else
                        n = snprintf(buf, size, "%s", p);
                break;
        case CT_BY_STATE:
                if (k->state > 0) {
                        unsigned s = k->state - 1u;

                        if (s < ELEMENTSOF(tcp_state_names) && tcp_state_names[s])
                                n = snprintf(buf, size, "%s:%s%s", p, tcp_state_names[s],
                                             k->flags & CT_KEY_UNREPLIED ? ":UNREPLIED" : "");
                        else
                                n = snprintf(buf, size, "%s:%u%s", p, s,
                                             k->flags & CT_KEY_UNREPLIED ? ":UNREPLIED" : "");
                } else
                        n = snprintf(buf, size, "%s:%s", p,
                                     k->flags & CT_KEY_ASSURED ? "ASSURED" :
                                     k->flags & CT_KEY_REPLIED ? "REPLIED" : "UNREPLIED");
                break;
        case CT_BY_PROTO:
                n = snprintf(buf, size, "%s", p);
                break;
        case _CT_BY_MAX:
        case _CT_BY_INVALID:
        default:                /* a number cast from outside the enum */
                return -EINVAL;
        }
        if (n < 0 || (size_t) n >= size)
                return -ENOSPC;
        return 0;
}

int ct_key_compare(const CtKey *a, const CtKey *b) {
#define CMP(x, y) do { if ((x) != (y)) return (x) < (y) ? -1 : 1; } while (0)
        CMP(a->family, b->family);
        CMP(a->proto, b->proto);
        CMP(a->state, b->state);
        CMP(a->flags, b->flags);
        CMP(a->port, b->port);
#undef CMP
        return memcmp(a->addr, b->addr, sizeof(a->addr));
}

static void key_for(CtBy by, const CtEntry *e, CtKey *k) {
        *k = (CtKey) {};
        switch (by) {
        case CT_BY_SRC:
        case CT_BY_DST:
                k->family = e->family;
                memcpy(k->addr, by == CT_BY_SRC ? e->src : e->dst,
                       e->family == AF_INET ? 4 : 16);
                break;
        case CT_BY_DPORT:
                k->proto = e->proto;
                if (e->has_dport) {
                        k->flags = CT_KEY_HAS_PORT;
                        k->port = e->dport;
                }
                break;
        case CT_BY_STATE:
                k->proto = e->proto;
                if (e->proto == IPPROTO_TCP && e->tcp_state >= 0 && e->tcp_state < 255) {
                        k->state = (uint8_t) (e->tcp_state + 1);
                        if (!(e->status & IPS_SEEN_REPLY))
                                k->flags = CT_KEY_UNREPLIED;
                } else if (e->status & IPS_ASSURED)
                        k->flags = CT_KEY_ASSURED;
                else if (e->status & IPS_SEEN_REPLY)
                        k->flags = CT_KEY_REPLIED;
                else
                        k->flags = CT_KEY_UNREPLIED;
                break;
        case CT_BY_PROTO:
                k->proto = e->proto;
                break;
        case _CT_BY_MAX:
        case _CT_BY_INVALID:
                break;
        }
}

/* --- SipHash-1-3 over a 24-byte key ---------------------------------------------------------- */

#define ROTL(x, b) (uint64_t) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                        \
        do {                                                            \
                v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
                v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                  \
                v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                  \
                v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
        } while (0)

uint64_t ct_key_hash(const uint64_t seed[2], const CtKey *k) {
        uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ seed[0];
        uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ seed[1];
        uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ seed[0];
        uint64_t v3 = UINT64_C(0x7465646279746573) ^ seed[1];
        uint64_t m[3], b = (uint64_t) sizeof(*k) << 56;

        /* The words are taken in host order: the hash only has to be consistent within this
         * process, not across machines. */
        memcpy(m, k, sizeof(m));
        for (size_t i = 0; i < ELEMENTSOF(m); i++) {
                v3 ^= m[i];
                SIPROUND;
                v0 ^= m[i];
        }
        v3 ^= b;
        SIPROUND;
        v0 ^= b;
        v2 ^= 0xff;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

/* --- the aggregate ---------------------------------------------------------------------------- */

typedef struct Slot {
        CtKey key;
        uint32_t count;                 /* 0: empty */
} Slot;

typedef struct Table {
        Slot *slots;
        size_t size;                    /* a power of two, or 0 */
        size_t used;
        uint64_t unattributed;
} Table;

struct CtAggregate {
        CtLimits limits;
        uint64_t seed[2];
        Table tables[_CT_BY_MAX];
        uint64_t entries;
        bool truncated;
        bool interrupted;
};

#define TABLE_SIZE_MIN 64u

int ct_aggregate_new(const CtLimits *limits, CtAggregate **ret) {
        CtAggregate *a;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->limits = *limits;
        /* The limits bound memory; counts are 32-bit per key. */
        a->limits.max_entries = MIN(a->limits.max_entries, (uint64_t) UINT32_MAX);
        if (a->limits.dims == 0)
                a->limits.dims = CT_BY_MASK(_CT_BY_MAX) - 1;
        /* A seed that cannot be had without blocking is still better than none; GRND_NONBLOCK
         * keeps an early-boot daemon from hanging here. */
        if (getrandom(a->seed, sizeof(a->seed), GRND_NONBLOCK) != sizeof(a->seed)) {
                a->seed[0] = (uint64_t) (uintptr_t) a ^ UINT64_C(0x9e3779b97f4a7c15);
                a->seed[1] = (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) &a;
        }
        *ret = a;
        return 0;
}

CtAggregate *ct_aggregate_free(CtAggregate *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < _CT_BY_MAX; i++)
                free(a->tables[i].slots);
        free(a);
        return NULL;
}

static Slot *table_find(const CtAggregate *a, const Table *t, const CtKey *k) {
        size_t mask = t->size - 1;

        for (size_t i = ct_key_hash(a->seed, k) & mask;; i = (i + 1) & mask) {
                Slot *s = &t->slots[i];

                if (s->count == 0 || memcmp(&s->key, k, sizeof(*k)) == 0)
                        return s;
        }
}

static int table_grow(const CtAggregate *a, Table *t) {
        size_t size = t->size ? t->size * 2 : TABLE_SIZE_MIN;
        Table n = { .size = size, .used = t->used, .unattributed = t->unattributed };

        n.slots = calloc(size, sizeof(Slot));
        if (!n.slots)
                return -ENOMEM;
        for (size_t i = 0; i < t->size; i++)
                if (t->slots[i].count > 0)
                        *table_find(a, &n, &t->slots[i].key) = t->slots[i];
        free(t->slots);
        *t = n;
        return 0;
}

static int table_add(CtAggregate *a, Table *t, const CtKey *k) {
        Slot *s;
        int r;

        /* Linear probing stays short below 70% load. */
        if ((t->used + 1) * 10 > t->size * 7 && t->used < a->limits.max_keys) {
                r = table_grow(a, t);
                if (r < 0)
                        return r;
        }

        if (t->size == 0) {             /* max_keys is 0: count entries, keep no keys */
                t->unattributed++;
                return 0;
        }
        s = table_find(a, t, k);
        if (s->count > 0) {
                s->count++;
                return 0;
        }
        if (t->used >= a->limits.max_keys) {
                t->unattributed++;
                return 0;
        }
        s->key = *k;
        s->count = 1;
        t->used++;
        return 0;
}

int ct_aggregate_add(CtAggregate *a, const CtEntry *e) {
        int r;

        if (a->entries >= a->limits.max_entries) {
                a->truncated = true;
                return -ENOBUFS;
        }
        for (CtBy by = 0; by < _CT_BY_MAX; by++) {
                CtKey k;

                if (!(a->limits.dims & CT_BY_MASK(by)))
                        continue;
                key_for(by, e, &k);
                r = table_add(a, &a->tables[by], &k);
                if (r < 0)
                        return r;
        }
        a->entries++;
        return 0;
}

uint64_t ct_aggregate_entries(const CtAggregate *a) {
        return a->entries;
}

uint64_t ct_aggregate_unattributed(const CtAggregate *a, CtBy by) {
        if (by < 0 || by >= _CT_BY_MAX)
                return 0;
        return a->tables[by].unattributed;
}

size_t ct_aggregate_keys(const CtAggregate *a, CtBy by) {
        if (by < 0 || by >= _CT_BY_MAX)
                return 0;
        return a->tables[by].used;
}

bool ct_aggregate_truncated(const CtAggregate *a) {
        return a->truncated;
}

uint64_t ct_aggregate_unattributed_max(const CtAggregate *a) {
        uint64_t m = 0;

        for (size_t i = 0; i < _CT_BY_MAX; i++)
                m = MAX(m, a->tables[i].unattributed);
        return m;
}

double ct_aggregate_percent(const CtAggregate *a, uint64_t count) {
        if (a->entries == 0)
                return 0;
        return 100.0 * (double) count / (double) a->entries;
}

bool ct_aggregate_interrupted(const CtAggregate *a) {
        return a->interrupted;
}

void ct_aggregate_set_interrupted(CtAggregate *a) {
        a->interrupted = true;
}

/* "a ranks before b": larger count first, then key order. */
static bool ranks_before(const CtTopItem *a, const CtTopItem *b) {
        if (a->count != b->count)
                return a->count > b->count;
        return ct_key_compare(&a->key, &b->key) < 0;
}

/* A heap with the lowest-ranked item at the root, so it keeps the best n seen. */
static void sift_down(CtTopItem *h, size_t n, size_t i) {
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, w = i;

                if (l < n && ranks_before(&h[w], &h[l]))
                        w = l;
                if (r < n && ranks_before(&h[w], &h[r]))
                        w = r;
                if (w == i)
                        return;
                CtTopItem t = h[i];
                h[i] = h[w];
                h[w] = t;
                i = w;
        }
}

static void sift_up(CtTopItem *h, size_t i) {
        while (i > 0) {
                size_t p = (i - 1) / 2;

                if (!ranks_before(&h[p], &h[i]))
                        return;
                CtTopItem t = h[i];
                h[i] = h[p];
                h[p] = t;
                i = p;
        }
}

int ct_aggregate_top(const CtAggregate *a, CtBy by, size_t n, CtTopItem **ret, size_t *ret_n) {
        _cleanup_free_ CtTopItem *h = NULL;
        const Table *t;
        size_t k = 0;

        if (by < 0 || by >= _CT_BY_MAX)
                return -EINVAL;
        t = &a->tables[by];
        n = MIN(n, t->used);
        if (n == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }

        h = calloc(n, sizeof(CtTopItem));
        if (!h)
                return -ENOMEM;

        /* O(keys · log n): the table can hold far more keys than anyone wants listed. */
        for (size_t i = 0; i < t->size; i++) {
                const Slot *s = &t->slots[i];
                CtTopItem it;

                if (s->count == 0)
                        continue;
                it = (CtTopItem) { .key = s->key, .count = s->count };
                if (k < n) {
                        h[k] = it;
                        sift_up(h, k++);
                } else if (ranks_before(&it, &h[0])) {
                        h[0] = it;
                        sift_down(h, n, 0);
                }
        }

        /* Pop the lowest-ranked to the back: the array ends up best first. */
        for (size_t m = n; m > 1; m--) {
                CtTopItem t0 = h[0];
                h[0] = h[m - 1];
                h[m - 1] = t0;
                sift_down(h, m - 1, 0);
        }

        *ret = TAKE_PTR(h);
        *ret_n = n;
        return 0;
}

int ct_aggregate_format_top(const CtAggregate *a, CtBy by, size_t n, char **ret) {
        _cleanup_free_ CtTopItem *items = NULL;
        _cleanup_free_ char *s = NULL;
        size_t n_items, len = 0, cap;
        int r;

        r = ct_aggregate_top(a, by, n, &items, &n_items);
        if (r < 0)
                return r;

        cap = n_items * (CT_KEY_STRLEN_MAX + 22) + 1;
        s = malloc(cap);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        for (size_t i = 0; i < n_items; i++) {
                char key[CT_KEY_STRLEN_MAX];

                r = ct_key_format(by, &items[i].key, key, sizeof(key));
                if (r < 0)
                        return r;
                len += (size_t) snprintf(s + len, cap - len, "%s%s=%" PRIu64, i > 0 ? " " : "",
                                         key, items[i].count);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* --- parsing ---------------------------------------------------------------------------------- */

/* Only the attributes the aggregation needs are read, each validated for its type and size;
 * unknown ones (a newer kernel's) are skipped. libnetfilter_conntrack's nfct_nlmsg_parse()
 * would fill a whole nf_conntrack object per entry and costs three times the CPU of the rest
 * of a dump; the unit test checks that both read the same.
 *
 * The walk visits some fifteen attributes per entry. Through libmnl's accessors that is some
 * sixty calls into the shared library per entry, a third of the user time of a dump; the
 * same checks inline cost a fraction of it. They are libmnl's: an attribute is read only if
 * its header fits in what is left of its container and its length covers the header and
 * stays within it; a fixed-size payload must be at least that size; a nest is empty or holds
 * at least one attribute header. */

typedef struct AttrRange {
        const char *next, *end;
} AttrRange;

static inline AttrRange attr_range(const void *start, size_t len) {
        return (AttrRange) { .next = start, .end = (const char *) start + len };
}

static inline AttrRange attr_nested(const struct nlattr *nest) {
        return attr_range((const char *) nest + MNL_ATTR_HDRLEN, nest->nla_len - MNL_ATTR_HDRLEN);
}

/* The next well-formed attribute of r, or NULL at the end (or at the first malformed one,
 * which ends the walk as libmnl's mnl_attr_ok() does). */
static inline const struct nlattr *attr_next(AttrRange *r) {
        const struct nlattr *a = (const struct nlattr *) r->next;
        ptrdiff_t left = r->end - r->next;

        if (left < (ptrdiff_t) sizeof(struct nlattr) || a->nla_len < sizeof(struct nlattr) ||
            a->nla_len > left)
                return NULL;
        r->next += MNL_ALIGN(a->nla_len);
        return a;
}

static inline uint16_t attr_type(const struct nlattr *a) {
        return a->nla_type & NLA_TYPE_MASK;
}

static inline const void *attr_payload(const struct nlattr *a) {
        return (const char *) a + MNL_ATTR_HDRLEN;
}

static inline size_t attr_len(const struct nlattr *a) {
        return a->nla_len - MNL_ATTR_HDRLEN;
}

static inline bool attr_nest_ok(const struct nlattr *a) {
        return attr_len(a) == 0 || attr_len(a) >= MNL_ATTR_HDRLEN;
}

static inline uint8_t attr_u8(const struct nlattr *a) {
        return *(const uint8_t *) attr_payload(a);
}

/* Payloads are 4-byte aligned; netlink's 16- and 32-bit fields are read as such. */
static inline uint16_t attr_be16(const struct nlattr *a) {
        uint16_t v;

        memcpy(&v, attr_payload(a), sizeof(v));
        return ntohs(v);
}

static inline uint32_t attr_be32(const struct nlattr *a) {
        uint32_t v;

        memcpy(&v, attr_payload(a), sizeof(v));
        return ntohl(v);
}

static int parse_tuple_ip(const struct nlattr *nest, CtEntry *e, unsigned *seen) {
        AttrRange r = attr_nested(nest);
        const struct nlattr *a;

        while ((a = attr_next(&r))) {
                uint16_t t = attr_type(a);
                size_t size;

                switch (t) {
                case CTA_IP_V4_SRC:
                case CTA_IP_V4_DST:
                        size = 4;
                        if (e->family != AF_INET)
                                continue;       /* not this message's family: ignored */
                        break;
                case CTA_IP_V6_SRC:
                case CTA_IP_V6_DST:
                        size = 16;
                        if (e->family != AF_INET6)
                                continue;
                        break;
                default:
                        continue;
                }
                if (attr_len(a) < size)
                        return -EBADMSG;
                if (t == CTA_IP_V4_SRC || t == CTA_IP_V6_SRC) {
                        memcpy(e->src, attr_payload(a), size);
                        *seen |= 1u;
                } else {
                        memcpy(e->dst, attr_payload(a), size);
                        *seen |= 2u;
                }
        }
        return 0;
}

static int parse_tuple_proto(const struct nlattr *nest, CtEntry *e, bool *have_proto) {
        AttrRange r = attr_nested(nest);
        const struct nlattr *a;

        while ((a = attr_next(&r)))
                switch (attr_type(a)) {
                case CTA_PROTO_NUM:
                        if (attr_len(a) < sizeof(uint8_t))
                                return -EBADMSG;
                        e->proto = attr_u8(a);
                        *have_proto = true;
                        break;
                case CTA_PROTO_DST_PORT:
                        if (attr_len(a) < sizeof(uint16_t))
                                return -EBADMSG;
                        e->dport = attr_be16(a);
                        e->has_dport = true;
                        break;
                default:
                        break;
                }
        return 0;
}

static int parse_tuple(const struct nlattr *nest, CtEntry *e, unsigned *seen, bool *have_proto) {
        AttrRange r = attr_nested(nest);
        const struct nlattr *a;
        int k;

        while ((a = attr_next(&r))) {
                uint16_t t = attr_type(a);

                if (t != CTA_TUPLE_IP && t != CTA_TUPLE_PROTO)
                        continue;
                if (!attr_nest_ok(a))
                        return -EBADMSG;
                k = t == CTA_TUPLE_IP ? parse_tuple_ip(a, e, seen) :
                                        parse_tuple_proto(a, e, have_proto);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int parse_tcp_state(const struct nlattr *protoinfo, CtEntry *e) {
        AttrRange r = attr_nested(protoinfo);
        const struct nlattr *a, *b;

        while ((a = attr_next(&r))) {
                AttrRange tcp;

                if (attr_type(a) != CTA_PROTOINFO_TCP)
                        continue;
                if (!attr_nest_ok(a))
                        return -EBADMSG;
                tcp = attr_nested(a);
                while ((b = attr_next(&tcp))) {
                        if (attr_type(b) != CTA_PROTOINFO_TCP_STATE)
                                continue;
                        if (attr_len(b) < sizeof(uint8_t))
                                return -EBADMSG;
                        e->tcp_state = attr_u8(b);
                }
        }
        return 0;
}

int ct_entry_from_nlmsg(const struct nlmsghdr *nlh, CtEntry *ret) {
        const struct nfgenmsg *nfg;
        const struct nlattr *a;
        CtEntry e = { .tcp_state = -1 };
        bool have_proto = false;
        unsigned seen = 0;
        AttrRange attrs;
        int r;

        if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)))
                return -EBADMSG;
        nfg = (const struct nfgenmsg *) ((const char *) nlh + MNL_NLMSG_HDRLEN);
        if (nfg->nfgen_family != AF_INET && nfg->nfgen_family != AF_INET6)
                return -EAFNOSUPPORT;
        e.family = nfg->nfgen_family;

        attrs = attr_range((const char *) nfg + MNL_ALIGN(sizeof(*nfg)),
                           nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*nfg)));
        while ((a = attr_next(&attrs)))
                switch (attr_type(a)) {
                case CTA_TUPLE_ORIG:
                        if (!attr_nest_ok(a))
                                return -EBADMSG;
                        r = parse_tuple(a, &e, &seen, &have_proto);
                        if (r < 0)
                                return r;
                        break;
                case CTA_STATUS:
                        if (attr_len(a) < sizeof(uint32_t))
                                return -EBADMSG;
                        e.status = attr_be32(a);
                        break;
                case CTA_PROTOINFO:
                        if (!attr_nest_ok(a))
                                return -EBADMSG;
                        r = parse_tcp_state(a, &e);
                        if (r < 0)
                                return r;
                        break;
                default:
                        break;
                }

        /* Both addresses of the message's own family, and the protocol, or it is no entry. */
        if (seen != 3u || !have_proto)
                return -EBADMSG;
        if (!proto_has_ports(e.proto)) {
                e.has_dport = false;
                e.dport = 0;
        }
        if (e.proto != IPPROTO_TCP)
                e.tcp_state = -1;

        *ret = e;
        return 0;
}

/* --- the dump --------------------------------------------------------------------------------- */

/* The kernel sizes dump buffers after the reader's, up to 32 KiB; twice that never truncates. */
#define DUMP_BUF_SIZE (64u * 1024u)

struct CtDump {
        struct mnl_socket *nl;
        unsigned portid;
        uint32_t seq;
        char *buf;
        uint64_t bytes;
        bool done;
};

CtDump *ct_dump_free(CtDump *d) {
        if (!d)
                return NULL;
        if (d->nl)
                mnl_socket_close(d->nl);
        free(d->buf);
        free(d);
        return NULL;
}

int ct_dump_fd(const CtDump *d) {
        return mnl_socket_get_fd(d->nl);
}

uint64_t ct_dump_bytes(const CtDump *d) {
        return d->bytes;
}

int ct_dump_new(bool nonblock, CtDump **ret) {
        _cleanup_(ct_dump_freep) CtDump *d = NULL;
        char req[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct nfgenmsg *nfg;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->buf = malloc(DUMP_BUF_SIZE);
        if (!d->buf)
                return -ENOMEM;

        d->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0));
        if (!d->nl)
                return negative_errno();
        if (mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();
        d->portid = mnl_socket_get_portid(d->nl);

        nlh = mnl_nlmsg_put_header(req);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = d->seq = 1;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = AF_UNSPEC;  /* every family */
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;

        if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        *ret = TAKE_PTR(d);
        return 0;
}

/* The next well-formed message of the buffer [*p, end), or NULL: libmnl's mnl_nlmsg_ok(),
 * inline for the reason given above the attribute walk. */
static inline const struct nlmsghdr *nlmsg_next(const char **p, const char *end) {
        const struct nlmsghdr *nlh = (const struct nlmsghdr *) *p;
        ptrdiff_t left = end - *p;

        if (left < (ptrdiff_t) sizeof(struct nlmsghdr) || nlh->nlmsg_len < sizeof(struct nlmsghdr) ||
            nlh->nlmsg_len > left)
                return NULL;
        *p += MNL_ALIGN(nlh->nlmsg_len);
        return nlh;
}

/* Counts the entries of one buffer. 1: the dump is over, 0: more to come. */
static int dump_process(const CtDump *d, CtAggregate *a, const char *buf, size_t len) {
        const char *p = buf, *end = buf + len;
        const struct nlmsghdr *nlh;

        while ((nlh = nlmsg_next(&p, end))) {
                CtEntry e;
                int r;

                /* Ours: the kernel's answer to this socket and this request (a zero port or
                 * sequence number is the kernel's own notification, as libmnl takes it). */
                if ((nlh->nlmsg_pid != 0 && nlh->nlmsg_pid != d->portid) ||
                    (nlh->nlmsg_seq != 0 && nlh->nlmsg_seq != d->seq))
                        continue;
                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                        ct_aggregate_set_interrupted(a);

                if (nlh->nlmsg_type == NLMSG_DONE)
                        return 1;
                if (nlh->nlmsg_type == NLMSG_ERROR) {
                        const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

                        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
                                return -EBADMSG;
                        return err->error < 0 ? err->error : -EPROTO;
                }
                if (nlh->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW))
                        continue;

                r = ct_entry_from_nlmsg(nlh, &e);
                if (r == -EAFNOSUPPORT || r == -EBADMSG)
                        continue;       /* a family we do not count, or a malformed entry */
                if (r < 0)
                        return r;
                r = ct_aggregate_add(a, &e);
                if (r == -ENOBUFS)
                        return 1;       /* capped: the rest stays unread */
                if (r < 0)
                        return r;
        }
        return 0;
}

int ct_dump_step(CtDump *d, CtAggregate *a, unsigned max_reads) {
        int r;

        if (d->done)
                return 1;

        for (unsigned i = 0; i < max_reads; i++) {
                ssize_t n = mnl_socket_recvfrom(d->nl, d->buf, DUMP_BUF_SIZE);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EPIPE;
                d->bytes += (uint64_t) n;

                r = dump_process(d, a, d->buf, (size_t) n);
                if (r != 0) {
                        d->done = true;
                        return r;
                }
        }
        return 0;
}

/* --- the one-shot dump, on two threads ---------------------------------------------------------
 *
 * The kernel writes each buffer of a dump inside the reader's recvmsg(): while this thread
 * counts one buffer, nothing fills the next. For "ctguard top", where the kernel's share is
 * four fifths of the time, a second thread receives while the first counts, and the command
 * takes about as long as the kernel needs to produce the dump. The receiving thread touches
 * the socket and the ring's buffers only; the counting stays on the calling thread. If no
 * thread can be started, the dump runs on one. */

#define RING_SLOTS 4u

typedef struct Ring {
        pthread_mutex_t lock;
        pthread_cond_t changed;
        CtDump *dump;
        char *buf[RING_SLOTS];
        ssize_t len[RING_SLOTS];        /* bytes, or negative errno */
        bool last[RING_SLOTS];          /* the receiver stopped after this one */
        unsigned filled, counted;       /* buffers so far; filled - counted <= RING_SLOTS */
        bool stop;                      /* the counter needs no more */
} Ring;

/* Whether a buffer ends the dump: our NLMSG_DONE or NLMSG_ERROR in it (dump_process() reads
 * the same messages and stops at the same one). */
static bool buffer_ends_dump(const CtDump *d, const char *buf, size_t len) {
        const char *p = buf, *end = buf + len;
        const struct nlmsghdr *nlh;

        while ((nlh = nlmsg_next(&p, end))) {
                if ((nlh->nlmsg_pid != 0 && nlh->nlmsg_pid != d->portid) ||
                    (nlh->nlmsg_seq != 0 && nlh->nlmsg_seq != d->seq))
                        continue;
                if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR)
                        return true;
        }
        return false;
}

static void *ring_receive(void *userdata) {
        Ring *g = userdata;
        int fd = mnl_socket_get_fd(g->dump->nl);

        for (;;) {
                unsigned slot;
                ssize_t n;
                bool last;

                pthread_mutex_lock(&g->lock);
                while (!g->stop && g->filled - g->counted == RING_SLOTS)
                        pthread_cond_wait(&g->changed, &g->lock);
                if (g->stop) {
                        pthread_mutex_unlock(&g->lock);
                        return NULL;
                }
                slot = g->filled % RING_SLOTS;
                pthread_mutex_unlock(&g->lock);

                /* The slot is this thread's until it is published below. */
                do
                        n = recv(fd, g->buf[slot], DUMP_BUF_SIZE, 0);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        n = negative_errno();
                else if (n == 0)
                        n = -EPIPE;
                last = n < 0 || buffer_ends_dump(g->dump, g->buf[slot], (size_t) n);

                pthread_mutex_lock(&g->lock);
                g->len[slot] = n;
                g->last[slot] = last;
                g->filled++;
                pthread_cond_broadcast(&g->changed);
                pthread_mutex_unlock(&g->lock);
                if (last)
                        return NULL;
        }
}

/* Counts what the receiver hands over. 1: complete (or capped), negative errno on failure. */
static int ring_count(Ring *g, CtAggregate *a) {
        for (;;) {
                unsigned slot;
                ssize_t n;
                bool last;
                int r;

                pthread_mutex_lock(&g->lock);
                while (g->filled == g->counted)
                        pthread_cond_wait(&g->changed, &g->lock);
                slot = g->counted % RING_SLOTS;
                n = g->len[slot];
                last = g->last[slot];
                pthread_mutex_unlock(&g->lock);

                if (n < 0)
                        return (int) n;
                g->dump->bytes += (uint64_t) n;
                r = dump_process(g->dump, a, g->buf[slot], (size_t) n);
                if (r == 0 && last)
                        r = -EPIPE;     /* cannot be: the receiver saw the end in it */

                pthread_mutex_lock(&g->lock);
                g->counted++;
                pthread_cond_broadcast(&g->changed);
                pthread_mutex_unlock(&g->lock);
                if (r != 0)
                        return r;
        }
}

static int dump_all_threaded(CtDump *d, CtAggregate *a, bool *ret_started) {
        Ring g = {
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .changed = PTHREAD_COND_INITIALIZER,
                .dump = d,
        };
        pthread_t receiver;
        int r;

        *ret_started = false;
        for (unsigned i = 0; i < RING_SLOTS; i++) {
                g.buf[i] = malloc(DUMP_BUF_SIZE);
                if (!g.buf[i]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = -pthread_create(&receiver, NULL, ring_receive, &g);
        if (r < 0)
                goto finish;
        *ret_started = true;

        r = ring_count(&g, a);

        /* Capped, or failed: the receiver may be waiting for a free slot; it stops there or
         * after the recv() it is in (a running dump always sends more, up to NLMSG_DONE). */
        pthread_mutex_lock(&g.lock);
        g.stop = true;
        pthread_cond_broadcast(&g.changed);
        pthread_mutex_unlock(&g.lock);
        (void) pthread_join(receiver, NULL);

finish:
        for (unsigned i = 0; i < RING_SLOTS; i++)
                free(g.buf[i]);
        return r;
}

int ct_dump_all(CtAggregate *a) {
        _cleanup_(ct_dump_freep) CtDump *d = NULL;
        bool started;
        int r;

        r = ct_dump_new(false, &d);
        if (r < 0)
                return r;

        r = dump_all_threaded(d, a, &started);
        if (started)
                return r < 0 ? r : 0;

        /* No second thread: one does both. */
        do
                r = ct_dump_step(d, a, UINT_MAX);
        while (r == 0);
        return r < 0 ? r : 0;
}
