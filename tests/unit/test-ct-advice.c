/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>

#include "ct-advice.h"
#include "macro.h"

#define ASSURED (IPS_SEEN_REPLY | IPS_ASSURED)
#define GROUPS_MAX 4

typedef struct Group {
        unsigned count;
        uint8_t proto;
        int dport;              /* -1: none */
        int tcp_state;          /* -1: none */
        uint32_t status;
} Group;

/* A table of dumps: the groups counted, the advice wanted. */
typedef struct AdviceCase {
        const char *name;
        Group groups[GROUPS_MAX];
        const char *unreplied;  /* the state key, NULL: none */
        unsigned unreplied_percent;
        int udp_dport;          /* -1: no NOTRACK advice */
        unsigned udp_percent;
} AdviceCase;

static const AdviceCase cases[] = {
        { "a resolver: unreplied DNS fills the table",
          { { 900, IPPROTO_UDP, 53, -1, 0 }, { 100, IPPROTO_TCP, 443, TCP_CONNTRACK_ESTABLISHED, ASSURED } },
          "udp:UNREPLIED", 90, 53, 90 },
        { "replied DNS over half the table: NOTRACK still the remedy",
          { { 600, IPPROTO_UDP, 53, -1, ASSURED }, { 400, IPPROTO_TCP, 80, TCP_CONNTRACK_SYN_SENT, 0 } },
          "tcp:SYN_SENT:UNREPLIED", 40, 53, 60 },
        { "exactly half is not more than half",
          { { 500, IPPROTO_UDP, 53, -1, 0 }, { 500, IPPROTO_TCP, 443, TCP_CONNTRACK_ESTABLISHED, ASSURED } },
          "udp:UNREPLIED", 50, -1, 0 },
        { "a TCP port over half: no NOTRACK advice",
          { { 800, IPPROTO_TCP, 443, TCP_CONNTRACK_SYN_SENT, 0 }, { 200, IPPROTO_UDP, 53, -1, 0 } },
          "tcp:SYN_SENT:UNREPLIED", 80, -1, 0 },
        { "UDP over half, but spread over ports: no NOTRACK advice",
          { { 300, IPPROTO_UDP, 53, -1, 0 }, { 300, IPPROTO_UDP, 123, -1, 0 },
            { 400, IPPROTO_TCP, 443, TCP_CONNTRACK_ESTABLISHED, ASSURED } },
          "udp:UNREPLIED", 60, -1, 0 },
        { "the largest unreplied share, not the largest state",
          { { 700, IPPROTO_TCP, 443, TCP_CONNTRACK_ESTABLISHED, ASSURED },
            { 200, IPPROTO_TCP, 80, TCP_CONNTRACK_SYN_SENT, 0 }, { 100, IPPROTO_UDP, 53, -1, 0 } },
          "tcp:SYN_SENT:UNREPLIED", 20, -1, 0 },
        { "nothing unreplied: nothing to name",
          { { 1000, IPPROTO_TCP, 443, TCP_CONNTRACK_ESTABLISHED, ASSURED } },
          NULL, 0, -1, 0 },
        { "an empty dump advises nothing",
          { },
          NULL, 0, -1, 0 },
        { "ICMP has no port: no NOTRACK advice",
          { { 900, IPPROTO_ICMP, -1, -1, 0 }, { 100, IPPROTO_UDP, 53, -1, 0 } },
          "icmp:UNREPLIED", 90, -1, 0 },
};

START_TEST(test_advice) {
        const AdviceCase *c = &cases[_i];
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        CtLimits limits = CT_LIMITS_DAEMON;
        uint32_t serial = 0;
        CtAdvice v;

        ck_assert_int_eq(ct_aggregate_new(&limits, &a), 0);
        for (size_t g = 0; g < GROUPS_MAX; g++)
                for (unsigned i = 0; i < c->groups[g].count; i++) {
                        CtEntry e = {
                                .family = AF_INET,
                                .proto = c->groups[g].proto,
                                .has_dport = c->groups[g].dport >= 0,
                                .dport = c->groups[g].dport >= 0 ? (uint16_t) c->groups[g].dport : 0,
                                .tcp_state = c->groups[g].tcp_state,
                                .status = c->groups[g].status,
                        };

                        serial++;
                        memcpy(e.src, &serial, sizeof(serial));
                        ck_assert_int_eq(ct_aggregate_add(a, &e), 0);
                }

        ck_assert_int_eq(ct_advice_from_aggregate(a, &v), 0);
        if (c->unreplied) {
                char key[CT_KEY_STRLEN_MAX];

                ck_assert_msg(v.unreplied, "%s: no unreplied share", c->name);
                ck_assert_int_eq(ct_key_format(CT_BY_STATE, &v.unreplied_key, key, sizeof(key)), 0);
                ck_assert_msg(streq(key, c->unreplied), "%s: %s", c->name, key);
                ck_assert_msg(v.unreplied_percent == c->unreplied_percent, "%s: %u%%", c->name,
                              v.unreplied_percent);
        } else
                ck_assert_msg(!v.unreplied, "%s: an unreplied share", c->name);
        ck_assert_msg(v.notrack == (c->udp_dport >= 0), "%s: notrack=%d", c->name, v.notrack);
        if (c->udp_dport >= 0) {
                ck_assert_uint_eq(v.udp_dport, (unsigned) c->udp_dport);
                ck_assert_msg(v.udp_percent == c->udp_percent, "%s: %u%%", c->name, v.udp_percent);
        }
}
END_TEST

/* The pure step alone: no port list, or counts that do not add up, advise no NOTRACK. */
START_TEST(test_compute_edges) {
        CtTopItem dport = { .key = { .proto = IPPROTO_UDP, .flags = CT_KEY_HAS_PORT, .port = 53 },
                            .count = 10 };
        CtAdvice v;

        ct_advice_compute(NULL, 0, NULL, 10, &v);
        ck_assert(!v.unreplied && !v.notrack);
        ct_advice_compute(NULL, 0, &dport, 0, &v);
        ck_assert(!v.notrack);
        ct_advice_compute(NULL, 0, &dport, 19, &v);
        ck_assert(v.notrack && v.udp_dport == 53 && v.udp_percent == 52);
        ct_advice_compute(NULL, 0, &dport, 20, &v);
        ck_assert(!v.notrack);
}
END_TEST

int main(void) {
        Suite *s = suite_create("ct-advice");
        TCase *tc = tcase_create("advice");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_advice, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_compute_edges);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
