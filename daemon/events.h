/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>

/* Every journal event the daemon logs, as a compile-time constant: log_event(EVENT_TABLE_FULL,
 * ...) cannot name an event that does not exist, and a switch over an event kind without a
 * default: makes -Wswitch-enum list what a new event still lacks. Each has one row in
 * event_table (events.c): its CTGUARD_EVENT= name, its MESSAGE_ID= (made once with
 * "systemd-id128 new"; an id never changes, monitoring selects on it) and its PRIORITY=. The
 * entry of each id in catalog/ctguard.catalog explains it for "journalctl -x"; the catalog
 * test compares the two. */

typedef enum EventId {
        EVENT_CONFIG_LOADED,
        EVENT_CONFIG_REJECTED,
        EVENT_SYSCTL_RESTORED,
        EVENT_SYSCTL_ADOPTED,
        EVENT_SYSCTL_DRIFT,
        EVENT_SYSCTL_UNAVAILABLE,
        EVENT_SYSCTL_AVAILABLE,
        EVENT_SYSCTL_READONLY,
        EVENT_SYSCTL_FAILED,
        EVENT_SYSCTL_FIGHT,
        EVENT_MODULE_CHAIN_PRESENT,
        EVENT_MODULE_CHAIN_RESTORED,
        EVENT_MODULE_SKIPPED,
        EVENT_MODULE_RELOADED,
        EVENT_MODULE_LOAD_FAILED,
        EVENT_MODULE_BLOCKED,
        EVENT_MODULE_MISSING,
        EVENT_MODULE_FLAPPING,
        EVENT_HELD,
        EVENT_HOLD_EXPIRED,
        EVENT_RELEASED,
        EVENT_TABLE_WARN,
        EVENT_TABLE_CRIT,
        EVENT_TABLE_OK,
        EVENT_TABLE_FULL,
        EVENT_TABLE_RAISED,
        EVENT_TABLE_BUDGET_EXHAUSTED,
        EVENT_TABLE_INSERT_FAILED,
        EVENT_TABLE_EARLY_DROP,
        EVENT_TABLE_CHAIN_TOO_LONG,
        EVENT_TABLE_CLASH_RESOLVE,
        _EVENT_MAX,
        _EVENT_INVALID = -EINVAL,
} EventId;

typedef struct EventInfo {
        const char *name;               /* CTGUARD_EVENT= */
        const char *message_id;         /* MESSAGE_ID=: 128 bits in lower-case hex */
        int priority;                   /* PRIORITY=: LOG_ERR ... LOG_INFO */
} EventInfo;

/* The row of an event, NULL for anything that is not one. */
const EventInfo *event_info(EventId id);
const char *event_to_string(EventId id);
