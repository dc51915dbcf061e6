/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as a buffer of ctnetlink stats replies (the first byte picks the global or
 * the per-CPU request), through the parser the sampler uses. Beyond sanitizer reports it
 * checks: a negative errno on failure and the output untouched; on success each counter is
 * at most n_cpus times 2^32-1 (a sum of 32-bit per-CPU counters), and a global reply carries
 * no per-CPU counters. */

#include <string.h>

#include "ctstat-msg.h"
#include "fuzz.h"
#include "macro.h"

#define BUF_MAX 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ uint32_t *buf = NULL;
        CtSample s, untouched;
        bool per_cpu;
        int r;

        if (size < 1 || size > BUF_MAX + 1)
                return -1;
        per_cpu = data[0] & 1;
        buf = malloc(size);             /* aligned, as a receive buffer is */
        require(buf);
        memcpy(buf, data + 1, size - 1);

        memset(&s, 0x5a, sizeof(s));
        untouched = s;
        r = ctstat_parse_reply(buf, size - 1, per_cpu, &s);
        if (r < 0) {
                require(memcmp(&s, &untouched, sizeof(s)) == 0);
                return 0;
        }
        if (!per_cpu) {
                require(!s.has_cpu_stats && s.n_cpus == 0 && s.drop == 0 && s.insert == 0);
                return 0;
        }
        require(s.has_cpu_stats);
        require(s.n_cpus <= (size - 1) / 16);   /* one message (at least a header) per CPU */
        for (const uint64_t *v = &s.found; v <= &s.search_restart; v++)
                require(*v <= (uint64_t) s.n_cpus * UINT32_MAX);
        return 0;
}
