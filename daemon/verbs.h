/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "verb-options.h"

/* The ctguard command's verbs. Each verb gets argv starting at its own name and parses it with
 * verb_parse_argv() against its VerbSyntax; the global options (--config, --root, --log-level)
 * are accepted before the verb and after it. */

typedef struct Verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const VerbSyntax *syntax;       /* its options, for --list-options */
        const char *help;               /* one line for --help */
} Verb;

extern const char *arg_root;    /* "" for / */
extern const char *arg_config;  /* NULL: /etc/ctguard/ctguard.conf */

/* "<root>/proc/sys": where the verbs read and write sysctls. */
char *verb_sysctl_root(void);

/* The modules' state and names beneath --root (its sys/ and proc/), for reading: nothing is
 * loaded through it. Returns module_context_new()'s result. */
struct ModuleContext;
int verb_module_context(struct ModuleContext **ret);

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

extern const VerbSyntax verb_run_syntax, verb_check_config_syntax, verb_cat_config_syntax,
        verb_top_syntax, verb_hold_syntax, verb_release_syntax, verb_repair_syntax,
        verb_status_syntax, verb_metrics_syntax;
