/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as one kernel uevent datagram. Beyond sanitizer reports it checks: only the
 * documented errors; on success every string points into the message and its fields agree
 * with the header ("ACTION@DEVPATH"); a module event names a module; and the same message
 * parses to the same event twice (the parser does not modify what it read). */

#include <string.h>

#include "fuzz.h"
#include "macro.h"
#include "uevent.h"

#define MSG_MAX 8192u

static bool inside(const char *p, const char *buf, size_t len) {
        return p >= buf && p < buf + len && memchr(p, '\0', (size_t) (buf + len - p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *buf = NULL;
        Uevent u, again;
        int r;

        if (size > MSG_MAX)
                return -1;
        buf = malloc(size ? size : 1);
        require(buf);
        memcpy(buf, data, size);

        r = uevent_parse(buf, size, &u);
        require(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT);
        require(memcmp(buf, data, size) == 0);
        if (r < 0)
                return 0;

        require(u.action >= 0 && u.action < _UEVENT_ACTION_MAX);
        require(inside(u.devpath, buf, size) && inside(u.subsystem, buf, size));
        require(*u.subsystem);
        require(strstr(buf, "@") && streq(strchr(buf, '@') + 1, u.devpath));
        require(strneq(buf, uevent_action_to_string(u.action), strlen(uevent_action_to_string(u.action))));
        if (streq(u.subsystem, "module"))
                require(u.module && *u.module);

        require(uevent_parse(buf, size, &again) == 0);
        require(again.action == u.action && again.devpath == u.devpath &&
                again.subsystem == u.subsystem && again.seqnum == u.seqnum);
        require((again.module == NULL) == (u.module == NULL));
        if (u.module)
                require(streq(again.module, u.module));
        return 0;
}
