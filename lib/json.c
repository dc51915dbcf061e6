/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>
#include <math.h>

#include "json.h"
#include "macro.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if there is none: overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as RFC 3629 says. */
static size_t utf8_valid_length(const unsigned char *s) {
        unsigned char c = s[0];
        size_t n;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                n = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                cp = c & 0x07;
        } else
                return 0;

        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;       /* also stops at the terminating NUL */
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

int json_write_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) strempty(s);

        fputc('"', f);
        while (*p) {
                size_t n;

                switch (*p) {
                case '"':  fputs("\\\"", f); p++; continue;
                case '\\': fputs("\\\\", f); p++; continue;
                case '\b': fputs("\\b", f); p++; continue;
                case '\f': fputs("\\f", f); p++; continue;
                case '\n': fputs("\\n", f); p++; continue;
                case '\r': fputs("\\r", f); p++; continue;
                case '\t': fputs("\\t", f); p++; continue;
                default:
                        break;
                }
                if (*p < 0x20 || *p == 0x7f) {
                        /* DEL is legal JSON, but escaping it keeps terminals sane. */
                        fprintf(f, "\\u%04x", *p);
                        p++;
                        continue;
                }
                n = utf8_valid_length(p);
                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
        fputc('"', f);
        return ferror(f) ? -EIO : 0;
}

void json_init(JsonWriter *w, FILE *f) {
        *w = (JsonWriter) { .f = f };
}

static void fail(JsonWriter *w, int error) {
        if (w->error == 0)
                w->error = error;
}

/* Before any value: a comma if a sibling came before, unless the value follows its key. */
static bool begin_value(JsonWriter *w) {
        if (w->error < 0)
                return false;
        if (w->after_key) {
                w->after_key = false;
                return true;
        }
        if (w->depth == 0 && w->need_comma[0]) {
                fail(w, -EINVAL);       /* a second document without json_finish() */
                return false;
        }
        if (w->need_comma[w->depth])
                fputc(',', w->f);
        w->need_comma[w->depth] = true;
        return true;
}

static void open_container(JsonWriter *w, char c) {
        if (!begin_value(w))
                return;
        if (w->depth >= JSON_DEPTH_MAX) {
                fail(w, -EINVAL);
                return;
        }
        fputc(c, w->f);
        w->need_comma[++w->depth] = false;
}

static void close_container(JsonWriter *w, char c) {
        if (w->error < 0)
                return;
        if (w->depth == 0 || w->after_key) {
                fail(w, -EINVAL);
                return;
        }
        fputc(c, w->f);
        w->depth--;
}

void json_begin_object(JsonWriter *w) {
        open_container(w, '{');
}

void json_end_object(JsonWriter *w) {
        close_container(w, '}');
}

void json_begin_array(JsonWriter *w) {
        open_container(w, '[');
}

void json_end_array(JsonWriter *w) {
        close_container(w, ']');
}

void json_key(JsonWriter *w, const char *key) {
        if (w->error < 0)
                return;
        if (w->depth == 0 || w->after_key) {
                fail(w, -EINVAL);
                return;
        }
        if (w->need_comma[w->depth])
                fputc(',', w->f);
        w->need_comma[w->depth] = true;
        (void) json_write_string(w->f, key);
        fputc(':', w->f);
        w->after_key = true;
}

void json_string(JsonWriter *w, const char *s) {
        if (begin_value(w))
                (void) json_write_string(w->f, s);
}

void json_unsigned(JsonWriter *w, uint64_t v) {
        if (begin_value(w))
                fprintf(w->f, "%" PRIu64, v);
}

void json_decimal(JsonWriter *w, double v, unsigned digits) {
        /* JSON has no NaN or infinity. */
        if (!isfinite(v)) {
                json_null(w);
                return;
        }
        if (begin_value(w))
                fprintf(w->f, "%.*f", (int) MIN(digits, 17u), v);
}

void json_bool(JsonWriter *w, bool b) {
        if (begin_value(w))
                fputs(b ? "true" : "false", w->f);
}

void json_null(JsonWriter *w) {
        if (begin_value(w))
                fputs("null", w->f);
}

int json_finish(JsonWriter *w) {
        if (w->error == 0 && (w->depth > 0 || w->after_key))
                fail(w, -EINVAL);
        if (w->error < 0)
                return w->error;
        fputc('\n', w->f);
        w->need_comma[0] = false;
        if (fflush(w->f) != 0 || ferror(w->f))
                return -EIO;
        return 0;
}
