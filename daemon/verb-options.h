/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The command line of ctguard and of each verb, as tables. A verb declares its options once, as
 * rows of VerbOption; verb_parse_argv() builds the getopt tables from them, adds the common
 * options (--config, --root, --log-level, --help), prints the verb's --help from them, and the
 * hidden "ctguard --list-options" dumps them for the tests that hold the bash completion and
 * ctguard(8) against the code.
 *
 * A new option is a member of the verb's argument struct and one row, plus its handler unless
 * it is a flag or a plain string:
 *
 *     VERB_OPTION_FLAG("dry-run", "Change nothing; print what would be done", RepairArgs, dry_run),
 *     VERB_OPTION_STRING("unit", "NAME", "Watch NAME", SomeArgs, unit),
 *     { "for", 0, "DURATION", "How long: ...", parse_for, offsetof(HoldArgs, duration) },
 *
 * and its word in shell-completion/ctguard, its mention in the verb's entry of ctguard(8) and
 * in the verb's row of README.md: tests/unit/verb-options.sh fails until all three are there.
 */

/* A handler: parses arg (NULL for an option without argument) into dest, the member of the
 * verb's argument struct the row names. Returns 0 to go on, a negative errno after logging why
 * the value is wrong (the verb exits EX_USAGE), or VERB_OPTION_EXIT to make the verb exit 0
 * now (--version, --list-options: the handler printed what was asked for). */
typedef int (*VerbOptionParse)(const char *arg, void *dest);

#define VERB_OPTION_EXIT 1

typedef struct VerbOption {
        const char *name;               /* the long name, without "--" */
        char short_name;                /* 0: none */
        const char *metavar;            /* NULL: takes no argument; else its name in --help */
        const char *help;               /* one line for --help, '\n' continues it; NULL: hidden */
        VerbOptionParse parse;
        size_t offset;                  /* of dest in the verb's argument struct */
} VerbOption;

/* Sets the bool at dest. */
int verb_option_flag(const char *arg, void *dest);

/* Stores arg (borrowed from argv) in the const char * at dest. */
int verb_option_string(const char *arg, void *dest);

#define VERB_OPTION_FLAG(name, help, type, member) \
        { name, 0, NULL, help, verb_option_flag, offsetof(type, member) }

#define VERB_OPTION_STRING(name, metavar, help, type, member) \
        { name, 0, metavar, help, verb_option_string, offsetof(type, member) }

/* Every verb that can print JSON spells it the same way. */
#define VERB_OPTION_JSON(help, type, member) VERB_OPTION_FLAG("json", help, type, member)

typedef struct VerbSyntax {
        const char *name;               /* "top"; NULL for ctguard itself */
        const char *description;        /* --help: after the usage line, or NULL */
        const VerbOption *options;      /* the verb's own, ending with {}; NULL: none */
        const char *epilogue;           /* --help: after the options, or NULL */
        bool positional;                /* stops at the first argument instead of refusing it */
        void (*help)(const struct VerbSyntax *s);       /* replaces the generated --help */
} VerbSyntax;

/* Parses argv (argv[0] is the verb's name) against the common options and s->options, writing
 * into args (the verb's argument struct, NULL if it has no options). Returns -1 to go on (then
 * optind is the index of the first argument, if s->positional), or the exit status the verb
 * returns now: 0 after --help, EX_USAGE (64) for a usage error (already logged), 1 if out of
 * memory. */
int verb_parse_argv(const VerbSyntax *s, int argc, char *argv[], void *args);

/* The options part of --help: the rows of options (NULL: none), after the common ones if
 * with_common, aligned. */
void verb_options_help(FILE *f, const VerbOption *options, bool with_common);

/* "VERB OPTION ARG" per line, ARG "-" for none, for every option verb accepts (the common
 * ones, then its own; hidden ones left out): what the bash completion must offer. */
void verb_options_dump(FILE *f, const char *verb, const VerbOption *options);
