/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"

/* For display (cat-config, status without a daemon): records the current value of every
 * followed key (sysctl_followed_paths()) that [Sysctl] does not assign into the configuration,
 * with the origin CONFIG_ORIGIN_FOLLOWED. Such values are shown commented out and are not
 * configuration: the daemon follows these keys itself. Keys that do not exist or cannot be
 * read are skipped. */
int config_add_followed(Config *c, const char *sysctl_root);

/* Whether a setting is one of those: followed (any value is right), not owned. NULL: false. */
bool sysctl_setting_followed(const SysctlSetting *s);
