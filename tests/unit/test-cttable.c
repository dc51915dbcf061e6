/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <check.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include "cttable.h"
#include "macro.h"

#define ASSURED (IPS_SEEN_REPLY | IPS_ASSURED)

typedef struct Group {
        unsigned count;
        const char *src, *dst;
        uint8_t proto;
        int dport;              /* -1: none */
        int tcp_state;
        uint32_t status;
} Group;

/* A small table with ties in every dimension, so the order of equal counts is tested too. */
static const Group synthetic[] = {
        { 50, "10.0.0.5",    "10.1.0.1",    IPPROTO_TCP,  443, TCP_CONNTRACK_ESTABLISHED, ASSURED },
        { 30, "10.0.0.9",    "10.1.0.1",    IPPROTO_TCP,  80,  TCP_CONNTRACK_SYN_SENT,    0 },
        { 30, "10.0.0.7",    "10.1.0.2",    IPPROTO_UDP,  53,  -1,                        0 },
        { 20, "2001:db8::1", "2001:db8::2", IPPROTO_UDP,  53,  -1,                        ASSURED },
        { 5,  "10.0.0.200",  "192.0.2.1",   IPPROTO_ICMP, -1,  -1,                        IPS_SEEN_REPLY },
        { 3,  "10.0.0.5",    "10.1.0.1",    IPPROTO_SCTP, 9,   -1,                        0 },
        { 1,  "10.0.0.6",    "10.1.0.3",    99,           -1,  -1,                        0 },
};

static const struct {
        CtBy by;
        size_t n;
        const char *want;
} synthetic_tops[] = {
        { CT_BY_SRC,   10, "10.0.0.5=53 10.0.0.7=30 10.0.0.9=30 2001:db8::1=20 10.0.0.200=5 10.0.0.6=1" },
        { CT_BY_SRC,   3,  "10.0.0.5=53 10.0.0.7=30 10.0.0.9=30" },
        { CT_BY_SRC,   1,  "10.0.0.5=53" },
        { CT_BY_SRC,   0,  "" },
        { CT_BY_DST,   10, "10.1.0.1=83 10.1.0.2=30 2001:db8::2=20 192.0.2.1=5 10.1.0.3=1" },
        { CT_BY_DPORT, 10, "tcp:443=50 udp:53=50 tcp:80=30 icmp=5 sctp:9=3 99=1" },
        { CT_BY_STATE, 10, "tcp:ESTABLISHED=50 tcp:SYN_SENT:UNREPLIED=30 udp:UNREPLIED=30 "
                           "udp:ASSURED=20 icmp:REPLIED=5 sctp:UNREPLIED=3 99:UNREPLIED=1" },
        { CT_BY_PROTO, 10, "tcp=80 udp=50 icmp=5 sctp=3 99=1" },
        { CT_BY_PROTO, 2,  "tcp=80 udp=50" },
};

static void entry_from_group(const Group *g, CtEntry *e) {
        *e = (CtEntry) {
                .family = strchr(g->src, ':') ? AF_INET6 : AF_INET,
                .proto = g->proto,
                .has_dport = g->dport >= 0,
                .dport = g->dport >= 0 ? (uint16_t) g->dport : 0,
                .tcp_state = g->tcp_state,
                .status = g->status,
        };
        ck_assert_int_eq(inet_pton(e->family, g->src, e->src), 1);
        ck_assert_int_eq(inet_pton(e->family, g->dst, e->dst), 1);
}

/* Adds the groups interleaved, one entry of each in turn, so no result depends on order. */
static void add_groups(CtAggregate *a, const Group *groups, size_t n) {
        unsigned left[16], more = 1;

        ck_assert_uint_le(n, ELEMENTSOF(left));
        for (size_t i = 0; i < n; i++)
                left[i] = groups[i].count;
        while (more) {
                more = 0;
                for (size_t i = 0; i < n; i++) {
                        CtEntry e;

                        if (left[i] == 0)
                                continue;
                        left[i]--;
                        more = 1;
                        entry_from_group(&groups[i], &e);
                        ck_assert_int_eq(ct_aggregate_add(a, &e), 0);
                }
        }
}

START_TEST(test_synthetic_top) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_free_ char *s = NULL;
        CtLimits l = CT_LIMITS_COMMAND;

        ck_assert_int_eq(ct_aggregate_new(&l, &a), 0);
        add_groups(a, synthetic, ELEMENTSOF(synthetic));
        ck_assert_uint_eq(ct_aggregate_entries(a), 139);
        ck_assert(!ct_aggregate_truncated(a));
        ck_assert_uint_eq(ct_aggregate_unattributed_max(a), 0);

        ck_assert_int_eq(ct_aggregate_format_top(a, synthetic_tops[_i].by, synthetic_tops[_i].n, &s), 0);
        ck_assert_str_eq(s, synthetic_tops[_i].want);
}
END_TEST

START_TEST(test_top_items) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_free_ CtTopItem *items = NULL;
        CtLimits l = CT_LIMITS_DAEMON;
        size_t n = 42;
        uint64_t sum = 0;

        ck_assert_int_eq(ct_aggregate_new(&l, &a), 0);
        ck_assert_int_eq(ct_aggregate_top(a, CT_BY_SRC, 10, &items, &n), 0);
        ck_assert_ptr_null(items);
        ck_assert_uint_eq(n, 0);

        add_groups(a, synthetic, ELEMENTSOF(synthetic));
        for (CtBy by = 0; by < _CT_BY_MAX; by++) {
                free(items);
                ck_assert_int_eq(ct_aggregate_top(a, by, SIZE_MAX, &items, &n), 0);
                ck_assert_uint_eq(n, ct_aggregate_keys(a, by));
                sum = 0;
                for (size_t i = 0; i < n; i++)
                        sum += items[i].count;
                /* Every dimension partitions the same entries. */
                ck_assert_uint_eq(sum, ct_aggregate_entries(a));
                ck_assert_uint_eq(ct_aggregate_unattributed(a, by), 0);
        }
        ck_assert_int_eq(ct_aggregate_top(a, _CT_BY_MAX, 1, &items, &n), -EINVAL);
}
END_TEST

START_TEST(test_many_keys) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_free_ char *s = NULL;
        CtLimits l = CT_LIMITS_COMMAND;
        CtEntry e = { .family = AF_INET, .proto = IPPROTO_TCP, .tcp_state = -1 };

        /* 100,000 sources once each, and three heavy ones hidden among them: the table grows
         * through every size and the heap must still find them. */
        ck_assert_int_eq(ct_aggregate_new(&l, &a), 0);
        for (uint32_t i = 0; i < 100000; i++) {
                uint32_t ip = htonl(0x0a000000u + i);
                unsigned times = i == 77777 ? 9 : i == 3 ? 7 : i == 99999 ? 8 : 1;

                memcpy(e.src, &ip, 4);
                for (unsigned k = 0; k < times; k++)
                        ck_assert_int_eq(ct_aggregate_add(a, &e), 0);
        }
        ck_assert_uint_eq(ct_aggregate_keys(a, CT_BY_SRC), 100000);
        ck_assert_uint_eq(ct_aggregate_keys(a, CT_BY_DST), 1);
        ck_assert_int_eq(ct_aggregate_format_top(a, CT_BY_SRC, 4, &s), 0);
        ck_assert_str_eq(s, "10.1.47.209=9 10.1.134.159=8 10.0.0.3=7 10.0.0.0=1");
}
END_TEST

START_TEST(test_dims) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_free_ char *s = NULL;
        CtLimits l = CT_LIMITS_COMMAND;

        l.dims = CT_BY_MASK(CT_BY_DST) | CT_BY_MASK(CT_BY_PROTO);
        ck_assert_int_eq(ct_aggregate_new(&l, &a), 0);
        add_groups(a, synthetic, ELEMENTSOF(synthetic));
        ck_assert_uint_eq(ct_aggregate_entries(a), 139);
        ck_assert_uint_eq(ct_aggregate_keys(a, CT_BY_SRC), 0);
        ck_assert_uint_eq(ct_aggregate_keys(a, CT_BY_STATE), 0);
        ck_assert_uint_eq(ct_aggregate_unattributed(a, CT_BY_SRC), 0);    /* not counted at all */
        ck_assert_int_eq(ct_aggregate_format_top(a, CT_BY_PROTO, 2, &s), 0);
        ck_assert_str_eq(s, "tcp=80 udp=50");
        free(s);
        ck_assert_int_eq(ct_aggregate_format_top(a, CT_BY_SRC, 2, &s), 0);
        ck_assert_str_eq(s, "");
}
END_TEST

START_TEST(test_limits) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL, *b = NULL;
        _cleanup_free_ char *s = NULL;
        CtLimits l = { .max_entries = 10, .max_keys = 2 };
        CtEntry e = { .family = AF_INET, .proto = IPPROTO_UDP, .tcp_state = -1 };

        ck_assert_int_eq(ct_aggregate_new(&l, &a), 0);
        for (unsigned i = 0; i < 10; i++) {
                e.src[3] = (uint8_t) (i % 4);   /* 4 sources, only 2 may be kept */
                ck_assert_int_eq(ct_aggregate_add(a, &e), 0);
        }
        /* Keys beyond the cap are unattributed, and that alone does not truncate. */
        ck_assert(!ct_aggregate_truncated(a));
        ck_assert_uint_eq(ct_aggregate_unattributed_max(a), 4);
        ck_assert_int_eq(ct_aggregate_add(a, &e), -ENOBUFS);
        ck_assert_uint_eq(ct_aggregate_entries(a), 10);
        ck_assert(ct_aggregate_truncated(a));
        ck_assert_uint_eq(ct_aggregate_keys(a, CT_BY_SRC), 2);
        /* Sources .0 and .1 came first: 3 entries each; .2 and .3 (2 each) are unattributed. */
        ck_assert_uint_eq(ct_aggregate_unattributed(a, CT_BY_SRC), 4);
        ck_assert_uint_eq(ct_aggregate_unattributed(a, CT_BY_DST), 0);
        ck_assert_int_eq(ct_aggregate_format_top(a, CT_BY_SRC, 10, &s), 0);
        ck_assert_str_eq(s, "0.0.0.0=3 0.0.0.1=3");

        l = (CtLimits) { .max_entries = 5, .max_keys = 0 };
        ck_assert_int_eq(ct_aggregate_new(&l, &b), 0);
        ck_assert_int_eq(ct_aggregate_add(b, &e), 0);
        ck_assert_uint_eq(ct_aggregate_entries(b), 1);
        ck_assert_uint_eq(ct_aggregate_keys(b, CT_BY_PROTO), 0);
        ck_assert_uint_eq(ct_aggregate_unattributed(b, CT_BY_PROTO), 1);
}
END_TEST

static const struct {
        CtBy by;
        CtKey key;
        const char *want;
} format_cases[] = {
        { CT_BY_SRC,   { .family = AF_INET, .addr = { 192, 0, 2, 1 } },                 "192.0.2.1" },
        { CT_BY_DST,   { .family = AF_INET6, .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
                       "2001:db8::1" },
        { CT_BY_DPORT, { .proto = IPPROTO_UDP, .flags = CT_KEY_HAS_PORT, .port = 0 },   "udp:0" },
        { CT_BY_DPORT, { .proto = IPPROTO_TCP, .flags = CT_KEY_HAS_PORT, .port = 65535 }, "tcp:65535" },
        { CT_BY_DPORT, { .proto = IPPROTO_ICMPV6 },                                      "icmpv6" },
        { CT_BY_STATE, { .proto = IPPROTO_TCP, .state = TCP_CONNTRACK_TIME_WAIT + 1 },   "tcp:TIME_WAIT" },
        { CT_BY_STATE, { .proto = IPPROTO_TCP, .state = TCP_CONNTRACK_SYN_SENT2 + 1,
                         .flags = CT_KEY_UNREPLIED },                                    "tcp:SYN_SENT2:UNREPLIED" },
        { CT_BY_STATE, { .proto = IPPROTO_TCP, .state = 43 },                            "tcp:42" },
        { CT_BY_STATE, { .proto = IPPROTO_GRE, .flags = CT_KEY_REPLIED },                "gre:REPLIED" },
        { CT_BY_STATE, { .proto = IPPROTO_UDPLITE, .flags = CT_KEY_ASSURED },            "udplite:ASSURED" },
        { CT_BY_PROTO, { .proto = IPPROTO_DCCP },                                        "dccp" },
        { CT_BY_PROTO, { .proto = 255 },                                                 "255" },
};

START_TEST(test_key_format) {
        char buf[CT_KEY_STRLEN_MAX];

        ck_assert_int_eq(ct_key_format(format_cases[_i].by, &format_cases[_i].key, buf, sizeof(buf)), 0);
        ck_assert_str_eq(buf, format_cases[_i].want);
        ck_assert(!strchr(buf, ' ') && !strchr(buf, '/'));
        /* Too small a buffer is an error, not a silently cut key. */
        ck_assert_int_eq(ct_key_format(format_cases[_i].by, &format_cases[_i].key, buf,
                                       strlen(format_cases[_i].want)), -ENOSPC);
}
END_TEST

/* SipHash-1-3 with a zero key over the bytes 0..23: the value CPython's hash() gives for
 * bytes(range(24)) with PYTHONHASHSEED=0 (a zero key, the same algorithm). */
START_TEST(test_hash_vector) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        static const uint64_t zero[2] = { 0, 0 };
        uint64_t seed[2] = { 1, 0 };
        CtKey k;
        uint8_t *p = (uint8_t *) &k;

        for (unsigned i = 0; i < sizeof(k); i++)
                p[i] = (uint8_t) i;
        ck_assert_uint_eq(ct_key_hash(zero, &k), UINT64_C(3537676771234361146));
        /* The seed matters. */
        ck_assert_uint_ne(ct_key_hash(seed, &k), UINT64_C(3537676771234361146));
#endif
}
END_TEST

START_TEST(test_by_names) {
        for (CtBy by = 0; by < _CT_BY_MAX; by++)
                ck_assert_int_eq(ct_by_from_string(ct_by_to_string(by)), by);
        ck_assert_int_eq(ct_by_from_string("sport"), -EINVAL);
        ck_assert_int_eq(ct_by_from_string(""), -EINVAL);
        ck_assert_int_eq(ct_by_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(ct_by_to_string(_CT_BY_MAX));
}
END_TEST

/* "--by src,dst": a comma list of names. */
static const struct {
        const char *s;
        int ret;
        unsigned mask;
} by_lists[] = {
        { "src",                        0, CT_BY_MASK(CT_BY_SRC) },
        { "src,dst",                    0, CT_BY_MASK(CT_BY_SRC) | CT_BY_MASK(CT_BY_DST) },
        { "proto,state,dport,dst,src",  0, CT_BY_MASK(_CT_BY_MAX) - 1 },
        { "dst,dst",                    0, CT_BY_MASK(CT_BY_DST) },
        { "",                           -EINVAL, 0 },
        { ",",                          -EINVAL, 0 },
        { "src,",                       -EINVAL, 0 },
        { ",src",                       -EINVAL, 0 },
        { "src,,dst",                   -EINVAL, 0 },
        { "src,sport",                  -EINVAL, 0 },
        { "sr",                         -EINVAL, 0 },
        { "srcx",                       -EINVAL, 0 },
        { "src dst",                    -EINVAL, 0 },
        { NULL,                         -EINVAL, 0 },
};

START_TEST(test_by_lists) {
        unsigned mask = 12345;

        ck_assert_int_eq(ct_by_mask_from_string(by_lists[_i].s, &mask), by_lists[_i].ret);
        ck_assert_uint_eq(mask, by_lists[_i].ret < 0 ? 12345 : by_lists[_i].mask);
}
END_TEST

START_TEST(test_percent) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_free_ CtTopItem *items = NULL;
        CtLimits l = CT_LIMITS_COMMAND;
        double sum = 0;
        size_t n;

        ck_assert_int_eq(ct_aggregate_new(&l, &a), 0);
        ck_assert(ct_aggregate_percent(a, 0) == 0);     /* no entries: no division by zero */
        add_groups(a, synthetic, ELEMENTSOF(synthetic));
        /* 53 of 139 entries. */
        ck_assert_double_eq_tol(ct_aggregate_percent(a, 53), 38.129, 0.001);
        ck_assert_double_eq_tol(ct_aggregate_percent(a, 139), 100, 1e-9);
        ck_assert_int_eq(ct_aggregate_top(a, CT_BY_PROTO, SIZE_MAX, &items, &n), 0);
        for (size_t i = 0; i < n; i++)
                sum += ct_aggregate_percent(a, items[i].count);
        ck_assert_double_eq_tol(sum, 100, 1e-9);
}
END_TEST

/* Ways to spoil a message. */
enum {
        NO_DST       = 1 << 0,
        NO_PROTO_NUM = 1 << 1,
        SHORT_STATUS = 1 << 2,  /* CTA_STATUS of 2 bytes */
        UNKNOWN_ATTR = 1 << 3,  /* an attribute no kernel sends (yet): skipped */
        OTHER_FAMILY = 1 << 4,  /* addresses of the other family as well: ignored */
        SHORT_PORT   = 1 << 5,  /* CTA_PROTO_DST_PORT of 1 byte */
        BAD_NEST     = 1 << 6,  /* CTA_TUPLE_ORIG not a nest */
        TRUNCATED    = 1 << 7,  /* shorter than the nfgenmsg header */
};

typedef struct MsgCase {
        const char *name;
        uint8_t family;
        const char *src, *dst;
        uint8_t proto;
        int dport;              /* -1: no port attributes */
        int tcp_state;          /* -1: no protocol info */
        uint32_t status;
        unsigned spoil;
        int ret;
} MsgCase;

static const MsgCase msg_cases[] = {
        { "tcp v4",          AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_TCP, 443, TCP_CONNTRACK_ESTABLISHED, ASSURED, 0, 0 },
        { "tcp v4 no state", AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_TCP, 443, -1, 0, 0, 0 },
        { "syn_sent",        AF_INET,  "192.0.2.1", "198.51.100.7", IPPROTO_TCP, 22, TCP_CONNTRACK_SYN_SENT, 0, 0, 0 },
        { "udp v6",          AF_INET6, "2001:db8::1", "2001:db8::2", IPPROTO_UDP, 53, -1, IPS_SEEN_REPLY, 0, 0 },
        { "icmpv6",          AF_INET6, "2001:db8::1", "ff02::1", IPPROTO_ICMPV6, -1, -1, 0, 0, 0 },
        { "icmp",            AF_INET,  "10.0.0.1", "10.0.0.2", IPPROTO_ICMP, -1, -1, IPS_SEEN_REPLY, 0, 0 },
        { "sctp",            AF_INET,  "10.0.0.1", "10.0.0.2", IPPROTO_SCTP, 9, -1, 0, 0, 0 },
        { "unknown proto",   AF_INET,  "10.0.0.1", "10.0.0.2", 99, -1, -1, 0, 0, 0 },
        { "unknown attr",    AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, UNKNOWN_ATTR, 0 },
        { "other family v4", AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, OTHER_FAMILY, 0 },
        { "other family v6", AF_INET6, "2001:db8::1", "2001:db8::2", IPPROTO_TCP, 80, TCP_CONNTRACK_TIME_WAIT, ASSURED, OTHER_FAMILY, 0 },
        { "no dst",          AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, NO_DST, -EBADMSG },
        { "no proto",        AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, NO_PROTO_NUM, -EBADMSG },
        { "short status",    AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, SHORT_STATUS, -EBADMSG },
        { "short port",      AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, SHORT_PORT, -EBADMSG },
        { "flat tuple",      AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, BAD_NEST, -EBADMSG },
        { "truncated",       AF_INET,  "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, TRUNCATED, -EBADMSG },
        { "bridge",          AF_BRIDGE, "10.0.0.5", "10.1.0.1", IPPROTO_UDP, 53, -1, 0, 0, -EAFNOSUPPORT },
};

/* Builds the message as the kernel sends it in a dump, then spoils it as asked. */
static struct nlmsghdr *build_msg(char *buf, const MsgCase *c) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        uint8_t fam = c->family == AF_BRIDGE ? AF_INET : c->family;
        uint8_t src[16] = {}, dst[16] = {};
        size_t alen = fam == AF_INET ? 4 : 16;
        struct nfgenmsg *nfg;
        struct nlattr *tuple, *ip, *pr;

        ck_assert_int_eq(inet_pton(fam, c->src, src), 1);
        ck_assert_int_eq(inet_pton(fam, c->dst, dst), 1);

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = c->family;
        nfg->version = NFNETLINK_V0;

        if (c->spoil & UNKNOWN_ATTR)
                mnl_attr_put_u32(nlh, 200, 0xdeadbeef);
        if (c->spoil & BAD_NEST)
                mnl_attr_put_u32(nlh, CTA_TUPLE_ORIG, 1);
        else {
                tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
                ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
                if (c->spoil & OTHER_FAMILY) {
                        static const uint8_t junk[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

                        mnl_attr_put(nlh, fam == AF_INET ? CTA_IP_V6_SRC : CTA_IP_V4_SRC,
                                     fam == AF_INET ? 16 : 4, junk);
                        mnl_attr_put(nlh, fam == AF_INET ? CTA_IP_V6_DST : CTA_IP_V4_DST,
                                     fam == AF_INET ? 16 : 4, junk);
                }
                mnl_attr_put(nlh, fam == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, alen, src);
                if (!(c->spoil & NO_DST))
                        mnl_attr_put(nlh, fam == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST, alen, dst);
                mnl_attr_nest_end(nlh, ip);
                pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
                if (!(c->spoil & NO_PROTO_NUM))
                        mnl_attr_put_u8(nlh, CTA_PROTO_NUM, c->proto);
                if (c->dport >= 0) {
                        mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(40000));
                        if (c->spoil & SHORT_PORT)
                                mnl_attr_put_u8(nlh, CTA_PROTO_DST_PORT, 1);
                        else
                                mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons((uint16_t) c->dport));
                }
                mnl_attr_nest_end(nlh, pr);
                mnl_attr_nest_end(nlh, tuple);
        }
        if (c->spoil & SHORT_STATUS)
                mnl_attr_put_u16(nlh, CTA_STATUS, 1);
        else
                mnl_attr_put_u32(nlh, CTA_STATUS, htonl(c->status));
        if (c->tcp_state >= 0) {
                struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
                struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);

                mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, (uint8_t) c->tcp_state);
                mnl_attr_nest_end(nlh, tcp);
                mnl_attr_nest_end(nlh, pi);
        }
        if (c->spoil & TRUNCATED)
                nlh->nlmsg_len = (uint32_t) mnl_nlmsg_size(2);
        return nlh;
}

START_TEST(test_parse_nlmsg) {
        const MsgCase *c = &msg_cases[_i];
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = build_msg(buf, c);
        CtEntry e = { .proto = 77 };
        uint8_t src[16] = {}, dst[16] = {};
        int r;

        r = ct_entry_from_nlmsg(nlh, &e);
        ck_assert_msg(r == c->ret, "%s: got %d, want %d", c->name, r, c->ret);
        if (r < 0) {
                ck_assert_uint_eq(e.proto, 77);         /* untouched */
                return;
        }

        ck_assert_int_eq(inet_pton(c->family, c->src, src), 1);
        ck_assert_int_eq(inet_pton(c->family, c->dst, dst), 1);
        ck_assert_uint_eq(e.family, c->family);
        ck_assert_uint_eq(e.proto, c->proto);
        ck_assert_mem_eq(e.src, src, 16);
        ck_assert_mem_eq(e.dst, dst, 16);
        ck_assert_int_eq(e.has_dport, c->dport >= 0);
        ck_assert_uint_eq(e.dport, c->dport >= 0 ? (unsigned) c->dport : 0);
        ck_assert_int_eq(e.tcp_state, c->tcp_state);
        ck_assert_uint_eq(e.status, c->status);
}
END_TEST

/* The same messages through libnetfilter_conntrack's parser: both must read the same. */
START_TEST(test_parse_like_libnfct) {
        const MsgCase *c = &msg_cases[_i];
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct nf_conntrack *ct;
        CtEntry e;

        if (c->ret < 0 || (c->spoil & (UNKNOWN_ATTR | OTHER_FAMILY)))
                return;         /* libnetfilter_conntrack keeps those; we only compare entries */

        nlh = build_msg(buf, c);
        ck_assert_int_eq(ct_entry_from_nlmsg(nlh, &e), 0);
        ct = nfct_new();
        ck_assert_ptr_nonnull(ct);
        ck_assert_int_eq(nfct_nlmsg_parse(nlh, ct), 0);

        ck_assert_uint_eq(e.family, nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO));
        ck_assert_uint_eq(e.proto, nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO));
        if (e.family == AF_INET) {
                uint32_t s = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC), d = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);

                ck_assert_mem_eq(e.src, &s, 4);
                ck_assert_mem_eq(e.dst, &d, 4);
        } else {
                ck_assert_mem_eq(e.src, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
                ck_assert_mem_eq(e.dst, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
        }
        ck_assert_int_eq(e.has_dport, nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) > 0);
        if (e.has_dport)
                ck_assert_uint_eq(e.dport, ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)));
        ck_assert_int_eq(e.tcp_state, nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0 ?
                                      nfct_get_attr_u8(ct, ATTR_TCP_STATE) : -1);
        ck_assert_uint_eq(e.status, nfct_get_attr_u32(ct, ATTR_STATUS));
        nfct_destroy(ct);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("cttable");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_synthetic_top, 0, ELEMENTSOF(synthetic_tops));
        tcase_add_test(tc, test_top_items);
        tcase_add_test(tc, test_many_keys);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_dims);
        tcase_add_loop_test(tc, test_key_format, 0, ELEMENTSOF(format_cases));
        tcase_add_test(tc, test_by_names);
        tcase_add_loop_test(tc, test_by_lists, 0, ELEMENTSOF(by_lists));
        tcase_add_test(tc, test_percent);
        tcase_add_test(tc, test_hash_vector);
        tcase_add_loop_test(tc, test_parse_nlmsg, 0, ELEMENTSOF(msg_cases));
        tcase_add_loop_test(tc, test_parse_like_libnfct, 0, ELEMENTSOF(msg_cases));
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
