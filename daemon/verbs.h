/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>

/* The ctguard command's verbs. Each verb gets argv starting at its own name and parses its own
 * options; the global options (--config, --root, --log-level) are accepted before the verb and
 * after it, through COMMON_OPTIONS and verb_common_option(). */

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *help;       /* one line for --help */
} Verb;

extern const char *arg_root;    /* "" for / */
extern const char *arg_config;  /* NULL: /etc/ctguard/ctguard.conf */

enum {
        ARG_ROOT = 0x100,
        ARG_VERSION,
        ARG_LOG_LEVEL,
        _ARG_VERB_FIRST = 0x200,        /* verbs number their own long options from here */
};

#define COMMON_OPTIONS                                                  \
        { "config",    required_argument, NULL, 'c' },                 \
        { "root",      required_argument, NULL, ARG_ROOT },            \
        { "log-level", required_argument, NULL, ARG_LOG_LEVEL },       \
        { "help",      no_argument,       NULL, 'h' }

#define COMMON_SHORTOPTS "c:h"

/* Handles one of COMMON_OPTIONS: returns 0 if handled, 1 if --help was given (the verb prints
 * its help and exits 0), -EINVAL on a bad value or an option that is not common. */
int verb_common_option(int c, const char *arg);

/* For the default: branch of a verb's getopt loop: handles COMMON_OPTIONS (and the '?' of an
 * unknown option). Returns -1 to go on, or the exit status the verb returns now: 0 after
 * printing usage for --help, EX_USAGE for a bad option. */
int verb_other_option(int c, const char *usage);

/* After a verb's getopt loop: -1 if no arguments are left, else logs and returns EX_USAGE. */
int verb_no_more_args(int argc, char *argv[]);

/* Parses argv for a verb that takes no options of its own and no arguments. */
int verb_parse_no_args(int argc, char *argv[], const char *usage);

/* "<root>/proc/sys": where the verbs read and write sysctls. */
char *verb_sysctl_root(void);

/* Loads the configuration, logging every problem; -EINVAL: the configuration is invalid. */
struct Config;
int verb_load_config(struct Config **ret);

/* The exit status for a failure of verb_load_config(): 78 (EX_CONFIG) for an invalid
 * configuration, 1 for anything else. */
int verb_config_exit_status(int r);

int verb_run(int argc, char *argv[]);
int verb_check_config(int argc, char *argv[]);
int verb_cat_config(int argc, char *argv[]);
int verb_top(int argc, char *argv[]);
int verb_hold(int argc, char *argv[]);
int verb_release(int argc, char *argv[]);
int verb_repair(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_metrics(int argc, char *argv[]);

/* verb-netns.c: "status --netns" (the exit status), and the namespace "top --netns ID" enters for
 * its dump: verb_netns_enter() logs and returns -errno, or 0 with the descriptor to go back
 * through, which verb_netns_leavep() uses (a cleanup: -EBADF does nothing). */
int verb_status_netns(bool json);
int verb_netns_enter(const char *id, int *ret_saved);
void verb_netns_leavep(int *saved);
