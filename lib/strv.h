/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated string arrays. */

size_t strv_length(char * const *l);
int strv_push(char ***l, char *value);          /* takes ownership of value, even on failure */
int strv_extend(char ***l, const char *value);  /* copies value */
int strv_split_whitespace(const char *s, char ***ret);
bool strv_contains(char * const *l, const char *s);
char *strv_join(char * const *l, const char *sep);
int strv_copy(char * const *l, char ***ret);
