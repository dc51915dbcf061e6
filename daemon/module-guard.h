/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "modules.h"

#include "parse-util.h"

/* The module guard: keeps the modules of [Modules] Ensure= in the kernel, in that order.
 *
 * It learns of an unload from the kernel's uevent socket and heals as soon as the unload has
 * settled (lib/module-settle.h): at once when nothing is left that an unloader could still
 * take out, otherwise once nothing went or was going for a moment, so that a "modprobe -r"
 * still running is not fought. Every poll tick it also looks at the state itself, so a lost
 * event costs at most one tick. A heal loads the missing modules in the configured order with
 * libkmod, in process, then has the sysctl guard put every guarded sysctl back (a reloaded
 * module starts from its defaults).
 *
 * Journal events, each with CTGUARD_MODULE= where it is about one module:
 *   module-chain-present  (info)    at start and after a reload: the chain and how each is there
 *   module-skipped        (info)    a name this kernel does not have (merged, renamed), once
 *   module-reloaded       (notice)  loaded again; CTGUARD_LATENCY_USEC= since the loss was seen
 *   module-load-failed    (err)     CTGUARD_ERRNO=, CTGUARD_RETRY_USEC=: retried with backoff
 *   module-blocked        (warning) modprobe.d blacklists it or gives an install command, once
 *   module-missing        (warning) monitor mode or held: missing, not loaded, once per loss
 *   module-flapping       (crit)    too many heals in ReloadIntervalSec: healing stops a while
 *   held / hold-expired / released  the maintenance hold began, ran out, was released */

struct Manager;
typedef struct ModuleGuard ModuleGuard;

typedef struct ModuleGuardCounts {
        unsigned guarded;               /* names that map to a module on this kernel */
        unsigned present;
        unsigned builtin;
        unsigned skipped;               /* names this kernel does not have */
        unsigned long heals;
        unsigned long failures;
        bool held;
        bool flapping;
} ModuleGuardCounts;

/* Sets the guard up on m's event loop and configuration: the module context, the uevent
 * socket, the retry timer. Looks at the modules right away and reports what it finds. */
int module_guard_new(struct Manager *m, ModuleGuard **ret);
ModuleGuard *module_guard_free(ModuleGuard *g);
static inline void module_guard_freep(ModuleGuard **g) {
        module_guard_free(*g);
}

/* Every poll tick: re-reads the hold, sweeps the module state, heals if needed. */
void module_guard_tick(ModuleGuard *g);

/* After the manager took a new configuration: maps the names again and forgets the flap
 * guard and the backoff. */
int module_guard_reload(ModuleGuard *g);

/* Whether a maintenance hold is in force: nothing is to be healed, modules or sysctls. */
bool module_guard_held(const ModuleGuard *g);

void module_guard_counts(const ModuleGuard *g, ModuleGuardCounts *ret);

/* The i-th guarded module, for the metrics: its name as guarded on this kernel, or NULL past
 * the end. ret_known is false while its state has not been read; a name this kernel does not
 * have is skipped. */
const char *module_guard_module(const ModuleGuard *g, size_t i, bool *ret_known, ModuleState *ret_state);
