/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>

/* The type of value each allow-listed sysctl takes, so that a configuration is refused before
 * the kernel is asked (and the guard does not fight a kernel that stores something else than
 * what was written). */

typedef enum SysctlType {
        SYSCTL_TYPE_TEXT,       /* not known: any value, compared field by field */
        SYSCTL_TYPE_INTEGER,    /* one integer, 0 .. INT_MAX */
        SYSCTL_TYPE_BOOLEAN,    /* 0 or 1 */
        _SYSCTL_TYPE_MAX,
        _SYSCTL_TYPE_INVALID = -EINVAL,
} SysctlType;

/* The type of a normalised path (below /proc/sys); SYSCTL_TYPE_TEXT for keys not in the table. */
SysctlType sysctl_type_of(const char *path);

const char *sysctl_type_to_string(SysctlType t);

/* 0 if value is one the type accepts; -EINVAL if it is not of that form (not a number, more
 * than one field), -ERANGE if it is a number out of the type's range. Numbers are read as the
 * kernel reads them: C notation, so "010" is 8 and "0x10" is 16, and at most 20 characters
 * with the sign (a longer one, leading zeros and all, the kernel refuses: -EINVAL). */
int sysctl_type_check(SysctlType t, const char *value);
