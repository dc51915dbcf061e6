/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "macro.h"
#include "module-policy.h"

usec_t module_backoff_delay(unsigned failures) {
        usec_t d = MODULE_BACKOFF_MIN;

        if (failures == 0)
                return 0;
        for (unsigned i = 1; i < failures && d < MODULE_BACKOFF_MAX; i++)
                d *= 2;
        return MIN(d, MODULE_BACKOFF_MAX);
}

void flap_guard_reset(FlapGuard *f) {
        *f = (FlapGuard) {};
}

/* Whether a heal at t still counts at now. */
static bool in_window(usec_t t, usec_t now, usec_t interval) {
        return t <= now && now - t < interval;
}

bool flap_guard_record(FlapGuard *f, usec_t now, unsigned burst, usec_t interval) {
        unsigned kept = 0;

        burst = MIN(MAX(burst, CONFIG_RELOAD_BURST_MIN), CONFIG_RELOAD_BURST_MAX);

        for (unsigned i = 0; i < f->n; i++)
                if (in_window(f->heals[i], now, interval))
                        f->heals[kept++] = f->heals[i];
        f->n = kept;

        if (f->n == ELEMENTSOF(f->heals)) {
                memmove(f->heals, f->heals + 1, (f->n - 1) * sizeof(f->heals[0]));
                f->n--;
        }
        f->heals[f->n++] = now;

        if (f->n <= burst)
                return false;
        f->until = interval > USEC_INFINITY - now ? USEC_INFINITY : now + interval;
        return true;
}

bool flap_guard_tripped(FlapGuard *f, usec_t now) {
        if (f->until == 0)
                return false;
        if (now >= f->until) {
                flap_guard_reset(f);
                return false;
        }
        return true;
}

unsigned flap_guard_recent(const FlapGuard *f, usec_t now, usec_t interval) {
        unsigned n = 0;

        for (unsigned i = 0; i < f->n; i++)
                if (in_window(f->heals[i], now, interval))
                        n++;
        return n;
}

static const char * const verdict_table[_MODULE_VERDICT_MAX] = {
        [MODULE_VERDICT_OK]       = "ok",
        [MODULE_VERDICT_HEAL]     = "heal",
        [MODULE_VERDICT_REPORT]   = "report",
        [MODULE_VERDICT_HELD]     = "held",
        [MODULE_VERDICT_FLAPPING] = "flapping",
        [MODULE_VERDICT_BACKOFF]  = "backoff",
};

const char *module_verdict_to_string(ModuleVerdict v) {
        return v >= 0 && v < _MODULE_VERDICT_MAX ? verdict_table[v] : NULL;
}

void module_policy_init(ModulePolicy *p) {
        *p = (ModulePolicy) {};
}

void module_policy_reset(ModulePolicy *p) {
        flap_guard_reset(&p->flap);
        p->failures = 0;
        p->retry_at = 0;
}

ModuleVerdict module_policy_decide(ModulePolicy *p, const ModulePolicyInput *in, usec_t now) {
        /* Called even when nothing is missing, so that a window that passed is forgotten. */
        bool tripped = flap_guard_tripped(&p->flap, now);

        if (!in->missing) {
                /* Whoever brought the modules back, the failure streak is over. */
                p->failures = 0;
                p->retry_at = 0;
                return MODULE_VERDICT_OK;
        }
        if (in->held)
                return MODULE_VERDICT_HELD;
        if (in->mode == GUARD_MODE_MONITOR)
                return MODULE_VERDICT_REPORT;
        if (tripped)
                return MODULE_VERDICT_FLAPPING;
        if (p->retry_at > now)
                return MODULE_VERDICT_BACKOFF;
        return MODULE_VERDICT_HEAL;
}

ModuleHealOutcome module_policy_healed(ModulePolicy *p, const ModulePolicyInput *in, bool ok,
                                       bool loaded, usec_t now) {
        ModuleHealOutcome o = {};

        if (!ok) {
                if (p->failures < UINT32_MAX)
                        p->failures++;
                p->heal_failures++;
                o.retry_in = module_backoff_delay(p->failures);
                p->retry_at = now + o.retry_in;
                return o;
        }

        p->failures = 0;
        p->retry_at = 0;
        if (!loaded)
                return o;
        p->heals++;
        if (flap_guard_record(&p->flap, now, in->reload_burst, in->reload_interval)) {
                p->flaps++;
                o.flapping = true;
        }
        return o;
}

bool module_policy_hold_active(const Hold *h, usec_t now) {
        return h && h->held && now < h->until;
}

static bool hold_same(const Hold *a, const Hold *b) {
        return a->held == b->held && a->since == b->since && a->until == b->until &&
               streq(strempty(a->reason), strempty(b->reason));
}

HoldTransition module_policy_hold_transition(const Hold *prev, const Hold *cur, bool was_active,
                                             usec_t now) {
        bool active = module_policy_hold_active(cur, now);

        if (cur && !cur->held && (!prev || prev->held || cur->since != prev->since))
                return HOLD_TRANSITION_RELEASED;
        if (active && (!was_active || !prev || !hold_same(prev, cur)))
                return HOLD_TRANSITION_HELD;
        if (!active && was_active)
                return HOLD_TRANSITION_EXPIRED;
        return HOLD_TRANSITION_NONE;
}
