/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "daemon-state.h"
#include "ctstat.h"
#include "events.h"
#include "parse-util.h"
#include "sysctl-guard.h"
#include "table-policy.h"
#include "table-rate.h"

/* The table guard: samples the conntrack count against nf_conntrack_max (lib/ctstat.c), runs
 * lib/table-policy.c over the samples and writes the journal events table-warn (warning),
 * table-crit (crit), table-ok (notice) and table-full (crit), each with CTGUARD_COUNT=,
 * CTGUARD_MAX=, CTGUARD_PERCENT= and CTGUARD_LEVEL=; table-full also with CTGUARD_DROPS=, the
 * packets the kernel dropped for want of a free entry since the previous table-full.
 *
 * With TopTalkers= above 0, table-crit and table-full name who fills the table: the guard
 * dumps it and adds the top N by source, destination, destination port and state, as
 * CTGUARD_TOP_SRC=10.0.0.5=4123 10.0.0.9=88 ... (likewise _DST, _DPORT, _STATE) and in the
 * message, with advice (lib/ct-advice.h): the largest unreplied share (CTGUARD_UNREPLIED=,
 * CTGUARD_UNREPLIED_PERCENT=) and, when one UDP destination port holds more than half the
 * entries, CTGUARD_UDP_DPORT=, CTGUARD_UDP_DPORT_PERCENT= and CTGUARD_ADVICE=notrack-udp-dport
 * with a sentence naming a raw-table NOTRACK rule as the standard remedy. The dump runs on the event loop itself, one netlink buffer per dispatch at idle
 * priority, from a non-blocking socket: signals, module events, sysctl restores and the
 * watchdog are served between any two buffers. A thread would need sd-event and the logger to
 * be thread-safe, and a forked child would copy the daemon and need its own reaping; reading
 * incrementally needs neither and lets the kernel pace the dump. It is bounded by
 * CT_LIMITS_DAEMON (entries and keys, so memory) and by TABLE_DUMP_TIMEOUT; the events wait for
 * it (a second or so for a quarter million entries) and are logged with what was counted.
 * A dump asks ctnetlink, which loads nf_conntrack_netlink if it is absent: while the daemon
 * does not heal (monitor mode, on hold) and the module is absent, alerts go without the lists. */

#define TABLE_DUMP_TIMEOUT (10 * USEC_PER_SEC)
#define TABLE_DUMP_READS_PER_DISPATCH 8u
#define TABLE_MESSAGE_TOP_MAX 5u        /* per list in the message text; fields carry all N */

typedef struct TableGuard TableGuard;

/* The journal event of a policy event and of a counter's rise; _EVENT_INVALID for the
 * sentinels. */
EventId table_event_id(TableEventType t);
EventId table_counter_event_id(TableCounter c);

/* What a status line or "ctguard status" shows. */
typedef struct TableStatus {
        bool valid;                     /* a sample was taken */
        CtSample sample;
        unsigned percent;
        TableLevel level;               /* with hysteresis in the daemon; plain in a one-shot */
} TableStatus;

/* root: where /proc and /sys are, "" for /. */
int table_guard_new(sd_event *event, const char *root, const Config *c, TableGuard **ret);
TableGuard *table_guard_free(TableGuard *g);
static inline void table_guard_freep(TableGuard **g) {
        table_guard_free(*g);
}

/* After a reload: the new thresholds and intervals apply from the next sample on; the level
 * reached so far is kept, so a crossing is not reported twice. */
void table_guard_set_config(TableGuard *g, const Config *c);

/* AutoRaise=: the entry size and MemTotal are read, and the hash size written, beneath the root
 * given to table_guard_new(); the raised nf_conntrack_max (and buckets) are handed to
 * sysctl_guard (sysctl_guard_raise()), which then keeps them; borrowed, must outlive g. Without
 * this call, AutoRaise does nothing. */
int table_guard_attach(TableGuard *g, SysctlGuard *sysctl_guard);

/* Takes one sample at monotonic time now and reports. Returns the interval until the next
 * sample: PollIntervalSec, or FastPollIntervalSec from WarnPercent up. *ret_changed (may be
 * NULL) tells whether the status line changed (percent or level). */
usec_t table_guard_tick(TableGuard *g, usec_t now, bool *ret_changed);

/* Whether the daemon heals now (enforce mode, not on hold, not stopped for flapping). Only then
 * may a top-talker dump run while nf_conntrack_netlink is absent, since the dump loads it. */
void table_guard_set_may_load(TableGuard *g, bool may_load);

void table_guard_status(const TableGuard *g, TableStatus *ret);

/* AutoRaise's budget as priced at the last sample (known is false while AutoRaise is off or the
 * kernel's prices cannot be read) and its last raise (time 0: none), for the state file. */
void table_guard_budget(const TableGuard *g, DaemonBudget *ret_budget, DaemonRaise *ret_raise);

/* Why the last sample lacked the per-CPU counters (a positive errno), 0 if it had them or no
 * sample was taken. */
int table_guard_counters_error(const TableGuard *g);

/* The table policy's configuration from the daemon's: the thresholds and poll intervals, the
 * same for the host's table and every namespace's. */
void table_guard_policy_config(const Config *c, TablePolicyConfig *ret);

/* "table 1234/262144 (0%, ok)", or "table unknown" before a sample. */
int table_status_format(const TableStatus *s, char *buf, size_t size);

/* One sample without a daemon, for "ctguard status": the level has no history, so it is the
 * one the thresholds give (no hysteresis). */
int table_sample_once(const char *root, const Config *c, TableStatus *ret);
