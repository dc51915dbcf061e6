/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>

#include "config.h"
#include "hold.h"
#include "parse-util.h"

/* When to heal the module chain: pure decisions over the configuration, what was observed and
 * an injected clock. Nothing here reads the system, loads a module or logs. The daemon does
 *
 *     v = module_policy_decide(&policy, &input, now);
 *     if (v == MODULE_VERDICT_HEAL) {
 *             <load the missing modules in order>
 *             o = module_policy_healed(&policy, &input, all_loaded, now);
 *     }
 *
 * A failed heal is retried with exponential backoff (MODULE_BACKOFF_MIN doubling up to
 * MODULE_BACKOFF_MAX). More than ReloadBurst successful chain heals within ReloadIntervalSec
 * trip the flap guard: no healing until a whole ReloadIntervalSec has passed since it tripped,
 * the configuration is reloaded, or "ctguard release" is run (module_policy_reset()). */

#define MODULE_BACKOFF_MIN USEC_PER_SEC
#define MODULE_BACKOFF_MAX (5 * USEC_PER_MINUTE)

/* The delay before retry number `failures` (1 for the first retry): 1s, 2s, 4s, ... 5min.
 * 0 for failures == 0. */
usec_t module_backoff_delay(unsigned failures);

typedef struct FlapGuard {
        usec_t heals[CONFIG_RELOAD_BURST_MAX + 1];      /* times of recent heals, oldest first */
        unsigned n;
        usec_t until;                                   /* tripped until then; 0: not tripped */
} FlapGuard;

void flap_guard_reset(FlapGuard *f);

/* Records a heal at now. Returns true if this heal makes more than burst within interval: the
 * guard trips until now + interval. burst is clamped to CONFIG_RELOAD_BURST_MAX. */
bool flap_guard_record(FlapGuard *f, usec_t now, unsigned burst, usec_t interval);

/* Whether the guard is tripped at now; a guard whose time has passed is reset. */
bool flap_guard_tripped(FlapGuard *f, usec_t now);

/* Heals recorded within the interval that ends at now. */
unsigned flap_guard_recent(const FlapGuard *f, usec_t now, usec_t interval);

typedef enum ModuleVerdict {
        MODULE_VERDICT_OK,              /* nothing missing */
        MODULE_VERDICT_HEAL,            /* load the missing modules now */
        MODULE_VERDICT_REPORT,          /* monitor mode: report what is missing, load nothing */
        MODULE_VERDICT_HELD,            /* on hold: report, load nothing */
        MODULE_VERDICT_FLAPPING,        /* the flap guard is tripped: load nothing */
        MODULE_VERDICT_BACKOFF,         /* the last heal failed: wait until retry_at */
        _MODULE_VERDICT_MAX,
        _MODULE_VERDICT_INVALID = -EINVAL,
} ModuleVerdict;

const char *module_verdict_to_string(ModuleVerdict v);

typedef struct ModulePolicyInput {
        GuardMode mode;
        bool held;              /* module_policy_hold_active() */
        bool missing;           /* a guarded module that could be loaded is not in the kernel */
        unsigned reload_burst;
        usec_t reload_interval;
} ModulePolicyInput;

typedef struct ModulePolicy {
        FlapGuard flap;
        unsigned failures;      /* heals that failed in a row */
        usec_t retry_at;        /* after a failure: no heal before this; 0: none pending */
        unsigned long heals;    /* totals, for status */
        unsigned long heal_failures;
        unsigned long flaps;
} ModulePolicy;

void module_policy_init(ModulePolicy *p);

/* Forgets the flap guard and the backoff: a configuration reload, "ctguard release". Totals
 * are kept. */
void module_policy_reset(ModulePolicy *p);

ModuleVerdict module_policy_decide(ModulePolicy *p, const ModulePolicyInput *in, usec_t now);

typedef struct ModuleHealOutcome {
        bool flapping;          /* this heal tripped the flap guard: report it, once */
        usec_t retry_in;        /* a failed heal: retry after this long */
} ModuleHealOutcome;

/* The result of a heal that MODULE_VERDICT_HEAL asked for: ok if every missing module is in the
 * kernel now; loaded if the heal itself loaded one. A heal that loaded nothing (every module was
 * back already, a uevent race) ends a failure streak but is no heal: it does not count and does
 * not feed the flap guard. */
ModuleHealOutcome module_policy_healed(ModulePolicy *p, const ModulePolicyInput *in, bool ok,
                                       bool loaded, usec_t now);

/* Whether a hold is in force at now (on the hold's own clock, hold_clock_now()): held, and not
 * expired. */
bool module_policy_hold_active(const Hold *h, usec_t now);

/* What changed between two looks at the hold file, for the daemon to report once. */
typedef enum HoldTransition {
        HOLD_TRANSITION_NONE,
        HOLD_TRANSITION_HELD,           /* a hold started, or its reason or end changed */
        HOLD_TRANSITION_EXPIRED,        /* it ran out */
        HOLD_TRANSITION_RELEASED,       /* "ctguard release": clear the flap guard too */
        _HOLD_TRANSITION_MAX,
        _HOLD_TRANSITION_INVALID = -EINVAL,
} HoldTransition;

/* prev and cur are the file as last seen and as seen now (NULL: no file); was_active whether
 * the previous look found the hold in force. A release counts only if recorded after prev's. */
HoldTransition module_policy_hold_transition(const Hold *prev, const Hold *cur, bool was_active,
                                             usec_t now);
