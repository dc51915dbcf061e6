/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"

/* For display (cat-config, status without a daemon): records the current value of every
 * followed key (sysctl_followed_paths()) that [Sysctl] does not assign into the configuration,
 * with the origin CONFIG_ORIGIN_FOLLOWED. Such values are shown commented out and are not
 * configuration: the daemon follows these keys itself. Keys that do not exist or cannot be
 * read are skipped. */
int config_add_followed(Config *c, const char *sysctl_root);

/* The name this had when ctguard guarded a snapshot; kept for the callers that still use it. */
static inline int config_take_snapshot(Config *c, const char *sysctl_root) {
        return config_add_followed(c, sysctl_root);
}
