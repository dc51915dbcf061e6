/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "macro.h"
#include "sysctl-policy.h"
#include "sysctl.h"

static const char * const status_names[_SYSCTL_KEY_STATUS_MAX] = {
        [SYSCTL_KEY_UNKNOWN] = "unknown",
        [SYSCTL_KEY_OK] = "ok",
        [SYSCTL_KEY_DRIFTED] = "drifted",
        [SYSCTL_KEY_UNAVAILABLE] = "unavailable",
        [SYSCTL_KEY_READ_FAILED] = "read-failed",
        [SYSCTL_KEY_READONLY] = "readonly",
        [SYSCTL_KEY_FAILED] = "failed",
        [SYSCTL_KEY_FIGHT] = "fight",
};

const char *sysctl_key_status_to_string(SysctlKeyStatus s) {
        if (s < 0 || s >= _SYSCTL_KEY_STATUS_MAX)
                return NULL;
        return status_names[s];
}

static const char * const action_names[_SYSCTL_ACTION_MAX] = {
        [SYSCTL_ACTION_NONE] = "none",
        [SYSCTL_ACTION_RESTORE] = "restore",
        [SYSCTL_ACTION_REPORT_DRIFT] = "sysctl-drift",
        [SYSCTL_ACTION_REPORT_UNAVAILABLE] = "sysctl-unavailable",
        [SYSCTL_ACTION_REPORT_READ_FAILED] = "sysctl-failed",
        [SYSCTL_ACTION_REPORT_FIGHT] = "sysctl-fight",
        [SYSCTL_ACTION_REPORT_RESTORED] = "sysctl-restored",
        [SYSCTL_ACTION_REPORT_READONLY] = "sysctl-readonly",
        [SYSCTL_ACTION_REPORT_FAILED] = "sysctl-failed",
        [SYSCTL_ACTION_FOLLOW] = "follow",
        [SYSCTL_ACTION_REPORT_ADOPTED] = "sysctl-adopted",
};

const char *sysctl_action_to_string(SysctlAction a) {
        if (a < 0 || a >= _SYSCTL_ACTION_MAX)
                return NULL;
        return action_names[a];
}

usec_t sysctl_retry_delay(unsigned failures) {
        usec_t d = SYSCTL_RETRY_MIN;

        for (unsigned i = 1; i < failures && d < SYSCTL_RETRY_INTERVAL; i++)
                d *= 2;
        return MIN(d, SYSCTL_RETRY_INTERVAL);
}

void sysctl_key_state_init(SysctlKeyState *s) {
        *s = (SysctlKeyState) {
                .status = SYSCTL_KEY_UNKNOWN,
        };
}

void sysctl_key_state_init_followed(SysctlKeyState *s) {
        sysctl_key_state_init(s);
        s->followed = true;
}

static void reported_clear(SysctlKeyState *s) {
        for (size_t i = 0; i < ELEMENTSOF(s->reported); i++)
                s->reported[i] = 0;
}

/* Read errors are remembered as negative numbers, write errors as positive ones: EACCES while
 * reading and EACCES while writing are different news. Returns true if this one is new. */
static bool reported_add(SysctlKeyState *s, int code) {
        for (size_t i = 0; i < ELEMENTSOF(s->reported); i++) {
                if (s->reported[i] == code)
                        return false;
                if (s->reported[i] == 0) {
                        s->reported[i] = code;
                        return true;
                }
        }
        /* Full: an unusual key failing in many ways; report, the log stays bounded by the
         * retry interval. */
        return true;
}

void sysctl_key_state_module_reloaded(SysctlKeyState *s) {
        if (s->followed && s->status != SYSCTL_KEY_READONLY)
                s->lost = true;
        if (s->status != SYSCTL_KEY_READONLY && s->status != SYSCTL_KEY_FAILED)
                return;
        /* What was reported stays reported: the same answer from the new module is no news. */
        s->status = SYSCTL_KEY_UNKNOWN;
        s->error = 0;
        s->until = 0;
        s->failures = 0;
}

unsigned sysctl_policy_recent_restores(const SysctlKeyState *s, usec_t now) {
        unsigned n = 0;

        for (unsigned i = 0; i < s->n_restores; i++) {
                usec_t t = s->restores[(s->next_restore + SYSCTL_FIGHT_BURST - 1 - i) %
                                       SYSCTL_FIGHT_BURST];

                if (t + SYSCTL_FIGHT_WINDOW > now)
                        n++;
        }
        return n;
}

static void restore_record(SysctlKeyState *s, usec_t now) {
        s->restores[s->next_restore] = now;
        s->next_restore = (s->next_restore + 1) % SYSCTL_FIGHT_BURST;
        if (s->n_restores < SYSCTL_FIGHT_BURST)
                s->n_restores++;
}

/* FNV-1a over the fields joined by single spaces, so that a value reported as drifted is not
 * reported again merely because it was printed with other whitespace. Never 0: 0 is "none". */
static uint64_t value_hash(const char *v) {
        uint64_t h = UINT64_C(14695981039346656037);
        bool blank = false, first = true;

        for (; *v; v++) {
                if (*v == ' ' || *v == '\t' || *v == '\n') {
                        blank = true;
                        continue;
                }
                if (blank && !first) {
                        h ^= (uint8_t) ' ';
                        h *= UINT64_C(1099511628211);
                }
                blank = false;
                first = false;
                h ^= (uint8_t) *v;
                h *= UINT64_C(1099511628211);
        }
        return h ?: 1;
}

/* A read failed: reported once per error (the set of errors reported is reset once the key
 * holds its value again). */
static SysctlAction decide_read_failed(SysctlKeyState *s, int read_result) {
        s->status = SYSCTL_KEY_READ_FAILED;
        s->error = -read_result;
        return reported_add(s, read_result) ? SYSCTL_ACTION_REPORT_READ_FAILED : SYSCTL_ACTION_NONE;
}

/* The value differs and ctguard may not write (monitor mode or on hold): reported once per
 * value seen. */
static SysctlAction decide_drift(SysctlKeyState *s, const char *observed) {
        uint64_t h = value_hash(observed);

        if (s->status == SYSCTL_KEY_DRIFTED && s->drift_hash == h)
                return SYSCTL_ACTION_NONE;
        s->status = SYSCTL_KEY_DRIFTED;
        s->drift_hash = h;
        return SYSCTL_ACTION_REPORT_DRIFT;
}

SysctlDecision sysctl_policy_observe(const SysctlPolicyInput *in, SysctlKeyState *s,
                                     int read_result, const char *observed, const char *desired,
                                     usec_t now) {
        SysctlDecision d = { .action = SYSCTL_ACTION_NONE };

        if (read_result == -ENOENT || read_result == -ENOTDIR) {
                /* Missing: a key no kernel has, or one whose module is not loaded (yet). The
                 * caller looks again each tick, which is one failed lookup. */
                s->drift_hash = 0;
                if (s->status == SYSCTL_KEY_UNAVAILABLE)
                        return d;
                s->status = SYSCTL_KEY_UNAVAILABLE;
                d.action = SYSCTL_ACTION_REPORT_UNAVAILABLE;
                return d;
        }

        if (read_result < 0) {
                d.action = decide_read_failed(s, read_result);
                return d;
        }

        s->seen = true;
        if (s->status == SYSCTL_KEY_UNAVAILABLE) {
                d.appeared = true;
                s->status = SYSCTL_KEY_UNKNOWN;
        } else if (s->status == SYSCTL_KEY_READ_FAILED) {
                s->status = SYSCTL_KEY_UNKNOWN;
                s->error = 0;
        }

        if (s->status == SYSCTL_KEY_FIGHT) {
                if (now < s->until)
                        return d;
                /* The window passed: start counting afresh, and fight again if it goes on. The
                 * key was ours before the fight, so undoing the next change counts. */
                d.fight_over = true;
                s->status = SYSCTL_KEY_OK;
                s->n_restores = 0;
        }

        if (sysctl_value_equal(observed, desired)) {
                /* Read-only stays read-only until a reload: whoever set the value, it is not
                 * ctguard that can keep it there. */
                if (s->status == SYSCTL_KEY_READONLY)
                        return d;
                s->status = SYSCTL_KEY_OK;
                s->error = 0;
                s->until = 0;
                s->failures = 0;
                s->drift_hash = 0;
                reported_clear(s);
                return d;
        }

        if (in->mode == GUARD_MODE_MONITOR || in->held) {
                d.action = decide_drift(s, observed);
                return d;
        }

        if (s->status == SYSCTL_KEY_READONLY)
                return d;
        if (s->status == SYSCTL_KEY_FAILED && now < s->until)
                return d;

        if (sysctl_policy_recent_restores(s, now) >= SYSCTL_FIGHT_BURST) {
                s->status = SYSCTL_KEY_FIGHT;
                s->until = now + SYSCTL_FIGHT_WINDOW;
                s->fights_total++;
                d.action = SYSCTL_ACTION_REPORT_FIGHT;
                return d;
        }

        s->counting = s->status == SYSCTL_KEY_OK;
        d.action = SYSCTL_ACTION_RESTORE;
        return d;
}

SysctlDecision sysctl_policy_follow(const SysctlPolicyInput *in, SysctlKeyState *s,
                                    int read_result, const char *observed, const char *kept,
                                    int probe, usec_t now) {
        SysctlDecision d = { .action = SYSCTL_ACTION_NONE };

        if (read_result == -ENOENT || read_result == -ENOTDIR) {
                /* The module went (or never came). Nothing to say: the key is nobody's
                 * setting. What was kept is what comes back if its module returns. */
                if (kept && s->status != SYSCTL_KEY_READONLY)
                        s->lost = true;
                s->status = SYSCTL_KEY_UNAVAILABLE;
                s->drift_hash = 0;
                return d;
        }

        if (read_result < 0) {
                d.action = decide_read_failed(s, read_result);
                return d;
        }

        s->seen = true;
        if (s->status == SYSCTL_KEY_UNAVAILABLE || s->status == SYSCTL_KEY_READ_FAILED) {
                s->status = SYSCTL_KEY_UNKNOWN;
                s->error = 0;
        }

        /* Read-only where ctguard runs (nf_conntrack_max inside a network namespace): nobody
         * can change it here, there is nothing to follow, and nothing to warn about. */
        if (probe < 0 && sysctl_error_is_readonly(probe)) {
                s->status = SYSCTL_KEY_READONLY;
                s->error = -probe;
                s->lost = false;
                return d;
        }
        if (s->status == SYSCTL_KEY_READONLY)
                return d;

        if (!kept) {
                s->status = SYSCTL_KEY_OK;
                s->lost = false;
                d.action = SYSCTL_ACTION_FOLLOW;
                return d;
        }

        if (sysctl_value_equal(observed, kept)) {
                s->status = SYSCTL_KEY_OK;
                s->lost = false;
                s->drift_hash = 0;
                reported_clear(s);
                return d;
        }

        if (!s->lost) {
                /* Someone set it: theirs is the value from now on. */
                s->status = SYSCTL_KEY_OK;
                s->drift_hash = 0;
                d.action = SYSCTL_ACTION_REPORT_ADOPTED;
                return d;
        }

        /* Back after a module reload with the kernel's default: the value seen before the loss
         * returns, unless ctguard may not write. */
        if (in->mode == GUARD_MODE_MONITOR || in->held) {
                d.action = decide_drift(s, observed);
                return d;
        }

        /* Putting a reset back is not undoing anyone's change: it does not count as a fight. */
        s->counting = false;
        d.action = SYSCTL_ACTION_RESTORE;
        (void) now;
        return d;
}

SysctlAction sysctl_policy_written(SysctlKeyState *s, int write_result, usec_t now) {
        if (write_result >= 0)
                s->lost = false;
        if (write_result < 0 && s->followed && write_result != -ENOENT && write_result != -ENOTDIR) {
                /* A followed key is written once, to undo a reset. If that fails, what is
                 * there is followed from now on; a read-only key is not followed at all. */
                s->lost = false;
                s->error = -write_result;
                if (sysctl_error_is_readonly(write_result)) {
                        s->status = SYSCTL_KEY_READONLY;
                        return SYSCTL_ACTION_NONE;
                }
                s->status = SYSCTL_KEY_UNKNOWN;
                return reported_add(s, -write_result) ? SYSCTL_ACTION_REPORT_FAILED :
                                                        SYSCTL_ACTION_NONE;
        }
        if (write_result >= 0) {
                if (s->counting)
                        restore_record(s, now);
                s->restores_total++;
                s->status = SYSCTL_KEY_OK;
                s->error = 0;
                s->until = 0;
                s->failures = 0;
                s->drift_hash = 0;
                reported_clear(s);
                return SYSCTL_ACTION_REPORT_RESTORED;
        }

        if (write_result == -ENOENT || write_result == -ENOTDIR) {
                /* Gone between the read and the write: a module on its way out. */
                s->status = SYSCTL_KEY_UNAVAILABLE;
                return SYSCTL_ACTION_REPORT_UNAVAILABLE;
        }

        s->error = -write_result;
        if (sysctl_error_is_readonly(write_result)) {
                s->status = SYSCTL_KEY_READONLY;
                return reported_add(s, -write_result) ? SYSCTL_ACTION_REPORT_READONLY :
                                                        SYSCTL_ACTION_NONE;
        }

        s->status = SYSCTL_KEY_FAILED;
        s->failures++;
        s->until = now + sysctl_retry_delay(s->failures);
        return reported_add(s, -write_result) ? SYSCTL_ACTION_REPORT_FAILED : SYSCTL_ACTION_NONE;
}

int sysctl_policy_parse_hashsize(const char *value, unsigned *ret) {
        unsigned v;

        if (parse_unsigned(value, &v) < 0 || v == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int sysctl_policy_desired_hashsize(const Config *c, unsigned *ret) {
        const SysctlSetting *s;

        s = config_find_sysctl(c, "net/netfilter/nf_conntrack_buckets");
        if (!s)
                return -ENOENT;
        return sysctl_policy_parse_hashsize(s->value, ret);
}
