/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The Prometheus text exposition format, version 0.0.4: one "# HELP" and one "# TYPE" line per
 * family, written before the family's first sample, and every sample of a family together.
 * A family none of whose samples could be read is left out whole; an unreadable sample is
 * left out, never written as 0. Label values are escaped (backslash, double quote, newline). */

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4"
#define PROM_FAMILIES_MAX 128u

typedef enum PromType {
        PROM_COUNTER,                   /* the name ends in _total */
        PROM_GAUGE,
        _PROM_TYPE_MAX,
        _PROM_TYPE_INVALID = -22,
} PromType;

const char *prom_type_to_string(PromType t);

typedef struct PromFamily {
        const char *name;
        PromType type;
        const char *help;
} PromFamily;

/* A sample's value, or the knowledge that it could not be read. Integers are written exactly
 * (a uint64 counter does not lose digits to a double). */
typedef struct PromValue {
        bool known;
        bool integer;
        uint64_t u;
        double d;
} PromValue;

#define PROM_U64(x) ((PromValue) { .known = true, .integer = true, .u = (x) })
#define PROM_DOUBLE(x) ((PromValue) { .known = true, .d = (x) })
#define PROM_BOOL(x) PROM_U64((x) ? 1u : 0u)
#define PROM_UNKNOWN ((PromValue) { .known = false })

typedef struct PromWriter {
        FILE *f;
        const PromFamily *current;
        const char *done[PROM_FAMILIES_MAX];    /* families already closed */
        size_t n_done;
        int error;                      /* first error: -EINVAL misuse, -EIO write failure */
} PromWriter;

void prom_init(PromWriter *w, FILE *f);

/* Writes one sample of family f. labels is NULL or a NULL-terminated list of name, value
 * pairs. A family's samples must come together: returning to a family after another was
 * written is -EINVAL (its HELP and TYPE would appear twice). An unknown value writes nothing. */
void prom_sample(PromWriter *w, const PromFamily *f, const char * const *labels, PromValue v);

/* Returns 0, or the first error. */
int prom_finish(PromWriter *w);

/* Whether name is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and label name. */
bool prom_metric_name_valid(const char *name);
bool prom_label_name_valid(const char *name);

/* Writes s escaped as a label value (without the quotes). */
int prom_write_label_value(FILE *f, const char *s);
