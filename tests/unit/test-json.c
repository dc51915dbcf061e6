/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>

#include "json.h"
#include "macro.h"

static char *capture_string(const char *in) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(json_write_string(f, in), 0);
        fclose(f);
        return out;
}

static const struct {
        const char *in;
        const char *out;
} string_cases[] = {
        { "",                           "\"\"" },
        { "10.0.0.5",                   "\"10.0.0.5\"" },
        { "say \"hi\"",                 "\"say \\\"hi\\\"\"" },
        { "C:\\path",                   "\"C:\\\\path\"" },
        { "a/b",                        "\"a/b\"" },            /* '/' needs no escape */
        { "tab\there\nnl\rcr",          "\"tab\\there\\nnl\\rcr\"" },
        { "\b\f",                       "\"\\b\\f\"" },
        { "\x01\x1f\x7f",               "\"\\u0001\\u001f\\u007f\"" },
        { "caf\xc3\xa9",                "\"caf\xc3\xa9\"" },                    /* é kept */
        { "\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\"" }, /* € and an emoji */
        { "bad\xff",                    "\"bad\\ufffd\"" },
        { "cut\xc3",                    "\"cut\\ufffd\"" },                     /* truncated sequence */
        { "\xc0\xaf",                   "\"\\ufffd\\ufffd\"" },                 /* overlong '/' */
        { "\xed\xa0\x80",               "\"\\ufffd\\ufffd\\ufffd\"" },          /* a surrogate */
        { "\xf4\x90\x80\x80",           "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },   /* above U+10FFFF */
        { "\xc3\x28",                   "\"\\ufffd(\"" },
};

START_TEST(test_string) {
        _cleanup_free_ char *s = capture_string(string_cases[_i].in);

        ck_assert_str_eq(s, string_cases[_i].out);
}
END_TEST

START_TEST(test_null_string) {
        _cleanup_free_ char *s = capture_string(NULL);

        ck_assert_str_eq(s, "\"\"");
}
END_TEST

START_TEST(test_document) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        JsonWriter w;

        ck_assert_ptr_nonnull(f);
        json_init(&w, f);
        json_begin_object(&w);
        json_key(&w, "entries");
        json_unsigned(&w, 18446744073709551615u);
        json_key(&w, "truncated");
        json_bool(&w, false);
        json_key(&w, "src");
        json_begin_array(&w);
        for (unsigned i = 0; i < 2; i++) {
                json_begin_object(&w);
                json_key(&w, "key");
                json_string(&w, i == 0 ? "10.0.0.5" : "\"odd\"");
                json_key(&w, "count");
                json_unsigned(&w, 10 - i);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_key(&w, "empty");
        json_begin_array(&w);
        json_end_array(&w);
        json_key(&w, "none");
        json_null(&w);
        json_end_object(&w);
        ck_assert_int_eq(json_finish(&w), 0);
        fclose(f);

        ck_assert_str_eq(out, "{\"entries\":18446744073709551615,\"truncated\":false,"
                              "\"src\":[{\"key\":\"10.0.0.5\",\"count\":10},"
                              "{\"key\":\"\\\"odd\\\"\",\"count\":9}],\"empty\":[],\"none\":null}\n");
}
END_TEST

/* Misuse is reported, not written out as broken JSON. */
static void misuse_unclosed(JsonWriter *w) {
        json_begin_object(w);
}
static void misuse_key_in_array(JsonWriter *w) {
        json_begin_array(w);
        json_key(w, "k");
        json_end_array(w);
}
static void misuse_dangling_key(JsonWriter *w) {
        json_begin_object(w);
        json_key(w, "k");
        json_end_object(w);
}
static void misuse_two_documents(JsonWriter *w) {
        json_unsigned(w, 1);
        json_unsigned(w, 2);
}
static void misuse_close_nothing(JsonWriter *w) {
        json_end_object(w);
}
static void misuse_too_deep(JsonWriter *w) {
        for (unsigned i = 0; i <= JSON_DEPTH_MAX; i++)
                json_begin_array(w);
}

static void (* const misuses[])(JsonWriter *w) = {
        misuse_unclosed, misuse_key_in_array, misuse_dangling_key, misuse_two_documents,
        misuse_close_nothing, misuse_too_deep,
};

START_TEST(test_misuse) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        JsonWriter w;

        ck_assert_ptr_nonnull(f);
        json_init(&w, f);
        misuses[_i](&w);
        ck_assert_int_eq(json_finish(&w), -EINVAL);
        fclose(f);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("json");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_string, 0, ELEMENTSOF(string_cases));
        tcase_add_test(tc, test_null_string);
        tcase_add_test(tc, test_document);
        tcase_add_loop_test(tc, test_misuse, 0, ELEMENTSOF(misuses));
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
