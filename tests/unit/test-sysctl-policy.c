/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The sysctl policy with a fake clock: scenarios as tables of looks at one key. */

#include <check.h>

#include "config.h"
#include "macro.h"
#include "sysctl-policy.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
#define MAX_STEPS 32

enum {
        APPEARED = 1 << 0,
        FIGHT_OVER = 1 << 1,
        HELD = 1 << 2,          /* the hold is on for this look */
        MODULE_RELOADED = 1 << 3, /* sysctl_key_state_module_reloaded() before this look */
};

typedef struct Step {
        unsigned t;             /* seconds on the fake clock */
        int read;               /* what reading returned */
        const char *observed;
        SysctlAction want;      /* from sysctl_policy_observe() */
        int write;              /* if want is RESTORE: what the write returned */
        SysctlAction want_written;
        SysctlKeyStatus status; /* afterwards */
        unsigned flags;
} Step;

#define END { .want = _SYSCTL_ACTION_INVALID }

typedef struct Scenario {
        const char *name;
        GuardMode mode;
        Step steps[MAX_STEPS];
} Scenario;

#define NONE SYSCTL_ACTION_NONE
#define RESTORE SYSCTL_ACTION_RESTORE
#define DRIFT SYSCTL_ACTION_REPORT_DRIFT
#define UNAVAILABLE SYSCTL_ACTION_REPORT_UNAVAILABLE
#define READ_FAILED SYSCTL_ACTION_REPORT_READ_FAILED
#define FIGHT SYSCTL_ACTION_REPORT_FIGHT
#define RESTORED SYSCTL_ACTION_REPORT_RESTORED
#define READONLY SYSCTL_ACTION_REPORT_READONLY
#define FAILED SYSCTL_ACTION_REPORT_FAILED

#define K_OK SYSCTL_KEY_OK
#define K_DRIFTED SYSCTL_KEY_DRIFTED
#define K_UNAVAILABLE SYSCTL_KEY_UNAVAILABLE
#define K_READ_FAILED SYSCTL_KEY_READ_FAILED
#define K_READONLY SYSCTL_KEY_READONLY
#define K_FAILED SYSCTL_KEY_FAILED
#define K_FIGHT SYSCTL_KEY_FIGHT

/* Every scenario guards the same key with the desired value "7200". */
static const Scenario scenarios[] = {
        { "enforce", GUARD_MODE_ENFORCE, {
                /* First look: the kernel default is replaced. */
                { 0, 0, "432000", RESTORE, 0, RESTORED, K_OK, 0 },
                { 1, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                { 2, 0, "7200\n", NONE, 0, NONE, K_OK, 0 },
                { 3, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 4, 0, " 7200 ", NONE, 0, NONE, K_OK, 0 },
                END } },

        { "fight", GUARD_MODE_ENFORCE, {
                { 0, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                /* Something sets it back every second: five restores are allowed... */
                { 1, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 2, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 3, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 4, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 5, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                /* ...the sixth change is a fight, reported once... */
                { 6, 0, "100", FIGHT, 0, NONE, K_FIGHT, 0 },
                /* ...and the key is left alone for the window, whatever it holds. */
                { 7, 0, "100", NONE, 0, NONE, K_FIGHT, 0 },
                { 30, 0, "200", NONE, 0, NONE, K_FIGHT, 0 },
                { 65, 0, "100", NONE, 0, NONE, K_FIGHT, 0 },
                /* The window has passed: guarded again, counting from zero. */
                { 66, 0, "100", RESTORE, 0, RESTORED, K_OK, FIGHT_OVER },
                { 67, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 68, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 69, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 70, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                { 71, 0, "100", FIGHT, 0, NONE, K_FIGHT, 0 },
                END } },

        { "fight window ends on a good value", GUARD_MODE_ENFORCE, {
                { 0, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                { 1, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 2, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 3, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 4, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 5, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 6, 0, "1", FIGHT, 0, NONE, K_FIGHT, 0 },
                { 70, 0, "7200", NONE, 0, NONE, K_OK, FIGHT_OVER },
                /* One more change is a restore, not a fight: the count started afresh. */
                { 71, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                END } },

        { "first writes are not a fight", GUARD_MODE_ENFORCE, {
                /* Start, then failures and retries: only undoing someone's change counts. */
                { 0, 0, "1", RESTORE, -EINVAL, FAILED, K_FAILED, 0 },
                { 60, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                { 120, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 121, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 122, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 123, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 124, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 125, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 126, 0, "1", FIGHT, 0, NONE, K_FIGHT, 0 },
                END } },

        { "monitor", GUARD_MODE_MONITOR, {
                { 0, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                { 1, 0, "100", DRIFT, 0, NONE, K_DRIFTED, 0 },
                /* The same drift is reported once, however it is spaced. */
                { 2, 0, "100", NONE, 0, NONE, K_DRIFTED, 0 },
                { 3, 0, "100\n", NONE, 0, NONE, K_DRIFTED, 0 },
                { 4, 0, "200", DRIFT, 0, NONE, K_DRIFTED, 0 },
                { 5, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                { 6, 0, "200", DRIFT, 0, NONE, K_DRIFTED, 0 },
                /* Never a fight: nothing is written. */
                { 7, 0, "300", DRIFT, 0, NONE, K_DRIFTED, 0 },
                { 8, 0, "400", DRIFT, 0, NONE, K_DRIFTED, 0 },
                { 9, 0, "500", DRIFT, 0, NONE, K_DRIFTED, 0 },
                { 10, 0, "600", DRIFT, 0, NONE, K_DRIFTED, 0 },
                { 11, 0, "700", DRIFT, 0, NONE, K_DRIFTED, 0 },
                { 12, 0, "800", DRIFT, 0, NONE, K_DRIFTED, 0 },
                END } },

        { "held", GUARD_MODE_ENFORCE, {
                { 0, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                { 1, 0, "100", DRIFT, 0, NONE, K_DRIFTED, HELD },
                { 2, 0, "100", NONE, 0, NONE, K_DRIFTED, HELD },
                /* Released: the drift is restored at the next look. */
                { 3, 0, "100", RESTORE, 0, RESTORED, K_OK, 0 },
                END } },

        { "missing", GUARD_MODE_ENFORCE, {
                { 0, -ENOENT, NULL, UNAVAILABLE, 0, NONE, K_UNAVAILABLE, 0 },
                /* Reported once, looked at each tick. */
                { 1, -ENOENT, NULL, NONE, 0, NONE, K_UNAVAILABLE, 0 },
                { 2, -ENOENT, NULL, NONE, 0, NONE, K_UNAVAILABLE, 0 },
                { 3, -ENOTDIR, NULL, NONE, 0, NONE, K_UNAVAILABLE, 0 },
                /* Its module came: applied as soon as it is there. */
                { 4, 0, "432000", RESTORE, 0, RESTORED, K_OK, APPEARED },
                { 5, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                { 6, -ENOENT, NULL, UNAVAILABLE, 0, NONE, K_UNAVAILABLE, 0 },
                { 7, 0, "7200", NONE, 0, NONE, K_OK, APPEARED },
                /* Gone between the read and the write. */
                { 8, 0, "1", RESTORE, -ENOENT, UNAVAILABLE, K_UNAVAILABLE, 0 },
                END } },

        { "read-only", GUARD_MODE_ENFORCE, {
                { 0, 0, "262144", RESTORE, -EACCES, READONLY, K_READONLY, 0 },
                /* Not retried, not reported again. */
                { 1, 0, "262144", NONE, 0, NONE, K_READONLY, 0 },
                { 100, 0, "262144", NONE, 0, NONE, K_READONLY, 0 },
                { 101, 0, "7200", NONE, 0, NONE, K_READONLY, 0 },
                { 102, 0, "1", NONE, 0, NONE, K_READONLY, 0 },
                /* A new module instance gets one more try; the same answer is no news. */
                { 103, 0, "1", RESTORE, -EACCES, NONE, K_READONLY, MODULE_RELOADED },
                { 104, 0, "1", NONE, 0, NONE, K_READONLY, 0 },
                END } },

        { "read-only, other reasons", GUARD_MODE_ENFORCE, {
                { 0, 0, "1", RESTORE, -EROFS, READONLY, K_READONLY, 0 },
                { 1, 0, "1", RESTORE, -EPERM, READONLY, K_READONLY, MODULE_RELOADED },
                { 2, 0, "1", RESTORE, -EPERM, NONE, K_READONLY, MODULE_RELOADED },
                END } },

        { "write failures", GUARD_MODE_ENFORCE, {
                { 0, 0, "1", RESTORE, -EINVAL, FAILED, K_FAILED, 0 },
                /* Retried after 1 s, the delay doubling up to SYSCTL_RETRY_INTERVAL, not
                 * before; reported once per errno. */
                { 1, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                { 2, 0, "1", NONE, 0, NONE, K_FAILED, 0 },
                { 3, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                { 6, 0, "1", NONE, 0, NONE, K_FAILED, 0 },
                { 7, 0, "1", RESTORE, -EBADMSG, FAILED, K_FAILED, 0 },
                { 14, 0, "1", NONE, 0, NONE, K_FAILED, 0 },
                { 15, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                { 31, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                { 63, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                /* At most a minute apart from there on. */
                { 122, 0, "1", NONE, 0, NONE, K_FAILED, 0 },
                { 123, 0, "1", RESTORE, -EINVAL, NONE, K_FAILED, 0 },
                { 182, 0, "1", NONE, 0, NONE, K_FAILED, 0 },
                { 183, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                /* A new episode is news again, and starts from the shortest delay. */
                { 241, 0, "1", RESTORE, -EINVAL, FAILED, K_FAILED, 0 },
                { 242, 0, "1", RESTORE, 0, RESTORED, K_OK, 0 },
                { 243, 0, "1", RESTORE, -EINVAL, FAILED, K_FAILED, 0 },
                /* Someone else put it right: fine, and nothing to say. */
                { 242, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                END } },

        { "read failures", GUARD_MODE_ENFORCE, {
                { 0, -EIO, NULL, READ_FAILED, 0, NONE, K_READ_FAILED, 0 },
                { 1, -EIO, NULL, NONE, 0, NONE, K_READ_FAILED, 0 },
                { 2, -EACCES, NULL, READ_FAILED, 0, NONE, K_READ_FAILED, 0 },
                { 3, 0, "7200", NONE, 0, NONE, K_OK, 0 },
                END } },
};

START_TEST(test_scenario) {
        const Scenario *sc = &scenarios[_i];
        SysctlKeyState s;

        sysctl_key_state_init(&s);
        for (size_t k = 0; k < MAX_STEPS && sc->steps[k].want != _SYSCTL_ACTION_INVALID; k++) {
                const Step *st = &sc->steps[k];
                SysctlPolicyInput in = { .mode = sc->mode, .held = st->flags & HELD };
                SysctlDecision d;
                SysctlAction a = SYSCTL_ACTION_NONE;

                if (st->flags & MODULE_RELOADED)
                        sysctl_key_state_module_reloaded(&s);

                d = sysctl_policy_observe(&in, &s, st->read, st->observed, "7200", S(st->t));
                ck_assert_msg(d.action == st->want, "%s, step %zu (t=%us): action %s, want %s",
                              sc->name, k, st->t, sysctl_action_to_string(d.action),
                              sysctl_action_to_string(st->want));
                ck_assert_msg(d.appeared == !!(st->flags & APPEARED), "%s, step %zu: appeared",
                              sc->name, k);
                ck_assert_msg(d.fight_over == !!(st->flags & FIGHT_OVER),
                              "%s, step %zu: fight_over", sc->name, k);

                if (d.action == SYSCTL_ACTION_RESTORE)
                        a = sysctl_policy_written(&s, st->write, S(st->t));
                ck_assert_msg(a == st->want_written, "%s, step %zu (t=%us): written %s, want %s",
                              sc->name, k, st->t, sysctl_action_to_string(a),
                              sysctl_action_to_string(st->want_written));
                ck_assert_msg(s.status == st->status, "%s, step %zu (t=%us): status %s, want %s",
                              sc->name, k, st->t, sysctl_key_status_to_string(s.status),
                              sysctl_key_status_to_string(st->status));
        }
}
END_TEST

/* Fight detection by timestamps alone: the key is right, then changed at each listed second
 * and restored; fight_at is the index of the change that is reported as a fight (-1: none). */
static const struct {
        unsigned changes[12];
        size_t n;
        int fight_at;
} fight_cases[] = {
        /* Six changes within a minute: the sixth is the fight. */
        { { 1, 2, 3, 4, 5, 6 }, 6, 5 },
        { { 10, 10, 10, 10, 10, 10 }, 6, 5 },
        { { 0, 11, 22, 33, 44, 55 }, 6, 5 },
        /* The first restore has left the window by the sixth change: no fight. */
        { { 0, 15, 30, 45, 59, 60 }, 6, -1 },
        { { 0, 15, 30, 45, 59, 61 }, 6, -1 },
        /* ...but the seventh is again six within a minute. */
        { { 0, 15, 30, 45, 59, 60, 61 }, 7, 6 },
        /* Five is the limit, not a fight. */
        { { 1, 2, 3, 4, 5 }, 5, -1 },
        /* Slow and steady, forever: never. */
        { { 0, 13, 26, 39, 52, 65, 78, 91, 104, 117, 130, 143 }, 12, -1 },
        /* Bursts with a pause: four, a minute's rest, four. */
        { { 0, 1, 2, 3, 100, 101, 102, 103 }, 8, -1 },
        { { 0, 1, 2, 3, 40, 41, 42, 43 }, 8, 5 },
};

/* Followed keys: nothing assigned, ctguard keeps whatever the key was last set to and writes
 * only after a module reload reset it. Each step: what was read, what probing for write access
 * gave, the action, the write's outcome if RESTORE, the status and the value kept after it. */
#define FOLLOW SYSCTL_ACTION_FOLLOW
#define ADOPTED SYSCTL_ACTION_REPORT_ADOPTED

typedef struct FollowStep {
        unsigned t;
        int read;
        const char *observed;
        int probe;              /* opening for writing: 0, or -EACCES where read-only */
        SysctlAction want;
        int write;
        SysctlAction want_written;
        SysctlKeyStatus status;
        const char *kept;       /* afterwards; NULL: nothing kept */
        unsigned flags;
} FollowStep;

typedef struct FollowScenario {
        const char *name;
        GuardMode mode;
        const char *seed;       /* the value kept before the first look */
        FollowStep steps[MAX_STEPS];
} FollowScenario;

#define FEND { .want = _SYSCTL_ACTION_INVALID }

static const FollowScenario follow_scenarios[] = {
        { "adopt", GUARD_MODE_ENFORCE, NULL, {
                /* First sight: kept without a word, never written. */
                { 0, 0, "262144", 0, FOLLOW, 0, NONE, K_OK, "262144", 0 },
                { 1, 0, "262144", 0, NONE, 0, NONE, K_OK, "262144", 0 },
                /* Someone else writes: adopted once, not restored. */
                { 2, 0, "200000", 0, ADOPTED, 0, NONE, K_OK, "200000", 0 },
                { 3, 0, "200000", 0, NONE, 0, NONE, K_OK, "200000", 0 },
                { 4, 0, "200000\n", 0, NONE, 0, NONE, K_OK, "200000", 0 },
                /* Every change is news, and none is a fight. */
                { 5, 0, "1", 0, ADOPTED, 0, NONE, K_OK, "1", 0 },
                { 6, 0, "2", 0, ADOPTED, 0, NONE, K_OK, "2", 0 },
                { 7, 0, "3", 0, ADOPTED, 0, NONE, K_OK, "3", 0 },
                { 8, 0, "4", 0, ADOPTED, 0, NONE, K_OK, "4", 0 },
                { 9, 0, "5", 0, ADOPTED, 0, NONE, K_OK, "5", 0 },
                { 10, 0, "6", 0, ADOPTED, 0, NONE, K_OK, "6", 0 },
                FEND } },

        { "adopted in monitor mode and on hold too", GUARD_MODE_MONITOR, NULL, {
                { 0, 0, "120", 0, FOLLOW, 0, NONE, K_OK, "120", 0 },
                { 1, 0, "60", 0, ADOPTED, 0, NONE, K_OK, "60", HELD },
                FEND } },

        { "restore after the module was reloaded", GUARD_MODE_ENFORCE, NULL, {
                { 0, 0, "262144", 0, FOLLOW, 0, NONE, K_OK, "262144", 0 },
                { 1, 0, "200000", 0, ADOPTED, 0, NONE, K_OK, "200000", 0 },
                /* The module goes: silence, the value is remembered. */
                { 2, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, "200000", 0 },
                { 3, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, "200000", 0 },
                /* Back with the kernel's default: the value seen before the loss returns. */
                { 4, 0, "262144", 0, RESTORE, 0, RESTORED, K_OK, "200000", 0 },
                /* From here on, a change is someone's again. */
                { 5, 0, "100000", 0, ADOPTED, 0, NONE, K_OK, "100000", 0 },
                FEND } },

        { "reload seen only by the module guard", GUARD_MODE_ENFORCE, NULL, {
                { 0, 0, "120", 0, FOLLOW, 0, NONE, K_OK, "120", 0 },
                { 1, 0, "30", 0, RESTORE, 0, RESTORED, K_OK, "120", MODULE_RELOADED },
                /* The module came back with the value kept: nothing to write. */
                { 2, 0, "120", 0, NONE, 0, NONE, K_OK, "120", MODULE_RELOADED },
                { 3, 0, "30", 0, ADOPTED, 0, NONE, K_OK, "30", 0 },
                FEND } },

        { "reset while monitoring", GUARD_MODE_MONITOR, NULL, {
                { 0, 0, "120", 0, FOLLOW, 0, NONE, K_OK, "120", 0 },
                { 1, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, "120", 0 },
                { 2, 0, "30", 0, DRIFT, 0, NONE, K_DRIFTED, "120", 0 },
                { 3, 0, "30", 0, NONE, 0, NONE, K_DRIFTED, "120", 0 },
                FEND } },

        { "reset during a hold, restored on release", GUARD_MODE_ENFORCE, NULL, {
                { 0, 0, "120", 0, FOLLOW, 0, NONE, K_OK, "120", 0 },
                { 1, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, "120", HELD },
                { 2, 0, "30", 0, DRIFT, 0, NONE, K_DRIFTED, "120", HELD },
                { 3, 0, "30", 0, RESTORE, 0, RESTORED, K_OK, "120", 0 },
                FEND } },

        { "restore that fails: follow what is there", GUARD_MODE_ENFORCE, NULL, {
                { 0, 0, "65536", 0, FOLLOW, 0, NONE, K_OK, "65536", 0 },
                { 1, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, "65536", 0 },
                { 2, 0, "1024", 0, RESTORE, -EINVAL, FAILED, SYSCTL_KEY_UNKNOWN, NULL, 0 },
                { 3, 0, "1024", 0, FOLLOW, 0, NONE, K_OK, "1024", 0 },
                FEND } },

        { "read-only: not followed, nothing said", GUARD_MODE_ENFORCE, NULL, {
                { 0, 0, "262144", -EACCES, NONE, 0, NONE, K_READONLY, NULL, 0 },
                { 1, 0, "262144", 0, NONE, 0, NONE, K_READONLY, NULL, 0 },
                { 2, 0, "1", 0, NONE, 0, NONE, K_READONLY, NULL, 0 },
                /* A new module instance is probed again: the same answer, the same silence. */
                { 3, 0, "1", -EROFS, NONE, 0, NONE, K_READONLY, NULL, MODULE_RELOADED },
                { 4, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, NULL, 0 },
                { 5, 0, "1", -EPERM, NONE, 0, NONE, K_READONLY, NULL, 0 },
                FEND } },

        { "missing at first: no word about it", GUARD_MODE_ENFORCE, NULL, {
                { 0, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, NULL, 0 },
                /* Never seen before: whatever it comes with is followed. */
                { 1, 0, "432000", 0, FOLLOW, 0, NONE, K_OK, "432000", 0 },
                FEND } },

        { "seeded, found unchanged", GUARD_MODE_ENFORCE, "200000", {
                { 0, 0, "200000", 0, NONE, 0, NONE, K_OK, "200000", 0 },
                FEND } },

        { "seeded, found changed: adopted", GUARD_MODE_ENFORCE, "200000", {
                { 0, 0, "100000", 0, ADOPTED, 0, NONE, K_OK, "100000", 0 },
                FEND } },

        { "seeded, missing, then reset", GUARD_MODE_ENFORCE, "200000", {
                { 0, -ENOENT, NULL, 0, NONE, 0, NONE, K_UNAVAILABLE, "200000", 0 },
                { 1, 0, "262144", 0, RESTORE, 0, RESTORED, K_OK, "200000", 0 },
                FEND } },

        { "read failure", GUARD_MODE_ENFORCE, NULL, {
                { 0, 0, "5", 0, FOLLOW, 0, NONE, K_OK, "5", 0 },
                { 1, -EIO, NULL, 0, READ_FAILED, 0, NONE, K_READ_FAILED, "5", 0 },
                { 2, 0, "5", 0, NONE, 0, NONE, K_OK, "5", 0 },
                FEND } },
};

START_TEST(test_follow) {
        const FollowScenario *sc = &follow_scenarios[_i];
        _cleanup_free_ char *kept = sc->seed ? strdup(sc->seed) : NULL;
        SysctlKeyState s;

        sysctl_key_state_init_followed(&s);
        for (size_t k = 0; k < MAX_STEPS && sc->steps[k].want != _SYSCTL_ACTION_INVALID; k++) {
                const FollowStep *st = &sc->steps[k];
                SysctlPolicyInput in = { .mode = sc->mode, .held = st->flags & HELD };
                SysctlDecision d;
                SysctlAction a = SYSCTL_ACTION_NONE;

                if (st->flags & MODULE_RELOADED)
                        sysctl_key_state_module_reloaded(&s);

                d = sysctl_policy_follow(&in, &s, st->read, st->observed, kept, st->probe,
                                         S(st->t));
                ck_assert_msg(d.action == st->want, "%s, step %zu (t=%us): action %s, want %s",
                              sc->name, k, st->t, sysctl_action_to_string(d.action),
                              sysctl_action_to_string(st->want));
                /* What the guard does with the decision. */
                if (d.action == SYSCTL_ACTION_FOLLOW || d.action == SYSCTL_ACTION_REPORT_ADOPTED) {
                        free(kept);
                        kept = strdup(st->observed);
                        char *nl = strchr(kept, '\n');
                        if (nl)
                                *nl = '\0';
                }
                if (d.action == SYSCTL_ACTION_RESTORE) {
                        a = sysctl_policy_written(&s, st->write, S(st->t));
                        if (a == SYSCTL_ACTION_REPORT_FAILED || s.status == SYSCTL_KEY_READONLY) {
                                free(kept);
                                kept = NULL;
                        }
                }
                ck_assert_msg(a == st->want_written, "%s, step %zu (t=%us): written %s, want %s",
                              sc->name, k, st->t, sysctl_action_to_string(a),
                              sysctl_action_to_string(st->want_written));
                ck_assert_msg(s.status == st->status, "%s, step %zu (t=%us): status %s, want %s",
                              sc->name, k, st->t, sysctl_key_status_to_string(s.status),
                              sysctl_key_status_to_string(st->status));
                ck_assert_msg(kept && st->kept ? streq(kept, st->kept) : kept == st->kept, "%s, step %zu (t=%us): kept %s, want %s",
                              sc->name, k, st->t, kept ?: "(null)", st->kept ?: "(null)");
                /* Following never counts towards a fight. */
                ck_assert_uint_eq(s.fights_total, 0);
        }
}
END_TEST

START_TEST(test_fight_timestamps) {
        SysctlPolicyInput in = { .mode = GUARD_MODE_ENFORCE };
        SysctlKeyState s;
        int fight = -1;

        sysctl_key_state_init(&s);
        ck_assert_int_eq(sysctl_policy_observe(&in, &s, 0, "7200", "7200", 0).action,
                         SYSCTL_ACTION_NONE);

        for (size_t k = 0; k < fight_cases[_i].n; k++) {
                usec_t now = S(fight_cases[_i].changes[k]) + 1;
                SysctlDecision d = sysctl_policy_observe(&in, &s, 0, "100", "7200", now);

                if (d.action == SYSCTL_ACTION_REPORT_FIGHT) {
                        fight = (int) k;
                        break;
                }
                ck_assert_int_eq(d.action, SYSCTL_ACTION_RESTORE);
                ck_assert_int_eq(sysctl_policy_written(&s, 0, now), SYSCTL_ACTION_REPORT_RESTORED);
        }
        ck_assert_int_eq(fight, fight_cases[_i].fight_at);
        if (fight >= 0) {
                ck_assert_uint_eq(sysctl_policy_recent_restores(&s, S(fight_cases[_i].changes[fight]) + 1),
                                  SYSCTL_FIGHT_BURST);
                ck_assert_uint_eq(s.fights_total, 1);
        }
}
END_TEST

/* A configuration reload starts every key afresh: the guard builds new states. Here: a fresh
 * state restores at once even in the middle of the old state's fight window. */
START_TEST(test_reload_ends_fight) {
        SysctlPolicyInput in = { .mode = GUARD_MODE_ENFORCE };
        SysctlKeyState s;

        sysctl_key_state_init(&s);
        (void) sysctl_policy_observe(&in, &s, 0, "7200", "7200", 0);
        for (unsigned t = 1; t <= SYSCTL_FIGHT_BURST; t++) {
                ck_assert_int_eq(sysctl_policy_observe(&in, &s, 0, "1", "7200", S(t)).action,
                                 SYSCTL_ACTION_RESTORE);
                (void) sysctl_policy_written(&s, 0, S(t));
        }
        ck_assert_int_eq(sysctl_policy_observe(&in, &s, 0, "1", "7200", S(10)).action,
                         SYSCTL_ACTION_REPORT_FIGHT);
        ck_assert_int_eq(sysctl_policy_observe(&in, &s, 0, "1", "7200", S(11)).action,
                         SYSCTL_ACTION_NONE);

        sysctl_key_state_init(&s);
        ck_assert_int_eq(sysctl_policy_observe(&in, &s, 0, "1", "7200", S(12)).action,
                         SYSCTL_ACTION_RESTORE);
}
END_TEST

static const struct {
        const char *value;      /* NULL: not guarded */
        int ret;
        unsigned size;
} hashsize_cases[] = {
        { "65536", 0, 65536 },
        { "1", 0, 1 },
        { NULL, -ENOENT, 0 },
        { "0", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "64k", -EINVAL, 0 },
        { "99999999999", -EINVAL, 0 },
};

START_TEST(test_hashsize) {
        _cleanup_(config_freep) Config *c = config_new();
        unsigned v = 42;

        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/nf_conntrack_max", "1", "t"), 0);
        if (hashsize_cases[_i].value)
                ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/nf_conntrack_buckets",
                                                   hashsize_cases[_i].value, "t"), 0);
        ck_assert_int_eq(sysctl_policy_desired_hashsize(c, &v), hashsize_cases[_i].ret);
        ck_assert_uint_eq(v, hashsize_cases[_i].ret == 0 ? hashsize_cases[_i].size : 42);
}
END_TEST

START_TEST(test_names) {
        for (int a = 0; a < _SYSCTL_ACTION_MAX; a++)
                ck_assert_ptr_nonnull(sysctl_action_to_string(a));
        for (int k = 0; k < _SYSCTL_KEY_STATUS_MAX; k++)
                ck_assert_ptr_nonnull(sysctl_key_status_to_string(k));
        ck_assert_ptr_null(sysctl_action_to_string(_SYSCTL_ACTION_MAX));
        ck_assert_ptr_null(sysctl_key_status_to_string(_SYSCTL_KEY_STATUS_INVALID));
}
END_TEST

int main(void) {
        Suite *s = suite_create("sysctl-policy");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_scenario, 0, ELEMENTSOF(scenarios));
        tcase_add_loop_test(tc, test_fight_timestamps, 0, ELEMENTSOF(fight_cases));
        tcase_add_test(tc, test_reload_ends_fight);
        tcase_add_loop_test(tc, test_follow, 0, ELEMENTSOF(follow_scenarios));
        tcase_add_loop_test(tc, test_hashsize, 0, ELEMENTSOF(hashsize_cases));
        tcase_add_test(tc, test_names);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
