/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "module-settle.h"

void module_settle_removed(ModuleSettle *s, usec_t now) {
        /* A settle left behind (the daemon was stopped while it ran) does not count for a new
         * unload. */
        if (s->start == 0 || now > s->last_remove + MODULE_SETTLE_MAX)
                s->start = now;
        s->last_remove = now;
}

bool module_settle_running(const ModuleSettle *s, usec_t now) {
        return s->start != 0 && now < s->start + MODULE_SETTLE_MAX;
}

usec_t module_settle_next(ModuleSettle *s, const ModuleSettleInput *in, usec_t now) {
        usec_t quiet_end;

        if (in->going && s->start == 0)
                s->start = s->last_remove = now;
        if (!module_settle_running(s, now))
                goto done;
        if (in->going)
                return now + MODULE_SETTLE_POLL;
        /* Nothing missing (loaded again by someone else), or nothing left that an unload
         * could take out next: nothing to wait for. */
        if (!in->missing || !in->loose)
                goto done;
        quiet_end = s->last_remove + MODULE_SETTLE_QUIET;
        if (now < quiet_end)
                return quiet_end;
done:
        *s = (ModuleSettle) {};
        return 0;
}
