/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "parse-util.h"

/* When an unload of the module chain is over, so that the heal does not fight it: pure
 * decisions over what was observed and an injected clock. Nothing here reads the system.
 *
 * "modprobe -r" takes the chain out one module at a time, and the kernel sends each module's
 * remove event as that module goes. Healing at the first event fights the unload: loading
 * nf_nat again while nf_conntrack is being removed fails for want of its symbols, and
 * reloading a module before modprobe -r reaches it makes modprobe -r fail ("in use") and
 * leaves a chain that was half unloaded.
 *
 * What an unloader takes out next is a module of the chain that is loaded and that nothing
 * uses (refcnt 0): nf_conntrack once nf_nat is gone. While no module of the chain or of what it
 * depends on is going and no module of the chain is left that nothing uses, there is nothing
 * to wait for: that is the case of a chain found gone entirely, and of a module removed from
 * under a chain that something else holds (xt_conntrack, nft_ct). Otherwise the heal waits for
 * MODULE_SETTLE_QUIET without a remove event and without a module going. MODULE_SETTLE_QUIET
 * covers the kernel's last steps after a remove event (an RCU grace period, tens of
 * milliseconds under emulation) and the unloader's step to the next module, which then shows
 * as going; it is also what a lone "rmmod nf_nat" costs before the heal. A settle never lasts
 * longer than MODULE_SETTLE_MAX: an unloader slower than that is fought, as before.
 *
 * The daemon does
 *
 *     on a remove event:  module_settle_removed(&s, now);
 *     before a heal:      at = module_settle_next(&s, &observed, now);
 *                         if (at > 0) <look again at at> else <heal if anything is missing>
 */

#define MODULE_SETTLE_QUIET (250 * USEC_PER_MSEC)
#define MODULE_SETTLE_POLL (10 * USEC_PER_MSEC)
#define MODULE_SETTLE_MAX (2 * USEC_PER_SEC)

typedef struct ModuleSettle {
        usec_t start;           /* when the settle began; 0: none */
        usec_t last_remove;     /* the last remove event */
} ModuleSettle;

typedef struct ModuleSettleInput {
        bool going;             /* a module of the chain, or one it depends on, is going */
        bool missing;           /* a guarded module is not in the kernel */
        bool loose;             /* a loaded module of the chain that nothing uses */
} ModuleSettleInput;

/* A remove event of a module of the chain or of one it depends on. */
void module_settle_removed(ModuleSettle *s, usec_t now);

/* Whether a settle is running at now: while none is, module_settle_next() looks at going
 * only, and the caller need not find out the rest. */
bool module_settle_running(const ModuleSettle *s, usec_t now);

/* When to look again, or 0 to go ahead now, which ends the settle. A module seen going starts
 * a settle even without a remove event (no uevent socket, or a poll that came first). */
usec_t module_settle_next(ModuleSettle *s, const ModuleSettleInput *in, usec_t now);
