/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A small streaming JSON writer: it places the commas and colons, and escapes strings so that
 * any input, including control characters and bytes that are not UTF-8, yields valid JSON
 * (invalid sequences become U+FFFD). Output is compact, one document per json_finish(). */

#define JSON_DEPTH_MAX 32

typedef struct JsonWriter {
        FILE *f;
        unsigned depth;
        bool need_comma[JSON_DEPTH_MAX + 1];
        bool after_key;
        int error;                      /* first error: -EINVAL misuse, -EIO write failure */
} JsonWriter;

void json_init(JsonWriter *w, FILE *f);

void json_begin_object(JsonWriter *w);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w);
void json_end_array(JsonWriter *w);
void json_key(JsonWriter *w, const char *key);
void json_string(JsonWriter *w, const char *s);
void json_unsigned(JsonWriter *w, uint64_t v);
/* A number with a fixed count of decimals ("12.5" at 1); null if not finite. */
void json_decimal(JsonWriter *w, double v, unsigned digits);
void json_bool(JsonWriter *w, bool b);
void json_null(JsonWriter *w);

/* Ends the document with a newline. Returns 0, or the first error (an unclosed object or array
 * is -EINVAL). */
int json_finish(JsonWriter *w);

/* Writes s as a quoted, escaped JSON string. */
int json_write_string(FILE *f, const char *s);
