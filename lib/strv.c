/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "macro.h"
#include "strv.h"

size_t strv_length(char * const *l) {
        size_t n = 0;

        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

int strv_push(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        return strv_push(l, v);
}

int strv_split_whitespace(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;
        int r;

        /* Always return an array, so that "empty" and "unset" are distinguishable. */
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;

        for (;;) {
                char *w;
                size_t n;

                p += strspn(p, " \t\r\n");
                if (*p == '\0')
                        break;
                n = strcspn(p, " \t\r\n");
                w = strndup(p, n);
                if (!w)
                        return -ENOMEM;
                r = strv_push(&l, w);
                if (r < 0)
                        return r;
                p += n;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

bool strv_contains(char * const *l, const char *s) {
        for (char * const *i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

char *strv_join(char * const *l, const char *sep) {
        size_t n = 0, k = strlen(sep);
        char *r, *p;

        for (char * const *i = l; i && *i; i++)
                n += strlen(*i) + k;

        r = malloc(n + 1);
        if (!r)
                return NULL;

        p = r;
        for (char * const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        *p = '\0';
        return r;
}

int strv_copy(char * const *l, char ***ret) {
        _cleanup_strv_free_ char **c = NULL;
        int r;

        c = calloc(1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (char * const *i = l; i && *i; i++) {
                r = strv_extend(&c, *i);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
