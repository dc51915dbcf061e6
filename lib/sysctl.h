/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "strv.h"

/* Reading and writing sysctls below a root directory ("/proc/sys" on a live system, a temporary
 * tree in tests). Paths are normalised (see sysctl-key.h) and opened beneath the root without
 * following symlinks.
 *
 * Every function here checks the path itself, whoever calls it: a path that is not in its
 * normalised form ("..", ".", empty components, a leading '/', dotted spelling) is refused with
 * -EINVAL, one that is not on the allow-list with -EPERM, before anything is opened. */

#define SYSCTL_ROOT_DEFAULT "/proc/sys"

/* The longest value read or written, newline excluded. */
#define SYSCTL_VALUE_MAX 4095u

/* 0 if path is normalised and allowed, else -EINVAL or -EPERM as above. */
int sysctl_path_check(const char *path);

/* An O_PATH descriptor for the root, for the *_at() calls below. */
int sysctl_root_open(const char *sysctl_root);

/* Opens path beneath root_fd with flags (O_RDONLY, O_WRONLY, O_PATH), after the path check.
 * -ELOOP if a component is a symlink, -EXDEV if it would leave the root, -ENOENT if missing. */
int sysctl_open_at(int root_fd, const char *path, int flags);

/* What sysctl_open_at() falls back to where openat2() is refused with ENOSYS (systemd's
 * RestrictSUIDSGID=, kernels before 5.6): one openat(O_NOFOLLOW) per component. Takes an
 * already checked path. Exposed so tests can prove both paths alike. */
int sysctl_open_at_compat(int root_fd, const char *path, int flags);

/* Reads the value behind an open descriptor, trailing newlines and spaces removed. */
int sysctl_read_fd(int fd, char **ret_value);

/* Reads a value, trailing newline removed. -ENOENT if the key does not exist here. */
int sysctl_read(const char *sysctl_root, const char *path, char **ret_value);
int sysctl_read_at(int root_fd, const char *path, char **ret_value);

/* Writes value followed by a newline in one write(2), as the kernel wants it. value must be
 * non-empty, at most SYSCTL_VALUE_MAX bytes, without control characters other than tab
 * (-EINVAL otherwise). Errors are the kernel's: -ENOENT missing, -EACCES/-EPERM/-EROFS the key
 * cannot be written here (sysctl_error_is_readonly()), -EINVAL the value was refused. */
int sysctl_write(const char *sysctl_root, const char *path, const char *value);
int sysctl_write_at(int root_fd, const char *path, const char *value);

/* Writes, reads back and compares with sysctl_value_equal(). -EBADMSG if the write succeeded
 * but the key holds something else (the kernel clamps or reinterprets some values: "010" is
 * octal). ret_readback, if not NULL, receives the value read back whenever one was read, on
 * success and on -EBADMSG alike. */
int sysctl_write_verified_at(int root_fd, const char *path, const char *value,
                             char **ret_readback);
int sysctl_write_verified(const char *sysctl_root, const char *path, const char *value,
                          char **ret_readback);

/* Whether a write error means "this key cannot be written here" (a 0444 file such as
 * nf_conntrack_max inside a network namespace, a read-only mount, a capability check), as
 * opposed to the kernel refusing the value. */
bool sysctl_error_is_readonly(int error);

/* 0 if path could be opened for writing under the root, without writing to it; else the
 * errno open() gave (-EACCES for a key read-only here, -EROFS for a read-only mount, -ENOENT).
 * What repair --dry-run uses to predict the real run. */
int sysctl_probe_writable(const char *sysctl_root, const char *path);

/* Compares two values as the kernel prints them: field by field, fields separated by any run
 * of spaces, tabs or newlines, leading and trailing whitespace ignored ("32768\t60999" equals
 * " 32768 60999\n"). Two integer fields compare by value as the kernel reads a written one
 * (optional '-', C notation: "01" is 1, "010" is 8, "0x10" is 16) since it prints them back in
 * decimal; other fields compare as exact strings. */
bool sysctl_value_equal(const char *a, const char *b);

/* The keys ctguard follows unless [Sysctl] assigns them (see OWNERSHIP in ctguard.conf(5)):
 * net.netfilter.nf_conntrack_max, nf_conntrack_buckets and every nf_conntrack_tcp_timeout_*
 * and nf_conntrack_udp_timeout*. Nothing outside net.netfilter (ip_forward, forwarding) is
 * ever followed: those belong to whoever routes. */
bool sysctl_path_followable(const char *path);

/* The followable keys that exist below sysctl_root now, as normalised paths in a stable order. */
int sysctl_followed_paths(const char *sysctl_root, char ***ret_paths);
