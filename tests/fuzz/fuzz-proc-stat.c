/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as the text of /proc/net/stat/nf_conntrack, through ctstat_parse_proc_stat()
 * (written against the parser of the /proc sampler; see tests/fuzz/meson.build for when it is
 * built). Beyond sanitizer reports it checks: -EBADMSG or success only; on failure the output
 * untouched; on success only the per-CPU part is written, and each counter is at most n_cpus
 * times 2^32-1 (a sum of one 32-bit hexadecimal column per CPU row). */

#include <string.h>

#include "ctstat.h"
#include "fuzz.h"
#include "macro.h"

#define TEXT_MAX 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = NULL;
        CtSample s, untouched;
        int r;

        if (size > TEXT_MAX || memchr(data, '\0', size))
                return -1;
        text = strndup((const char *) data, size);
        require(text);

        memset(&s, 0x5a, sizeof(s));
        untouched = s;
        r = ctstat_parse_proc_stat(text, &s);
        require(r == 0 || r == -EBADMSG);
        if (r < 0) {
                require(memcmp(&s, &untouched, sizeof(s)) == 0);
                return 0;
        }
        require(s.has_cpu_stats);
        require(s.count == untouched.count && s.max == untouched.max);
        for (const uint64_t *v = &s.found; v <= &s.search_restart; v++)
                require(*v <= (uint64_t) s.n_cpus * UINT32_MAX);
        return 0;
}
