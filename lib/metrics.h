/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parse-util.h"

/* What ctguard knows, for Prometheus: a plain struct filled by collectors (the daemon from its
 * memory, "ctguard metrics" from the published state file and the kernel), each member with a
 * flag saying whether it could be read. metrics_write() turns it into the exposition; a member
 * that is not known is left out, never written as 0.
 *
 * Cardinality: one series per guarded module and state (3 × at most 32 modules), per guarded
 * or followed sysctl (at most CONFIG_SYSCTLS_MAX keys), per kernel counter (7), per heal kind,
 * failure kind and event name (the fixed tables below), and per network namespace for at most
 * CONFIG_TOP_NAMESPACES_MAX + 1 namespaces (two series each). Nothing comes from the traffic. */

typedef enum MetricsModuleState {
        METRICS_MODULE_BUILTIN,
        METRICS_MODULE_LIVE,
        METRICS_MODULE_MISSING,
        _METRICS_MODULE_STATE_MAX,
        _METRICS_MODULE_STATE_INVALID = -22,
} MetricsModuleState;

const char *metrics_module_state_to_string(MetricsModuleState s);

/* The per-CPU-summed kernel counters of /proc/net/stat/nf_conntrack, by their metric name. */
typedef enum MetricsCounter {
        METRICS_CT_DROP,
        METRICS_CT_EARLY_DROP,
        METRICS_CT_INSERT_FAILED,
        METRICS_CT_INVALID,
        METRICS_CT_SEARCH_RESTART,
        METRICS_CT_CLASH_RESOLVE,
        METRICS_CT_CHAINTOOLONG,
        _METRICS_CT_MAX,
        _METRICS_CT_INVALID = -22,
} MetricsCounter;

const char *metrics_counter_to_string(MetricsCounter c);

typedef enum MetricsHeal {
        METRICS_HEAL_MODULE_CHAIN,      /* the module chain was loaded again */
        _METRICS_HEAL_MAX,
        _METRICS_HEAL_INVALID = -22,
} MetricsHeal;

typedef enum MetricsFailure {
        METRICS_FAILURE_MODULE_LOAD,
        METRICS_FAILURE_SYSCTL_WRITE,
        METRICS_FAILURE_CONFIG,
        _METRICS_FAILURE_MAX,
        _METRICS_FAILURE_INVALID = -22,
} MetricsFailure;

const char *metrics_heal_to_string(MetricsHeal h);
const char *metrics_failure_to_string(MetricsFailure f);

typedef struct MetricsModule {
        const char *name;
        bool known;
        MetricsModuleState state;
} MetricsModule;

typedef struct MetricsSysctl {
        const char *key;                /* dotted */
        bool owned;                     /* [Sysctl] assigns it; else followed */
        const char *desired;            /* NULL: not known */
        const char *actual;             /* NULL: could not be read */
} MetricsSysctl;

typedef struct MetricsEventCount {
        const char *name;
        uint64_t count;
} MetricsEventCount;

/* One network namespace's table, with [Conntrack] Namespaces=all. */
typedef struct MetricsNetns {
        uint64_t inode;
        const char *name;               /* as the events name it */
        uint64_t entries;
        bool have_drop;
        uint64_t drop;
} MetricsNetns;

/* The label value of the series that sums every namespace past the top K. */
#define METRICS_NETNS_OTHER "other"

typedef struct Metrics {
        const char *version;

        bool daemon_known;              /* whether "up" could be decided */
        bool up;
        usec_t started;                 /* CLOCK_REALTIME; 0: not known */

        const MetricsModule *modules;
        size_t n_modules;
        const MetricsSysctl *sysctls;
        size_t n_sysctls;

        bool have_entries, have_max;
        uint64_t entries, max;
        bool have_counter[_METRICS_CT_MAX];
        uint64_t counter[_METRICS_CT_MAX];

        bool have_heals, have_restores, have_failures;
        uint64_t heals[_METRICS_HEAL_MAX];
        uint64_t restores;
        uint64_t failures[_METRICS_FAILURE_MAX];
        const MetricsEventCount *events;        /* NULL: not known */
        size_t n_events;

        bool have_hold;
        bool held;
        usec_t hold_until;              /* held: USEC_INFINITY for "until released" */
        bool have_flapping;
        bool flapping;

        /* Namespaces=all: every watched namespace but the host's, in any order; the fullest
         * top_netns get series of their own (labels netns, name), the rest one sum (netns="other"),
         * so that the cardinality stays bounded whatever the host runs. NULL: Namespaces=host. */
        const MetricsNetns *netns;
        size_t n_netns;
        unsigned top_netns;

        usec_t timestamp;               /* CLOCK_REALTIME when collected */
        /* The auto-raise budget of nf_conntrack_max joins here once it exists. */
} Metrics;

/* Orders namespaces fullest first (then by inode), as the metrics and "status --netns" list them. */
int metrics_netns_compare(const MetricsNetns *a, const MetricsNetns *b);

/* Writes the exposition. Returns 0 or the first error of the writer. */
int metrics_write(const Metrics *m, FILE *f);

/* Reads the kernel's counters from proc_stat (a /proc/net/stat/nf_conntrack file), summing the
 * rows (one per CPU); "entries" is the same on every row and is not summed. Fills
 * have_entries/entries and have_counter/counter for the columns the file has. */
int metrics_read_conntrack_stat(const char *proc_stat, Metrics *m);

/* The table as "ctguard metrics" and the daemon's textfile report it, read from /proc alone:
 * the counters and count from <root>/proc/net/stat/nf_conntrack, the limit (and the count, if
 * that file is missing) from sysctl_root. Never a ctnetlink request, which would load
 * nf_conntrack_netlink. What cannot be read stays unknown. */
int metrics_read_table(const char *root, const char *sysctl_root, Metrics *m);
