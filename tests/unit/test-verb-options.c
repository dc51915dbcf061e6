/* SPDX-License-Identifier: GPL-2.0-or-later */

/* verb_parse_argv() as a table: argv in, the exit status (or -1 to go on) and the parsed
 * arguments out, for a verb's syntax and for ctguard's own, which stops at the verb. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "verbs.h"

typedef struct TestArgs {
        bool flag;
        bool json;
        unsigned n;
        unsigned sum;
        const char *name;
} TestArgs;

static int parse_n(const char *arg, void *dest) {
        if (parse_unsigned(arg, dest) < 0)
                return log_error_errno(-EINVAL, "Invalid -n '%s'.", arg);
        return 0;
}

static int parse_add(const char *arg, void *dest) {
        unsigned v;

        if (parse_unsigned(arg, &v) < 0)
                return -EINVAL;
        *(unsigned *) dest += v;        /* repeated: accumulates */
        return 0;
}

static int parse_done(const char *arg, void *dest) {
        return VERB_OPTION_EXIT;
}

static const VerbOption test_options[] = {
        VERB_OPTION_FLAG("flag", "A flag", TestArgs, flag),
        { "number", 'n', "N", "A number", parse_n, offsetof(TestArgs, n) },
        { "add", 0, "N", "Adds N\nto the sum", parse_add, offsetof(TestArgs, sum) },
        VERB_OPTION_JSON("JSON", TestArgs, json),
        VERB_OPTION_STRING("name", "NAME", "A name", TestArgs, name),
        { "secret", 0, NULL, NULL, parse_done, 0 },
        {}
};

static const VerbSyntax test_syntax = {
        .name = "test",
        .description = "Tests.\n",
        .options = test_options,
};

static const VerbSyntax positional_syntax = {
        .options = test_options,
        .positional = true,
};

#define ARGV(...) ((const char * const []) { __VA_ARGS__, NULL })

static const struct {
        const VerbSyntax *syntax;
        const char * const *argv;
        int ret;
        TestArgs args;          /* when ret is -1 */
        int next;               /* optind after a positional parse */
} cases[] = {
        { &test_syntax, ARGV("test"),                                 -1,        {}, 0 },
        { &test_syntax, ARGV("test", "--flag"),                       -1,        { .flag = true }, 0 },
        { &test_syntax, ARGV("test", "--json", "--flag"),             -1,        { .flag = true, .json = true }, 0 },
        { &test_syntax, ARGV("test", "-n", "5"),                      -1,        { .n = 5 }, 0 },
        { &test_syntax, ARGV("test", "-n7"),                          -1,        { .n = 7 }, 0 },
        { &test_syntax, ARGV("test", "--number=9"),                   -1,        { .n = 9 }, 0 },
        { &test_syntax, ARGV("test", "--num", "3"),                   -1,        { .n = 3 }, 0 },  /* getopt's prefixes */
        { &test_syntax, ARGV("test", "--add=2", "--add", "3"),        -1,        { .sum = 5 }, 0 },
        { &test_syntax, ARGV("test", "--name", "a", "--name=b"),      -1,        { .name = "b" }, 0 },
        { &test_syntax, ARGV("test", "--name"),                       EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "-n", "x"),                      EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "-n"),                           EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "--flag=1"),                     EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "--bogus"),                      EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "-x"),                           EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "extra"),                        EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "--flag", "extra"),              EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "--help"),                       0,         {}, 0 },
        { &test_syntax, ARGV("test", "-h", "--bogus"),                0,         {}, 0 },  /* in order */
        { &test_syntax, ARGV("test", "--bogus", "-h"),                EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "extra", "--help"),              0,         {}, 0 },  /* options first */
        { &test_syntax, ARGV("test", "--secret", "--bogus"),          0,         {}, 0 },
        { &test_syntax, ARGV("test", "--log-level", "bogus"),         EX_USAGE,  {}, 0 },
        { &test_syntax, ARGV("test", "--log-level=debug"),            -1,        {}, 0 },
        { &test_syntax, ARGV("test", "--root"),                       EX_USAGE,  {}, 0 },
        { &positional_syntax, ARGV("ctguard", "verb"),                -1,        {}, 1 },
        { &positional_syntax, ARGV("ctguard", "--flag", "verb", "-n", "3"), -1,  { .flag = true }, 2 },
        { &positional_syntax, ARGV("ctguard", "-c", "/x", "verb"),    -1,        {}, 3 },
        { &positional_syntax, ARGV("ctguard"),                        -1,        {}, 1 },
        { &positional_syntax, ARGV("ctguard", "--bogus", "verb"),     EX_USAGE,  {}, 0 },
};

START_TEST(test_parse) {
        size_t argc = 0;
        TestArgs a = {};
        char **argv;
        int r;

        while (cases[_i].argv[argc])
                argc++;
        /* getopt permutes argv: give it a copy. */
        argv = calloc(argc + 1, sizeof(char *));
        ck_assert_ptr_nonnull(argv);
        memcpy(argv, cases[_i].argv, argc * sizeof(char *));

        r = verb_parse_argv(cases[_i].syntax, (int) argc, argv, &a);
        ck_assert_int_eq(r, cases[_i].ret);
        if (r == -1) {
                ck_assert(a.flag == cases[_i].args.flag);
                ck_assert(a.json == cases[_i].args.json);
                ck_assert_uint_eq(a.n, cases[_i].args.n);
                ck_assert_uint_eq(a.sum, cases[_i].args.sum);
                ck_assert_str_eq(strempty(a.name), strempty(cases[_i].args.name));
                if (cases[_i].syntax->positional)
                        ck_assert_int_eq(optind, cases[_i].next);
        }
        free(argv);
        log_set_max_level(LOG_INFO);
}
END_TEST

START_TEST(test_common) {
        char *argv[] = { (char *) "test", (char *) "--root", (char *) "/", (char *) "-c", (char *) "/etc/x", NULL };
        char *argv2[] = { (char *) "test", (char *) "--root=/tmp/r", NULL };
        TestArgs a = {};

        ck_assert_int_eq(verb_parse_argv(&test_syntax, 5, argv, &a), -1);
        ck_assert_str_eq(arg_root, "");         /* "/" is the real root, spelled "" */
        ck_assert_str_eq(arg_config, "/etc/x");
        ck_assert_int_eq(verb_parse_argv(&test_syntax, 2, argv2, &a), -1);
        ck_assert_str_eq(arg_root, "/tmp/r");
}
END_TEST

static char *capture(void (*f)(FILE *f)) {
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(m);
        f(m);
        ck_assert_int_eq(fclose(m), 0);
        return buf;
}

static void dump(FILE *f) {
        verb_options_dump(f, "test", test_options);
}

static void help(FILE *f) {
        verb_options_help(f, test_options, false);
}

START_TEST(test_dump_and_help) {
        _cleanup_free_ char *d = capture(dump), *h = capture(help);

        /* The common options, then the verb's, each name on its own line; hidden ones not. */
        ck_assert_ptr_nonnull(strstr(d, "test -c FILE\ntest --config FILE\n"));
        ck_assert_ptr_nonnull(strstr(d, "test --help -\n"));
        ck_assert_ptr_nonnull(strstr(d, "test --flag -\ntest -n N\ntest --number N\ntest --add N\ntest --json -\ntest --name NAME\n"));
        ck_assert_ptr_null(strstr(d, "secret"));

        /* The help text at column 19 at least; a continuation line indented to it. */
        ck_assert_str_eq(h,
                         "     --flag        A flag\n"
                         "  -n --number=N    A number\n"
                         "     --add=N       Adds N\n"
                         "                   to the sum\n"
                         "     --json        JSON\n"
                         "     --name=NAME   A name\n");
}
END_TEST

int main(void) {
        Suite *s = suite_create("verb-options");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_parse, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_common);
        tcase_add_test(tc, test_dump_and_help);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
