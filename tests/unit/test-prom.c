/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <errno.h>

#include "macro.h"
#include "prom.h"

static const PromFamily fam_up = { "t_up", PROM_GAUGE, "Whether it runs." };
static const PromFamily fam_drop = { "t_drop_total", PROM_COUNTER, "Drops." };
static const PromFamily fam_bad_counter = { "t_drop", PROM_COUNTER, "No _total." };
static const PromFamily fam_bad_name = { "t-up", PROM_GAUGE, "A dash." };
static const PromFamily fam_help = { "t_help", PROM_GAUGE, "back\\slash\nnewline \"quote\"" };

static char *label_value(const char *in) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(prom_write_label_value(f, in), 0);
        fclose(f);
        return out;
}

static const struct {
        const char *in;
        const char *out;
} escape_cases[] = {
        { "",                   "" },
        { "nf_conntrack",       "nf_conntrack" },
        { "a\\b",               "a\\\\b" },
        { "say \"hi\"",         "say \\\"hi\\\"" },
        { "two\nlines",         "two\\nlines" },
        { "\\\"\n",             "\\\\\\\"\\n" },
        { "tab\tstays",         "tab\tstays" },
        { "caf\xc3\xa9",        "caf\xc3\xa9" },
};

START_TEST(test_escape) {
        _cleanup_free_ char *s = label_value(escape_cases[_i].in);

        ck_assert_str_eq(s, escape_cases[_i].out);
}
END_TEST

typedef struct Step {
        const PromFamily *family;
        const char *labels[5];
        PromValue value;
} Step;

static const struct {
        const char *name;
        Step steps[6];
        int error;
        const char *out;
} write_cases[] = {
        { .name = "one gauge",
          { { .family = &fam_up, .labels = {}, .value = { .known = true, .integer = true, .u = 1 } } }, 0,
          "# HELP t_up Whether it runs.\n# TYPE t_up gauge\nt_up 1\n" },
        { .name = "HELP and TYPE once for two samples",
          { { .family = &fam_drop, .labels = { "cpu", "0" }, .value = { .known = true, .integer = true, .u = 3 } },
            { .family = &fam_drop, .labels = { "cpu", "1" }, .value = { .known = true, .integer = true, .u = 18446744073709551615ull } } }, 0,
          "# HELP t_drop_total Drops.\n# TYPE t_drop_total counter\n"
          "t_drop_total{cpu=\"0\"} 3\nt_drop_total{cpu=\"1\"} 18446744073709551615\n" },
        { .name = "label values escaped",
          { { .family = &fam_up, .labels = { "key", "a\"b\\c\nd", "x", "y" }, .value = { .known = true, .integer = true, .u = 0 } } }, 0,
          "# HELP t_up Whether it runs.\n# TYPE t_up gauge\n"
          "t_up{key=\"a\\\"b\\\\c\\nd\",x=\"y\"} 0\n" },
        { .name = "an unreadable value is omitted, not 0",
          { { .family = &fam_drop, .labels = { "cpu", "0" }, .value = { .known = false } },
            { .family = &fam_drop, .labels = { "cpu", "1" }, .value = { .known = true, .integer = true, .u = 5 } } }, 0,
          "# HELP t_drop_total Drops.\n# TYPE t_drop_total counter\n"
          "t_drop_total{cpu=\"1\"} 5\n" },
        { .name = "a family with nothing readable is omitted whole",
          { { .family = &fam_drop, .labels = {}, .value = { .known = false } }, { .family = &fam_up, .labels = {}, .value = { .known = true, .integer = true, .u = 1 } } }, 0,
          "# HELP t_up Whether it runs.\n# TYPE t_up gauge\nt_up 1\n" },
        { .name = "doubles and special values",
          { { .family = &fam_up, .labels = { "v", "a" }, .value = { .known = true, .d = 0.5 } },
            { .family = &fam_up, .labels = { "v", "b" }, .value = { .known = true, .d = 1.0 / 0.0 } } }, 0,
          "# HELP t_up Whether it runs.\n# TYPE t_up gauge\n"
          "t_up{v=\"a\"} 0.5\nt_up{v=\"b\"} +Inf\n" },
        { .name = "HELP text escapes backslash and newline",
          { { .family = &fam_help, .labels = {}, .value = { .known = true, .integer = true, .u = 2 } } }, 0,
          "# HELP t_help back\\\\slash\\nnewline \"quote\"\n# TYPE t_help gauge\nt_help 2\n" },
        { .name = "returning to a family is refused",
          { { .family = &fam_up, .labels = {}, .value = { .known = true, .integer = true, .u = 1 } }, { .family = &fam_drop, .labels = {}, .value = { .known = true, .integer = true, .u = 1 } },
            { .family = &fam_up, .labels = {}, .value = { .known = true, .integer = true, .u = 2 } } }, -EINVAL,
          NULL },
        { .name = "a counter must end in _total",
          { { .family = &fam_bad_counter, .labels = {}, .value = { .known = true, .integer = true, .u = 1 } } }, -EINVAL, NULL },
        { .name = "an invalid metric name",
          { { .family = &fam_bad_name, .labels = {}, .value = { .known = true, .integer = true, .u = 1 } } }, -EINVAL, NULL },
        { .name = "an invalid label name",
          { { .family = &fam_up, .labels = { "0key", "v" }, .value = { .known = true, .integer = true, .u = 1 } } }, -EINVAL, NULL },
        { .name = "a reserved label name",
          { { .family = &fam_up, .labels = { "__name__", "v" }, .value = { .known = true, .integer = true, .u = 1 } } }, -EINVAL, NULL },
};

START_TEST(test_write) {
        _cleanup_free_ char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        PromWriter w;

        ck_assert_ptr_nonnull(f);
        prom_init(&w, f);
        for (size_t i = 0; i < ELEMENTSOF(write_cases[_i].steps) && write_cases[_i].steps[i].family; i++) {
                const Step *s = &write_cases[_i].steps[i];
                prom_sample(&w, s->family, s->labels[0] ? s->labels : NULL, s->value);
        }
        ck_assert_msg(prom_finish(&w) == write_cases[_i].error, "%s", write_cases[_i].name);
        fclose(f);
        if (write_cases[_i].out)
                ck_assert_msg(streq(out, write_cases[_i].out), "%s: got\n%s", write_cases[_i].name, out);
}
END_TEST

static Suite *prom_suite(void) {
        Suite *s = suite_create("prom");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_escape, 0, ELEMENTSOF(escape_cases));
        tcase_add_loop_test(tc, test_write, 0, ELEMENTSOF(write_cases));
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(prom_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
