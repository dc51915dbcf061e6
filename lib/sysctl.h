/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "strv.h"

/* Reading sysctls below a root directory ("/proc/sys" on a live system, a temporary tree in
 * tests). Paths are normalised (see sysctl-key.h) and opened beneath the root without following
 * symlinks. */

#define SYSCTL_ROOT_DEFAULT "/proc/sys"

/* Reads a value, trailing newline removed. -ENOENT if the key does not exist here. */
int sysctl_read(const char *sysctl_root, const char *path, char **ret_value);

/* The keys ctguard guards when [Sysctl] assigns nothing and that exist below sysctl_root:
 * nf_conntrack_max, nf_conntrack_buckets, ip_forward and every nf_conntrack_tcp_timeout_* and
 * nf_conntrack_udp_timeout*, as normalised paths in a stable order. */
int sysctl_snapshot_paths(const char *sysctl_root, char ***ret_paths);
