/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <errno.h>
#include <stddef.h>

#include "hold.h"
#include "parse-util.h"
#include "table-raise.h"

/* What the running daemon tells every reader ("ctguard status", monitoring): what it enforces,
 * so that readers show that instead of re-deciding from the configuration files. The daemon
 * rewrites <root>/run/ctguard/state in one piece (rename) whenever one of these changes, and
 * holds a lock on <root>/run/ctguard/daemon.lock for as long as it runs, so that a stale state
 * file is never mistaken for a live daemon. Both files are 0644 whatever the umask: they hold
 * nothing secret, and anyone may run "ctguard status". At start the daemon reads the previous
 * file back to re-seed the values it follows, so everything written here parses back.
 *
 *     Version=1
 *     Pid=123
 *     Started=USEC                    µs since the epoch
 *     Mode=enforce
 *     WarnPercent=80                  the thresholds in force
 *     CritPercent=95
 *     Heals=N                         module chain heals since start
 *     Restores=N                      sysctl restores since start
 *     Fingerprint=HEX                 of the configuration files in force (path and contents)
 *     ConfigMain=PATH                 --config, if the daemon was started with it
 *     Reload=USEC ok|rejected         the last reload (not the first load)
 *     ReloadError=TEXT                a rejected reload's first error
 *     Sysctl=PATH\tVALUE\tORIGIN\towned|followed\tSTATUS
 *                                     one per guarded or followed sysctl, PATH normalised
 *     AutoRaise=yes|no                [Conntrack] AutoRaise= in force
 *     MemoryBudget=TEXT               MemoryBudget= as configured: "5%", "512M"
 *     Budget=BYTES ENTRY MAX BUCKETS USED HEADROOM HEADROOM_ENTRIES
 *                                     the budget as AutoRaise priced it (while AutoRaise is on
 *                                     and the kernel's prices could be read): MAX entries of
 *                                     ENTRY bytes and BUCKETS buckets of 8 bytes cost USED
 *     Raised=USEC FROM_MAX TO_MAX FROM_BUCKETS TO_BUCKETS
 *                                     AutoRaise's last raise since the daemon started
 *     CountersError=ERRNO             the daemon's last sample could not read the per-CPU
 *                                     counters (drop, early_drop, ...): why, as a number
 *     Event=USEC NAME MESSAGE         the last DAEMON_STATE_EVENTS_MAX events, oldest first
 *
 * Text fields are escaped: a backslash, a tab, a newline and other control bytes are written
 * as \\, \t, \n and \xHH; other bytes (UTF-8 included) as they are.
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

/* A sysctl the daemon guards (owned: assigned in [Sysctl]) or follows. */
typedef struct DaemonSysctl {
        char *path;             /* normalised, "net/netfilter/nf_conntrack_max" */
        char *value;            /* the value enforced or followed */
        char *origin;           /* owned: "FILE:LINE"; followed: "followed" */
        bool owned;
        char *status;           /* sysctl_key_status_to_string() */
} DaemonSysctl;

/* The memory budget AutoRaise spends, as the daemon priced it (lib/table-raise.h). */
typedef struct DaemonBudget {
        bool known;                     /* false: not published (AutoRaise off, prices unread) */
        uint64_t bytes;                 /* MemoryBudget= in bytes */
        uint64_t entry_bytes;           /* one nf_conntrack slab object */
        uint64_t max, buckets;          /* the table priced */
        uint64_t used, headroom;        /* bytes: max * entry + buckets * 8, and bytes - used */
        uint64_t headroom_entries;      /* table_raise_headroom() */
} DaemonBudget;

/* What the budget pays for a table of in->max entries and in->buckets buckets: the one pricing
 * the daemon publishes and status shows without a daemon. */
void daemon_budget_price(const TableRaiseInput *in, DaemonBudget *ret);

/* AutoRaise's last raise. */
typedef struct DaemonRaise {
        usec_t time;                    /* CLOCK_REALTIME; 0: none since the daemon started */
        uint64_t from_max, to_max;
        uint64_t from_buckets, to_buckets;
} DaemonRaise;

typedef enum DaemonReload {
        DAEMON_RELOAD_NONE,     /* not reloaded since start */
        DAEMON_RELOAD_OK,
        DAEMON_RELOAD_REJECTED,
        _DAEMON_RELOAD_MAX,
        _DAEMON_RELOAD_INVALID = -EINVAL,
} DaemonReload;

typedef struct DaemonState {
        unsigned pid;
        usec_t started;
        char *mode;
        unsigned warn_percent;          /* 0: not published (an older daemon) */
        unsigned crit_percent;
        unsigned heals;
        unsigned restores;
        char *fingerprint;              /* NULL: not published */
        char *config_main;              /* NULL: the default files */
        DaemonReload reload;
        usec_t reload_time;
        char *reload_error;             /* rejected: the first error, or NULL */
        DaemonSysctl *sysctls;
        size_t n_sysctls;
        bool have_auto_raise;           /* false: not published (an older daemon) */
        bool auto_raise;
        char *memory_budget;            /* as configured, NULL: not published */
        DaemonBudget budget;
        DaemonRaise raise;
        int counters_error;             /* > 0: the daemon's samples lack the counters (errno) */
        DaemonEvent events[DAEMON_STATE_EVENTS_MAX];   /* a ring: oldest at events_first */
        size_t n_events;
        size_t events_first;
} DaemonState;

void daemon_state_done(DaemonState *s);

/* Appends an event, dropping the oldest beyond DAEMON_STATE_EVENTS_MAX. Newlines and other
 * control characters in the message become spaces, so that one event stays one line. */
int daemon_state_add_event(DaemonState *s, usec_t time, const char *name, const char *message);
const DaemonEvent *daemon_state_event(const DaemonState *s, size_t i);  /* 0 = oldest */

/* Replaces the sysctl rows with copies of rows. -EINVAL for a row without path or value. */
int daemon_state_set_sysctls(DaemonState *s, const DaemonSysctl *rows, size_t n);
void daemon_state_clear_sysctls(DaemonState *s);
const DaemonSysctl *daemon_state_find_sysctl(const DaemonState *s, const char *path);

const char *daemon_reload_to_string(DaemonReload r);

/* A fingerprint of the configuration that config_load(root, main_override) reads: a hash over
 * the list of files and each one's contents, as 16 hex digits. The daemon publishes it for the
 * configuration it loaded; a reader computing another one knows the files changed since. */
int daemon_config_fingerprint(const char *root, const char *main_override, char **ret);

int daemon_state_format(const DaemonState *s, char **ret);
/* Unknown keys are ignored (a newer daemon's file still reads); malformed lines: -EBADMSG. */
int daemon_state_parse(const char *text, size_t size, DaemonState *ret);

/* Below root ("" for /). Writing creates the directory if needed. */
int daemon_state_save(const char *root, const DaemonState *s);
int daemon_state_load(const char *root, DaemonState *ret);

/* Takes the daemon lock and returns its fd (keep it open while running); -EBUSY if another
 * daemon holds it. */
int daemon_lock_take(const char *root);
/* 1 if a daemon holds the lock, 0 if none does. Needs only read access: any user may ask. */
int daemon_lock_probe(const char *root);
