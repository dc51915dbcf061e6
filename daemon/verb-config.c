/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <stdio.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "modules.h"
#include "snapshot.h"
#include "strv.h"
#include "sysctl-key.h"
#include "sysctl.h"
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

/* A warning is "FILE:LINE: warning: ...", an error "FILE:LINE: ...": bare, as ctguard(8) says,
 * so that editors and scripts can jump to them. */
static unsigned warn_missing_sysctls(const Config *c) {
        _cleanup_free_ char *sysctl_root = verb_sysctl_root();
        _cleanup_close_ int dfd = -EBADF;
        unsigned n = 0;

        if (!sysctl_root)
                return 0;
        dfd = sysctl_root_open(sysctl_root);
        if (dfd < 0)
                return 0;       /* no /proc/sys to ask: nothing can be judged */

        for (size_t i = 0; i < c->n_sysctls; i++) {
                _cleanup_free_ char *key = sysctl_path_to_key(c->sysctls[i].path);
                _cleanup_close_ int fd = -EBADF;

                fd = sysctl_open_at(dfd, c->sysctls[i].path, O_PATH);
                if (fd != -ENOENT)
                        continue;
                printf("%s: warning: sysctl '%s' does not exist in the running kernel "
                       "(a typo, or its module is not loaded)\n",
                       c->sysctls[i].origin, key ?: c->sysctls[i].path);
                n++;
        }
        return n;
}

static unsigned warn_unknown_modules(const Config *c) {
        _cleanup_(module_context_freep) ModuleContext *ctx = NULL;
        const char *o = c->origins[CONFIG_MODULES_ENSURE] ?: "default Ensure=";
        unsigned n = 0;

        {
                _cleanup_free_ char *m = NULL;

                /* Without /sys/module (a bare --root) nothing can be judged. */
                if (asprintf(&m, "%s/sys/module", arg_root) < 0 || access(m, F_OK) < 0)
                        return 0;
        }
        /* Read-only look-ups: state from sysfs, names from the module tree; nothing is loaded. */
        if (verb_module_context(&ctx) < 0)
                return 0;

        STRV_FOREACH(name, c->ensure) {
                _cleanup_free_ char *target = NULL;
                ModuleResolution res;
                ModuleStatus st;

                if (module_get_status(ctx, *name, &st) >= 0 && module_state_present(st.state))
                        continue;
                if (module_resolve(ctx, *name, &res, &target) < 0)
                        continue;
                if (res == MODULE_RESOLUTION_GONE)
                        printf("%s: warning: module '%s' is not in this kernel's module tree "
                               "(%s)\n", o, *name, module_context_dir(ctx));
                else if (res == MODULE_RESOLUTION_UNKNOWN)
                        printf("%s: warning: module '%s' is not in the running kernel and there is "
                               "no module tree to look it up in\n", o, *name);
                else
                        continue;
                n++;
        }
        return n;
}

const VerbSyntax verb_check_config_syntax = {
        .name = "check-config",
        .description =
                "Validates the merged configuration (main file and drop-ins):\n"
                "syntax, ranges, each sysctl value against its key's type, and\n"
                "the rules across keys. Prints every problem as FILE:LINE: what\n"
                "is wrong and exits 78. Keys and modules the running kernel lacks\n"
                "are printed as FILE:LINE: warning: ... and do not fail the check.\n"
                "Prints 'configuration OK' and exits 0 otherwise.\n",
};

int verb_check_config(int argc, char *argv[]) {
        _cleanup_(config_errors_done) ConfigErrors errors = {};
        _cleanup_(config_freep) Config *c = NULL;
        unsigned warnings;
        int r;

        r = verb_parse_argv(&verb_check_config_syntax, argc, argv, NULL);
        if (r >= 0)
                return r;

        r = config_load(arg_root, arg_config, &c, &errors);
        for (size_t i = 0; i < errors.n; i++)
                fprintf(stderr, "%s\n", errors.messages[i]);
        if (r == -EINVAL)
                return EX_CONFIG;
        if (r < 0)
                return log_error_errno(r, "Failed to load the configuration: %m"), EXIT_FAILURE;

        /* Warnings go to stdout with the verdict: they describe this kernel, not the file. */
        warnings = warn_missing_sysctls(c) + warn_unknown_modules(c);
        if (warnings > 0)
                printf("configuration OK, %u warning%s\n", warnings, warnings == 1 ? "" : "s");
        else
                printf("configuration OK\n");
        return EXIT_SUCCESS;
}

const VerbSyntax verb_cat_config_syntax = {
        .name = "cat-config",
        .description =
                "Prints the effective configuration. Every value is followed by\n"
                "its origin: FILE:LINE, default, or followed (the current value of\n"
                "a netfilter key [Sysctl] does not assign, shown commented out).\n",
};

int verb_cat_config(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        int r;

        r = verb_parse_argv(&verb_cat_config_syntax, argc, argv, NULL);
        if (r >= 0)
                return r;

        r = verb_load_config(&c);
        if (r < 0)
                return verb_config_exit_status(r);

        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), EXIT_FAILURE;
        r = config_add_followed(c, sysctl_root);
        if (r < 0)
                log_warning_errno(r, "Failed to read the current sysctl values, ignoring: %m");

        r = config_dump(c, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write the configuration: %m"), EXIT_FAILURE;
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
