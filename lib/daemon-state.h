/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "hold.h"
#include "parse-util.h"

/* What the running daemon tells "ctguard status": the values it guards (a snapshot exists only
 * in its memory), its heal counts and its last events. The daemon rewrites
 * <root>/run/ctguard/state in one piece (rename) whenever one of these changes, and holds an
 * exclusive lock on <root>/run/ctguard/daemon.lock for as long as it runs, so that a stale state
 * file is never mistaken for a live daemon.
 *
 *     Version=1
 *     Pid=123
 *     Started=USEC                    µs since the epoch
 *     Mode=enforce
 *     Heals=N                         module chain heals since start
 *     Restores=N                      sysctl restores since start
 *     Desired=PATH=VALUE              one per guarded sysctl, PATH normalised
 *     Event=USEC NAME MESSAGE         the last DAEMON_STATE_EVENTS_MAX events, oldest first
 */

/* Beside the hold file, in ctguard's one runtime directory. */
#define DAEMON_STATE_DIR "/" HOLD_DIR
#define DAEMON_STATE_FILE "state"
#define DAEMON_LOCK_FILE "daemon.lock"
#define DAEMON_STATE_EVENTS_MAX 16u
#define DAEMON_STATE_SIZE_MAX (256u * 1024u)

typedef struct DaemonEvent {
        usec_t time;
        char *name;
        char *message;
} DaemonEvent;

typedef struct DaemonDesired {
        char *path;
        char *value;
} DaemonDesired;

typedef struct DaemonState {
        unsigned pid;
        usec_t started;
        char *mode;
        unsigned heals;
        unsigned restores;
        DaemonDesired *desired;
        size_t n_desired;
        DaemonEvent events[DAEMON_STATE_EVENTS_MAX];   /* a ring: oldest at events_first */
        size_t n_events;
        size_t events_first;
} DaemonState;

void daemon_state_done(DaemonState *s);

/* Appends an event, dropping the oldest beyond DAEMON_STATE_EVENTS_MAX. Newlines and other
 * control characters in the message become spaces, so that one event stays one line. */
int daemon_state_add_event(DaemonState *s, usec_t time, const char *name, const char *message);
const DaemonEvent *daemon_state_event(const DaemonState *s, size_t i);  /* 0 = oldest */

int daemon_state_set_desired(DaemonState *s, const char *path, const char *value);
void daemon_state_clear_desired(DaemonState *s);

int daemon_state_format(const DaemonState *s, char **ret);
/* Unknown keys are ignored (a newer daemon's file still reads); malformed lines: -EBADMSG. */
int daemon_state_parse(const char *text, size_t size, DaemonState *ret);

/* Below root ("" for /). Writing creates the directory if needed. */
int daemon_state_save(const char *root, const DaemonState *s);
int daemon_state_load(const char *root, DaemonState *ret);

/* Takes the daemon lock and returns its fd (keep it open while running); -EBUSY if another
 * daemon holds it. */
int daemon_lock_take(const char *root);
/* 1 if a daemon holds the lock, 0 if none does. */
int daemon_lock_probe(const char *root);
