/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sysctl-type.h"

/* First match wins. Booleans: the kernel stores bridge-nf-call-* written as 5 as 1, so a
 * configured 5 would be "restored" every tick; only 0 and 1 are accepted. */
static const struct {
        const char *pattern;
        SysctlType type;
} type_table[] = {
        { "net/netfilter/nf_conntrack_max",             SYSCTL_TYPE_INTEGER },
        { "net/netfilter/nf_conntrack_buckets",         SYSCTL_TYPE_INTEGER },
        { "net/netfilter/nf_conntrack_expect_max",      SYSCTL_TYPE_INTEGER },
        { "net/netfilter/nf_conntrack_*timeout*",       SYSCTL_TYPE_INTEGER },
        { "net/netfilter/nf_conntrack_log_invalid",     SYSCTL_TYPE_INTEGER },
        { "net/netfilter/nf_conntrack_tcp_max_retrans", SYSCTL_TYPE_INTEGER },
        { "net/netfilter/nf_conntrack_acct",            SYSCTL_TYPE_BOOLEAN },
        { "net/netfilter/nf_conntrack_checksum",        SYSCTL_TYPE_BOOLEAN },
        { "net/netfilter/nf_conntrack_helper",          SYSCTL_TYPE_BOOLEAN },
        { "net/netfilter/nf_conntrack_timestamp",       SYSCTL_TYPE_BOOLEAN },
        { "net/netfilter/nf_conntrack_tcp_loose",       SYSCTL_TYPE_BOOLEAN },
        { "net/netfilter/nf_conntrack_tcp_be_liberal",  SYSCTL_TYPE_BOOLEAN },
        { "net/ipv4/ip_forward",                        SYSCTL_TYPE_BOOLEAN },
        { "net/ipv4/conf/*/forwarding",                 SYSCTL_TYPE_BOOLEAN },
        { "net/ipv6/conf/*/forwarding",                 SYSCTL_TYPE_BOOLEAN },
        { "net/bridge/bridge-nf-call-*",                SYSCTL_TYPE_BOOLEAN },
};

static const char * const type_names[_SYSCTL_TYPE_MAX] = {
        [SYSCTL_TYPE_TEXT]    = "text",
        [SYSCTL_TYPE_INTEGER] = "an integer",
        [SYSCTL_TYPE_BOOLEAN] = "a boolean (0 or 1)",
};

SysctlType sysctl_type_of(const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(type_table); i++)
                if (fnmatch(type_table[i].pattern, path, FNM_PATHNAME) == 0)
                        return type_table[i].type;
        return SYSCTL_TYPE_TEXT;
}

const char *sysctl_type_to_string(SysctlType t) {
        return t >= 0 && t < _SYSCTL_TYPE_MAX ? type_names[t] : NULL;
}

/* The longest number, sign included, that the kernel's proc_get_long() reads (its TMPBUFLEN
 * less the terminator and one: a number filling its buffer is refused). Longer ones, say with
 * leading zeros, it answers EINVAL, and they would never compare equal to what it prints back. */
#define KERNEL_NUMBER_MAX 20u

/* One field in C notation, as the kernel's proc_dointvec() reads it, with surrounding blanks. */
static int parse_number(const char *value, long long *ret) {
        const char *s = value + strspn(value, " \t\n");
        char *end;
        long long v;
        bool negative = false;

        if (strcspn(s, " \t\n") > KERNEL_NUMBER_MAX)
                return -EINVAL;
        if (*s == '-') {
                negative = true;
                s++;
        }
        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 0);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || end == s)
                return -EINVAL;
        end += strspn(end, " \t\n");
        if (*end != '\0')
                return -EINVAL;
        *ret = negative ? -v : v;
        return 0;
}

int sysctl_type_check(SysctlType t, const char *value) {
        long long v;
        int r;

        switch (t) {
        case SYSCTL_TYPE_TEXT:
                return 0;
        case SYSCTL_TYPE_INTEGER:
        case SYSCTL_TYPE_BOOLEAN:
                r = parse_number(value, &v);
                if (r < 0)
                        return r;
                if (v < 0 || v > (t == SYSCTL_TYPE_BOOLEAN ? 1 : INT_MAX))
                        return -ERANGE;
                return 0;
        case _SYSCTL_TYPE_MAX:
        case _SYSCTL_TYPE_INVALID:
                break;
        }
        return -EINVAL;
}
