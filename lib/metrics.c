/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctstat.h"
#include "macro.h"
#include "metrics.h"
#include "prom.h"

const char *metrics_module_state_to_string(MetricsModuleState s) {
        static const char * const t[_METRICS_MODULE_STATE_MAX] = {
                [METRICS_MODULE_BUILTIN] = "builtin",
                [METRICS_MODULE_LIVE] = "live",
                [METRICS_MODULE_MISSING] = "missing",
        };
        return s >= 0 && s < _METRICS_MODULE_STATE_MAX ? t[s] : NULL;
}

/* The kernel's column name, and ours. */
static const struct {
        const char *column;
        const char *name;
} counter_table[_METRICS_CT_MAX] = {
        [METRICS_CT_DROP]           = { "drop",           "drop" },
        [METRICS_CT_EARLY_DROP]     = { "early_drop",     "early_drop" },
        [METRICS_CT_INSERT_FAILED]  = { "insert_failed",  "insert_failed" },
        [METRICS_CT_INVALID]        = { "invalid",        "invalid" },
        [METRICS_CT_SEARCH_RESTART] = { "search_restart", "search_restart" },
        [METRICS_CT_CLASH_RESOLVE]  = { "clashres",       "clash_resolve" },
        [METRICS_CT_CHAINTOOLONG]   = { "chainlength",    "chaintoolong" },
};

const char *metrics_counter_to_string(MetricsCounter c) {
        return c >= 0 && c < _METRICS_CT_MAX ? counter_table[c].name : NULL;
}

const char *metrics_heal_to_string(MetricsHeal h) {
        static const char * const t[_METRICS_HEAL_MAX] = {
                [METRICS_HEAL_MODULE_CHAIN] = "module-chain",
        };
        return h >= 0 && h < _METRICS_HEAL_MAX ? t[h] : NULL;
}

const char *metrics_failure_to_string(MetricsFailure f) {
        static const char * const t[_METRICS_FAILURE_MAX] = {
                [METRICS_FAILURE_MODULE_LOAD] = "module-load",
                [METRICS_FAILURE_SYSCTL_WRITE] = "sysctl-write",
                [METRICS_FAILURE_CONFIG] = "config",
        };
        return f >= 0 && f < _METRICS_FAILURE_MAX ? t[f] : NULL;
}

/* The family table: every name ctguard exports, in the order written. */
enum {
        F_BUILD_INFO,
        F_UP,
        F_START_TIME,
        F_MODULE_STATE,
        F_SYSCTL_DESIRED,
        F_SYSCTL_ACTUAL,
        F_SYSCTL_DRIFT,
        F_ENTRIES,
        F_ENTRIES_LIMIT,
        F_CT_FIRST,
        F_HEALS = F_CT_FIRST + _METRICS_CT_MAX,
        F_RESTORES,
        F_EVENTS,
        F_FAILURES,
        F_HOLD,
        F_HOLD_END,
        F_FLAPPING,
        F_NETNS_WATCHED,
        F_NETNS_ENTRIES,
        F_NETNS_DROP,
        F_TIMESTAMP,
        _F_MAX,
};

static const PromFamily families[_F_MAX] = {
        [F_BUILD_INFO] = { "ctguard_build_info", PROM_GAUGE,
                "Always 1; the version label says which ctguard wrote this." },
        [F_UP] = { "ctguard_up", PROM_GAUGE, "Whether the ctguard daemon runs (1) or not (0)." },
        [F_START_TIME] = { "ctguard_start_time_seconds", PROM_GAUGE,
                "When the running daemon started, in seconds since the epoch." },
        [F_MODULE_STATE] = { "ctguard_module_state", PROM_GAUGE,
                "State of each guarded kernel module: 1 for the state it is in, 0 for the others." },
        [F_SYSCTL_DESIRED] = { "ctguard_sysctl_desired_value", PROM_GAUGE,
                "The value ctguard keeps a numeric sysctl at." },
        [F_SYSCTL_ACTUAL] = { "ctguard_sysctl_actual_value", PROM_GAUGE,
                "The value a guarded or followed numeric sysctl has now." },
        [F_SYSCTL_DRIFT] = { "ctguard_sysctl_drift", PROM_GAUGE,
                "1 if a sysctl differs from its desired value, 0 if not." },
        [F_ENTRIES] = { "ctguard_conntrack_entries", PROM_GAUGE,
                "Entries in the conntrack table." },
        [F_ENTRIES_LIMIT] = { "ctguard_conntrack_entries_limit", PROM_GAUGE,
                "The size of the conntrack table (nf_conntrack_max)." },
        [F_CT_FIRST + METRICS_CT_DROP] = { "ctguard_conntrack_drop_total", PROM_COUNTER,
                "Packets dropped because the table was full, summed over CPUs." },
        [F_CT_FIRST + METRICS_CT_EARLY_DROP] = { "ctguard_conntrack_early_drop_total", PROM_COUNTER,
                "Entries evicted early to make room, summed over CPUs." },
        [F_CT_FIRST + METRICS_CT_INSERT_FAILED] = { "ctguard_conntrack_insert_failed_total",
                PROM_COUNTER, "Entries that could not be inserted, summed over CPUs." },
        [F_CT_FIRST + METRICS_CT_INVALID] = { "ctguard_conntrack_invalid_total", PROM_COUNTER,
                "Packets that could not be tracked, summed over CPUs." },
        [F_CT_FIRST + METRICS_CT_SEARCH_RESTART] = { "ctguard_conntrack_search_restart_total",
                PROM_COUNTER, "Table lookups restarted after a hash resize, summed over CPUs." },
        [F_CT_FIRST + METRICS_CT_CLASH_RESOLVE] = { "ctguard_conntrack_clash_resolve_total",
                PROM_COUNTER, "Insertion clashes the kernel resolved, summed over CPUs." },
        [F_CT_FIRST + METRICS_CT_CHAINTOOLONG] = { "ctguard_conntrack_chaintoolong_total",
                PROM_COUNTER, "Insertions refused for a too long hash chain, summed over CPUs." },
        [F_HEALS] = { "ctguard_heals_total", PROM_COUNTER,
                "Heals by the running daemon, by kind." },
        [F_RESTORES] = { "ctguard_sysctl_restores_total", PROM_COUNTER,
                "Sysctl values the running daemon restored." },
        [F_EVENTS] = { "ctguard_events_total", PROM_COUNTER,
                "Journal events the running daemon raised, by name." },
        [F_FAILURES] = { "ctguard_failures_total", PROM_COUNTER,
                "Heals and reloads that failed, by kind." },
        [F_HOLD] = { "ctguard_hold", PROM_GAUGE, "1 while ctguard is on hold and heals nothing." },
        [F_HOLD_END] = { "ctguard_hold_end_timestamp_seconds", PROM_GAUGE,
                "When the current hold ends, in seconds since the epoch; absent if it lasts until released." },
        [F_FLAPPING] = { "ctguard_flapping", PROM_GAUGE,
                "1 while the module chain flaps and ctguard has stopped reloading it." },
        [F_NETNS_WATCHED] = { "ctguard_netns_watched", PROM_GAUGE,
                "Network namespaces other than the host's whose conntrack table ctguard watches (Namespaces=all)." },
        [F_NETNS_ENTRIES] = { "ctguard_netns_conntrack_entries", PROM_GAUGE,
                "Entries in the conntrack table of each of the fullest namespaces; netns=\"other\" sums the rest." },
        [F_NETNS_DROP] = { "ctguard_netns_conntrack_drop_total", PROM_COUNTER,
                "Packets a namespace dropped because the table was full, summed over CPUs; netns=\"other\" sums the rest." },
        [F_TIMESTAMP] = { "ctguard_metrics_timestamp_seconds", PROM_GAUGE,
                "When these metrics were collected, in seconds since the epoch." },
};

static PromValue seconds(usec_t t) {
        return PROM_U64(t / USEC_PER_SEC);
}

/* Sysctls such as tcp_rmem hold several numbers; only single integers become values. */
static PromValue sysctl_value(const char *s) {
        char *end;
        uint64_t v;

        if (!s || !*s || *s == '-')
                return PROM_UNKNOWN;
        errno = 0;
        v = strtoull(s, &end, 10);
        while (*end == '\n' || *end == ' ')
                end++;
        if (errno != 0 || *end || end == s)
                return PROM_UNKNOWN;
        return PROM_U64(v);
}

int metrics_netns_compare(const MetricsNetns *a, const MetricsNetns *b) {
        if (a->entries != b->entries)
                return a->entries > b->entries ? -1 : 1;
        return a->inode < b->inode ? -1 : a->inode > b->inode;
}

static int netns_cmp(const void *a, const void *b) {
        return metrics_netns_compare(a, b);
}

/* The per-namespace families: the top K, each family's samples together, then the sum of the
 * rest (always written, so that a dashboard's "other" series does not come and go). A drop sum
 * is known only if every namespace in it has the counter. */
static int write_netns(PromWriter *w, const Metrics *m) {
        _cleanup_free_ MetricsNetns *sorted = NULL;
        size_t k = MIN((size_t) m->top_netns, m->n_netns);
        uint64_t entries = 0, drop = 0;
        bool have_drop = true;

        prom_sample(w, &families[F_NETNS_WATCHED], NULL, PROM_U64(m->n_netns));
        if (m->n_netns > 0) {
                sorted = reallocarray(NULL, m->n_netns, sizeof(MetricsNetns));
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, m->netns, m->n_netns * sizeof(MetricsNetns));
                qsort(sorted, m->n_netns, sizeof(MetricsNetns), netns_cmp);
        }
        for (size_t i = k; i < m->n_netns; i++) {
                entries += sorted[i].entries;
                drop += sorted[i].drop;
                have_drop = have_drop && sorted[i].have_drop;
        }

        for (int fam = F_NETNS_ENTRIES; fam <= F_NETNS_DROP; fam++) {
                for (size_t i = 0; i < k; i++) {
                        char inode[24];

                        snprintf(inode, sizeof(inode), "%" PRIu64, sorted[i].inode);
                        prom_sample(w, &families[fam],
                                    (const char * const[]) { "netns", inode, "name",
                                                             strempty(sorted[i].name), NULL },
                                    fam == F_NETNS_ENTRIES ? PROM_U64(sorted[i].entries) :
                                    sorted[i].have_drop ? PROM_U64(sorted[i].drop) : PROM_UNKNOWN);
                }
                prom_sample(w, &families[fam],
                            (const char * const[]) { "netns", METRICS_NETNS_OTHER, "name", "", NULL },
                            fam == F_NETNS_ENTRIES ? PROM_U64(entries) :
                            have_drop ? PROM_U64(drop) : PROM_UNKNOWN);
        }
        return 0;
}

int metrics_write(const Metrics *m, FILE *f) {
        PromWriter w;

        prom_init(&w, f);

        prom_sample(&w, &families[F_BUILD_INFO],
                    (const char * const[]) { "version", m->version ?: "", NULL }, PROM_U64(1));
        prom_sample(&w, &families[F_UP], NULL, m->daemon_known ? PROM_BOOL(m->up) : PROM_UNKNOWN);
        prom_sample(&w, &families[F_START_TIME], NULL,
                    m->up && m->started > 0 ? seconds(m->started) : PROM_UNKNOWN);

        for (size_t i = 0; i < m->n_modules; i++)
                for (MetricsModuleState s = 0; s < _METRICS_MODULE_STATE_MAX; s++)
                        prom_sample(&w, &families[F_MODULE_STATE],
                                    (const char * const[]) { "module", m->modules[i].name, "state",
                                                             metrics_module_state_to_string(s), NULL },
                                    m->modules[i].known ? PROM_BOOL(m->modules[i].state == s)
                                                        : PROM_UNKNOWN);

        for (int fam = F_SYSCTL_DESIRED; fam <= F_SYSCTL_DRIFT; fam++)
                for (size_t i = 0; i < m->n_sysctls; i++) {
                        const MetricsSysctl *s = &m->sysctls[i];
                        PromValue desired = sysctl_value(s->desired), actual = sysctl_value(s->actual);
                        PromValue v = fam == F_SYSCTL_DESIRED ? desired :
                                      fam == F_SYSCTL_ACTUAL ? actual :
                                      desired.known && actual.known ? PROM_BOOL(desired.u != actual.u) :
                                      PROM_UNKNOWN;

                        prom_sample(&w, &families[fam],
                                    (const char * const[]) { "key", s->key, "ownership",
                                                             s->owned ? "owned" : "followed", NULL },
                                    v);
                }

        prom_sample(&w, &families[F_ENTRIES], NULL, m->have_entries ? PROM_U64(m->entries) : PROM_UNKNOWN);
        prom_sample(&w, &families[F_ENTRIES_LIMIT], NULL, m->have_max ? PROM_U64(m->max) : PROM_UNKNOWN);
        for (MetricsCounter c = 0; c < _METRICS_CT_MAX; c++)
                prom_sample(&w, &families[F_CT_FIRST + c], NULL,
                            m->have_counter[c] ? PROM_U64(m->counter[c]) : PROM_UNKNOWN);

        for (MetricsHeal h = 0; h < _METRICS_HEAL_MAX; h++)
                prom_sample(&w, &families[F_HEALS],
                            (const char * const[]) { "kind", metrics_heal_to_string(h), NULL },
                            m->have_heals ? PROM_U64(m->heals[h]) : PROM_UNKNOWN);
        prom_sample(&w, &families[F_RESTORES], NULL,
                    m->have_restores ? PROM_U64(m->restores) : PROM_UNKNOWN);
        for (size_t i = 0; m->events && i < m->n_events; i++)
                prom_sample(&w, &families[F_EVENTS],
                            (const char * const[]) { "event", m->events[i].name, NULL },
                            PROM_U64(m->events[i].count));
        for (MetricsFailure k = 0; k < _METRICS_FAILURE_MAX; k++)
                prom_sample(&w, &families[F_FAILURES],
                            (const char * const[]) { "kind", metrics_failure_to_string(k), NULL },
                            m->have_failures ? PROM_U64(m->failures[k]) : PROM_UNKNOWN);

        prom_sample(&w, &families[F_HOLD], NULL, m->have_hold ? PROM_BOOL(m->held) : PROM_UNKNOWN);
        prom_sample(&w, &families[F_HOLD_END], NULL,
                    m->have_hold && m->held && m->hold_until != USEC_INFINITY ?
                    seconds(m->hold_until) : PROM_UNKNOWN);
        prom_sample(&w, &families[F_FLAPPING], NULL,
                    m->have_flapping ? PROM_BOOL(m->flapping) : PROM_UNKNOWN);
        if (m->netns) {
                int r = write_netns(&w, m);

                if (r < 0)
                        return r;
        }
        prom_sample(&w, &families[F_TIMESTAMP], NULL,
                    m->timestamp > 0 ? seconds(m->timestamp) : PROM_UNKNOWN);

        return prom_finish(&w);
}

int metrics_read_conntrack_stat(const char *proc_stat, Metrics *m) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int column[_METRICS_CT_MAX], entries = -1, n = 0;
        uint64_t sum[_METRICS_CT_MAX] = {}, count = 0;
        bool rows = false;

        f = fopen(proc_stat, "re");
        if (!f)
                return -errno;
        if (getline(&line, &size, f) < 0)
                return -EBADMSG;

        for (size_t c = 0; c < _METRICS_CT_MAX; c++)
                column[c] = -1;
        for (char *save = NULL, *tok = strtok_r(line, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save), n++) {
                if (streq(tok, "entries"))
                        entries = n;
                for (size_t c = 0; c < _METRICS_CT_MAX; c++)
                        if (streq(tok, counter_table[c].column))
                                column[c] = n;
        }

        while (getline(&line, &size, f) >= 0) {
                int i = 0;

                for (char *save = NULL, *tok = strtok_r(line, " \t\n", &save); tok;
                     tok = strtok_r(NULL, " \t\n", &save), i++) {
                        char *end;
                        uint64_t v;

                        errno = 0;
                        v = strtoull(tok, &end, 16);
                        if (errno != 0 || *end)
                                return -EBADMSG;
                        if (i == entries)
                                count = v;
                        for (size_t c = 0; c < _METRICS_CT_MAX; c++)
                                if (i == column[c])
                                        sum[c] += v;
                }
                if (i != n)
                        return -EBADMSG;
                rows = true;
        }
        if (!rows)
                return -EBADMSG;

        if (entries >= 0) {
                m->have_entries = true;
                m->entries = count;
        }
        for (size_t c = 0; c < _METRICS_CT_MAX; c++)
                if (column[c] >= 0) {
                        m->have_counter[c] = true;
                        m->counter[c] = sum[c];
                }
        return 0;
}

int metrics_read_table(const char *root, const char *sysctl_root, Metrics *m) {
        _cleanup_free_ char *stat = NULL;
        CtSample sample;

        if (asprintf(&stat, "%s/proc/net/stat/nf_conntrack", root) < 0)
                return -ENOMEM;
        (void) metrics_read_conntrack_stat(stat, m);
        if (ctstat_sample_proc(sysctl_root, &sample) >= 0) {
                m->have_entries = true;
                m->entries = sample.count;
                m->have_max = true;
                m->max = sample.max;
        }
        return 0;
}
