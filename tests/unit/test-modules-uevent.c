/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>

#include "macro.h"
#include "uevent.h"

/* Messages are written with "|" for the NUL that ends every field, so that a table can show
 * them; the last field's NUL is written too, as the kernel sends it. */
static size_t unbar(const char *in, char *out, size_t size) {
        size_t n = strlen(in);

        ck_assert_uint_lt(n, size);
        for (size_t i = 0; i < n; i++)
                out[i] = in[i] == '|' ? '\0' : in[i];
        return n;
}

static const struct {
        const char *msg;
        int ret;
        UeventAction action;
        const char *subsystem;
        const char *module;
        unsigned long long seqnum;
} cases[] = {
        /* What the kernel sends when a module goes and comes. */
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|SEQNUM=4711|",
          0, UEVENT_ACTION_REMOVE, "module", "nf_nat", 4711 },
        { "add@/module/nf_conntrack|ACTION=add|DEVPATH=/module/nf_conntrack|SUBSYSTEM=module|SEQNUM=1|",
          0, UEVENT_ACTION_ADD, "module", "nf_conntrack", 1 },
        /* Keys in another order, extra keys, no SEQNUM. */
        { "add@/module/nf_defrag_ipv6|SUBSYSTEM=module|DEVPATH=/module/nf_defrag_ipv6|ACTION=add|FOO=bar|",
          0, UEVENT_ACTION_ADD, "module", "nf_defrag_ipv6", 0 },
        /* A '-' in a module name folds to '_'. */
        { "remove@/module/nf-nat|ACTION=remove|DEVPATH=/module/nf-nat|SUBSYSTEM=module|SEQNUM=2|",
          0, UEVENT_ACTION_REMOVE, "module", "nf_nat", 2 },
        /* Another subsystem parses, without a module. */
        { "change@/devices/virtual/net/lo|ACTION=change|DEVPATH=/devices/virtual/net/lo|SUBSYSTEM=net|SEQNUM=9|",
          0, UEVENT_ACTION_CHANGE, "net", NULL, 9 },
        { "bind@/devices/pci0000:00/0000:00:01.0|ACTION=bind|DEVPATH=/devices/pci0000:00/0000:00:01.0|SUBSYSTEM=pci|DRIVER=x|",
          0, UEVENT_ACTION_BIND, "pci", NULL, 0 },

        /* libudev's rebroadcast, with its header: not the kernel's. */
        { "libudev|\xfe\xed\xca\xfe(header)ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",
          -EPROTONOSUPPORT, 0, NULL, NULL, 0 },
        { "libudev|", -EPROTONOSUPPORT, 0, NULL, NULL, 0 },

        /* Malformed. */
        { "|", -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module",     /* no final NUL: truncated */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",     /* no '@' */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",          /* no action */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@module/nf_nat|ACTION=remove|DEVPATH=module/nf_nat|SUBSYSTEM=module|",      /* relative */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",                  /* no ACTION */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|SUBSYSTEM=module|",                           /* no DEVPATH */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|",                     /* no SUBSYSTEM */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=|",          /* empty SUBSYSTEM */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=add|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",       /* header disagrees */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_conntrack|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "removed@/module/nf_nat|ACTION=removed|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",  /* unknown action */
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },                                                  /* twice */
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|garbage|",
          -EBADMSG, 0, NULL, NULL, 0 },                                                  /* no '=' */
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module||",
          -EBADMSG, 0, NULL, NULL, 0 },                                                  /* empty field */
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|=x|",
          -EBADMSG, 0, NULL, NULL, 0 },                                                  /* empty key */
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|lower=x|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|SEQNUM=12a|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|SEQNUM=|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat|ACTION=remove|DEVPATH=/module/nf_nat|SUBSYSTEM=module|SEQNUM=99999999999999999999|",
          -EBADMSG, 0, NULL, NULL, 0 },
        /* Module names that could not be a module's, or would escape /sys/module. */
        { "remove@/module/|ACTION=remove|DEVPATH=/module/|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/../x|ACTION=remove|DEVPATH=/module/../x|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/nf_nat/x|ACTION=remove|DEVPATH=/module/nf_nat/x|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/devices/nf_nat|ACTION=remove|DEVPATH=/devices/nf_nat|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },
        { "remove@/module/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|ACTION=remove|"
          "DEVPATH=/module/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|SUBSYSTEM=module|",
          -EBADMSG, 0, NULL, NULL, 0 },                                                  /* 56 chars */
};

START_TEST(test_uevent_parse) {
        char buf[UEVENT_MESSAGE_MAX];
        size_t n = unbar(cases[_i].msg, buf, sizeof(buf));
        Uevent ev = { .action = 42 };
        int r;

        r = uevent_parse(buf, n, &ev);
        ck_assert_msg(r == cases[_i].ret, "case %d '%s': got %d, want %d", _i, cases[_i].msg, r,
                      cases[_i].ret);
        if (r < 0) {
                ck_assert_int_eq(ev.action, 42);        /* untouched */
                return;
        }
        ck_assert_int_eq(ev.action, cases[_i].action);
        ck_assert_str_eq(ev.subsystem, cases[_i].subsystem);
        ck_assert_uint_eq(ev.seqnum, cases[_i].seqnum);
        if (cases[_i].module)
                ck_assert_str_eq(ev.module, cases[_i].module);
        else
                ck_assert_ptr_null(ev.module);
}
END_TEST

/* Every prefix of a good message is a truncated message: never accepted, never read past
 * (under ASan, a read beyond len is caught). SUBSYSTEM comes last here, so that no prefix is a
 * complete message by chance. */
START_TEST(test_uevent_truncated) {
        static const char good[] =
                "remove@/module/nf_nat|ACTION=remove|SEQNUM=7|DEVPATH=/module/nf_nat|SUBSYSTEM=module|";
        char full[sizeof(good)];
        size_t n = unbar(good, full, sizeof(full));

        ck_assert_int_eq(uevent_parse(full, n, &(Uevent) {}), 0);
        for (size_t len = 0; len < n; len++) {
                _cleanup_free_ char *copy = malloc(len ?: 1);
                Uevent ev;
                int r;

                memcpy(copy, full, len);
                r = uevent_parse(copy, len, &ev);
                ck_assert_msg(r == -EBADMSG, "prefix of %zu bytes: got %d", len, r);
        }
}
END_TEST

START_TEST(test_uevent_action_strings) {
        for (UeventAction a = 0; a < _UEVENT_ACTION_MAX; a++)
                ck_assert_int_eq(uevent_action_from_string(uevent_action_to_string(a)), a);
        ck_assert_int_eq(uevent_action_from_string("Add"), -EINVAL);
        ck_assert_ptr_null(uevent_action_to_string(_UEVENT_ACTION_MAX));
}
END_TEST

int main(void) {
        Suite *s = suite_create("uevent");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_uevent_parse, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_uevent_truncated);
        tcase_add_test(tc, test_uevent_action_strings);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
