/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as the daemon state file (<root>/run/ctguard/state), which every "ctguard
 * status" reads and the daemon reads back at start. Beyond sanitizer reports it checks: only the
 * documented errors; a parsed state is consistent (at most DAEMON_STATE_EVENTS_MAX events, each
 * with a valid name and a one-line message, every sysctl row with a path and a value, a known
 * reload result); and what it formats to parses back and formats to the same text, so that a
 * daemon reading its own file back sees what it wrote. */

#include <string.h>

#include "daemon-state.h"
#include "fuzz.h"
#include "macro.h"

static bool valid_event_name(const char *n) {
        if (!n || !*n)
                return false;
        for (; *n; n++)
                if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '-'))
                        return false;
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(daemon_state_done) DaemonState s = {}, back = {};
        _cleanup_free_ char *text = NULL, *again = NULL;
        int r;

        if (size > DAEMON_STATE_SIZE_MAX)
                return -1;
        r = daemon_state_parse((const char *) data, size, &s);
        require(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -ENOMEM);
        if (r < 0)
                return 0;

        require(s.n_events <= DAEMON_STATE_EVENTS_MAX);
        require(s.events_first < DAEMON_STATE_EVENTS_MAX);
        for (size_t i = 0; i < s.n_events; i++) {
                const DaemonEvent *e = daemon_state_event(&s, i);

                require(e && valid_event_name(e->name) && e->message);
                for (const char *p = e->message; *p; p++)
                        require((unsigned char) *p >= ' ' && *p != 0x7f);
        }
        require(!daemon_state_event(&s, s.n_events));
        for (size_t i = 0; i < s.n_sysctls; i++) {
                require(s.sysctls[i].path && *s.sysctls[i].path && s.sysctls[i].value);
                require(daemon_state_find_sysctl(&s, s.sysctls[i].path));
        }
        require(daemon_reload_to_string(s.reload));

        require(daemon_state_format(&s, &text) == 0);
        r = daemon_state_parse(text, strlen(text), &back);
        if (r < 0)
                fprintf(stderr, "formatted state does not parse back (%d):\n%s", r, text);
        require(r == 0);
        require(daemon_state_format(&back, &again) == 0);
        if (!streq(text, again))
                fprintf(stderr, "formatted:\n%s\nparsed back and formatted:\n%s", text, again);
        require(streq(text, again));
        require(back.pid == s.pid && back.started == s.started && back.heals == s.heals &&
                back.restores == s.restores && back.n_sysctls == s.n_sysctls &&
                back.n_events == s.n_events);
        return 0;
}
