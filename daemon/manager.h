/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "metrics-textfile.h"
#include "module-guard.h"
#include "netns-guard.h"
#include "publish.h"
#include "sysctl-guard.h"
#include "table-guard.h"

/* The daemon: one sd-event loop that owns the configuration and every guard. */

typedef struct Manager {
        sd_event *event;
        sd_event_source *tick;

        Config *config;
        char *root;             /* prefix for every path, "" for / */
        char *config_path;      /* --config, or NULL */
        char *sysctl_root;      /* <root>/proc/sys */

        SysctlGuard *sysctl_guard;
        ModuleGuard *module_guard;
        TableGuard *table_guard;
        NetnsGuard *netns_guard;        /* Namespaces=all: every other namespace */
        Publisher *publisher;
        MetricsTextfile *metrics;

        unsigned reloads;
        unsigned reloads_rejected;
        char status[256];       /* the last STATUS= sent */
} Manager;

Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

/* Takes ownership of config. */
int manager_new(const char *root, const char *config_path, Config *config, Manager **ret);
int manager_run(Manager *m);

/* Re-reads the configuration; keeps the old one if the new one has any error. */
int manager_reload(Manager *m);
