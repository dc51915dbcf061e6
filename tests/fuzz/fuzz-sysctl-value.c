/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as a sysctl value read back from /proc/sys and the value configured for it:
 * "READBACK\0DESIRED" (without a NUL both are the same bytes), after a first byte of flags
 * (bit 0: monitor mode, bit 1: held). READBACK goes through sysctl_read_fd() from a file, as
 * the daemon reads a key; DESIRED is what a configuration assigns. Beyond sanitizer reports it
 * checks what the guard relies on:
 *  - a value read has no trailing newline or space and is at most SYSCTL_VALUE_MAX + 1 bytes;
 *  - sysctl_value_equal() is reflexive and symmetric, and blind to surrounding whitespace;
 *  - a value the type check accepts as an integer or boolean equals the decimal the kernel
 *    prints back for it (else the guard would restore it forever);
 *  - a decimal parse_unsigned() accepts equals its value printed back, and the hash-size parse
 *    agrees with it;
 *  - the policy restores or reports a value exactly when it differs from the desired one, and
 *    reports a drift once. */

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "macro.h"
#include "parse-util.h"
#include "sysctl-policy.h"
#include "sysctl-type.h"
#include "sysctl.h"

#define INPUT_MAX (2 * (SYSCTL_VALUE_MAX + 2) + 1)

static int value_fd = -1;

/* What the kernel prints back for a number it accepted: decimal, "-0" as "0". */
static void kernel_print(const char *v, char *buf, size_t l) {
        long long n;
        bool negative;

        v += strspn(v, " \t\n");
        negative = *v == '-';
        n = strtoll(v + negative, NULL, 0);
        snprintf(buf, l, "%lld", negative ? -n : n);
}

static char *with_blanks(const char *v) {
        char *s;

        require(asprintf(&s, " \t%s\n", v) >= 0);
        return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *read_back = NULL, *desired = NULL, *padded = NULL;
        SysctlPolicyInput in = {};
        const uint8_t *sep;
        size_t n_read;
        char printed[32];
        unsigned u;

        if (size < 1 || size > INPUT_MAX)
                return -1;
        in.mode = data[0] & 1 ? GUARD_MODE_MONITOR : GUARD_MODE_ENFORCE;
        in.held = data[0] & 2;
        data++;
        size--;
        sep = memchr(data, '\0', size);
        n_read = sep ? (size_t) (sep - data) : size;

        /* One file, rewritten for each input: the read is the daemon's, from offset 0. */
        if (value_fd < 0) {
                value_fd = memfd_create("sysctl-value", MFD_CLOEXEC);
                require(value_fd >= 0);
        }
        require(ftruncate(value_fd, 0) == 0);
        require(pwrite(value_fd, data, n_read, 0) == (ssize_t) n_read);
        require(lseek(value_fd, 0, SEEK_SET) == 0);
        require(sysctl_read_fd(value_fd, &read_back) == 0);
        desired = sep ? strndup((const char *) sep + 1, size - n_read - 1) : strdup(read_back);
        require(desired);

        size_t l = strlen(read_back);
        require(l <= SYSCTL_VALUE_MAX + 1);
        require(l == 0 || (read_back[l - 1] != '\n' && read_back[l - 1] != ' '));

        require(sysctl_value_equal(read_back, read_back));
        require(sysctl_value_equal(desired, desired));
        require(sysctl_value_equal(read_back, desired) == sysctl_value_equal(desired, read_back));
        padded = with_blanks(read_back);
        require(sysctl_value_equal(padded, read_back));

        for (SysctlType t = SYSCTL_TYPE_INTEGER; t <= SYSCTL_TYPE_BOOLEAN; t++) {
                int r = sysctl_type_check(t, desired);

                require(r == 0 || r == -EINVAL || r == -ERANGE);
                if (r < 0)
                        continue;
                kernel_print(desired, printed, sizeof(printed));
                if (!sysctl_value_equal(printed, desired))
                        fprintf(stderr, "'%s' is %s, but the kernel's '%s' is not equal to it\n",
                                desired, sysctl_type_to_string(t), printed);
                require(sysctl_value_equal(printed, desired));
        }
        require(sysctl_type_check(SYSCTL_TYPE_TEXT, desired) == 0);

        if (parse_unsigned(read_back, &u) == 0) {
                unsigned h;
                int r;

                snprintf(printed, sizeof(printed), "%u", u);
                if (read_back[0] != '0')
                        require(streq(printed, read_back) && sysctl_value_equal(printed, read_back));
                r = sysctl_policy_parse_hashsize(read_back, &h);
                require(u == 0 ? r == -EINVAL : r == 0 && h == u);
        } else
                require(sysctl_policy_parse_hashsize(read_back, &u) == -EINVAL);

        /* A fresh key, then the same look again. */
        SysctlKeyState st;
        SysctlDecision d;
        bool same = sysctl_value_equal(read_back, desired);

        sysctl_key_state_init(&st);
        d = sysctl_policy_observe(&in, &st, 0, read_back, desired, 1 * USEC_PER_SEC);
        if (same)
                require(d.action == SYSCTL_ACTION_NONE && st.status == SYSCTL_KEY_OK);
        else if (in.mode == GUARD_MODE_MONITOR || in.held) {
                require(d.action == SYSCTL_ACTION_REPORT_DRIFT);
                d = sysctl_policy_observe(&in, &st, 0, padded, desired, 2 * USEC_PER_SEC);
                require(d.action == SYSCTL_ACTION_NONE);
        } else
                require(d.action == SYSCTL_ACTION_RESTORE);
        return 0;
}
