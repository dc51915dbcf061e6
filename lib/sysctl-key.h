/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

/* Sysctl key normalisation and the allow-list of keys ctguard may touch.
 *
 * Keys are written as in sysctl.d(5): "net.netfilter.nf_conntrack_max" or
 * "net/netfilter/nf_conntrack_max". The first separator decides: if it is '/', dots are part of
 * a component ("net/ipv4/conf/eth0.100/forwarding"); if it is '.', a '/' stands for a dot inside
 * a component ("net.ipv4.conf.eth0/100.forwarding"). The normalised form is the path below
 * /proc/sys with '/' separators. */

/* The longest key accepted; real sysctl paths are far shorter. */
#define SYSCTL_KEY_MAX 255u

/* Returns 0 and the normalised path; -EINVAL if the key is not normalised (empty component,
 * "." or "..", ".." or "//" anywhere, a character outside [a-z0-9_.-/] — capitals are allowed
 * only in the interface component of net.ipv4.conf.<if>.* and net.ipv6.conf.<if>.*, where
 * "Lan0/100" in a dotted key is the interface Lan0.100); -EPERM if it is not on the
 * allow-list. */
int sysctl_key_normalize(const char *key, char **ret_path);

/* True if path is normalised and on the allow-list; a path that is not normalised is never
 * allowed, so a caller that skipped sysctl_key_normalize() cannot escape the allow-list. */
bool sysctl_path_allowed(const char *path);

/* The dotted spelling of a normalised path, dots inside components written as '/'. */
char *sysctl_path_to_key(const char *path);

extern const char sysctl_allow_list_text[];
