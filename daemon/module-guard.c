/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdarg.h>
#include <sys/inotify.h>
#include <time.h>

#include "time-util.h"
#include "hold.h"
#include "log.h"
#include "log-fields.h"
#include "manager.h"
#include "module-guard.h"
#include "run-file.h"
#include "module-policy.h"
#include "module-settle.h"
#include "modules.h"
#include "strv.h"
#include "sysctl-guard.h"
#include "uevent.h"

/* How long a heal waits for the reloaded modules' sysctl files to appear before it leaves the
 * rest to the ticks. It blocks the loop, so it stays far below WatchdogSec=. */
#define SYSCTL_APPLY_TIMEOUT (2 * USEC_PER_SEC)

/* The kernel sends a module's remove event before the module is quite gone; loading it again
 * in that moment fails with EBUSY. That is retried this soon, this many times, before it counts
 * as a failed load. */
#define BUSY_RETRY_DELAY (20 * USEC_PER_MSEC)
#define BUSY_RETRIES_MAX 100u

/* Messages read per wakeup: a storm of device events must not starve the rest of the loop. The
 * socket stays readable, so the loop comes back for the others. */
#define UEVENT_BATCH 256u

typedef struct GuardedModule {
        char *name;                     /* as configured */
        char *module;                   /* what is guarded for it; NULL: skipped on this kernel */
        ModuleResolution resolution;
        ModuleStatus status;
        bool status_known;
        bool missing;                   /* absent and loadable: part of the next heal */
        bool missing_reported;
        ModuleBlock blocked;
        bool blocked_reported;
} GuardedModule;

struct ModuleGuard {
        Manager *manager;
        ModuleContext *modules;

        GuardedModule *entries;
        size_t n_entries;
        unsigned skipped;
        char **deps;                    /* what the guarded modules depend on, not guarded */
        char **softdeps;                /* what their soft dependencies name, neither */

        ModulePolicy policy;
        bool flapping;
        unsigned busy_retries;
        usec_t lost_at;                 /* CLOCK_MONOTONIC the current loss was first seen */
        ModuleSettle settle;            /* an unload to let finish before the heal */
        bool summary_pending;           /* report the chain once it is all present */
        char *failure_reported;         /* "MODULE ERRNO" of the last failed heal reported */

        Hold hold;                      /* the hold file as last seen */
        bool have_hold;
        bool held;
        bool hold_broken_reported;

        int hold_fd;                    /* inotify on <root>/run/ctguard */
        sd_event_source *hold_source;

        int uevent_fd;
        sd_event_source *uevent_source;
        sd_event_source *defer_source;  /* a heal an event asked for, once the socket is drained */
        sd_event_source *retry_source;  /* the backoff timer */
        sd_event_source *settle_source; /* looks again while an unload settles */
        char uevent_buf[UEVENT_MESSAGE_MAX];
};

static bool uevents_read(ModuleGuard *g);
static void request_check(ModuleGuard *g);

/* ---- reporting ---- */

#define EVENT(event, f, ...) log_event((event), (const char * const *) (f)->s, __VA_ARGS__)

_printf_(3, 0) static void on_kmod_log(void *userdata, int priority, const char *format, va_list ap) {
        char buf[512];

        vsnprintf(buf, sizeof(buf), format, ap);
        buf[strcspn(buf, "\n")] = '\0';
        /* libkmod's view is detail: ctguard reports the outcome itself. */
        log_debug("libkmod: %s", buf);
}

/* ---- the names ---- */

static void entries_free(GuardedModule *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].name);
                free(e[i].module);
        }
        free(e);
}

static bool module_listed(const GuardedModule *e, size_t n, const char *module) {
        for (size_t i = 0; i < n; i++)
                if (e[i].module && streq(e[i].module, module))
                        return true;
        return false;
}

/* Adds to *into what from has that is neither guarded nor in *into already. */
static int merge_unguarded(char ***into, char **from, const GuardedModule *e, size_t n) {
        for (char **m = from; m && *m; m++) {
                int r;

                if (module_listed(e, n, *m) || strv_contains(*into, *m))
                        continue;
                r = strv_extend(into, *m);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What an unload of the chain takes out besides the chain (libcrc32c, and crc32c_generic
 * with it), for the settle to watch. Without a module tree, the settle watches the chain
 * alone. */
static void guard_resolve_related(ModuleGuard *g) {
        _cleanup_strv_free_ char **deps = calloc(1, sizeof(char *));
        _cleanup_strv_free_ char **soft = calloc(1, sizeof(char *));
        size_t n = 0;

        if (!deps || !soft)
                return;
        for (size_t i = 0; i < g->n_entries; i++) {
                _cleanup_strv_free_ char **d = NULL, **s = NULL;
                int r;

                if (!g->entries[i].module)
                        continue;
                r = module_get_related(g->modules, g->entries[i].module, &d, &s);
                if (r < 0) {
                        log_debug_errno(r, "Failed to look up what module %s depends on, ignoring: %m",
                                        g->entries[i].module);
                        continue;
                }
                if (merge_unguarded(&deps, d, g->entries, g->n_entries) < 0 ||
                    merge_unguarded(&soft, s, g->entries, g->n_entries) < 0)
                        return;
        }
        /* Soft dependency of one module, dependency of another: a dependency. */
        for (size_t k = 0; soft[k]; k++)
                if (strv_contains(deps, soft[k]))
                        free(soft[k]);
                else
                        soft[n++] = soft[k];
        soft[n] = NULL;

        strv_free(g->deps);
        strv_free(g->softdeps);
        g->deps = TAKE_PTR(deps);
        g->softdeps = TAKE_PTR(soft);
}

/* The names to guard: the configured Ensure=, and with the default one the chain's legacy
 * names too. */
static int guard_names(ModuleGuard *g, char ***ret) {
        const Config *c = g->manager->config;
        int k;

        /* The default Ensure= names today's modules; an older kernel has the chain under more
         * names, and guarding the default must mean guarding all of it. A configured Ensure=
         * is taken as written. */
        k = c->origins[CONFIG_MODULES_ENSURE] ? -EEXIST : module_chain_add_legacy(g->modules, c->ensure, ret);
        if (k == -ENOMEM)
                return k;
        if (k < 0 && k != -EEXIST)
                log_debug_errno(k, "Failed to look for the legacy names of the module chain, ignoring: %m");
        if (k < 0 && strv_copy(c->ensure, ret) < 0)
                return -ENOMEM;
        return 0;
}

/* Maps the name of entries[i] onto this kernel: 1 if it is skipped (reported once), 0 if a
 * module is guarded for it. entries[0..i-1] are the names before it. */
static int resolve_entry(ModuleGuard *g, GuardedModule *entries, size_t i) {
        GuardedModule *e = entries + i;
        _cleanup_free_ char *target = NULL;
        const char *name = e->name, *successor;
        Fields f = {};
        int r, skipped = 0;

        r = module_resolve(g->modules, name, &e->resolution, &target);
        if (r < 0) {
                /* Guard the name as given: the sweep will say what it finds. */
                log_debug_errno(r, "Failed to look up module %s, guarding it by name: %m", name);
                e->resolution = MODULE_RESOLUTION_UNKNOWN;
        }

        fields_add(&f, "CTGUARD_MODULE=%s", name);
        switch (e->resolution) {
        case MODULE_RESOLUTION_GONE:
                successor = module_legacy_successor(name);
                EVENT(EVENT_MODULE_SKIPPED, &f,
                      "Module %s does not exist on this kernel (not in %s)%s%s%s, skipping it.",
                      name, module_context_dir(g->modules),
                      successor ? "; it was merged into " : "", strempty(successor),
                      successor ? " in newer kernels" : "");
                skipped = 1;
                break;
        case MODULE_RESOLUTION_MERGED:
                EVENT(EVENT_MODULE_SKIPPED, &f,
                      "Module %s does not exist on this kernel: it was merged into %s, which is present. Skipping it.",
                      name, target);
                skipped = 1;
                break;
        case MODULE_RESOLUTION_ALIAS:
                if (module_listed(entries, i, target)) {
                        log_info("Module %s is an alias of %s on this kernel, which is guarded already.",
                                 name, target);
                        skipped = 1;
                        break;
                }
                log_info("Module %s is an alias of %s on this kernel, guarding %s.",
                         name, target, target);
                e->module = TAKE_PTR(target);
                break;
        case MODULE_RESOLUTION_MODULE:
        case MODULE_RESOLUTION_UNKNOWN:
        case _MODULE_RESOLUTION_MAX:
        case _MODULE_RESOLUTION_INVALID:
                if (module_listed(entries, i, name)) {
                        skipped = 1;
                        break;
                }
                e->module = strdup(name);
                if (!e->module)
                        skipped = -ENOMEM;
        }
        fields_done(&f);
        return skipped;
}

/* Maps every configured name onto this kernel, reporting what is skipped, once. */
static int guard_resolve(ModuleGuard *g) {
        _cleanup_strv_free_ char **ensure = NULL;
        GuardedModule *entries;
        unsigned skipped = 0;
        size_t n;
        int r;

        r = guard_names(g, &ensure);
        if (r < 0)
                return r;
        n = strv_length(ensure);

        entries = calloc(MAX(n, (size_t) 1), sizeof(GuardedModule));
        if (!entries)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                entries[i].name = strdup(ensure[i]);
                r = entries[i].name ? resolve_entry(g, entries, i) : -ENOMEM;
                if (r < 0) {
                        entries_free(entries, n);
                        return r;
                }
                skipped += r;
        }

        entries_free(g->entries, g->n_entries);
        g->entries = entries;
        g->n_entries = n;
        g->skipped = skipped;
        guard_resolve_related(g);
        return 0;
}

/* ---- the hold ---- */

static void guard_set_held(ModuleGuard *g, bool held) {
        g->held = held;
        if (g->manager->sysctl_guard)
                sysctl_guard_set_held(g->manager->sysctl_guard, held);
}

static void report_held(const Hold *h) {
        char span[FORMAT_TIMESPAN_MAX];
        Fields f = {};

        if (h->reason)
                fields_add(&f, "CTGUARD_REASON=%s", h->reason);
        if (h->until != USEC_INFINITY) {
                usec_t now = hold_clock_now(h, now_usec);

                /* The journal's field stays wall-clock time, as it always was. */
                fields_add(&f, "CTGUARD_UNTIL_USEC=%llu",
                           (unsigned long long) hold_wallclock(h, h->until, now_usec));
                /* Whole seconds, rounded up: "for another 59min 59s 719ms 586us" says too much. */
                format_timespan(span, sizeof(span),
                                h->until > now ? (h->until - now + USEC_PER_SEC - 1) /
                                                 USEC_PER_SEC * USEC_PER_SEC : 0);
        }
        EVENT(EVENT_HELD, &f, "On hold%s%s%s, %s%s: healing nothing, still reporting.",
              h->reason ? " (" : "", strempty(h->reason), h->reason ? ")" : "",
              h->until == USEC_INFINITY ? "until released" : "for another ",
              h->until == USEC_INFINITY ? "" : span);
        fields_done(&f);
}

static void guard_refresh_hold(ModuleGuard *g) {
        _cleanup_(hold_done) Hold cur = {};
        usec_t now;
        bool have;
        int r;

        r = hold_load(g->manager->root, &cur);
        if (r < 0 && r != -ENOENT) {
                /* A hold that cannot be read holds nothing: keep guarding, but say so. */
                if (!g->hold_broken_reported)
                        log_warning("The hold file %s, ignoring it.", run_file_strerror(r));
                g->hold_broken_reported = true;
                r = -ENOENT;
        } else if (r >= 0)
                g->hold_broken_reported = false;
        have = r >= 0;
        now = hold_clock_now(have ? &cur : g->have_hold ? &g->hold : NULL, now_usec);

        switch (module_policy_hold_transition(g->have_hold ? &g->hold : NULL, have ? &cur : NULL,
                                              g->held, now)) {
        case HOLD_TRANSITION_HELD:
                guard_set_held(g, true);
                report_held(&cur);
                break;
        case HOLD_TRANSITION_EXPIRED:
                guard_set_held(g, false);
                log_event(EVENT_HOLD_EXPIRED, NULL, "The hold has ended, guarding again.");
                break;
        case HOLD_TRANSITION_RELEASED:
                guard_set_held(g, false);
                module_policy_reset(&g->policy);
                log_event(EVENT_RELEASED, NULL,
                          "Released: guarding again, flap guard and backoff cleared.");
                break;
        case HOLD_TRANSITION_NONE:
        case _HOLD_TRANSITION_MAX:
        case _HOLD_TRANSITION_INVALID:
                break;
        }

        hold_done(&g->hold);
        g->have_hold = have;
        if (have) {
                g->hold = cur;
                cur = (Hold) {};        /* ownership moved */
        }
}

/* ---- the sweep and the heal ---- */

static void report_blocked(GuardedModule *e, ModuleBlock b, const char *who) {
        Fields f = {};

        /* Once per loss, and again if what blocks it changes. */
        if (e->blocked_reported && e->blocked == b)
                return;
        e->blocked = b;
        e->blocked_reported = true;

        fields_add(&f, "CTGUARD_MODULE=%s", e->module);
        fields_add(&f, "CTGUARD_BLOCK=%s", module_block_to_string(b));
        if (who && !streq(who, e->module))
                fields_add(&f, "CTGUARD_BLOCKED_BY=%s", who);
        if (who && !streq(who, e->module))
                EVENT(EVENT_MODULE_BLOCKED, &f,
                      "Module %s is missing and not loaded: its dependency %s %s in modprobe.d.",
                      e->module, who,
                      b == MODULE_BLOCK_BLACKLIST ? "is blacklisted" : "has an install command");
        else
                EVENT(EVENT_MODULE_BLOCKED, &f,
                      "Module %s is missing and not loaded: it %s in modprobe.d.", e->module,
                      b == MODULE_BLOCK_BLACKLIST ? "is blacklisted" :
                      "has an install command (ctguard runs no commands)");
        fields_done(&f);
}

static void report_missing(GuardedModule *e, const char *why) {
        Fields f = {};

        if (e->missing_reported)
                return;
        e->missing_reported = true;
        fields_add(&f, "CTGUARD_MODULE=%s", e->module);
        EVENT(EVENT_MODULE_MISSING, &f, "Module %s is not loaded; %s.", e->module, why);
        fields_done(&f);
}

static void report_chain(ModuleGuard *g) {
        char list[1024] = "", fieldv[1024] = "";
        unsigned builtin = 0, n = 0;
        Fields f = {};

        for (size_t i = 0; i < g->n_entries; i++) {
                GuardedModule *e = g->entries + i;
                size_t l = strlen(list), lf = strlen(fieldv);

                if (!e->module)
                        continue;
                if (!e->status_known || !module_state_present(e->status.state))
                        return;         /* not all there yet: the heal reports */
                if (e->status.state == MODULE_STATE_BUILTIN)
                        builtin++;
                n++;
                snprintf(list + l, sizeof(list) - l, "%s%s (%s)", l ? ", " : "", e->module,
                         module_status_describe(&e->status));
                snprintf(fieldv + lf, sizeof(fieldv) - lf, "%s%s:%s", lf ? " " : "", e->module,
                         module_state_to_string(e->status.state));
        }
        g->summary_pending = false;
        if (n == 0)
                return;

        fields_add(&f, "CTGUARD_MODULES=%s", fieldv);
        fields_add(&f, "CTGUARD_BUILTIN=%u", builtin);
        EVENT(EVENT_MODULE_CHAIN_PRESENT, &f, "Module chain present: %s.", list);
        fields_done(&f);
}

static ModulePolicyInput policy_input(const ModuleGuard *g, bool missing) {
        const Config *c = g->manager->config;

        return (ModulePolicyInput) {
                .mode = c->mode,
                .held = g->held,
                .missing = missing,
                .reload_burst = c->reload_burst,
                .reload_interval = c->reload_interval,
        };
}

static void arm_retry(ModuleGuard *g, usec_t at) {
        int r;

        if (!g->retry_source)
                return;
        r = sd_event_source_set_time(g->retry_source, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(g->retry_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the retry timer, retrying on the next tick: %m");
}

/* What one module's part of a heal came to. */
typedef enum HealStep {
        HEAL_STEP_NONE,                 /* present already, or blocked: nothing loaded */
        HEAL_STEP_LOADED,
        HEAL_STEP_AGAIN,                /* an unload is still running: the heal runs again */
        HEAL_STEP_FAILED,               /* the load failed: the rest of the chain waits */
        _HEAL_STEP_MAX,
        _HEAL_STEP_INVALID = -EINVAL,
} HealStep;

/* Loads one module of the chain if it is missing. */
static HealStep heal_module(ModuleGuard *g, GuardedModule *e, usec_t start, int *ret_errno) {
        _cleanup_free_ char *options = NULL, *who = NULL;
        ModuleBlock b = MODULE_BLOCK_NONE;
        unsigned hashsize;
        usec_t done;
        Fields f = {};
        int r;

        if (!e->module || e->blocked != MODULE_BLOCK_NONE)
                return HEAL_STEP_NONE;

        /* Looked at again, not taken from the sweep: a "modprobe -r" of the chain may still be
         * taking modules out, and what it took since must come back in the configured order,
         * not as a side effect of loading what depends on it. */
        r = module_get_status(g->modules, e->module, &e->status);
        e->status_known = r >= 0;
        if (r >= 0 && (module_state_present(e->status.state) ||
                       e->status.state == MODULE_STATE_COMING)) {
                e->missing = false;
                return HEAL_STEP_NONE;
        }

        /* Start the conntrack table at the guarded size, rather than resize it when the sysctl
         * is restored. */
        if (streq(e->module, "nf_conntrack") && g->manager->sysctl_guard &&
            sysctl_guard_desired_hashsize(g->manager->sysctl_guard, &hashsize) >= 0 &&
            asprintf(&options, "hashsize=%u", hashsize) < 0)
                options = NULL;

        r = module_load(g->modules, e->module, options, false, &b, &who, NULL);
        if (r == 1) {
                report_blocked(e, b, who);
                return HEAL_STEP_NONE;
        }
        if (r >= 0) {
                r = module_get_status(g->modules, e->module, &e->status);
                e->status_known = r >= 0;
                if (r >= 0 && !module_state_present(e->status.state))
                        r = -ENOENT;    /* libkmod thinks it is there; the kernel does not */
        }
        if (r == -EBUSY && g->busy_retries < BUSY_RETRIES_MAX) {
                g->busy_retries++;
                log_debug("Module %s is still going away, loading it again in a moment.",
                          e->module);
                arm_retry(g, now_usec(CLOCK_MONOTONIC) + BUSY_RETRY_DELAY);
                return HEAL_STEP_AGAIN;
        }
        /* A module this one needs went while it was loaded (its symbols were gone, or libcrc32c
         * found no crc32c): an unload is still running. That is no failure of the heal: let the
         * unload settle, then heal again. */
        if (r < 0 && g->uevent_fd >= 0 && g->busy_retries < BUSY_RETRIES_MAX && uevents_read(g)) {
                g->busy_retries++;
                log_debug_errno(r, "Failed to load module %s while modules were being unloaded, loading it again once that is over: %m",
                                e->module);
                request_check(g);
                return HEAL_STEP_AGAIN;
        }
        if (r < 0) {
                *ret_errno = -r;
                return HEAL_STEP_FAILED;
        }

        done = now_usec(CLOCK_MONOTONIC);
        e->missing = false;
        e->missing_reported = false;
        fields_add(&f, "CTGUARD_MODULE=%s", e->module);
        fields_add(&f, "CTGUARD_LATENCY_USEC=%llu",
                   (unsigned long long) (done - MIN(g->lost_at ?: start, done)));
        if (options)
                fields_add(&f, "CTGUARD_OPTIONS=%s", options);
        EVENT(EVENT_MODULE_RELOADED, &f, "Module %s loaded again%s%s.", e->module,
              options ? " with " : "", strempty(options));
        fields_done(&f);
        return HEAL_STEP_LOADED;
}

static void report_load_failed(const char *module, int error, const ModuleHealOutcome *o) {
        char span[FORMAT_TIMESPAN_MAX];
        Fields f = {};

        fields_add(&f, "CTGUARD_MODULE=%s", strempty(module));
        fields_add(&f, "CTGUARD_ERRNO=%d", error);
        fields_add(&f, "CTGUARD_RETRY_USEC=%llu", (unsigned long long) o->retry_in);
        EVENT(EVENT_MODULE_LOAD_FAILED, &f, "Failed to load module %s: %s. Retrying in %s.",
              strempty(module), strerror(error), format_timespan(span, sizeof(span), o->retry_in));
        fields_done(&f);
}

static void report_chain_restored(const ModuleGuard *g, usec_t start) {
        usec_t done = now_usec(CLOCK_MONOTONIC), latency;
        char span[FORMAT_TIMESPAN_MAX];
        Fields f = {};

        latency = done - MIN(g->lost_at ?: start, done);
        fields_add(&f, "CTGUARD_LATENCY_USEC=%llu", (unsigned long long) latency);
        EVENT(EVENT_MODULE_CHAIN_RESTORED, &f,
              "Module chain restored and sysctls applied, %s after the loss was seen.",
              format_timespan(span, sizeof(span),
                              latency < USEC_PER_MSEC ? latency :
                              latency / USEC_PER_MSEC * USEC_PER_MSEC));
        fields_done(&f);
}

static void report_flapping(ModuleGuard *g, const ModulePolicyInput *in) {
        char span[FORMAT_TIMESPAN_MAX];
        Fields f = {};

        fields_add(&f, "CTGUARD_HEALS=%u",
                   flap_guard_recent(&g->policy.flap, now_usec(CLOCK_MONOTONIC),
                                     in->reload_interval));
        fields_add(&f, "CTGUARD_INTERVAL_USEC=%llu", (unsigned long long) in->reload_interval);
        EVENT(EVENT_MODULE_FLAPPING, &f,
              "The module chain was reloaded more than %u times within %s: something keeps unloading it. Healing stops until the window has passed, the configuration is reloaded or 'ctguard release' is run.",
              in->reload_burst, format_timespan(span, sizeof(span), in->reload_interval));
        fields_done(&f);
}

static void guard_heal(ModuleGuard *g, const ModulePolicyInput *in) {
        usec_t start = now_usec(CLOCK_MONOTONIC);
        const char *failed_module = NULL;
        bool loaded_any = false;
        int failed_errno = 0;
        ModuleHealOutcome o;

        for (size_t i = 0; i < g->n_entries && !failed_module; i++)
                switch (heal_module(g, g->entries + i, start, &failed_errno)) {
                case HEAL_STEP_NONE:
                        break;
                case HEAL_STEP_LOADED:
                        loaded_any = true;
                        break;
                case HEAL_STEP_AGAIN:
                        return;
                case HEAL_STEP_FAILED:
                        /* The rest of the chain depends on this one: stop here. */
                        failed_module = g->entries[i].module;
                        break;
                case _HEAL_STEP_MAX:
                case _HEAL_STEP_INVALID:
                        break;
                }

        if (loaded_any && g->manager->sysctl_guard) {
                int r = sysctl_guard_apply_all(g->manager->sysctl_guard,
                                               now_usec(CLOCK_MONOTONIC) + SYSCTL_APPLY_TIMEOUT);
                if (r == -ETIMEDOUT)
                        log_info("Some guarded sysctls did not appear after the modules were loaded, leaving them to the next ticks.");
        }

        g->busy_retries = 0;
        o = module_policy_healed(&g->policy, in, !failed_module, loaded_any,
                                 now_usec(CLOCK_MONOTONIC));

        if (failed_module) {
                char span[FORMAT_TIMESPAN_MAX];
                _cleanup_free_ char *failure = NULL;

                /* Once per module and errno: the retries of a load that keeps failing the same
                 * way are no news, and would fill the journal for as long as it lasts. */
                if (asprintf(&failure, "%s %d", failed_module, failed_errno) < 0)
                        failure = NULL;
                if (failure && g->failure_reported && streq(failure, g->failure_reported)) {
                        log_debug("Failed to load module %s again: %s. Retrying in %s.",
                                  failed_module, strerror(failed_errno),
                                  format_timespan(span, sizeof(span), o.retry_in));
                        arm_retry(g, g->policy.retry_at);
                        return;
                }
                free(g->failure_reported);
                g->failure_reported = TAKE_PTR(failure);

                report_load_failed(failed_module, failed_errno, &o);
                arm_retry(g, g->policy.retry_at);
                return;
        }
        free(g->failure_reported);
        g->failure_reported = NULL;

        if (loaded_any)
                report_chain_restored(g, start);
        g->lost_at = 0;

        if (o.flapping) {
                g->flapping = true;
                report_flapping(g, in);
        }
}

/* Whether an unloader could take the module out next: loaded, and used by nothing. */
static bool module_loose(ModuleGuard *g, const char *module, ModuleState state) {
        unsigned refs;

        return state == MODULE_STATE_LIVE &&
               module_get_refcount(g->modules, module, &refs) >= 0 && refs == 0;
}

/* When to look again while an unload may still be running, or 0 to go ahead now. The chain is
 * looked at every time; what it depends on only while a settle runs, or while something is
 * going: an idle tick reads no more than before.
 *
 * Only a module of the chain that nothing uses counts as what an unloader takes next
 * (nf_conntrack once nf_nat is gone). A dependency that nothing uses is no sign of an unload
 * still running: "modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6" leaves
 * libcrc32c loaded and unused for good, and a soft dependency may be an alternative not
 * chosen (crc32c_generic beside crc32c_intel). Waiting for them would make every heal wait
 * for the whole quiet period. That one is taken out while the chain comes back is caught as
 * it goes (the heal is retried once the unload is over). */
static usec_t settle_until(ModuleGuard *g, usec_t now) {
        ModuleSettleInput in = {};

        for (size_t i = 0; i < g->n_entries; i++) {
                GuardedModule *e = g->entries + i;

                e->status_known = e->module &&
                                  module_get_status(g->modules, e->module, &e->status) >= 0;
                if (!e->status_known)
                        continue;
                if (e->status.state == MODULE_STATE_GOING)
                        in.going = true;
                else if (e->status.state == MODULE_STATE_ABSENT)
                        in.missing = true;
        }
        if (!in.going && !(in.missing && module_settle_running(&g->settle, now)))
                return module_settle_next(&g->settle, &in, now);

        for (size_t i = 0; i < g->n_entries; i++) {
                const GuardedModule *e = g->entries + i;

                if (e->status_known && module_loose(g, e->module, e->status.state))
                        in.loose = true;
        }
        for (size_t k = 0; k < 2; k++)
                for (char **m = k == 0 ? g->deps : g->softdeps; m && *m; m++) {
                        ModuleStatus st;

                        if (module_get_status(g->modules, *m, &st) >= 0 &&
                            st.state == MODULE_STATE_GOING)
                                in.going = true;
                }
        return module_settle_next(&g->settle, &in, now);
}

static int arm_settle(ModuleGuard *g, usec_t at) {
        int r;

        r = sd_event_source_set_time(g->settle_source, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(g->settle_source, SD_EVENT_ONESHOT);
        if (r < 0)
                /* Heal now rather than wait for a tick. */
                return log_warning_errno(r, "Failed to arm the settle timer, not waiting for the unload to finish: %m");
        return 0;
}

/* Whether an unload is still running and the check waits for it (the settle timer is armed). */
static bool guard_settling(ModuleGuard *g, usec_t now) {
        usec_t settle, started = g->settle.start;

        settle = settle_until(g, now);
        if (settle > 0 && arm_settle(g, settle) >= 0)
                return true;
        if (settle > 0)
                g->settle = (ModuleSettle) {};
        if (started != 0)
                log_debug("The unload has settled after %llu ms, looking at the modules.",
                          (unsigned long long) ((now - started) / USEC_PER_MSEC));
        return false;
}

/* Looks at one module of the chain: whether it is missing, and may be loaded. modprobe.d is
 * read again once per sweep (*refreshed), at the first module missing. */
static bool sweep_module(ModuleGuard *g, GuardedModule *e, bool *refreshed) {
        _cleanup_free_ char *who = NULL;
        ModuleBlock b;
        int r;

        e->missing = false;
        if (!e->module)
                return false;

        r = module_get_status(g->modules, e->module, &e->status);
        e->status_known = r >= 0;
        if (r < 0) {
                log_debug_errno(r, "Failed to read the state of module %s, ignoring: %m",
                                e->module);
                return false;
        }
        if (module_state_present(e->status.state)) {
                e->missing_reported = false;
                e->blocked_reported = false;
                e->blocked = MODULE_BLOCK_NONE;
                return false;
        }
        if (e->status.state == MODULE_STATE_COMING)
                return false;   /* someone is loading it right now */

        /* modprobe.d may have changed since the last loss. */
        if (!*refreshed) {
                r = module_context_refresh(g->modules);
                if (r < 0)
                        log_debug_errno(r, "Failed to re-read modprobe.d, ignoring: %m");
                *refreshed = true;
        }
        r = module_check_blocked(g->modules, e->module, &b, &who);
        if (r >= 0 && b != MODULE_BLOCK_NONE) {
                report_blocked(e, b, who);
                return false;
        }
        e->blocked = MODULE_BLOCK_NONE;
        e->blocked_reported = false;
        e->missing = true;
        return true;
}

static void guard_act(ModuleGuard *g, ModuleVerdict v, const ModulePolicyInput *in) {
        switch (v) {
        case MODULE_VERDICT_OK:
                g->lost_at = 0;
                break;
        case MODULE_VERDICT_HEAL:
                guard_heal(g, in);
                break;
        case MODULE_VERDICT_REPORT:
        case MODULE_VERDICT_HELD:
        case MODULE_VERDICT_FLAPPING:
                g->flapping = v == MODULE_VERDICT_FLAPPING;
                for (size_t i = 0; i < g->n_entries; i++)
                        if (g->entries[i].missing)
                                report_missing(g->entries + i,
                                               v == MODULE_VERDICT_REPORT ? "monitor mode, not loading it" :
                                               v == MODULE_VERDICT_HELD ? "on hold, not loading it" :
                                               "the flap guard is tripped, not loading it");
                break;
        case MODULE_VERDICT_BACKOFF:
                arm_retry(g, g->policy.retry_at);
                break;
        case _MODULE_VERDICT_MAX:
        case _MODULE_VERDICT_INVALID:
                break;
        }
}

static void guard_check(ModuleGuard *g) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        bool missing = false, refreshed = false;
        ModulePolicyInput in;
        ModuleVerdict v;

        if (guard_settling(g, now))
                return;

        guard_refresh_hold(g);

        for (size_t i = 0; i < g->n_entries; i++)
                if (sweep_module(g, g->entries + i, &refreshed))
                        missing = true;

        if (missing && g->lost_at == 0)
                g->lost_at = now;

        in = policy_input(g, missing);
        v = module_policy_decide(&g->policy, &in, now);

        /* Not the verdict: with nothing missing it is OK while the guard is still tripped. */
        if (g->flapping && !flap_guard_tripped(&g->policy.flap, now)) {
                g->flapping = false;
                log_info("The flap guard window has passed, healing modules again.");
        }

        guard_act(g, v, &in);

        if (g->summary_pending)
                report_chain(g);
}

/* ---- event sources ---- */

static bool guarded(const ModuleGuard *g, const char *module) {
        return module_listed(g->entries, g->n_entries, module);
}

static bool related(const ModuleGuard *g, const char *module) {
        return strv_contains(g->deps, module) || strv_contains(g->softdeps, module);
}

static void request_check(ModuleGuard *g) {
        int r = sd_event_source_set_enabled(g->defer_source, SD_EVENT_ONESHOT);

        if (r < 0)
                log_warning_errno(r, "Failed to schedule a module check, leaving it to the next tick: %m");
}

/* Reads what the uevent socket holds. Returns true if a module of the chain, or one it depends
 * on, went (noted for the settle), or if events were lost. */
static bool uevents_read(ModuleGuard *g) {
        bool removed = false, lost = false;

        for (unsigned i = 0; i < UEVENT_BATCH; i++) {
                Uevent ev;
                size_t len;
                int r;

                r = uevent_receive(g->uevent_fd, g->uevent_buf, sizeof(g->uevent_buf), &len);
                if (r == -EAGAIN || r == -EINTR)
                        break;
                if (r == -ENOBUFS) {
                        /* The kernel dropped messages: whatever they said, look at it all. */
                        lost = removed = true;
                        continue;
                }
                if (r == -EPERM || r == -EMSGSIZE) {
                        log_debug_errno(r, "Ignoring a uevent not sent by the kernel or truncated: %m");
                        continue;
                }
                if (r < 0) {
                        log_warning_errno(r, "Failed to receive a uevent, relying on the ticks: %m");
                        break;
                }

                r = uevent_parse(g->uevent_buf, len, &ev);
                if (r < 0) {
                        log_debug_errno(r, "Ignoring a malformed uevent: %m");
                        continue;
                }
                if (!ev.module || !(guarded(g, ev.module) || related(g, ev.module)))
                        continue;

                log_debug("uevent: %s %s (seqnum %llu)", uevent_action_to_string(ev.action),
                          ev.module, (unsigned long long) ev.seqnum);
                if (ev.action == UEVENT_ACTION_REMOVE) {
                        usec_t now = now_usec(CLOCK_MONOTONIC);
                        ModuleStatus st;

                        /* An event read late (a heal ran first) is a loss healed already. */
                        if (g->lost_at == 0 && guarded(g, ev.module) &&
                            module_get_status(g->modules, ev.module, &st) >= 0 &&
                            !module_state_present(st.state))
                                g->lost_at = now;
                        module_settle_removed(&g->settle, now);
                        removed = true;
                }
        }
        /* Once for the batch: one rescan answers every loss in it. */
        if (lost)
                log_info("Kernel uevents were lost (receive buffer full), rescanning the modules.");
        return removed;
}

static int on_uevent(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ModuleGuard *g = userdata;

        if (uevents_read(g))
                request_check(g);
        return 0;
}

static int on_hold_change(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        /* What changed does not matter: the check re-reads the file. */
        union {
                struct inotify_event ev;
                char buf[4096];
        } u;

        while (read(fd, &u, sizeof(u)) > 0)
                ;
        request_check(userdata);
        return 0;
}

/* "ctguard hold" must take effect at once, not at the next tick: an administrator who holds
 * and then unloads a module, or sets a sysctl, must not race the guards. */
static int watch_hold(ModuleGuard *g) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = hold_dir_create(g->manager->root, &dir);
        if (r < 0)
                return r;
        fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE) < 0)
                return negative_errno();
        r = sd_event_add_io(g->manager->event, &g->hold_source, fd, EPOLLIN, on_hold_change, g);
        if (r < 0)
                return r;
        g->hold_fd = TAKE_FD(fd);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        guard_check(userdata);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        guard_check(userdata);
        return 0;
}

static int on_settle(sd_event_source *s, uint64_t usec, void *userdata) {
        guard_check(userdata);
        return 0;
}

/* ---- life cycle ---- */

ModuleGuard *module_guard_free(ModuleGuard *g) {
        if (!g)
                return NULL;
        sd_event_source_disable_unref(g->hold_source);
        safe_close(g->hold_fd);
        sd_event_source_disable_unref(g->uevent_source);
        sd_event_source_disable_unref(g->defer_source);
        sd_event_source_disable_unref(g->retry_source);
        sd_event_source_disable_unref(g->settle_source);
        safe_close(g->uevent_fd);
        entries_free(g->entries, g->n_entries);
        strv_free(g->deps);
        strv_free(g->softdeps);
        free(g->failure_reported);
        module_context_free(g->modules);
        hold_done(&g->hold);
        free(g);
        return NULL;
}

int module_guard_new(Manager *m, ModuleGuard **ret) {
        _cleanup_(module_guard_freep) ModuleGuard *g = NULL;
        _cleanup_(hold_done) Hold h = {};
        int r;

        g = calloc(1, sizeof(ModuleGuard));
        if (!g)
                return -ENOMEM;
        g->manager = m;
        g->uevent_fd = -EBADF;
        g->hold_fd = -EBADF;
        g->summary_pending = true;
        module_policy_init(&g->policy);

        r = module_context_new(NULL, &g->modules);
        if (r < 0)
                return log_error_errno(r, "Failed to set up libkmod: %m");
        module_context_set_log(g->modules, on_kmod_log, g,
                               log_get_max_level() >= LOG_DEBUG ? LOG_DEBUG : LOG_ERR);

        r = guard_resolve(g);
        if (r < 0)
                return r;

        r = uevent_socket_open(UEVENT_RCVBUF_SIZE, &g->uevent_fd);
        if (r < 0)
                log_full_errno(LOG_NOTICE, r, "Failed to open the kernel uevent socket, noticing module unloads on the ticks only: %m");
        else {
                r = sd_event_add_io(m->event, &g->uevent_source, g->uevent_fd, EPOLLIN, on_uevent,
                                    g);
                if (r < 0)
                        return r;
        }

        r = sd_event_add_defer(m->event, &g->defer_source, on_defer, g);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(g->defer_source, SD_EVENT_OFF);
        if (r < 0)
                return r;

        /* An accuracy of 0 would be sd-event's default, 250 ms: a busy retry due in 20 ms
         * could wait a quarter of a second. 1 ms, as the poll tick. */
        r = sd_event_add_time(m->event, &g->retry_source, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                              on_retry, g);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(g->retry_source, SD_EVENT_OFF);
        if (r < 0)
                return r;

        /* 1 ms accuracy, as the poll tick: a settle is tens of milliseconds. */
        r = sd_event_add_time(m->event, &g->settle_source, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                              on_settle, g);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(g->settle_source, SD_EVENT_OFF);
        if (r < 0)
                return r;

        r = watch_hold(g);
        if (r < 0)
                log_debug_errno(r, "Failed to watch the hold file, noticing holds on the ticks only: %m");

        /* Releases recorded before this start are history; a hold in force is reported now. */
        r = hold_load(m->root, &h);
        if (r >= 0 && !h.held) {
                g->hold = h;
                h = (Hold) {};
                g->have_hold = true;
        }

        *ret = TAKE_PTR(g);
        return 0;
}

void module_guard_tick(ModuleGuard *g) {
        if (g)
                guard_check(g);
}

int module_guard_reload(ModuleGuard *g) {
        int r;

        if (!g)
                return 0;

        r = module_context_refresh(g->modules);
        if (r < 0)
                log_debug_errno(r, "Failed to re-read modprobe.d, ignoring: %m");
        r = guard_resolve(g);
        if (r < 0)
                return r;

        /* A new configuration is a deliberate act: the flap guard and the backoff start over. */
        module_policy_reset(&g->policy);
        g->flapping = false;
        g->summary_pending = true;
        request_check(g);
        return 0;
}

bool module_guard_held(const ModuleGuard *g) {
        return g && g->held;
}

void module_guard_counts(const ModuleGuard *g, ModuleGuardCounts *ret) {
        ModuleGuardCounts c = {};

        if (g) {
                for (size_t i = 0; i < g->n_entries; i++) {
                        const GuardedModule *e = g->entries + i;

                        if (!e->module)
                                continue;
                        c.guarded++;
                        if (e->status_known && module_state_present(e->status.state))
                                c.present++;
                        if (e->status_known && e->status.state == MODULE_STATE_BUILTIN)
                                c.builtin++;
                }
                c.skipped = g->skipped;
                c.heals = g->policy.heals;
                c.failures = g->policy.heal_failures;
                c.held = g->held;
                c.flapping = g->flapping;
        }
        *ret = c;
}

const char *module_guard_module(const ModuleGuard *g, size_t i, bool *ret_known, ModuleState *ret_state) {
        for (size_t j = 0; g && j < g->n_entries; j++) {
                const GuardedModule *e = g->entries + j;

                if (!e->module)
                        continue;
                if (i-- > 0)
                        continue;
                *ret_known = e->status_known;
                *ret_state = e->status.state;
                return e->module;
        }
        return NULL;
}
