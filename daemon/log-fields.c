/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log-fields.h"

void fields_add(Fields *f, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        /* One slot stays NULL to end the list. */
        if (f->n >= FIELDS_MAX)
                return;
        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r >= 0)
                f->s[f->n++] = s;
}

void fields_done(Fields *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->s[i]);
        f->n = 0;
}
