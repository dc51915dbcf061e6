/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "macro.h"

/* The extra "KEY=value" fields of one journal event, for log_event(): at most FIELDS_MAX, the
 * array always NULL-ended (start from "Fields f = {}"). A field that does not fit, or cannot
 * be allocated, is left out: an event is still logged without it. */

#define FIELDS_MAX 23u

typedef struct Fields {
        char *s[FIELDS_MAX + 1];
        size_t n;
} Fields;

_printf_(2, 3) void fields_add(Fields *f, const char *format, ...);
void fields_done(Fields *f);
