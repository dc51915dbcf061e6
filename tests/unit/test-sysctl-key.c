/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>

#include "macro.h"
#include "sysctl-key.h"

/* Keys as a configuration may spell them: the normalised path, or why they are refused. */
static const struct {
        const char *key;
        int ret;
        const char *path;
} normalize_cases[] = {
        /* Both spellings of the same keys. */
        { "net.netfilter.nf_conntrack_max",    0, "net/netfilter/nf_conntrack_max" },
        { "net/netfilter/nf_conntrack_max",    0, "net/netfilter/nf_conntrack_max" },
        { "net.netfilter.nf_log.2",            0, "net/netfilter/nf_log/2" },
        { "net/netfilter/nf_log/2",            0, "net/netfilter/nf_log/2" },
        { "net.ipv4.ip_forward",               0, "net/ipv4/ip_forward" },
        { "net/ipv4/ip_forward",               0, "net/ipv4/ip_forward" },
        { "net.ipv4.conf.all.forwarding",      0, "net/ipv4/conf/all/forwarding" },
        { "net.ipv4.conf.default.forwarding",  0, "net/ipv4/conf/default/forwarding" },
        { "net.ipv6.conf.eth0.forwarding",     0, "net/ipv6/conf/eth0/forwarding" },
        { "net.bridge.bridge-nf-call-iptables", 0, "net/bridge/bridge-nf-call-iptables" },
        { "net.bridge.bridge-nf-call-arptables", 0, "net/bridge/bridge-nf-call-arptables" },
        /* A dot inside a component: '/' in the dotted spelling, '.' in the slashed one. */
        { "net.ipv4.conf.eth0/100.forwarding", 0, "net/ipv4/conf/eth0.100/forwarding" },
        { "net/ipv4/conf/eth0.100/forwarding", 0, "net/ipv4/conf/eth0.100/forwarding" },
        { "net.ipv6.conf.br-lan/5.forwarding", 0, "net/ipv6/conf/br-lan.5/forwarding" },
        /* Capitals only in the interface component (sysctl.d(5) spelling of Lan0.100). */
        { "net.ipv4.conf.Lan0/100.forwarding", 0, "net/ipv4/conf/Lan0.100/forwarding" },
        { "net/ipv4/conf/Lan0.100/forwarding", 0, "net/ipv4/conf/Lan0.100/forwarding" },
        { "net.ipv6.conf.WAN.forwarding",      0, "net/ipv6/conf/WAN/forwarding" },
        { "net.ipv4.conf.Lan0.forwarding",     0, "net/ipv4/conf/Lan0/forwarding" },
        { "net.ipv4.conf.Lan0/100.Forwarding", -EINVAL, NULL },
        { "net.IPv4.conf.Lan0.forwarding",     -EINVAL, NULL },
        { "net.ipv4.Conf.Lan0.forwarding",     -EINVAL, NULL },
        { "net.netfilter.Lan0",                -EINVAL, NULL },
        { "net.ipv4.conf.Lan0//100.forwarding", -EINVAL, NULL },
        { "net/ipv4/conf/Lan0..100/forwarding", -EINVAL, NULL },
        { "net.ipv4.conf./.forwarding",        -EINVAL, NULL },
        { "net.ipv4.conf.Lan0/.forwarding",    0, "net/ipv4/conf/Lan0./forwarding" }, /* a valid name */

        /* Not normalised: traversal, empty components, doubled separators. */
        { "net/../kernel/sysrq",               -EINVAL, NULL },
        { "net.//../kernel.sysrq",             -EINVAL, NULL },
        { "net/netfilter/../../kernel/sysrq",  -EINVAL, NULL },
        { "net.netfilter./../../kernel.sysrq", -EINVAL, NULL },
        { "net/netfilter/./nf_conntrack_max",  -EINVAL, NULL },
        { "net.netfilter./.nf_conntrack_max",  -EINVAL, NULL },
        { "net.netfilter.",                    -EINVAL, NULL },
        { "net/netfilter/",                    -EINVAL, NULL },
        { ".net.netfilter.x",                  -EINVAL, NULL },
        { "/net/netfilter/x",                  -EINVAL, NULL },
        { "net..netfilter.x",                  -EINVAL, NULL },
        { "net//netfilter/x",                  -EINVAL, NULL },
        { "net.netfilter.a//b",                -EINVAL, NULL },
        { "net/netfilter/a..b",                -EINVAL, NULL },
        { ".",                                 -EINVAL, NULL },
        { "..",                                -EINVAL, NULL },
        { "/",                                 -EINVAL, NULL },
        { "",                                  -EINVAL, NULL },
        /* Characters outside [a-z0-9_.-/]. */
        { "NET.netfilter.nf_conntrack_max",    -EINVAL, NULL },
        { "net.netfilter.NF_CONNTRACK_MAX",    -EINVAL, NULL },
        { "net.netfilter.nf_conntrack_max ",   -EINVAL, NULL },
        { " net.netfilter.nf_conntrack_max",   -EINVAL, NULL },
        { "net.netfilter.nf conntrack",        -EINVAL, NULL },
        { "net.netfilter.nf_conntrack_*",      -EINVAL, NULL },
        { "net.netfilter.nf_conntrack_?",      -EINVAL, NULL },
        { "net.netfilter.[a]",                 -EINVAL, NULL },
        { "net.netfilter.x\\y",                -EINVAL, NULL },
        { "net.netfilter.x\ty",                -EINVAL, NULL },
        { "net.netfilter.x\ny",                -EINVAL, NULL },
        { "net.netfilter.\xc3\xa9",            -EINVAL, NULL },
        { "-net.netfilter.x=1",                -EINVAL, NULL },

        /* Normalised, but not on the allow-list. */
        { "kernel.sysrq",                      -EPERM, NULL },
        { "kernel/sysrq",                      -EPERM, NULL },
        { "net",                               -EPERM, NULL },
        { "net.netfilter",                     -EPERM, NULL },
        { "net.netfilterx.y",                  -EPERM, NULL },
        { "net.ipv4.ip_forward_use_pmtu",      -EPERM, NULL },
        { "net.ipv4.tcp_syncookies",           -EPERM, NULL },
        { "net.ipv4.conf.all.rp_filter",       -EPERM, NULL },
        { "net.ipv4.conf.forwarding",          -EPERM, NULL },
        { "net.ipv4.conf.a.b.forwarding",      -EPERM, NULL },
        { "net.ipv4.conf.eth0.forwarding.x",   -EPERM, NULL },
        { "net.ipv6.conf.all.accept_ra",       -EPERM, NULL },
        { "net.bridge.bridge-nf-filter-vlan-tagged", -EPERM, NULL },
        { "net.core.somaxconn",                -EPERM, NULL },
        { "vm.overcommit_memory",              -EPERM, NULL },
};

START_TEST(test_normalize) {
        const char *key = normalize_cases[_i].key;
        char *path = (char *) "untouched";
        int r;

        r = sysctl_key_normalize(key, &path);
        ck_assert_msg(r == normalize_cases[_i].ret, "'%s': got %d, want %d", key, r,
                      normalize_cases[_i].ret);
        if (r < 0) {
                ck_assert_str_eq(path, "untouched");
                return;
        }
        ck_assert_str_eq(path, normalize_cases[_i].path);
        /* What normalises is allowed, and spelled back as a key it normalises to itself. */
        ck_assert(sysctl_path_allowed(path));
        _cleanup_free_ char *back = sysctl_path_to_key(path);
        _cleanup_free_ char *again = NULL;
        ck_assert_ptr_nonnull(back);
        ck_assert_int_eq(sysctl_key_normalize(back, &again), 0);
        ck_assert_str_eq(again, path);
        free(path);
}
END_TEST

START_TEST(test_normalize_long) {
        char key[SYSCTL_KEY_MAX + 2];
        char *path = NULL;

        /* Exactly the limit is accepted, one more is not. */
        memset(key, 'x', sizeof(key));
        memcpy(key, "net.netfilter.", strlen("net.netfilter."));
        key[SYSCTL_KEY_MAX] = '\0';
        ck_assert_int_eq(sysctl_key_normalize(key, &path), 0);
        ck_assert_uint_eq(strlen(path), SYSCTL_KEY_MAX);
        free(path);
        path = NULL;
        key[SYSCTL_KEY_MAX] = 'x';
        key[SYSCTL_KEY_MAX + 1] = '\0';
        ck_assert_int_eq(sysctl_key_normalize(key, &path), -EINVAL);
        ck_assert_ptr_null(path);
        ck_assert_int_eq(sysctl_key_normalize(NULL, &path), -EINVAL);
}
END_TEST

/* The allow-list over paths that are already normalised, or pretend to be. A path that is not
 * normalised is never allowed, whatever pattern it would match. */
static const struct {
        const char *path;
        bool allowed;
} allow_cases[] = {
        { "net/netfilter/nf_conntrack_max",              true },
        { "net/netfilter/nf_conntrack_buckets",          true },
        { "net/netfilter/nf_conntrack_tcp_timeout_established", true },
        { "net/netfilter/nf_log/2",                      true },
        { "net/ipv4/ip_forward",                         true },
        { "net/ipv4/conf/all/forwarding",                true },
        { "net/ipv4/conf/eth0.100/forwarding",           true },
        { "net/ipv4/conf/Lan0.100/forwarding",           true },
        { "net/ipv4/conf/Lan0/Forwarding",               false },
        { "net/IPV4/conf/lan0/forwarding",               false },
        { "net/ipv6/conf/default/forwarding",            true },
        { "net/bridge/bridge-nf-call-ip6tables",         true },
        { "net/netfilter",                               false },
        { "net/netfilter/",                              false },
        { "net/netfilter/../../kernel/sysrq",            false },
        { "net/netfilter/./nf_conntrack_max",            false },
        { "net/netfilter//nf_conntrack_max",             false },
        { "/net/netfilter/nf_conntrack_max",             false },
        { "net/netfilter/nf_conntrack_max/",             false },
        { "net/netfilter/NF_CONNTRACK_MAX",              false },
        { "net/netfilter/nf conntrack",                  false },
        { "net/ipv4/conf/../../../kernel/forwarding",    false },
        { "net/ipv4/conf/a/b/forwarding",                false },
        { "net/ipv4/conf//forwarding",                   false },
        { "net/ipv4/ip_forward/x",                       false },
        { "net/ipv4/tcp_syncookies",                     false },
        { "net/bridge/bridge-nf-filter-pppoe-tagged",    false },
        { "net/bridge/bridge-nf-call-iptables/x",        false },
        { "kernel/sysrq",                                false },
        { "",                                            false },
};

START_TEST(test_allowed) {
        ck_assert_msg(sysctl_path_allowed(allow_cases[_i].path) == allow_cases[_i].allowed,
                      "'%s': want %s", allow_cases[_i].path,
                      allow_cases[_i].allowed ? "allowed" : "refused");
}
END_TEST

static const struct {
        const char *path;
        const char *key;
} to_key_cases[] = {
        { "net/netfilter/nf_conntrack_max",    "net.netfilter.nf_conntrack_max" },
        { "net/netfilter/nf_log/2",            "net.netfilter.nf_log.2" },
        { "net/ipv4/conf/eth0.100/forwarding", "net.ipv4.conf.eth0/100.forwarding" },
        { "net/ipv6/conf/a.b.c/forwarding",    "net.ipv6.conf.a/b/c.forwarding" },
        { "net/ipv4/ip_forward",               "net.ipv4.ip_forward" },
};

START_TEST(test_path_to_key) {
        _cleanup_free_ char *key = sysctl_path_to_key(to_key_cases[_i].path);
        _cleanup_free_ char *path = NULL;

        ck_assert_str_eq(key, to_key_cases[_i].key);
        ck_assert_int_eq(sysctl_key_normalize(key, &path), 0);
        ck_assert_str_eq(path, to_key_cases[_i].path);
}
END_TEST

int main(void) {
        Suite *s = suite_create("sysctl-key");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_normalize, 0, ELEMENTSOF(normalize_cases));
        tcase_add_test(tc, test_normalize_long);
        tcase_add_loop_test(tc, test_allowed, 0, ELEMENTSOF(allow_cases));
        tcase_add_loop_test(tc, test_path_to_key, 0, ELEMENTSOF(to_key_cases));
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
