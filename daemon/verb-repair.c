/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdarg.h>
#include <sysexits.h>
#include <time.h>

#include "time-util.h"
#include "config.h"
#include "hold.h"
#include "log.h"
#include "module-policy.h"
#include "modules.h"
#include "strv.h"
#include "sysctl-key.h"
#include "sysctl-policy.h"
#include "sysctl.h"
#include "verbs.h"

_printf_(3, 0) static void on_kmod_log(void *userdata, int priority, const char *format, va_list ap) {
        char buf[512];

        vsnprintf(buf, sizeof(buf), format, ap);
        buf[strcspn(buf, "\n")] = '\0';
        log_debug("libkmod: %s", buf);
}

typedef struct ModuleRepair {
        ModuleContext *ctx;
        const Config *config;
        bool dry_run;
        char **guarded;         /* handled already: an alias and its target only once */
        unsigned failed, loaded, missing;
        bool stop;              /* a load failed: what follows in Ensure= depends on it */
} ModuleRepair;

/* The module name stands for on this kernel, or NULL (after saying why) to skip it. */
static const char *repair_resolve(ModuleRepair *mr, const char *name, char **target) {
        const char *successor;
        ModuleResolution res;
        int r;

        r = module_resolve(mr->ctx, name, &res, target);
        if (r < 0) {
                log_debug_errno(r, "Failed to look up %s, using the name as given: %m", name);
                res = MODULE_RESOLUTION_UNKNOWN;
        }
        switch (res) {
        case MODULE_RESOLUTION_GONE:
                successor = module_legacy_successor(name);
                printf("  %-18s skipped: not on this kernel%s%s%s\n", name,
                       successor ? " (merged into " : "", strempty(successor),
                       successor ? ")" : "");
                return NULL;
        case MODULE_RESOLUTION_MERGED:
                printf("  %-18s skipped: merged into %s on this kernel\n", name, *target);
                return NULL;
        case MODULE_RESOLUTION_ALIAS:
                return *target;
        case MODULE_RESOLUTION_MODULE:
        case MODULE_RESOLUTION_UNKNOWN:
        case _MODULE_RESOLUTION_MAX:
        case _MODULE_RESOLUTION_INVALID:
                break;
        }
        return name;
}

/* Loads a missing module, or in a dry run says what would be loaded; counts the outcome. */
static int repair_load(ModuleRepair *mr, const char *module) {
        _cleanup_free_ char *who = NULL, *options = NULL;
        _cleanup_strv_free_ char **would = NULL;
        ModuleBlock b = MODULE_BLOCK_NONE;
        ModuleStatus st;
        unsigned hashsize;
        usec_t t0;
        int r;

        if (streq(module, "nf_conntrack") && sysctl_policy_desired_hashsize(mr->config, &hashsize) >= 0 &&
            asprintf(&options, "hashsize=%u", hashsize) < 0)
                return log_oom();

        t0 = now_usec(CLOCK_MONOTONIC);
        r = module_load(mr->ctx, module, options, mr->dry_run, &b, &who, &would);
        if (r == 1) {
                if (who && !streq(who, module))
                        printf("  %-18s missing, blocked: its dependency %s %s in modprobe.d\n",
                               module, who, b == MODULE_BLOCK_BLACKLIST ?
                               "is blacklisted" : "has an install command");
                else
                        printf("  %-18s missing, blocked: %s in modprobe.d\n", module,
                               b == MODULE_BLOCK_BLACKLIST ? "blacklisted" :
                               "it has an install command");
                mr->failed++;
                return 0;
        }
        if (r < 0) {
                printf("  %-18s missing, %s: %s\n", module,
                       mr->dry_run ? "cannot be loaded" : "failed to load",
                       r == -ENOENT ? "not found in the module tree" : strerror(-r));
                mr->failed++;
                mr->stop = true;
                return 0;
        }
        if (mr->dry_run) {
                _cleanup_free_ char *list = strv_join(would, " ");

                printf("  %-18s missing, would load: %s%s%s\n", module, strempty(list),
                       options ? " with " : "", strempty(options));
                return 0;
        }

        r = module_get_status(mr->ctx, module, &st);
        if (r < 0 || !module_state_present(st.state)) {
                printf("  %-18s missing, loaded but not in the kernel afterwards\n", module);
                mr->failed++;
                mr->stop = true;
                return 0;
        }
        printf("  %-18s loaded%s%s (%llu ms)\n", module, options ? " with " : "",
               strempty(options),
               (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_MSEC));
        mr->loaded++;
        return 0;
}

/* One name of Ensure=: present, or loaded now (unless a load before it failed). */
static int repair_module(ModuleRepair *mr, const char *name) {
        _cleanup_free_ char *target = NULL;
        const char *module;
        ModuleStatus st;
        int r;

        module = repair_resolve(mr, name, &target);
        if (!module || strv_contains(mr->guarded, module))
                return 0;
        r = strv_extend(&mr->guarded, module);
        if (r < 0)
                return log_oom();

        r = module_get_status(mr->ctx, module, &st);
        if (r < 0) {
                printf("  %-18s unknown: %s\n", module, strerror(-r));
                mr->failed++;
                return 0;
        }
        if (module_state_present(st.state) || st.state == MODULE_STATE_COMING) {
                bool alias = module != name;

                printf("  %-18s present, %s%s%s%s\n", module,
                       st.state == MODULE_STATE_COMING ? "being loaded" :
                       module_status_describe(&st), alias ? " (for " : "",
                       alias ? name : "", alias ? ")" : "");
                return 0;
        }
        mr->missing++;

        if (mr->stop) {
                printf("  %-18s missing, not attempted after the failure above\n", module);
                mr->failed++;
                return 0;
        }
        return repair_load(mr, module);
}

/* Returns the number of modules that could not be healed, or a negative errno. */
static int repair_modules(const Config *c, bool dry_run, bool *ret_loaded) {
        _cleanup_(module_context_freep) ModuleContext *ctx = NULL;
        ModuleRepair mr = { .config = c, .dry_run = dry_run };
        int r = 0;

        *ret_loaded = false;
        if (strv_length(c->ensure) == 0) {
                printf("Modules: [Modules] Ensure= lists none.\n");
                return 0;
        }

        r = module_context_new(NULL, &ctx);
        if (r < 0)
                return log_error_errno(r, "Failed to set up libkmod: %m");
        module_context_set_log(ctx, on_kmod_log, NULL,
                               log_get_max_level() >= LOG_DEBUG ? LOG_DEBUG : LOG_ERR);
        mr.ctx = ctx;

        printf("Modules (%s):\n", module_tree_present(ctx) ? module_context_dir(ctx) :
               "no module tree for this kernel");

        STRV_FOREACH(name, c->ensure) {
                r = repair_module(&mr, *name);
                if (r < 0)
                        break;
        }
        strv_free(mr.guarded);
        if (r < 0)
                return r;

        if (mr.missing == 0)
                printf("Module chain present, nothing to load.\n");
        *ret_loaded = mr.loaded > 0;
        return (int) mr.failed;
}

/* Returns the number of sysctls that could not be healed, or a negative errno. */
static int repair_sysctls(const Config *c, bool dry_run, bool modules_loaded) {
        _cleanup_free_ char *root = verb_sysctl_root();
        unsigned failed = 0, changed = 0;

        if (!root)
                return log_oom();

        if (c->sysctl_snapshot) {
                printf("Sysctls: [Sysctl] assigns nothing; the daemon follows the netfilter sysctls, nothing to restore.\n");
                if (modules_loaded)
                        printf("  The modules loaded start from their default sysctl values.\n");
                return 0;
        }

        printf("Sysctls (%s):\n", root);
        for (size_t i = 0; i < c->n_sysctls; i++) {
                const SysctlSetting *s = c->sysctls + i;
                _cleanup_free_ char *key = sysctl_path_to_key(s->path), *cur = NULL, *back = NULL;
                const char *k = key ?: s->path;
                int r;

                r = sysctl_read(root, s->path, &cur);
                if (r < 0) {
                        printf("  %s: %s\n", k, r == -ENOENT ? "does not exist on this kernel" :
                               strerror(-r));
                        failed++;
                        continue;
                }
                if (sysctl_value_equal(cur, s->value))
                        continue;

                changed++;
                if (dry_run) {
                        /* Predict what the real run would hit: probe without writing. */
                        r = sysctl_probe_writable(root, s->path);
                        if (r < 0) {
                                printf("  %s: would fail to set %s (is %s): %s\n", k, s->value,
                                       cur, sysctl_error_is_readonly(r) ? "read-only here" :
                                       strerror(-r));
                                failed++;
                                continue;
                        }
                        printf("  %s: would set %s (is %s)\n", k, s->value, cur);
                        continue;
                }
                r = sysctl_write_verified(root, s->path, s->value, &back);
                if (r < 0) {
                        printf("  %s: failed to set %s (is %s): %s\n", k, s->value,
                               back ?: cur, sysctl_error_is_readonly(r) ?
                               "read-only here" : strerror(-r));
                        failed++;
                        continue;
                }
                printf("  %s: set %s (was %s)\n", k, s->value, cur);
        }
        if (changed == 0 && failed == 0)
                printf("  all %zu at their configured values\n", c->n_sysctls);
        return (int) failed;
}

typedef struct RepairArgs {
        bool dry_run;
        bool ignore_hold;
} RepairArgs;

static const VerbOption repair_options[] = {
        VERB_OPTION_FLAG("dry-run", "Change nothing; print what would be done", RepairArgs, dry_run),
        VERB_OPTION_FLAG("ignore-hold", "Repair even while 'ctguard hold' is in force", RepairArgs,
                         ignore_hold),
        {}
};

const VerbSyntax verb_repair_syntax = {
        .name = "repair",
        .description =
                "Heals once, without the daemon: loads the missing modules of [Modules] Ensure= in\n"
                "order (with libkmod, in process; never modules that modprobe.d blacklists or gives an\n"
                "install command), then writes every sysctl of [Sysctl] that differs. Prints what it\n"
                "did. Exit status: 0 if everything is in place, 1 if something could not be healed,\n"
                "78 if the configuration is invalid.\n",
        .options = repair_options,
};

int verb_repair(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(hold_done) Hold h = {};
        RepairArgs a = {};
        bool dry_run, ignore_hold, loaded;
        int r, fm, fs;

        r = verb_parse_argv(&verb_repair_syntax, argc, argv, &a);
        if (r >= 0)
                return r;
        dry_run = a.dry_run;
        ignore_hold = a.ignore_hold;

        r = verb_load_config(&c);
        if (r < 0)
                return verb_config_exit_status(r);

        r = hold_load(arg_root, &h);
        if (r >= 0 && hold_in_force(&h, now_usec) && !dry_run &&
            !ignore_hold) {
                log_error("ctguard is on hold%s%s%s; not repairing. Run 'ctguard release' first, or use --ignore-hold.",
                          h.reason ? " (" : "", strempty(h.reason), h.reason ? ")" : "");
                return EXIT_FAILURE;
        }

        if (dry_run)
                printf("Dry run: nothing is changed.\n");

        fm = repair_modules(c, dry_run, &loaded);
        if (fm < 0)
                return EXIT_FAILURE;
        fs = repair_sysctls(c, dry_run, loaded);
        if (fs < 0)
                return EXIT_FAILURE;

        if (fm + fs > 0) {
                printf("%d item(s) could not be %s.\n", fm + fs, dry_run ? "healed as things are" : "healed");
                return EXIT_FAILURE;
        }
        printf("%s\n", dry_run ? "Nothing would fail." : "Everything is in place.");
        return EXIT_SUCCESS;
}
