/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "log.h"
#include "log-fields.h"
#include "netns-guard.h"
#include "netns-sample.h"
#include "netns-scan.h"
#include "table-guard.h"
#include "table-rate.h"

typedef struct NetnsEntry {
        uint64_t inode;
        char *name;                     /* the display name */
        pid_t pid;
        char *pod_uid, *container_id;

        NetnsReader *reader;            /* NULL: not readable (yet) */
        int open_error;
        bool sample_failing;

        TablePolicy policy;
        TableGrowth *growth;            /* allocated once the namespace tracks something */
        bool valid;
        CtSample last;
} NetnsEntry;

struct NetnsGuard {
        char *root;
        bool enabled;
        TablePolicyConfig pc;
        usec_t scan_interval;
        usec_t next_scan;               /* 0: at the next tick */

        NetnsEntry *entries;            /* sorted by inode */
        size_t n;

        bool scan_failure_reported;
        bool eperm_reported;
        bool emfile_reported;
        bool nofile_raised;
        size_t readers, readers_max;    /* open readers, and how many the file limit leaves */
};

/* Descriptors the daemon keeps for itself (sysctl files, watches, the journal, a reload) when
 * the readers take the rest of the limit. */
#define NOFILE_RESERVE 64u

static void entry_done(NetnsGuard *g, NetnsEntry *e) {
        if (e->reader)
                g->readers--;
        netns_reader_close(e->reader);
        free(e->name);
        free(e->pod_uid);
        free(e->container_id);
        free(e->growth);
        *e = (NetnsEntry) {};
}

static void close_all(NetnsGuard *g) {
        for (size_t i = 0; i < g->n; i++)
                entry_done(g, &g->entries[i]);
        free(g->entries);
        g->entries = NULL;
        g->n = 0;
}

void netns_guard_set_config(NetnsGuard *g, const Config *c) {
        table_guard_policy_config(c, &g->pc);
        g->scan_interval = c->namespace_scan_interval;
        g->enabled = c->namespaces == NAMESPACE_SCOPE_ALL;
        if (!g->enabled)
                close_all(g);
        g->next_scan = 0;
}

NetnsGuard *netns_guard_free(NetnsGuard *g) {
        if (!g)
                return NULL;
        close_all(g);
        free(g->root);
        free(g);
        return NULL;
}

int netns_guard_new(const char *root, const Config *c, NetnsGuard **ret) {
        _cleanup_(netns_guard_freep) NetnsGuard *g = NULL;

        g = calloc(1, sizeof(NetnsGuard));
        if (!g)
                return -ENOMEM;
        g->root = strdup(strempty(root));
        if (!g->root)
                return -ENOMEM;
        netns_guard_set_config(g, c);
        *ret = TAKE_PTR(g);
        return 0;
}

bool netns_guard_enabled(const NetnsGuard *g) {
        return g && g->enabled;
}

/* ---- events ---- */

static void log_netns_event(const NetnsGuard *g, const NetnsEntry *n, const TableEvent *e) {
        char span[FORMAT_TIMESPAN_MAX], pct[TABLE_PERCENT_FORMAT_MAX], full_in[TABLE_GROWTH_FORMAT_MAX + 2] = "";
        EventId event = table_event_id(e->type);
        usec_t lasted = (e->time - e->since) / USEC_PER_SEC * USEC_PER_SEC;
        const char *what;
        unsigned threshold;
        Fields f = {};

        fields_add(&f, "CTGUARD_NETNS=%" PRIu64, n->inode);
        fields_add(&f, "CTGUARD_NETNS_NAME=%s", n->name);
        if (n->pid > 0)
                fields_add(&f, "CTGUARD_NETNS_PID=%d", (int) n->pid);
        if (n->pod_uid)
                fields_add(&f, "CTGUARD_POD_UID=%s", n->pod_uid);
        if (n->container_id)
                fields_add(&f, "CTGUARD_CONTAINER_ID=%s", n->container_id);
        fields_add(&f, "CTGUARD_COUNT=%" PRIu64, e->count);
        fields_add(&f, "CTGUARD_MAX=%" PRIu64, e->max);
        fields_add(&f, "CTGUARD_PERCENT=%u", e->percent);
        fields_add(&f, "CTGUARD_LEVEL=%s", table_level_to_string(e->level));
        if (e->repeat) {
                fields_add(&f, "CTGUARD_REPEAT=1");
                fields_add(&f, "CTGUARD_DURATION_SEC=%" PRIu64, lasted / USEC_PER_SEC);
        }

        switch (e->type) {
        case TABLE_EVENT_WARN:
        case TABLE_EVENT_CRIT: {
                bool crit = e->type == TABLE_EVENT_CRIT;
                char buf[TABLE_GROWTH_FORMAT_MAX];
                uint64_t seconds;
                double rate;

                threshold = crit ? g->pc.crit_percent : g->pc.warn_percent;
                what = crit ? "CritPercent" : "WarnPercent";
                fields_add(&f, "CTGUARD_THRESHOLD=%u", threshold);
                if (n->growth && table_growth_estimate(n->growth, e->max, &rate, &seconds) > 0) {
                        fields_add(&f, "CTGUARD_FULL_IN_SEC=%" PRIu64, seconds);
                        fields_add(&f, "CTGUARD_GROWTH_RATE=%.0f", rate);
                        snprintf(full_in, sizeof(full_in), "; %s",
                                 table_growth_format(buf, sizeof(buf), rate, seconds));
                }
                if (e->repeat)
                        log_event(event, (const char * const *) f.s,
                                  "Conntrack table of netns %s still %s full (%" PRIu64 " of %" PRIu64 " entries) after %s, %s=%u%s.",
                                  n->name, table_percent_format(e->count, e->max, pct), e->count, e->max,
                                  format_timespan(span, sizeof(span), lasted), what, threshold,
                                  full_in);
                else
                        log_event(event, (const char * const *) f.s,
                                  "Conntrack table of netns %s %s full (%" PRIu64 " of %" PRIu64 " entries), at or above %s=%u%s%s.",
                                  n->name, table_percent_format(e->count, e->max, pct), e->count, e->max,
                                  what, threshold,
                                  crit ? ": its new connections are dropped once it is full" : "",
                                  full_in);
                break;
        }
        case TABLE_EVENT_OK:
                threshold = e->level == TABLE_LEVEL_OK ? g->pc.warn_percent : g->pc.crit_percent;
                fields_add(&f, "CTGUARD_THRESHOLD=%u", threshold);
                log_event(event, (const char * const *) f.s,
                          "Conntrack table of netns %s down to %s (%" PRIu64 " of %" PRIu64 " entries), below %s=%u less the margin%s.",
                          n->name, table_percent_format(e->count, e->max, pct), e->count, e->max,
                          e->level == TABLE_LEVEL_OK ? "WarnPercent" : "CritPercent", threshold,
                          e->level == TABLE_LEVEL_OK ? "" : "; still above the warning level");
                break;
        case TABLE_EVENT_FULL:
                fields_add(&f, "CTGUARD_DROPS=%" PRIu64, e->drops);
                log_event(event, (const char * const *) f.s,
                          "Conntrack table of netns %s full: the kernel dropped %" PRIu64 " packet(s) for want of a free entry%s (%" PRIu64 " of %" PRIu64 " entries, %s).",
                          n->name, e->drops, e->repeat ? " since the previous report" : "",
                          e->count, e->max, table_percent_format(e->count, e->max, pct));
                break;
        case _TABLE_EVENT_MAX:
        case _TABLE_EVENT_INVALID:
                break;
        }
        fields_done(&f);
}

/* ---- scanning ---- */

static int entry_set_identity(NetnsEntry *e, const Netns *ns) {
        char buf[256];
        char *name, *pod = NULL, *cid = NULL;

        name = strdup(netns_display_name(ns, buf, sizeof(buf)));
        if (!name || (ns->pod_uid && !(pod = strdup(ns->pod_uid))) ||
            (ns->container_id && !(cid = strdup(ns->container_id)))) {
                free(name);
                free(pod);
                free(cid);
                return -ENOMEM;
        }
        free(e->name);
        free(e->pod_uid);
        free(e->container_id);
        e->name = name;
        e->pod_uid = pod;
        e->container_id = cid;
        e->pid = ns->pid;
        return 0;
}

/* Opens the reader of an entry that has none. A namespace that tracks nothing, or is gone,
 * is tried again at the next scan. */
static void entry_open(NetnsGuard *g, NetnsEntry *e, const Netns *ns) {
        int r;

        r = g->readers < g->readers_max ? netns_reader_open(g->root, ns, &e->reader) : -EMFILE;
        if (r >= 0) {
                g->readers++;
                e->open_error = 0;
                log_debug("Watching the conntrack table of netns %s (%" PRIu64 ").", e->name, e->inode);
                return;
        }
        e->reader = NULL;
        if ((r == -EMFILE || r == -ENFILE) && !g->emfile_reported) {
                log_warning_errno(r, "Cannot open the conntrack statistics of netns %s: one file "
                                  "per namespace is beyond the limit of open files (LimitNOFILE=, "
                                  "less %u the daemon keeps), not watching it: %m", e->name,
                                  NOFILE_RESERVE);
                g->emfile_reported = true;
        } else if (r == -EPERM && !g->eperm_reported) {
                log_info_errno(r, "Cannot open the conntrack statistics of netns %s, known here only "
                               "by its /run/netns name (a process in it is read with "
                               "CAP_SYS_PTRACE; entering it needs CAP_SYS_ADMIN and no "
                               "RestrictNamespaces=), skipping such namespaces: %m", e->name);
                g->eperm_reported = true;
        } else if (r != e->open_error && r != -ENOENT && r != -ESRCH && r != -EPERM)
                log_debug_errno(r, "Cannot open the conntrack statistics of netns %s, trying again "
                                "at the next scan: %m", e->name);
        e->open_error = r;
}

/* The daemon's own namespace, which the table guard watches (the scan marks PID 1's as host). */
static uint64_t own_inode(const char *root) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (asprintf(&p, "%s/proc/self/ns/net", root) < 0 || stat(p, &st) < 0)
                return 0;
        return (uint64_t) st.st_ino;
}

/* One descriptor per namespace: a host with a thousand pods needs more than the soft limit of
 * 1024 that services get by default. The hard limit is the administrator's; nothing here uses
 * select(), so descriptors above 1023 are fine. */
static void raise_nofile(NetnsGuard *g) {
        struct rlimit rl;

        if (g->nofile_raised)
                return;
        g->nofile_raised = true;
        g->readers_max = SIZE_MAX;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return;
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit raised = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };

                if (setrlimit(RLIMIT_NOFILE, &raised) < 0)
                        log_debug_errno(-errno, "Cannot raise the soft limit of open files: %m");
                else
                        rl = raised;
        }
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < SIZE_MAX)
                g->readers_max = rl.rlim_cur > 2 * NOFILE_RESERVE ? rl.rlim_cur - NOFILE_RESERVE :
                                                                    rl.rlim_cur / 2;
}

static int netns_guard_scan(NetnsGuard *g) {
        _cleanup_(netns_list_done) NetnsList l = {};
        NetnsEntry *entries;
        uint64_t own;
        size_t n = 0, j = 0;
        int r;

        r = netns_scan(g->root, &l);
        if (r < 0) {
                if (!g->scan_failure_reported)
                        log_warning_errno(r, "Failed to look for network namespaces, keeping the "
                                          "%zu known: %m", g->n);
                g->scan_failure_reported = true;
                return r;
        }
        g->scan_failure_reported = false;
        own = own_inode(g->root);
        raise_nofile(g);

        entries = calloc(MAX(l.n, (size_t) 1), sizeof(NetnsEntry));
        if (!entries)
                return -ENOMEM;

        /* Both lists are sorted by inode: a merge keeps the state of the namespaces still
         * there, closes the others and opens the new. */
        for (size_t i = 0; i < l.n; i++) {
                const Netns *ns = &l.items[i];
                NetnsEntry *e = &entries[n];

                if (ns->host || ns->inode == own)
                        continue;
                while (j < g->n && g->entries[j].inode < ns->inode) {
                        log_debug("Netns %s (%" PRIu64 ") is gone.", g->entries[j].name,
                                  g->entries[j].inode);
                        entry_done(g, &g->entries[j++]);
                }
                if (j < g->n && g->entries[j].inode == ns->inode) {
                        *e = g->entries[j];
                        g->entries[j++] = (NetnsEntry) {};
                } else
                        *e = (NetnsEntry) { .inode = ns->inode, .policy = TABLE_POLICY_INIT };
                if (entry_set_identity(e, ns) < 0) {
                        entry_done(g, e);
                        continue;
                }
                if (!e->reader)
                        entry_open(g, e, ns);
                n++;
        }
        for (; j < g->n; j++) {
                log_debug("Netns %s (%" PRIu64 ") is gone.", g->entries[j].name, g->entries[j].inode);
                entry_done(g, &g->entries[j]);
        }
        free(g->entries);
        g->entries = entries;
        g->n = n;
        return 0;
}

/* ---- sampling ---- */

static usec_t entry_tick(NetnsGuard *g, NetnsEntry *e, usec_t now, uint64_t max) {
        TableSample ts;
        TableVerdict v;
        CtSample s;
        int r;

        r = netns_reader_sample(e->reader, &s);
        if (r < 0) {
                if (!e->sample_failing)
                        log_debug_errno(r, "Failed to sample netns %s: %m", e->name);
                e->sample_failing = true;
                return table_policy_poll_interval(&e->policy, &g->pc);
        }
        e->sample_failing = false;
        s.max = (uint32_t) MIN(max, (uint64_t) UINT32_MAX);
        e->last = s;
        e->valid = true;

        /* Namespaces that track nothing cost the read and the policy's arithmetic, which
         * raises nothing for them; the minute of counts for the time to full is kept only once
         * there is something to count. The policy sees every sample all the same: its first
         * one is the baseline of the drop counter, and drops must count from there. */
        if (!e->growth && s.count > 0) {
                e->growth = malloc(sizeof(TableGrowth));
                if (e->growth)
                        *e->growth = TABLE_GROWTH_INIT;
        }
        if (e->growth)
                table_growth_add(e->growth, now, s.count);

        ts = (TableSample) {
                .time = now,
                .count = s.count,
                .max = max,
                .drop = s.drop,
                .have_drop = s.has_cpu_stats,
        };
        r = table_policy_evaluate(&e->policy, &g->pc, &ts, &v);
        if (r < 0)
                return g->pc.poll_interval;
        for (size_t i = 0; i < v.n_events; i++)
                log_netns_event(g, e, &v.events[i]);
        return v.next_poll;
}

usec_t netns_guard_tick(NetnsGuard *g, usec_t now, uint64_t max) {
        usec_t next = USEC_INFINITY;

        if (!g || !g->enabled)
                return USEC_INFINITY;
        if (g->next_scan == 0 || now >= g->next_scan) {
                (void) netns_guard_scan(g);
                g->next_scan = now + g->scan_interval;
        }
        for (size_t i = 0; i < g->n; i++) {
                usec_t k;

                if (!g->entries[i].reader)
                        continue;
                /* Not inside MIN(), which evaluates its arguments twice. */
                k = entry_tick(g, &g->entries[i], now, max);
                next = MIN(next, k);
        }
        /* The next scan is due on time even when the poll interval is longer. */
        return MIN(next, g->next_scan - now);
}

void netns_guard_foreach(const NetnsGuard *g, void (*f)(const NetnsGuardView *v, void *userdata),
                         void *userdata) {
        if (!g)
                return;
        for (size_t i = 0; i < g->n; i++) {
                const NetnsEntry *e = &g->entries[i];

                if (!e->reader)
                        continue;
                f(&(const NetnsGuardView) {
                        .inode = e->inode,
                        .name = e->name,
                        .valid = e->valid,
                        .count = e->last.count,
                        .have_drop = e->valid && e->last.has_cpu_stats,
                        .drop = e->last.drop,
                        .level = e->policy.level,
                  }, userdata);
        }
}
