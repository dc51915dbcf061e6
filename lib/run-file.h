/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* Files under <root>/run/ctguard (the hold, the daemon's state and lock) are written by root and
 * read by anyone, so a reader must survive whatever else sits there: a symlink, a FIFO (whose
 * open(2) would block every verb and the daemon), a device, a file grown without bound. Each is
 * opened with O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and checked to be a regular file before a byte is
 * read.
 *
 * Errors beyond open(2)'s: -ELOOP a symlink, -EBADFD not a regular file, -EFBIG larger than
 * size_max. */

/* Opens name below dir_fd (AT_FDCWD for a path) for reading; returns the fd. */
int run_file_open(int dir_fd, const char *name);

/* Reads what is left of fd, at most size_max bytes (-EFBIG beyond), into a NUL-terminated
 * buffer; ret_size may be NULL. Also for the configuration files, which are opened their own
 * way. */
int read_fd_bounded(int fd, size_t size_max, char **ret, size_t *ret_size);

/* Reads the whole file into a NUL-terminated buffer. */
int run_file_read(int dir_fd, const char *name, size_t size_max, char **ret, size_t *ret_size);

/* What an error of the above means to a person: "is a symbolic link", "is not a regular file",
 * "is too large", "is corrupt" (-EBADMSG, from a parser), else strerror(). */
const char *run_file_strerror(int r);
