/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <getopt.h>
#include <sysexits.h>

#include "ctguard-config.h"
#include "config.h"
#include "log.h"
#include "manager.h"
#include "snapshot.h"

static const char *arg_root = "";
static const char *arg_config = NULL;

static void help(void) {
        printf("Usage: ctguard [OPTIONS...] COMMAND\n"
               "\n"
               "Keeps the netfilter connection-tracking stack alive: watches the conntrack\n"
               "modules, restores drifted sysctls and warns before the table fills.\n"
               "\n"
               "Commands:\n"
               "  run                 Run the daemon in the foreground (as systemd does)\n"
               "  check-config        Validate the merged configuration and exit 0, or 78 with\n"
               "                      every error as FILE:LINE: message\n"
               "  cat-config          Print the effective configuration with the origin of\n"
               "                      every value (FILE:LINE, default or snapshot)\n"
               "\n"
               "Options:\n"
               "  -c --config=FILE    Use FILE instead of /etc/ctguard/ctguard.conf\n"
               "     --root=DIR       Prefix every configuration and /proc/sys path with DIR\n"
               "     --log-level=LVL  Log up to LVL: err, warning, notice, info (default), debug\n"
               "  -h --help           Show this help\n"
               "     --version        Show the version\n"
               "\n"
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

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_ROOT = 0x100, ARG_VERSION, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help",      no_argument,       NULL, 'h' },
                { "version",   no_argument,       NULL, ARG_VERSION },
                { "config",    required_argument, NULL, 'c' },
                { "root",      required_argument, NULL, ARG_ROOT },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {}
        };
        int c, l;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("ctguard %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_ROOT:
                        /* "/" and "" both mean the real root; a trailing '/' would double up. */
                        arg_root = optarg;
                        if (streq(arg_root, "/"))
                                arg_root = "";
                        break;
                case ARG_LOG_LEVEL:
                        l = parse_level(optarg);
                        if (l < 0)
                                return log_error_errno(l, "Unknown log level '%s'.", optarg);
                        log_set_max_level(l);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        return 1;
}

static int load_config(Config **ret) {
        _cleanup_(config_errors_done) ConfigErrors errors = {};
        int r;

        r = config_load(arg_root, arg_config, ret, &errors);
        for (size_t i = 0; i < errors.n; i++)
                log_error("%s", errors.messages[i]);
        if (r == -EINVAL)
                return r;
        if (r < 0)
                return log_error_errno(r, "Failed to load the configuration: %m");
        return 0;
}

static int verb_check_config(void) {
        _cleanup_(config_freep) Config *c = NULL;

        if (load_config(&c) < 0)
                return EX_CONFIG;
        printf("configuration OK\n");
        return EXIT_SUCCESS;
}

static int verb_cat_config(void) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        int r;

        if (load_config(&c) < 0)
                return EX_CONFIG;
        if (asprintf(&sysctl_root, "%s/proc/sys", arg_root) < 0)
                return log_oom(), EXIT_FAILURE;
        r = config_take_snapshot(c, sysctl_root);
        if (r < 0)
                log_warning_errno(r, "Failed to read the current sysctl values, ignoring: %m");
        r = config_dump(c, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write the configuration: %m"), EXIT_FAILURE;
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int verb_run(void) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config *c = NULL;
        int r;

        if (load_config(&c) < 0)
                return EX_CONFIG;

        r = manager_new(arg_root, arg_config, c, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the daemon: %m"), EXIT_FAILURE;

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static const struct {
        const char *name;
        int (*run)(void);
} verbs[] = {
        { "run",          verb_run },
        { "check-config", verb_check_config },
        { "cat-config",   verb_cat_config },
};

int main(int argc, char *argv[]) {
        const char *verb;
        int r;

        log_setup(LOG_TARGET_AUTO);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EX_USAGE : EXIT_SUCCESS;

        if (optind >= argc) {
                log_error("No command given; see 'ctguard --help'.");
                return EX_USAGE;
        }
        verb = argv[optind];
        if (optind + 1 < argc) {
                log_error("Too many arguments after '%s'; see 'ctguard --help'.", verb);
                return EX_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, verb))
                        return verbs[i].run();

        log_error("Unknown command '%s'; see 'ctguard --help'.", verb);
        return EX_USAGE;
}
