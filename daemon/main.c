/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <getopt.h>
#include <sysexits.h>

#include "ctguard-config.h"
#include "log.h"
#include "macro.h"
#include "modules.h"
#include "verbs.h"

/* To add a verb: write verb_NAME() and verb_NAME_syntax in daemon/verb-NAME.c, declare them in
 * verbs.h, list them here. */
static const Verb verbs[] = {
        { "run",          verb_run,          &verb_run_syntax,
          "Run the daemon in the foreground (as systemd does)" },
        { "check-config", verb_check_config, &verb_check_config_syntax,
          "Validate the configuration: exit 0, or 78 with FILE:LINE errors" },
        { "cat-config",   verb_cat_config,   &verb_cat_config_syntax,
          "Print the effective configuration with each value's origin" },
        { "hold",         verb_hold,         &verb_hold_syntax,
          "Put ctguard on hold for maintenance: heal nothing, keep reporting" },
        { "metrics",      verb_metrics,      &verb_metrics_syntax,
          "Print the Prometheus text exposition once" },
        { "release",      verb_release,      &verb_release_syntax,
          "End a hold; clear the module flap guard and backoff" },
        { "repair",       verb_repair,       &verb_repair_syntax,
          "Heal modules and sysctls once, without the daemon (--dry-run)" },
        { "status",       verb_status,       &verb_status_syntax,
          "Show modules, sysctls, table fill, hold and daemon; exit 0/1/2/3 like a monitoring plugin" },
        { "top",          verb_top,          &verb_top_syntax,
          "List who fills the conntrack table: top sources, destinations, ports, states" },
};

static int show_version(const char *arg, void *dest) {
        printf("ctguard %s\n", PACKAGE_VERSION);
        return VERB_OPTION_EXIT;
}

/* Hidden: every option of ctguard and of each verb, for the tests that hold the bash
 * completion and ctguard(8) against the tables. */
static int list_options(const char *arg, void *dest);

static const VerbOption main_options[] = {
        { "version",      0, NULL, "Show the version", show_version, 0 },
        { "list-options", 0, NULL, NULL,               list_options, 0 },
        {}
};

static int list_options(const char *arg, void *dest) {
        verb_options_dump(stdout, "ctguard", main_options);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                printf("%s\n", verbs[i].name);  /* a verb with no options of its own is listed too */
                verb_options_dump(stdout, verbs[i].name, verbs[i].syntax->options);
        }
        return VERB_OPTION_EXIT;
}

static void help(const VerbSyntax *s) {
        printf("Usage: ctguard [OPTIONS...] COMMAND [COMMAND OPTIONS...]\n"
               "\n"
               "Keeps the netfilter connection-tracking stack alive: watches the conntrack\n"
               "modules, restores drifted sysctls and warns before the table fills.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-14s %s\n", verbs[i].name, verbs[i].help);
        printf("\n"
               "Options:\n");
        verb_options_help(stdout, main_options, true);
        printf("\n"
               "Exit status: 0 success, 64 usage error, 78 configuration error, 1 other failure.\n"
               "See ctguard(8) and ctguard.conf(5).\n");
}

static const VerbSyntax main_syntax = {
        .options = main_options,
        .positional = true,
        .help = help,
};

char *verb_sysctl_root(void) {
        char *p;

        if (asprintf(&p, "%s/proc/sys", arg_root) < 0)
                return NULL;
        return p;
}

int verb_module_context(ModuleContext **ret) {
        _cleanup_free_ char *sysfs = NULL, *proc = NULL;
        ModulePaths paths = {};

        if (*arg_root) {
                if (asprintf(&sysfs, "%s/sys", arg_root) < 0 || asprintf(&proc, "%s/proc", arg_root) < 0)
                        return -ENOMEM;
                paths.sysfs = sysfs;
                paths.proc = proc;
        }
        return module_context_new(&paths, ret);
}

int main(int argc, char *argv[]) {
        int r;

        log_setup(LOG_TARGET_AUTO);

        r = verb_parse_argv(&main_syntax, argc, argv, NULL);
        if (r >= 0)
                return r;

        if (optind >= argc) {
                log_error("No command given; see 'ctguard --help'.");
                return EX_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        return verbs[i].run(argc - optind, argv + optind);

        log_error("Unknown command '%s'; see 'ctguard --help'.", argv[optind]);
        return EX_USAGE;
}
