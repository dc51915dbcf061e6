/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "config.h"

/* When [Sysctl] assigns nothing, ctguard guards the values it finds at start: records them
 * into the configuration with the origin "snapshot". Keys that do not exist are skipped. */
int config_take_snapshot(Config *c, const char *sysctl_root);

/* Carries the snapshot of old into new when new assigns nothing either, so that a reload does
 * not re-record values that drifted in the meantime. */
int config_inherit_snapshot(Config *new_config, const Config *old_config);
