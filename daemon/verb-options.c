/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "macro.h"
#include "verb-options.h"
#include "verbs.h"

const char *arg_root = "";
const char *arg_config = NULL;

/* getopt's value for the i-th row of the combined table: above every short option. */
#define OPTION_VAL(i) (0x100 + (int) (i))

/* The --help row's handler: never called, the parser prints the help itself. */
static int show_help(const char *arg, void *dest) {
        return VERB_OPTION_EXIT;
}

static int parse_config(const char *arg, void *dest) {
        arg_config = arg;
        return 0;
}

static int parse_root(const char *arg, void *dest) {
        /* "/" and "" both mean the real root; a trailing '/' would double up. */
        arg_root = streq(arg, "/") ? "" : arg;
        return 0;
}

static int parse_log_level(const char *arg, void *dest) {
        static const char * const names[] = {
                [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };

        for (size_t i = LOG_ERR; i < ELEMENTSOF(names); i++)
                if (streq(names[i], arg)) {
                        log_set_max_level((int) i);
                        return 0;
                }
        return log_error_errno(-EINVAL, "Unknown log level '%s'.", arg);
}

/* Accepted before the verb and after it. They write the globals: no destination. */
static const VerbOption common_options[] = {
        { "config",    'c', "FILE", "Use FILE instead of /etc/ctguard/ctguard.conf", parse_config, 0 },
        { "root",      0,   "DIR",  "Prefix every configuration and /proc/sys path with DIR",
          parse_root, 0 },
        { "log-level", 0,   "LVL",  "Log up to LVL: err, warning, notice, info (default), debug",
          parse_log_level, 0 },
        { "help",      'h', NULL,   "Show this help (after a command: that command's help)",
          show_help, 0 },
        {}
};

int verb_option_flag(const char *arg, void *dest) {
        *(bool *) dest = true;
        return 0;
}

int verb_option_string(const char *arg, void *dest) {
        *(const char **) dest = arg;
        return 0;
}

static size_t options_count(const VerbOption *o) {
        size_t n = 0;

        while (o && o[n].name)
                n++;
        return n;
}

/* Row i of common_options followed by own. */
static const VerbOption *option_at(const VerbOption *own, size_t i) {
        size_t n_common = options_count(common_options);

        return i < n_common ? &common_options[i] : &own[i - n_common];
}

/* "  -n --top=N" or "     --json": the left column of --help. */
static int option_spec(const VerbOption *o, char *buf, size_t size) {
        return snprintf(buf, size, "  %c%c --%s%s%s", o->short_name ? '-' : ' ',
                        o->short_name ?: ' ', o->name, o->metavar ? "=" : "", strempty(o->metavar));
}

void verb_options_help(FILE *f, const VerbOption *options, bool with_common) {
        const VerbOption *lists[] = { with_common ? common_options : NULL, options };
        int column = 19;        /* the help text starts here at least, farther for long options */
        char spec[128];

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (const VerbOption *o = lists[l]; o && o->name; o++)
                        if (o->help)
                                column = MAX(column, option_spec(o, spec, sizeof(spec)) + 2);

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (const VerbOption *o = lists[l]; o && o->name; o++) {
                        if (!o->help)
                                continue;
                        option_spec(o, spec, sizeof(spec));
                        fprintf(f, "%-*s", column, spec);
                        for (const char *p = o->help; *p; p++) {
                                fputc(*p, f);
                                if (*p == '\n')
                                        fprintf(f, "%*s", column, "");
                        }
                        fputc('\n', f);
                }
}

/* "Usage: ctguard top [-n N] [--by WHAT,...] [--json]", then the description, the options and
 * the epilogue. */
static void print_help(const VerbSyntax *s) {
        printf("Usage: ctguard %s", s->name);
        for (const VerbOption *o = s->options; o && o->name; o++) {
                if (!o->help)
                        continue;
                if (o->short_name)
                        printf(" [-%c%s%s]", o->short_name, o->metavar ? " " : "", strempty(o->metavar));
                else
                        printf(" [--%s%s%s]", o->name, o->metavar ? " " : "", strempty(o->metavar));
        }
        printf("\n");
        if (s->description)
                printf("\n%s", s->description);
        if (options_count(s->options) > 0) {
                printf("\n");
                verb_options_help(stdout, s->options, false);
        }
        if (s->epilogue)
                printf("\n%s", s->epilogue);
}

void verb_options_dump(FILE *f, const char *verb, const VerbOption *options) {
        const VerbOption *lists[] = { common_options, options };

        for (size_t l = 0; l < ELEMENTSOF(lists); l++)
                for (const VerbOption *o = lists[l]; o && o->name; o++) {
                        if (!o->help)
                                continue;
                        if (o->short_name)
                                fprintf(f, "%s -%c %s\n", verb, o->short_name, o->metavar ?: "-");
                        fprintf(f, "%s --%s %s\n", verb, o->name, o->metavar ?: "-");
                }
}

/* The getopt tables for the common rows and own: the long options in row order, each returning
 * OPTION_VAL(row), and the short ones. */
static int build_getopt(const VerbSyntax *s, struct option **ret_long, char **ret_short) {
        size_t n = options_count(common_options) + options_count(s->options), k = 0;
        _cleanup_free_ struct option *longopts = calloc(n + 1, sizeof(struct option));
        _cleanup_free_ char *shortopts = malloc(1 + 2 * n + 1);

        if (!longopts || !shortopts)
                return -ENOMEM;
        if (s->positional)
                shortopts[k++] = '+';   /* stop at the verb: it parses the rest */
        for (size_t i = 0; i < n; i++) {
                const VerbOption *o = option_at(s->options, i);

                longopts[i] = (struct option) {
                        .name = o->name,
                        .has_arg = o->metavar ? required_argument : no_argument,
                        .val = OPTION_VAL(i),
                };
                if (o->short_name) {
                        shortopts[k++] = o->short_name;
                        if (o->metavar)
                                shortopts[k++] = ':';
                }
        }
        shortopts[k] = '\0';
        *ret_long = TAKE_PTR(longopts);
        *ret_short = TAKE_PTR(shortopts);
        return 0;
}

static const VerbOption *option_find(const VerbSyntax *s, int c, void *args, void **ret_dest) {
        size_t n = options_count(common_options) + options_count(s->options);

        for (size_t i = 0; i < n; i++) {
                const VerbOption *o = option_at(s->options, i);

                if (c == OPTION_VAL(i) || (o->short_name && c == o->short_name)) {
                        /* The common rows write the globals, not into args. */
                        *ret_dest = args && i >= options_count(common_options) ?
                                    (uint8_t *) args + o->offset : NULL;
                        return o;
                }
        }
        return NULL;            /* '?': getopt has said what is wrong */
}

int verb_parse_argv(const VerbSyntax *s, int argc, char *argv[], void *args) {
        _cleanup_free_ struct option *longopts = NULL;
        _cleanup_free_ char *shortopts = NULL;
        int c, r;

        r = build_getopt(s, &longopts, &shortopts);
        if (r < 0)
                return log_oom(), EXIT_FAILURE;

        optind = 0;     /* each verb parses its own argv from the start */
        while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) >= 0) {
                const VerbOption *o;
                void *dest;

                o = option_find(s, c, args, &dest);
                if (!o)
                        return EX_USAGE;
                if (o->parse == show_help) {
                        s->help ? s->help(s) : print_help(s);
                        return EXIT_SUCCESS;
                }
                r = o->parse(optarg, dest);
                if (r < 0)
                        return EX_USAGE;
                if (r == VERB_OPTION_EXIT)
                        return EXIT_SUCCESS;
        }

        if (!s->positional && optind < argc) {
                log_error("Unexpected argument '%s'; see 'ctguard %s --help'.", argv[optind], argv[0]);
                return EX_USAGE;
        }
        return -1;
}
