/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as a configuration file. Beyond crashes and sanitizer reports, it checks what
 * must hold for any input: every problem is reported as "FILE:LINE: ..." on one line; a file
 * that parses and validates holds only values in range and allowed sysctls; and its dump reads
 * back, without a single error, to the same configuration. */

#include <stdint.h>

#include "config.h"
#include "macro.h"
#include "strv.h"
#include "sysctl-key.h"

#define NAME "fuzz.conf"

#define require(expr)                                                                   \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: '%s' does not hold\n", __FILE__,        \
                                __LINE__, #expr);                                       \
                        abort();                                                        \
                }                                                                       \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_messages(const ConfigErrors *e, const char *name) {
        size_t n = strlen(name);

        for (size_t i = 0; i < e->n; i++) {
                const char *m = e->messages[i];

                require(strneq(m, name, n) && m[n] == ':');
                for (const char *p = m; *p; p++)
                        require((unsigned char) *p >= ' ' && *p != 0x7f);
        }
}

static void check_ranges(const Config *c) {
        require(c->mode >= 0 && c->mode < _GUARD_MODE_MAX);
        require(c->poll_interval >= CONFIG_POLL_MIN && c->poll_interval <= CONFIG_POLL_MAX);
        require(c->fast_poll_interval >= CONFIG_POLL_MIN &&
                c->fast_poll_interval <= c->poll_interval);
        require(c->reload_burst >= CONFIG_RELOAD_BURST_MIN &&
                c->reload_burst <= CONFIG_RELOAD_BURST_MAX);
        require(c->reload_interval >= CONFIG_RELOAD_INTERVAL_MIN &&
                c->reload_interval <= CONFIG_RELOAD_INTERVAL_MAX);
        require(c->warn_percent >= CONFIG_PERCENT_MIN && c->warn_percent < c->crit_percent &&
                c->crit_percent <= CONFIG_PERCENT_MAX);
        require(c->top_talkers <= CONFIG_TOP_TALKERS_MAX);
        require(c->ensure && strv_length(c->ensure) <= CONFIG_ENSURE_MAX);
        require(c->sysctl_snapshot == (c->n_sysctls == 0));
        require(c->n_sysctls <= CONFIG_SYSCTLS_MAX);
        for (size_t i = 0; i < c->n_sysctls; i++) {
                require(sysctl_path_allowed(c->sysctls[i].path));
                require(!strstr(c->sysctls[i].path, ".."));
                require(c->sysctls[i].value[0] != '\0');
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL, *back = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        FILE *f;
        int r;

        if (size > CONFIG_FILE_SIZE_MAX)
                return -1;
        c = config_new();
        require(c);

        r = config_parse_text(c, NAME, (const char *) data, size, &e);
        require(r == 0 || r == -EINVAL);
        require((r == -EINVAL) == (e.n > 0));
        if (r == 0) {
                r = config_validate(c, &e);
                require(r == 0 || r == -EINVAL);
                require((r == -EINVAL) == (e.n > 0));
        }
        check_messages(&e, NAME);

        /* Whatever was read, even in part, can be written out. */
        f = open_memstream(&text, &n);
        require(f);
        require(config_dump(c, f) == 0);
        require(fclose(f) == 0);
        if (r < 0)
                return 0;

        check_ranges(c);
        back = config_new();
        require(back);
        config_errors_done(&e);
        r = config_parse_text(back, "dump", text, n, &e);
        if (r == 0)
                r = config_validate(back, &e);
        if (r != 0)
                fprintf(stderr, "dump does not read back: %s\n%s", e.n > 0 ? e.messages[0] : "",
                        text);
        require(r == 0);
        require(config_equal(c, back));
        return 0;
}
