/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <sysexits.h>

#include "ctguard-config.h"
#include "log.h"
#include "verbs.h"

const char *arg_root = "";
const char *arg_config = NULL;

/* To add a verb: write verb_NAME() in daemon/verb-NAME.c, declare it in verbs.h, list it here. */
static const Verb verbs[] = {
        { "run",          verb_run,          "Run the daemon in the foreground (as systemd does)" },
        { "check-config", verb_check_config, "Validate the configuration: exit 0, or 78 with FILE:LINE errors" },
        { "cat-config",   verb_cat_config,   "Print the effective configuration with each value's origin" },
        { "hold",         verb_hold,         "Put ctguard on hold for maintenance: heal nothing, keep reporting" },
        { "metrics",      verb_metrics,      "Print the Prometheus text exposition once" },
        { "release",      verb_release,      "End a hold; clear the module flap guard and backoff" },
        { "repair",       verb_repair,       "Heal modules and sysctls once, without the daemon (--dry-run)" },
        { "status",       verb_status,       "Show modules, sysctls, table fill, hold and daemon; exit 0/1/2/3 like a monitoring plugin" },
        { "top",          verb_top,          "List who fills the conntrack table: top sources, destinations, ports, states" },
};

static void help(void) {
        printf("Usage: ctguard [OPTIONS...] COMMAND [COMMAND OPTIONS...]\n"
               "\n"
               "Keeps the netfilter connection-tracking stack alive: watches the conntrack\n"
               "modules, restores drifted sysctls and warns before the table fills.\n"
               "\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-14s %s\n", verbs[i].name, verbs[i].help);
        printf("\n"
               "Options:\n"
               "  -c --config=FILE    Use FILE instead of /etc/ctguard/ctguard.conf\n"
               "     --root=DIR       Prefix every configuration and /proc/sys path with DIR\n"
               "     --log-level=LVL  Log up to LVL: err, warning, notice, info (default), debug\n"
               "  -h --help           Show this help (after a command: that command's help)\n"
               "     --version        Show the version\n"
               "\n"
               "Exit status: 0 success, 64 usage error, 78 configuration error, 1 other failure.\n"
               "See ctguard(8) and ctguard.conf(5).\n");
}

static int parse_level(const char *s) {
        static const char * const names[] = {
                [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };
        for (size_t i = LOG_ERR; i < ELEMENTSOF(names); i++)
                if (streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

int verb_common_option(int c, const char *arg) {
        int l;

        switch (c) {
        case 'h':
                return 1;
        case 'c':
                arg_config = arg;
                return 0;
        case ARG_ROOT:
                /* "/" and "" both mean the real root; a trailing '/' would double up. */
                arg_root = streq(arg, "/") ? "" : arg;
                return 0;
        case ARG_LOG_LEVEL:
                l = parse_level(arg);
                if (l < 0)
                        return log_error_errno(l, "Unknown log level '%s'.", arg);
                log_set_max_level(l);
                return 0;
        default:
                return -EINVAL;
        }
}

int verb_other_option(int c, const char *usage) {
        int r = verb_common_option(c, optarg);

        if (r == 1) {
                printf("%s", usage);
                return EXIT_SUCCESS;
        }
        return r < 0 ? EX_USAGE : -1;
}

int verb_no_more_args(int argc, char *argv[]) {
        if (optind >= argc)
                return -1;
        log_error("Unexpected argument '%s'; see 'ctguard %s --help'.", argv[optind], argv[0]);
        return EX_USAGE;
}

int verb_parse_no_args(int argc, char *argv[], const char *usage) {
        static const struct option options[] = {
                COMMON_OPTIONS,
                {}
        };
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS, options, NULL)) >= 0) {
                r = verb_other_option(c, usage);
                if (r >= 0)
                        return r == EXIT_SUCCESS ? 0 : -EINVAL;
        }
        return verb_no_more_args(argc, argv) >= 0 ? -EINVAL : 1;
}

char *verb_sysctl_root(void) {
        char *p;

        if (asprintf(&p, "%s/proc/sys", arg_root) < 0)
                return NULL;
        return p;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c, r;

        log_setup(LOG_TARGET_AUTO);

        /* '+': stop at the verb; it parses the rest. */
        while ((c = getopt_long(argc, argv, "+" COMMON_SHORTOPTS, options, NULL)) >= 0) {
                if (c == ARG_VERSION) {
                        printf("ctguard %s\n", PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                }
                r = verb_common_option(c, optarg);
                if (r == 1) {
                        help();
                        return EXIT_SUCCESS;
                }
                if (r < 0)
                        return EX_USAGE;
        }

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
