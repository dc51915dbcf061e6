/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <sys/stat.h>

/* Which configuration files apply, in which order, and whether they may be trusted. */

#define CONF_MAIN_FILE "/etc/ctguard/ctguard.conf"
#define CONF_DROPIN_SUBDIR "ctguard.conf.d"

/* Drop-in directories, lowest priority first. */
extern const char * const conf_dropin_dirs[];

typedef struct ConfFile {
        char *path;     /* the file, or the directory for a directory-level error */
        int error;      /* 0, or why it was refused (negative errno, see conf_trust_check) */
} ConfFile;

typedef struct ConfFileList {
        ConfFile *items;
        size_t n;
} ConfFileList;

void conf_file_list_done(ConfFileList *l);

/* Lists the files that make the configuration, in the order they are applied: the main file
 * (if present, or main_override, which must exist), then the surviving drop-ins in lexical
 * order of file name. A drop-in masks one of the same name in a lower-priority directory; a
 * drop-in that is a symlink to /dev/null masks and is itself not read. root prefixes every
 * path ("" or NULL for none). Directories that cannot be trusted appear with .error set. */
int conf_files_list(const char *root, const char *main_override, ConfFileList *ret);

/* 0 if a file or directory with this stat may be trusted: owned by root (or by the user running
 * ctguard) and not writable by group or others. -EPERM for the owner, -EACCES for the mode. */
int conf_trust_check(const struct stat *st);

/* The same for a directory above a configuration file, except that a sticky directory (/tmp)
 * writable by others is accepted: they cannot rename or remove what is not theirs. */
int conf_dir_trust_check(const struct stat *st);

/* Checks every directory from path's (real) parent up to "/" with conf_dir_trust_check(): a
 * trusted file in a directory others may write can be replaced. On failure ret_dir (if not
 * NULL) receives the first directory refused. */
int conf_parents_trust_check(const char *path, char **ret_dir);

/* Reads a whole regular file after checking it may be trusted. At most max bytes. */
int conf_file_read(const char *path, size_t max, char **ret_data, size_t *ret_size);
