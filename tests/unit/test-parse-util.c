/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>

#include "macro.h"
#include "parse-util.h"

static const struct {
        const char *in;
        int ret;
        usec_t usec;
} sec_cases[] = {
        { "1s",          0, USEC_PER_SEC },
        { "1",           0, USEC_PER_SEC },
        { "200ms",       0, 200 * USEC_PER_MSEC },
        { "10min",       0, 10 * USEC_PER_MINUTE },
        { "1h",          0, USEC_PER_HOUR },
        { "1h 30min",    0, USEC_PER_HOUR + 30 * USEC_PER_MINUTE },
        { "1.5s",        0, 1500 * USEC_PER_MSEC },
        { ".5s",         0, 500 * USEC_PER_MSEC },
        { "2d",          0, 2 * USEC_PER_DAY },
        { "1w",          0, USEC_PER_WEEK },
        { "50us",        0, 50 },
        { "5m",          0, 5 * USEC_PER_MINUTE },
        { "  3s  ",      0, 3 * USEC_PER_SEC },
        { "",            -EINVAL, 0 },
        { "s",           -EINVAL, 0 },
        { "1x",          -EINVAL, 0 },
        { "-1s",         -EINVAL, 0 },
        { "1months",     -EINVAL, 0 },
        { ".",           -EINVAL, 0 },
        { "1.s",         0, USEC_PER_SEC },
        { "99999999999999999999s", -ERANGE, 0 },
        { "40000000w",   -ERANGE, 0 },
};

START_TEST(test_parse_sec) {
        usec_t t = 4242;
        int r = parse_sec(sec_cases[_i].in, &t);

        ck_assert_msg(r == sec_cases[_i].ret, "'%s': got %d, want %d", sec_cases[_i].in, r,
                      sec_cases[_i].ret);
        if (r == 0)
                ck_assert_uint_eq(t, sec_cases[_i].usec);
        else
                ck_assert_uint_eq(t, 4242);     /* untouched on failure */
}
END_TEST

static const struct {
        usec_t in;
        const char *out;
} format_cases[] = {
        { 0,                                          "0" },
        { USEC_PER_SEC,                               "1s" },
        { 200 * USEC_PER_MSEC,                        "200ms" },
        { 10 * USEC_PER_MINUTE,                       "10min" },
        { USEC_PER_HOUR + 30 * USEC_PER_MINUTE,       "1h 30min" },
        { USEC_PER_DAY + 1,                           "1d 1us" },
};

START_TEST(test_format_timespan) {
        char buf[FORMAT_TIMESPAN_MAX];
        usec_t back;

        ck_assert_str_eq(format_timespan(buf, sizeof(buf), format_cases[_i].in), format_cases[_i].out);
        /* What we print, we parse back to the same value. */
        ck_assert_int_eq(parse_sec(buf, &back), 0);
        ck_assert_uint_eq(back, format_cases[_i].in);
}
END_TEST

static const struct {
        const char *in;
        int ret;
} bool_cases[] = {
        { "yes", 1 }, { "true", 1 }, { "on", 1 }, { "1", 1 }, { "YES", 1 },
        { "no", 0 }, { "false", 0 }, { "off", 0 }, { "0", 0 },
        { "", -EINVAL }, { "2", -EINVAL }, { "yess", -EINVAL },
};

START_TEST(test_parse_boolean) {
        ck_assert_int_eq(parse_boolean(bool_cases[_i].in), bool_cases[_i].ret);
}
END_TEST

static const struct {
        const char *in;
        int ret;
        unsigned v;
} unsigned_cases[] = {
        { "0", 0, 0 }, { "42", 0, 42 }, { "4294967295", 0, 4294967295u },
        { "4294967296", -ERANGE, 0 }, { "", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
        { "+1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 }, { " 1", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
};

START_TEST(test_parse_unsigned) {
        unsigned v = 7;

        ck_assert_int_eq(parse_unsigned(unsigned_cases[_i].in, &v), unsigned_cases[_i].ret);
        ck_assert_uint_eq(v, unsigned_cases[_i].ret == 0 ? unsigned_cases[_i].v : 7);
}
END_TEST

int main(void) {
        Suite *s = suite_create("parse-util");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_parse_sec, 0, ELEMENTSOF(sec_cases));
        tcase_add_loop_test(tc, test_format_timespan, 0, ELEMENTSOF(format_cases));
        tcase_add_loop_test(tc, test_parse_boolean, 0, ELEMENTSOF(bool_cases));
        tcase_add_loop_test(tc, test_parse_unsigned, 0, ELEMENTSOF(unsigned_cases));
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
