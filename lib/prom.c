/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "macro.h"
#include "prom.h"

const char *prom_type_to_string(PromType t) {
        static const char * const t_[_PROM_TYPE_MAX] = {
                [PROM_COUNTER] = "counter",
                [PROM_GAUGE] = "gauge",
        };
        return t >= 0 && t < _PROM_TYPE_MAX ? t_[t] : NULL;
}

void prom_init(PromWriter *w, FILE *f) {
        *w = (PromWriter) { .f = f };
}

static bool name_valid(const char *name, bool colon) {
        if (!name || !*name)
                return false;
        for (const char *p = name; *p; p++) {
                bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                             (colon && *p == ':');
                if (!alpha && !(p > name && *p >= '0' && *p <= '9'))
                        return false;
        }
        return true;
}

bool prom_metric_name_valid(const char *name) {
        return name_valid(name, true);
}

bool prom_label_name_valid(const char *name) {
        /* Names beginning with __ are reserved for Prometheus itself. */
        return name_valid(name, false) && !strneq(name, "__", 2);
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static void fail(PromWriter *w, int r) {
        if (w->error == 0)
                w->error = r;
}

/* HELP text escapes backslash and newline only. */
static int write_help(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        return ferror(f) ? -EIO : 0;
}

int prom_write_label_value(FILE *f, const char *s) {
        for (; s && *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '"')
                        fputs("\\\"", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        return ferror(f) ? -EIO : 0;
}

static int begin_family(PromWriter *w, const PromFamily *f) {
        if (w->current == f)
                return 0;
        if (!prom_metric_name_valid(f->name) || !prom_type_to_string(f->type) || !f->help)
                return -EINVAL;
        if (f->type == PROM_COUNTER && !ends_with(f->name, "_total"))
                return -EINVAL;
        for (size_t i = 0; i < w->n_done; i++)
                if (streq(w->done[i], f->name))
                        return -EINVAL;
        if (w->current && w->n_done >= ELEMENTSOF(w->done))
                return -E2BIG;
        if (w->current)
                w->done[w->n_done++] = w->current->name;
        w->current = f;

        fprintf(w->f, "# HELP %s ", f->name);
        write_help(w->f, f->help);
        fprintf(w->f, "\n# TYPE %s %s\n", f->name, prom_type_to_string(f->type));
        return ferror(w->f) ? -EIO : 0;
}

void prom_sample(PromWriter *w, const PromFamily *f, const char * const *labels, PromValue v) {
        int r;

        if (w->error < 0)
                return;
        if (!v.known)
                return;
        if (!f)
                return fail(w, -EINVAL);
        for (const char * const *l = labels; l && *l; l += 2)
                if (!prom_label_name_valid(l[0]) || !l[1])
                        return fail(w, -EINVAL);

        r = begin_family(w, f);
        if (r < 0)
                return fail(w, r);

        fputs(f->name, w->f);
        if (labels && *labels) {
                fputc('{', w->f);
                for (const char * const *l = labels; *l; l += 2) {
                        fprintf(w->f, "%s%s=\"", l == labels ? "" : ",", l[0]);
                        prom_write_label_value(w->f, l[1]);
                        fputc('"', w->f);
                }
                fputc('}', w->f);
        }
        if (v.integer)
                fprintf(w->f, " %" PRIu64 "\n", v.u);
        else if (isnan(v.d))
                fputs(" NaN\n", w->f);
        else if (isinf(v.d))
                fputs(v.d > 0 ? " +Inf\n" : " -Inf\n", w->f);
        else
                fprintf(w->f, " %.17g\n", v.d);
        if (ferror(w->f))
                fail(w, -EIO);
}

int prom_finish(PromWriter *w) {
        if (w->error == 0 && fflush(w->f) != 0)
                w->error = -EIO;
        return w->error;
}
