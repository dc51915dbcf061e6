/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "parse-util.h"

/* What to do about one guarded sysctl, decided from the configuration, the key's state, what
 * was just read and the time. Pure: nothing here reads, writes or logs; the caller does the I/O
 * and feeds the results back in. A key goes through two steps per look:
 *
 *     d = sysctl_policy_observe(&input, &state, read_result, observed, desired, now);
 *     if (d.action == SYSCTL_ACTION_RESTORE) {
 *             r = <write desired, read back, compare>;
 *             a = sysctl_policy_written(&state, r, now);
 *     }
 *
 * and reports whatever SYSCTL_ACTION_REPORT_* comes out. Every report is made once per episode:
 * a key that stays missing, read-only, failing with the same errno or drifted to the same value
 * is not reported again, and nothing is retried faster than the constants below allow. */

/* Fight detection: if a key needs more than SYSCTL_FIGHT_BURST restores within
 * SYSCTL_FIGHT_WINDOW, something else keeps setting it. Only restores of a key that held the
 * desired value count: the first write at start, after a module reload, after a failure or
 * after a hold do not. ctguard reports it and leaves the key
 * alone until the window has passed (or the configuration is reloaded), so that two daemons do
 * not spin against each other. */
#define SYSCTL_FIGHT_BURST 5u
#define SYSCTL_FIGHT_WINDOW (60 * USEC_PER_SEC)

/* A write that failed for any reason other than the key being read-only (the kernel refused the
 * value, read it back differently, or was busy) is retried after SYSCTL_RETRY_MIN, the delay
 * doubling with each failure in a row up to SYSCTL_RETRY_INTERVAL, and reported once per errno.
 * A transient EBUSY is over within a second or two; a value the kernel keeps refusing costs
 * one write a minute. */
#define SYSCTL_RETRY_MIN USEC_PER_SEC
#define SYSCTL_RETRY_INTERVAL (60 * USEC_PER_SEC)

/* The delay before the next try after this many failed writes in a row (at least 1). */
usec_t sysctl_retry_delay(unsigned failures);

/* How many distinct errnos per key are remembered as already reported. */
#define SYSCTL_REPORTED_ERRORS_MAX 4u

typedef enum SysctlKeyStatus {
        SYSCTL_KEY_UNKNOWN,             /* not looked at yet */
        SYSCTL_KEY_OK,                  /* holds the desired value */
        SYSCTL_KEY_DRIFTED,             /* differs; reported, not written (monitor or held) */
        SYSCTL_KEY_UNAVAILABLE,         /* does not exist on this kernel, or not yet */
        SYSCTL_KEY_READ_FAILED,         /* exists, but reading it failed */
        SYSCTL_KEY_READONLY,            /* cannot be written here; left alone until reload */
        SYSCTL_KEY_FAILED,              /* the last write failed; retried after a while */
        SYSCTL_KEY_FIGHT,               /* something else keeps setting it; left alone a while */
        _SYSCTL_KEY_STATUS_MAX,
        _SYSCTL_KEY_STATUS_INVALID = -EINVAL,
} SysctlKeyStatus;

const char *sysctl_key_status_to_string(SysctlKeyStatus s);

typedef struct SysctlKeyState {
        SysctlKeyStatus status;
        bool seen;                              /* has existed at least once */
        usec_t restores[SYSCTL_FIGHT_BURST];    /* times of the latest restores, a ring */
        unsigned next_restore;                  /* where the next one goes */
        unsigned n_restores;                    /* how many of them are recorded */
        usec_t until;                           /* FIGHT, FAILED: when to act again */
        unsigned failures;                      /* FAILED: writes failed in a row */
        int error;                              /* READ_FAILED, READONLY, FAILED: positive errno */
        int reported[SYSCTL_REPORTED_ERRORS_MAX]; /* errnos already reported, 0: free slot */
        uint64_t drift_hash;                    /* DRIFTED: the value last reported */
        bool counting;                          /* the pending restore undoes a change made
                                                 * after the key was right: it counts towards
                                                 * a fight */
        bool followed;                          /* not assigned: the value kept is whatever
                                                 * it was last set to */
        bool lost;                              /* followed: gone or its module reloaded since
                                                 * the value kept was seen; the next value that
                                                 * differs is a module's default */
        unsigned long restores_total;           /* successful writes, all of them */
        unsigned long fights_total;
} SysctlKeyState;

void sysctl_key_state_init(SysctlKeyState *s);
void sysctl_key_state_init_followed(SysctlKeyState *s);

/* Forgets what a module reload makes stale: read-only and failed keys get another chance (the
 * same errno is still not reported twice). Fight state is kept: it is about whoever else writes
 * the key, not about the kernel. A followed key is marked lost: the value found next, if it
 * differs from the one kept, is the new module's default and is put back. */
void sysctl_key_state_module_reloaded(SysctlKeyState *s);

typedef struct SysctlPolicyInput {
        GuardMode mode;
        bool held;      /* maintenance hold: report drift, write nothing */
} SysctlPolicyInput;

typedef enum SysctlAction {
        SYSCTL_ACTION_NONE,
        SYSCTL_ACTION_RESTORE,                  /* write the desired value, verify, then call
                                                 * sysctl_policy_written() */
        SYSCTL_ACTION_REPORT_DRIFT,             /* sysctl-drift: differs, not written */
        SYSCTL_ACTION_REPORT_UNAVAILABLE,       /* sysctl-unavailable */
        SYSCTL_ACTION_REPORT_READ_FAILED,       /* sysctl-failed, while reading; state.error */
        SYSCTL_ACTION_REPORT_FIGHT,             /* sysctl-fight */
        SYSCTL_ACTION_REPORT_RESTORED,          /* sysctl-restored */
        SYSCTL_ACTION_REPORT_READONLY,          /* sysctl-readonly; state.error */
        SYSCTL_ACTION_REPORT_FAILED,            /* sysctl-failed, while writing; state.error */
        SYSCTL_ACTION_FOLLOW,                   /* followed, first sight: keep the value read,
                                                 * say nothing */
        SYSCTL_ACTION_REPORT_ADOPTED,           /* sysctl-adopted: someone set a followed key;
                                                 * keep the value read */
        _SYSCTL_ACTION_MAX,
        _SYSCTL_ACTION_INVALID = -EINVAL,
} SysctlAction;

const char *sysctl_action_to_string(SysctlAction a);

typedef struct SysctlDecision {
        SysctlAction action;
        bool appeared;          /* was reported unavailable and exists now */
        bool fight_over;        /* a fight window has passed; restoring resumes */
} SysctlDecision;

/* One look at a key. read_result is what reading it returned (0, or a negative errno:
 * -ENOENT/-ENOTDIR mean the key does not exist), observed the value read (ignored unless
 * read_result is 0), desired the configured value. */
SysctlDecision sysctl_policy_observe(const SysctlPolicyInput *in, SysctlKeyState *s,
                                     int read_result, const char *observed, const char *desired,
                                     usec_t now);

/* One look at a key that [Sysctl] does not assign (see OWNERSHIP in ctguard.conf(5)). kept is
 * the value ctguard keeps for it, NULL if none yet; probe is what opening the key for writing
 * gave (0, or a negative errno; 0 if it was not probed this time). Whatever anyone writes is
 * adopted (SYSCTL_ACTION_REPORT_ADOPTED, or _FOLLOW at first sight); the kept value is
 * restored only when the key was lost (missing, or sysctl_key_state_module_reloaded()) and
 * came back different. A key that cannot be written here is not followed and nothing is
 * reported about it; a missing one is not reported either. */
SysctlDecision sysctl_policy_follow(const SysctlPolicyInput *in, SysctlKeyState *s,
                                    int read_result, const char *observed, const char *kept,
                                    int probe, usec_t now);

/* The outcome of the write that SYSCTL_ACTION_RESTORE asked for: 0, or a negative errno
 * (-EBADMSG: the key reads back different from what was written). Returns
 * SYSCTL_ACTION_REPORT_RESTORED, _READONLY, _FAILED, _UNAVAILABLE, or NONE for a failure that
 * was already reported. For a followed key a failed restore is reported once and ends the
 * restore: the caller forgets the value kept (status UNKNOWN), and the next look follows what
 * is there; a read-only one is not followed and not reported. */
SysctlAction sysctl_policy_written(SysctlKeyState *s, int write_result, usec_t now);

/* Restores of this key inside the fight window that ends at now. */
unsigned sysctl_policy_recent_restores(const SysctlKeyState *s, usec_t now);

/* The hash table size the conntrack module should be loaded with (its "hashsize" parameter) so
 * that it starts with the guarded net.netfilter.nf_conntrack_buckets: 0 and the size, -ENOENT
 * if that key is not guarded, -EINVAL if its value is not a positive number. */
int sysctl_policy_desired_hashsize(const Config *c, unsigned *ret);

/* The same for a value already at hand: -EINVAL unless it is a positive decimal number. */
int sysctl_policy_parse_hashsize(const char *value, unsigned *ret);
