/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>

#include "macro.h"
#include "parse-util.h"

int parse_boolean(const char *v) {
        static const char * const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char * const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int parse_unsigned(const char *s, unsigned *ret) {
        unsigned long long v = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        for (; *s; s++) {
                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                v = v * 10 + (unsigned) (*s - '0');
                if (v > UINT_MAX)
                        return -ERANGE;
        }
        *ret = (unsigned) v;
        return 0;
}

static const struct {
        const char *suffix;
        usec_t usec;
} time_units[] = {
        /* Longest first where one is a prefix of another ("ms" before "m", "min" before "m"). */
        { "seconds", USEC_PER_SEC },
        { "second",  USEC_PER_SEC },
        { "sec",     USEC_PER_SEC },
        { "s",       USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute",  USEC_PER_MINUTE },
        { "min",     USEC_PER_MINUTE },
        { "months",  0 },               /* refused: not a fixed length */
        { "msec",    USEC_PER_MSEC },
        { "ms",      USEC_PER_MSEC },
        { "m",       USEC_PER_MINUTE },
        { "hours",   USEC_PER_HOUR },
        { "hour",    USEC_PER_HOUR },
        { "hr",      USEC_PER_HOUR },
        { "h",       USEC_PER_HOUR },
        { "days",    USEC_PER_DAY },
        { "day",     USEC_PER_DAY },
        { "d",       USEC_PER_DAY },
        { "weeks",   USEC_PER_WEEK },
        { "week",    USEC_PER_WEEK },
        { "w",       USEC_PER_WEEK },
        { "usec",    1 },
        { "us",      1 },
        { "µs",      1 },
};

static usec_t unit_of(const char *p, size_t *ret_len) {
        size_t n = 0;

        /* The unit is the run of letters (and µ) that follows the number. */
        while (p[n] && !isspace((unsigned char) p[n]) && !isdigit((unsigned char) p[n]) && p[n] != '.')
                n++;
        if (n == 0) {
                *ret_len = 0;
                return USEC_PER_SEC;
        }
        for (size_t i = 0; i < ELEMENTSOF(time_units); i++)
                if (strlen(time_units[i].suffix) == n && strneq(p, time_units[i].suffix, n)) {
                        *ret_len = n;
                        return time_units[i].usec;
                }
        return 0;
}

int parse_sec(const char *s, usec_t *ret) {
        const char *p = s;
        usec_t total = 0;
        bool any = false;

        for (;;) {
                unsigned long long whole = 0, frac = 0, frac_div = 1;
                usec_t unit, part;
                const char *q;
                size_t ulen;

                p += strspn(p, " \t");
                if (*p == '\0')
                        break;
                if (!isdigit((unsigned char) *p) && *p != '.')
                        return -EINVAL;

                bool digits = false;
                for (; isdigit((unsigned char) *p); p++) {
                        if (whole > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        whole = whole * 10 + (unsigned) (*p - '0');
                        digits = true;
                }
                if (*p == '.') {
                        p++;
                        for (; isdigit((unsigned char) *p); p++) {
                                /* Beyond microsecond precision the digits cannot matter. */
                                if (frac_div < 1000000000ULL) {
                                        frac = frac * 10 + (unsigned) (*p - '0');
                                        frac_div *= 10;
                                }
                                digits = true;
                        }
                }
                if (!digits)
                        return -EINVAL;
                /* "1.5.5s" is not two numbers. */
                if (*p == '.')
                        return -EINVAL;

                /* As systemd does, the unit may follow after white space: "5 min". */
                q = p + strspn(p, " \t");
                unit = unit_of(q, &ulen);
                if (unit == 0)
                        return -EINVAL;
                if (ulen > 0)
                        p = q + ulen;

                if (whole > UINT64_MAX / unit)
                        return -ERANGE;
                part = whole * unit;
                /* frac < frac_div <= 10^9 and unit <= one week in µs: the product needs 128 bits. */
                usec_t fpart = (usec_t) (((unsigned __int128) frac * unit) / frac_div);
                if (part > UINT64_MAX - fpart || total > UINT64_MAX - part - fpart)
                        return -ERANGE;
                part += fpart;
                total += part;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

char *format_timespan(char *buf, size_t l, usec_t t) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "w",   USEC_PER_WEEK },
                { "d",   USEC_PER_DAY },
                { "h",   USEC_PER_HOUR },
                { "min", USEC_PER_MINUTE },
                { "s",   USEC_PER_SEC },
                { "ms",  USEC_PER_MSEC },
                { "us",  1 },
        };
        char *p = buf;

        if (t == USEC_INFINITY) {
                snprintf(buf, l, "infinity");
                return buf;
        }
        if (t == 0) {
                snprintf(buf, l, "0");
                return buf;
        }

        *p = '\0';
        for (size_t i = 0; i < ELEMENTSOF(table) && t > 0; i++) {
                usec_t n = t / table[i].usec;
                int k;

                if (n == 0)
                        continue;
                k = snprintf(p, l, "%s%" PRIu64 "%s", p > buf ? " " : "", n, table[i].suffix);
                if (k < 0 || (size_t) k >= l)
                        break;
                p += k;
                l -= (size_t) k;
                t -= n * table[i].usec;
        }
        return buf;
}
