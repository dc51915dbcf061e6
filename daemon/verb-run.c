/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <sysexits.h>

#include "log.h"
#include "manager.h"
#include "verbs.h"

const VerbSyntax verb_run_syntax = {
        .name = "run",
        .description =
                "Runs the daemon in the foreground until SIGTERM or SIGINT.\n"
                "SIGHUP reloads the configuration, keeping the running one if the\n"
                "new one has any error. Exits 78 if the configuration is invalid.\n",
};

int verb_run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config *c = NULL;
        int r;

        r = verb_parse_argv(&verb_run_syntax, argc, argv, NULL);
        if (r >= 0)
                return r;

        log_set_console_stamps(true);

        r = verb_load_config(&c);
        if (r < 0)
                return verb_config_exit_status(r);

        r = manager_new(arg_root, arg_config, c, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the daemon: %m"), EXIT_FAILURE;

        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
