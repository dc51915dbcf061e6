/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as the text of /proc/PID/cgroup, through netns_identify_cgroup() (see
 * tests/fuzz/meson.build for when it is built). Beyond sanitizer reports it checks: success
 * always (-ENOMEM aside); a pod UID found is 32 lowercase hexadecimal digits with at most four
 * '-' and no '_' (unescaped); a container id is 12 to 64 lowercase hexadecimal digits; and each
 * is part of the input (the UID with its '_' read as '-'). */

#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "netns-ident.h"

#define TEXT_MAX 65536u

static bool hex_only(const char *s, bool dashes) {
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (dashes && *s == '-')))
                        return false;
        return true;
}

/* Whether some part of text, its '_' read as '-', is s. */
static bool in_text_unescaped(const char *text, const char *s) {
        size_t n = strlen(s), len = strlen(text);

        for (size_t i = 0; i + n <= len; i++) {
                size_t k = 0;

                while (k < n && (text[i + k] == s[k] || (text[i + k] == '_' && s[k] == '-')))
                        k++;
                if (k == n)
                        return true;
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL, *pod = NULL, *container = NULL;
        int r;

        if (size > TEXT_MAX || memchr(data, '\0', size))
                return -1;
        text = strndup((const char *) data, size);
        require(text);

        r = netns_identify_cgroup(text, &pod, &container);
        if (r == -ENOMEM)
                return 0;
        require(r == 0);
        if (pod) {
                size_t n = strlen(pod);

                require(n >= 32 && n <= 36);
                require(hex_only(pod, true));
                require(in_text_unescaped(text, pod));
        }
        if (container) {
                size_t n = strlen(container);

                require(n >= 12 && n <= 64);
                require(hex_only(container, false));
                require(strstr(text, container));
        }
        return 0;
}
