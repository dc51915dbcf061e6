/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <sysexits.h>

#include "config.h"
#include "log.h"
#include "snapshot.h"
#include "verbs.h"

int verb_load_config(Config **ret) {
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

int verb_config_exit_status(int r) {
        return r == -EINVAL ? EX_CONFIG : EXIT_FAILURE;
}

int verb_check_config(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = verb_parse_no_args(argc, argv,
                               "Usage: ctguard check-config\n\n"
                               "Validates the merged configuration (main file and drop-ins).\n"
                               "Prints 'configuration OK' and exits 0, or prints every problem\n"
                               "as FILE:LINE: what is wrong, and exits 78.\n");
        if (r <= 0)
                return r < 0 ? EX_USAGE : EXIT_SUCCESS;

        r = verb_load_config(&c);
        if (r < 0)
                return verb_config_exit_status(r);
        printf("configuration OK\n");
        return EXIT_SUCCESS;
}

int verb_cat_config(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        int r;

        r = verb_parse_no_args(argc, argv,
                               "Usage: ctguard cat-config\n\n"
                               "Prints the effective configuration. Every value is followed by\n"
                               "its origin: FILE:LINE, default, or snapshot (read from the\n"
                               "running kernel because [Sysctl] assigns nothing).\n");
        if (r <= 0)
                return r < 0 ? EX_USAGE : EXIT_SUCCESS;

        r = verb_load_config(&c);
        if (r < 0)
                return verb_config_exit_status(r);

        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), EXIT_FAILURE;
        r = config_take_snapshot(c, sysctl_root);
        if (r < 0)
                log_warning_errno(r, "Failed to read the current sysctl values, ignoring: %m");

        r = config_dump(c, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write the configuration: %m"), EXIT_FAILURE;
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
