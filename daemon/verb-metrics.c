/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "ctguard-config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "config.h"
#include "daemon-state.h"
#include "hold.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "modules.h"
#include "netns-sample.h"
#include "netns-scan.h"
#include "snapshot.h"
#include "strv.h"
#include "sysctl-key.h"
#include "sysctl.h"
#include "time-util.h"
#include "verbs.h"

/* "ctguard metrics": the exposition once, from what the daemon published and what the kernel
 * shows, read without side effects: module states from sysfs, sysctls from /proc/sys, the table
 * from /proc (never a ctnetlink request, which would load nf_conntrack_netlink). */

const VerbSyntax verb_metrics_syntax = {
        .name = "metrics",
        .description = "Print the Prometheus text exposition (version 0.0.4) once.\n",
};

typedef struct Collected {
        Metrics m;
        DaemonState state;
        Hold hold;
        MetricsModule *modules;
        char **module_names;
        MetricsSysctl *sysctls;
        char **keys;
        char **actuals;
        NetnsList netns;
        MetricsNetns *netns_rows;
        char **netns_names;
} Collected;

static void collected_done(Collected *c) {
        daemon_state_done(&c->state);
        hold_done(&c->hold);
        free(c->modules);
        strv_free(c->module_names);
        free(c->sysctls);
        strv_free(c->keys);
        for (size_t i = 0; c->actuals && i < c->m.n_sysctls; i++)
                free(c->actuals[i]);
        free(c->actuals);
        netns_list_done(&c->netns);
        free(c->netns_rows);
        strv_free(c->netns_names);
}

static int collect_daemon(Collected *c) {
        int r = daemon_lock_probe(arg_root);

        if (r < 0 && r != -ENOENT && r != -EACCES)
                return r;
        c->m.daemon_known = r >= 0 || r == -ENOENT;
        c->m.up = r > 0;
        if (!c->m.up)
                return 0;
        r = daemon_state_load(arg_root, &c->state);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        c->m.started = c->state.started;
        c->m.have_heals = c->m.have_restores = true;
        c->m.heals[METRICS_HEAL_MODULE_CHAIN] = c->state.heals;
        c->m.restores = c->state.restores;
        return 0;
}

static int collect_hold(Collected *c) {
        int r = hold_load(arg_root, &c->hold);

        if (r == -ENOENT) {
                c->m.have_hold = true;
                return 0;
        }
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        /* The hold counts on its own clock (CLOCK_BOOTTIME): judged as the daemon and status
         * judge it, and its end shown as a wall-clock time. */
        c->m.have_hold = true;
        c->m.held = hold_in_force(&c->hold, now_usec);
        c->m.hold_until = hold_wallclock(&c->hold, c->hold.until, now_usec);
        return 0;
}

static int collect_modules(Collected *c, const Config *config) {
        _cleanup_(module_context_freep) ModuleContext *ctx = NULL;
        int r;

        if (!config->ensure || !config->ensure[0])
                return 0;
        r = verb_module_context(&ctx);
        if (r < 0)
                return r == -ENOMEM ? r : 0;    /* module states stay unknown, and are omitted */

        c->modules = calloc(strv_length(config->ensure), sizeof(MetricsModule));
        if (!c->modules)
                return -ENOMEM;
        STRV_FOREACH(name, config->ensure) {
                _cleanup_free_ char *target = NULL;
                MetricsModule *mod = &c->modules[c->m.n_modules];
                ModuleResolution res;
                ModuleStatus st;

                r = module_resolve(ctx, *name, &res, &target);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0 && res == MODULE_RESOLUTION_GONE)
                        continue;       /* a legacy name this kernel does not have */
                r = strv_extend(&c->module_names, target ?: *name);
                if (r < 0)
                        return r;
                mod->name = c->module_names[strv_length(c->module_names) - 1];
                c->m.n_modules++;
                if (module_get_status(ctx, mod->name, &st) < 0)
                        continue;
                mod->known = true;
                mod->state = st.state == MODULE_STATE_BUILTIN ? METRICS_MODULE_BUILTIN :
                             st.state == MODULE_STATE_LIVE ? METRICS_MODULE_LIVE :
                             METRICS_MODULE_MISSING;
        }
        c->m.modules = c->modules;
        return 0;
}

static int collect_sysctl(Collected *c, const char *sysctl_root, const char *path,
                          const char *desired, bool owned) {
        MetricsSysctl *s = &c->sysctls[c->m.n_sysctls];
        char *key = sysctl_path_to_key(path);
        int r;

        if (!key || strv_push(&c->keys, key) < 0)
                return -ENOMEM;
        s->key = key;
        s->owned = owned;
        s->desired = desired;
        r = sysctl_read(sysctl_root, path, &c->actuals[c->m.n_sysctls]);
        if (r == -ENOMEM)
                return r;
        s->actual = c->actuals[c->m.n_sysctls];
        c->m.n_sysctls++;
        return 0;
}

/* What the running daemon enforces and follows; without one, what it would: the assigned keys
 * and the current values of the followed ones. */
static int collect_sysctls(Collected *c, Config *config, const char *sysctl_root) {
        bool daemon = c->m.up && c->state.n_sysctls > 0;
        size_t n;
        int r;

        if (!daemon && config_add_followed(config, sysctl_root) < 0)
                return 0;
        n = daemon ? c->state.n_sysctls : config->n_sysctls;

        c->sysctls = calloc(n + 1, sizeof(MetricsSysctl));
        c->actuals = calloc(n + 1, sizeof(char *));
        if (!c->sysctls || !c->actuals)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (daemon)
                        r = collect_sysctl(c, sysctl_root, c->state.sysctls[i].path,
                                           c->state.sysctls[i].value, c->state.sysctls[i].owned);
                else
                        r = collect_sysctl(c, sysctl_root, config->sysctls[i].path,
                                           config->sysctls[i].value,
                                           !sysctl_setting_followed(&config->sysctls[i]));
                if (r < 0)
                        return r;
        }
        c->m.sysctls = c->sysctls;
        return 0;
}

/* Namespaces=all: each namespace's table, read as the daemon reads it (one open and one read of
 * its /proc/PID/net/stat/nf_conntrack), every namespace but the host's and this process's. */
static int collect_netns(Collected *c, const Config *config) {
        static const MetricsNetns none[1];
        struct stat own = {};
        _cleanup_free_ char *self = NULL;
        int r;

        if (config->namespaces != NAMESPACE_SCOPE_ALL)
                return 0;
        c->m.netns = none;
        c->m.top_netns = config->top_namespaces;
        r = netns_scan(arg_root, &c->netns);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug_errno(r, "Cannot look for network namespaces: %m");
                c->m.netns = NULL;
                return 0;
        }
        if (asprintf(&self, "%s/proc/self/ns/net", arg_root) < 0)
                return -ENOMEM;
        (void) stat(self, &own);

        c->netns_rows = calloc(c->netns.n + 1, sizeof(MetricsNetns));
        if (!c->netns_rows || strv_split_whitespace("", &c->netns_names) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < c->netns.n; i++) {
                const Netns *ns = &c->netns.items[i];
                _cleanup_(netns_reader_closep) NetnsReader *reader = NULL;
                char buf[256];
                CtSample s;
                char *name;

                if (ns->host || ns->inode == (uint64_t) own.st_ino)
                        continue;
                if (netns_reader_open(arg_root, ns, &reader) < 0 ||
                    netns_reader_sample(reader, &s) < 0)
                        continue;
                name = strdup(netns_display_name(ns, buf, sizeof(buf)));
                /* strv_push() owns name, even when it fails. */
                if (!name || strv_push(&c->netns_names, name) < 0)
                        return -ENOMEM;
                c->netns_rows[c->m.n_netns++] = (MetricsNetns) {
                        .inode = ns->inode,
                        .name = name,
                        .entries = s.count,
                        .have_drop = s.has_cpu_stats,
                        .drop = s.drop,
                };
        }
        c->m.netns = c->netns_rows;
        return 0;
}

int verb_metrics(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_free_ char *sysctl_root = NULL;
        _cleanup_(collected_done) Collected c = {};
        int r;

        r = verb_parse_argv(&verb_metrics_syntax, argc, argv, NULL);
        if (r >= 0)
                return r;

        r = verb_load_config(&config);
        if (r < 0)
                return verb_config_exit_status(r);
        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), EXIT_FAILURE;

        c.m.version = PACKAGE_VERSION;
        r = collect_daemon(&c);
        if (r >= 0)
                r = collect_hold(&c);
        if (r >= 0)
                r = collect_modules(&c, config);
        if (r >= 0)
                r = collect_sysctls(&c, config, sysctl_root);
        if (r >= 0)
                r = metrics_read_table(arg_root, sysctl_root, &c.m);
        if (r >= 0)
                r = collect_netns(&c, config);
        if (r < 0)
                return log_error_errno(r, "Failed to collect metrics: %m"), EXIT_FAILURE;
        c.m.timestamp = now_usec(CLOCK_REALTIME);

        r = metrics_write(&c.m, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write metrics: %m"), EXIT_FAILURE;
        return EXIT_SUCCESS;
}
