/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>

#include "ct-advice.h"
#include "cttable.h"
#include "log.h"
#include "log-fields.h"
#include "table-guard.h"
#include "sysctl.h"
#include "sysctl-guard.h"
#include "table-raise.h"
#include "table-rate.h"
#include "time-util.h"

#define PENDING_MAX 4u

/* The lists an alert names, in this order. */
static const CtBy alert_dims[] = { CT_BY_SRC, CT_BY_DST, CT_BY_DPORT, CT_BY_STATE };
static const char * const alert_fields[] = { "SRC", "DST", "DPORT", "STATE" };
static const char * const alert_words[] = { "sources", "destinations", "ports", "states" };

struct TableGuard {
        sd_event *event;
        CtStat *stat;
        char *root;
        bool may_load;                  /* the daemon heals now: loading a module is allowed */
        bool dump_skip_reported;

        TablePolicyConfig pc;
        unsigned top_talkers;
        TablePolicy policy;
        TableStatus status;

        bool sample_failing;            /* reported once until a sample works again */
        bool proc_reported;             /* "no drop counters" reported once */
        bool dump_failure_reported;

        /* The count's growth over the last minute (time to full) and the counter rates. */
        TableGrowth growth;
        TableRates rates;

        /* AutoRaise=. */
        char *sysctl_root;
        SysctlGuard *sysctl_guard;      /* borrowed */
        bool auto_raise;
        TableBudget budget;
        usec_t raise_interval;
        uint64_t floor_max;             /* an assigned nf_conntrack_max, 0: none */
        uint64_t object_size, mem_total;        /* 0: not read yet */
        bool sizes_reported;
        TableRaiseState raise_state;
        bool have_last_drop;
        uint64_t last_drop;
        bool max_readonly_reported, hashsize_reported, would_reported, failure_reported;
        DaemonBudget budget_view;       /* for "ctguard status" */
        int counters_error;             /* of the last sample, positive; 0: read */
        DaemonRaise last_raise;

        /* A top-talker dump in progress and the alerts waiting for it. */
        CtDump *dump;
        CtAggregate *agg;
        sd_event_source *dump_io;
        sd_event_source *dump_timer;
        usec_t dump_started;
        TableEvent pending[PENDING_MAX];
        size_t n_pending;
};

void table_guard_policy_config(const Config *c, TablePolicyConfig *ret) {
        *ret = (TablePolicyConfig) {
                .warn_percent = c->warn_percent,
                .crit_percent = c->crit_percent,
                .poll_interval = c->poll_interval,
                /* config_validate() keeps it at most PollIntervalSec; be safe anyway. */
                .fast_poll_interval = MIN(c->fast_poll_interval, c->poll_interval),
                .repeat_interval = TABLE_REPEAT_INTERVAL,
        };
}

/* "75%" or "0.5%": a clear level in half points. */
static const char *format_half_points(unsigned hp, char buf[static 16]) {
        snprintf(buf, 16, "%u%s%%", hp / 2, hp % 2 ? ".5" : "");
        return buf;
}

/* The advice of a crit or full alert (lib/ct-advice.h): fields, and a sentence appended to m. */
static void add_advice(const CtAggregate *a, Fields *f, FILE *m) {
        char key[CT_KEY_STRLEN_MAX];
        CtAdvice v;

        if (ct_advice_from_aggregate(a, &v) < 0)
                return;
        if (v.unreplied && ct_key_format(CT_BY_STATE, &v.unreplied_key, key, sizeof(key)) >= 0) {
                fields_add(f, "CTGUARD_UNREPLIED=%s", key);
                fields_add(f, "CTGUARD_UNREPLIED_PERCENT=%u", v.unreplied_percent);
                fprintf(m, ". Largest unreplied share: %s, %u%% of the entries", key,
                        v.unreplied_percent);
        }
        if (!v.notrack)
                return;
        fields_add(f, "CTGUARD_UDP_DPORT=%u", v.udp_dport);
        fields_add(f, "CTGUARD_UDP_DPORT_PERCENT=%u", v.udp_percent);
        fields_add(f, "CTGUARD_ADVICE=notrack-udp-dport");
        fprintf(m, ". UDP port %u holds %u%% of the table: a NOTRACK rule for it in the raw table "
                "(nft: udp dport %u notrack, in a chain at priority raw) is the standard remedy; "
                "ctguard writes no firewall rules", v.udp_dport, v.udp_percent, v.udp_dport);
}

/* Adds the top lists to f (every one, in full) and returns them for the message text (the
 * first few of each), or NULL. */
static char *add_top(TableGuard *g, const CtAggregate *a, bool partial, Fields *f) {
        _cleanup_free_ char *text = NULL;
        uint64_t unattributed = ct_aggregate_unattributed_max(a);
        size_t size = 0;
        FILE *m;

        fields_add(f, "CTGUARD_TOP_ENTRIES=%" PRIu64, ct_aggregate_entries(a));
        if (partial)
                fields_add(f, "CTGUARD_TOP_PARTIAL=1");
        /* Past the memory cap on distinct keys (a spoofed flood), the entries of further keys
         * are counted but not attributed. */
        if (unattributed > 0)
                fields_add(f, "CTGUARD_TOP_UNATTRIBUTED=%" PRIu64, unattributed);

        m = open_memstream(&text, &size);
        if (!m)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(alert_dims); i++) {
                _cleanup_free_ char *list = NULL, *brief = NULL;

                if (ct_aggregate_format_top(a, alert_dims[i], g->top_talkers, &list) < 0 ||
                    ct_aggregate_format_top(a, alert_dims[i],
                                            MIN(g->top_talkers, TABLE_MESSAGE_TOP_MAX), &brief) < 0)
                        continue;
                fields_add(f, "CTGUARD_TOP_%s=%s", alert_fields[i], list);
                fprintf(m, "%s %s: %s", i == 0 ? " Top" : ";", alert_words[i],
                        *brief ? brief : "none");
        }
        if (partial)
                fputs(" (partial dump)", m);
        if (unattributed > 0)
                fprintf(m, " (%" PRIu64 " entries of rarer keys not attributed)", unattributed);
        add_advice(a, f, m);
        if (fclose(m) != 0)
                return NULL;
        return TAKE_PTR(text);
}

/* CTGUARD_FULL_IN_SEC= and CTGUARD_GROWTH_RATE= and "; full in about 40 s at +2,100
 * entries/s" for text, while the count grows; nothing when it is flat or falling. */
static void add_time_to_full(TableGuard *g, uint64_t max, Fields *f, char *text, size_t size) {
        char buf[TABLE_GROWTH_FORMAT_MAX];
        uint64_t seconds;
        double rate;

        if (table_growth_estimate(&g->growth, max, &rate, &seconds) <= 0)
                return;
        fields_add(f, "CTGUARD_FULL_IN_SEC=%" PRIu64, seconds);
        fields_add(f, "CTGUARD_GROWTH_RATE=%.0f", rate);
        snprintf(text, size, "; %s", table_growth_format(buf, sizeof(buf), rate, seconds));
}

/* The journal event of each of the policy's and the counters' kinds: lib/ names them, the
 * daemon logs them, and a kind without an event does not compile (-Wswitch-enum). */
EventId table_event_id(TableEventType t) {
        switch (t) {
        case TABLE_EVENT_WARN:
                return EVENT_TABLE_WARN;
        case TABLE_EVENT_CRIT:
                return EVENT_TABLE_CRIT;
        case TABLE_EVENT_OK:
                return EVENT_TABLE_OK;
        case TABLE_EVENT_FULL:
                return EVENT_TABLE_FULL;
        case _TABLE_EVENT_MAX:
        case _TABLE_EVENT_INVALID:
                break;
        }
        return _EVENT_INVALID;
}

EventId table_counter_event_id(TableCounter c) {
        switch (c) {
        case TABLE_COUNTER_INSERT_FAILED:
                return EVENT_TABLE_INSERT_FAILED;
        case TABLE_COUNTER_EARLY_DROP:
                return EVENT_TABLE_EARLY_DROP;
        case TABLE_COUNTER_CHAIN_TOO_LONG:
                return EVENT_TABLE_CHAIN_TOO_LONG;
        case TABLE_COUNTER_CLASH_RESOLVE:
                return EVENT_TABLE_CLASH_RESOLVE;
        case TABLE_COUNTER_DROP:
                return EVENT_TABLE_FULL;
        case _TABLE_COUNTER_MAX:
        case _TABLE_COUNTER_INVALID:
                break;
        }
        return _EVENT_INVALID;
}

static void log_table_event(TableGuard *g, const TableEvent *e, const CtAggregate *a,
                            bool partial) {
        _cleanup_free_ char *top_text = NULL;
        char span[FORMAT_TIMESPAN_MAX], clear[16], pct[TABLE_PERCENT_FORMAT_MAX];
        EventId event = table_event_id(e->type);
        usec_t lasted = (e->time - e->since) / USEC_PER_SEC * USEC_PER_SEC;
        Fields f = {};

        fields_add(&f, "CTGUARD_COUNT=%" PRIu64, e->count);
        fields_add(&f, "CTGUARD_MAX=%" PRIu64, e->max);
        fields_add(&f, "CTGUARD_PERCENT=%u", e->percent);
        fields_add(&f, "CTGUARD_LEVEL=%s", table_level_to_string(e->level));
        if (e->repeat) {
                fields_add(&f, "CTGUARD_REPEAT=1");
                fields_add(&f, "CTGUARD_DURATION_SEC=%" PRIu64, lasted / USEC_PER_SEC);
        }

        if (a && g->top_talkers > 0)
                top_text = add_top(g, a, partial, &f);

        switch (e->type) {
        case TABLE_EVENT_WARN:
        case TABLE_EVENT_CRIT: {
                bool crit = e->type == TABLE_EVENT_CRIT;
                unsigned threshold = crit ? g->pc.crit_percent : g->pc.warn_percent;

                char full_in[TABLE_GROWTH_FORMAT_MAX + 2] = "";

                fields_add(&f, "CTGUARD_THRESHOLD=%u", threshold);
                add_time_to_full(g, e->max, &f, full_in, sizeof(full_in));
                if (e->repeat)
                        log_event(event, (const char * const *) f.s,
                                  "Conntrack table still %s full (%" PRIu64 " of %" PRIu64 " entries) after %s, %s=%u%s.%s",
                                  table_percent_format(e->count, e->max, pct), e->count, e->max,
                                  format_timespan(span, sizeof(span), lasted),
                                  crit ? "CritPercent" : "WarnPercent", threshold,
                                  full_in, strempty(top_text));
                else
                        log_event(event, (const char * const *) f.s,
                                  "Conntrack table %s full (%" PRIu64 " of %" PRIu64 " entries), at or above %s=%u%s%s.%s",
                                  table_percent_format(e->count, e->max, pct), e->count, e->max,
                                  crit ? "CritPercent" : "WarnPercent", threshold,
                                  crit ? ": new connections are dropped once it is full" : "",
                                  full_in, strempty(top_text));
                break;
        }
        case TABLE_EVENT_OK: {
                bool to_ok = e->level == TABLE_LEVEL_OK;
                unsigned threshold = to_ok ? g->pc.warn_percent : g->pc.crit_percent;

                fields_add(&f, "CTGUARD_THRESHOLD=%u", threshold);
                log_event(event, (const char * const *) f.s,
                          "Conntrack table down to %s (%" PRIu64 " of %" PRIu64 " entries), below %s (%s=%u less the margin)%s.",
                          table_percent_format(e->count, e->max, pct), e->count, e->max,
                          format_half_points(table_clear_half_points(threshold), clear),
                          to_ok ? "WarnPercent" : "CritPercent", threshold,
                          to_ok ? "" : "; still above the warning level");
                break;
        }
        case TABLE_EVENT_FULL:
                fields_add(&f, "CTGUARD_DROPS=%" PRIu64, e->drops);
                log_event(event, (const char * const *) f.s,
                          "Conntrack table full: the kernel dropped %" PRIu64 " packet(s) for want of a free entry%s (%" PRIu64 " of %" PRIu64 " entries, %s).%s",
                          e->drops, e->repeat ? " since the previous report" : "", e->count, e->max,
                          table_percent_format(e->count, e->max, pct), strempty(top_text));
                break;
        case _TABLE_EVENT_MAX:
        case _TABLE_EVENT_INVALID:
                break;
        }
        fields_done(&f);
}

/* ---- the top-talker dump ---- */

static void dump_stop(TableGuard *g) {
        g->dump_io = sd_event_source_disable_unref(g->dump_io);
        g->dump_timer = sd_event_source_disable_unref(g->dump_timer);
        g->dump = ct_dump_free(g->dump);
        g->agg = ct_aggregate_free(g->agg);
}

/* Logs every waiting alert, with the lists if the dump got anywhere. */
static void dump_finish(TableGuard *g, int error, bool timed_out) {
        const CtAggregate *a = NULL;
        bool partial = timed_out;

        if (error < 0 && !g->dump_failure_reported) {
                log_warning_errno(error, "Failed to dump the conntrack table for the top talkers, "
                                  "alerting without them: %m");
                g->dump_failure_reported = true;
        }
        if (error >= 0)
                g->dump_failure_reported = false;
        if (timed_out)
                log_warning("The conntrack table dump took longer than %u s; naming the top talkers "
                            "of the %" PRIu64 " entries read.",
                            (unsigned) (TABLE_DUMP_TIMEOUT / USEC_PER_SEC),
                            g->agg ? ct_aggregate_entries(g->agg) : 0);

        if (g->agg && (error >= 0 || ct_aggregate_entries(g->agg) > 0)) {
                a = g->agg;
                partial = partial || error < 0 || ct_aggregate_truncated(a) ||
                          ct_aggregate_interrupted(a);
        }
        if (g->dump && a) {
                usec_t t = 0;

                (void) sd_event_now(g->event, CLOCK_MONOTONIC, &t);
                log_debug("Conntrack dump %s: %" PRIu64 " entries, %" PRIu64 " bytes in %" PRIu64 " ms.",
                          partial ? "partial" : "complete", ct_aggregate_entries(a),
                          ct_dump_bytes(g->dump),
                          t > g->dump_started ? (t - g->dump_started) / USEC_PER_MSEC : 0);
        }

        for (size_t i = 0; i < g->n_pending; i++)
                log_table_event(g, &g->pending[i], a, partial);
        g->n_pending = 0;
        dump_stop(g);
}

static int on_dump_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        TableGuard *g = userdata;
        int r;

        /* A bounded slice, then back to the loop: everything else stays served. */
        r = ct_dump_step(g->dump, g->agg, TABLE_DUMP_READS_PER_DISPATCH);
        if (r != 0)
                dump_finish(g, r < 0 ? r : 0, false);
        return 0;
}

static int on_dump_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        dump_finish(userdata, 0, true);
        return 0;
}

static int dump_start(TableGuard *g) {
        CtLimits limits = CT_LIMITS_DAEMON;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(alert_dims); i++)
                limits.dims |= CT_BY_MASK(alert_dims[i]);
        r = ct_aggregate_new(&limits, &g->agg);
        if (r < 0)
                return r;
        r = ct_dump_new(true, &g->dump);
        if (r < 0)
                return r;
        r = sd_event_add_io(g->event, &g->dump_io, ct_dump_fd(g->dump), EPOLLIN, on_dump_io, g);
        if (r < 0)
                return r;
        /* Below everything else: a dump is the least urgent work in the loop. */
        r = sd_event_source_set_priority(g->dump_io, SD_EVENT_PRIORITY_IDLE);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->dump_io, "table-dump");
        r = sd_event_add_time_relative(g->event, &g->dump_timer, CLOCK_MONOTONIC,
                                       TABLE_DUMP_TIMEOUT, 0, on_dump_timeout, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->dump_timer, "table-dump-timeout");
        return 0;
}

/* An alert that names the top talkers waits for a dump; one dump serves every alert raised
 * while it runs. */
static void alert_with_top(TableGuard *g, const TableEvent *e) {
        int r;

        /* A dump needs ctnetlink, and asking for it without nf_conntrack_netlink loads it: only
         * a daemon that heals may do that; on hold and in monitor mode it loads nothing. */
        if (!g->dump && !g->may_load && !ctstat_netlink_loaded(g->root)) {
                if (!g->dump_skip_reported)
                        log_info("nf_conntrack_netlink is not loaded and ctguard does not heal now "
                                 "(monitor mode or on hold): alerting without the top talkers "
                                 "rather than loading it.");
                g->dump_skip_reported = true;
                log_table_event(g, e, NULL, false);
                return;
        }
        g->dump_skip_reported = false;

        if (g->n_pending >= PENDING_MAX) {
                log_table_event(g, e, NULL, false);
                return;
        }
        g->pending[g->n_pending++] = *e;
        if (g->dump)
                return;

        log_debug("Dumping the conntrack table for the top talkers.");
        (void) sd_event_now(g->event, CLOCK_MONOTONIC, &g->dump_started);
        r = dump_start(g);
        if (r < 0)
                dump_finish(g, r, false);
}

/* ---- counter rates ---- */

/* The counters the sample has today; clash_resolve and chaintoolong come with a sample read
 * from /proc/net/stat/nf_conntrack. drop is table-full's, from the table policy. */
static void counters_from_sample(const CtSample *s, usec_t now, TableCounterSample *ret) {
        *ret = (TableCounterSample) { .time = now };
        if (!s->has_cpu_stats)
                return;
        ret->value[TABLE_COUNTER_INSERT_FAILED] = s->insert_failed;
        ret->have[TABLE_COUNTER_INSERT_FAILED] = true;
        ret->value[TABLE_COUNTER_EARLY_DROP] = s->early_drop;
        ret->have[TABLE_COUNTER_EARLY_DROP] = true;
        /* Kernels name and have these two differently; /proc/net/stat says which. */
        ret->value[TABLE_COUNTER_CHAIN_TOO_LONG] = s->chaintoolong;
        ret->have[TABLE_COUNTER_CHAIN_TOO_LONG] = s->has_chaintoolong;
        ret->value[TABLE_COUNTER_CLASH_RESOLVE] = s->clash_resolve;
        ret->have[TABLE_COUNTER_CLASH_RESOLVE] = s->has_clash_resolve;
}

static void log_counter_event(const TableCounterEvent *e, const CtSample *s) {
        const char *name = table_counter_to_string(e->counter);
        Fields f = {};

        fields_add(&f, "CTGUARD_COUNTER=%s", name);
        fields_add(&f, "CTGUARD_DELTA=%" PRIu64, e->delta);
        fields_add(&f, "CTGUARD_RATE=%.1f", e->per_sec);
        fields_add(&f, "CTGUARD_COUNT=%" PRIu32, s->count);
        fields_add(&f, "CTGUARD_MAX=%" PRIu32, s->max);
        if (e->repeat)
                fields_add(&f, "CTGUARD_REPEAT=1");
        log_event(table_counter_event_id(e->counter), (const char * const *) f.s,
                  "Conntrack counter %s rose by %" PRIu64 "%s, %.1f/s (%" PRIu32 " of %" PRIu32 " entries): %s",
                  name, e->delta, e->repeat ? " since the previous report" : "", e->per_sec,
                  s->count, s->max, table_counter_meaning(e->counter));
        fields_done(&f);
}

static void evaluate_counters(TableGuard *g, const CtSample *s, usec_t now) {
        TableCounterEvent events[_TABLE_COUNTER_MAX];
        TableCounterSample cs;
        size_t n;

        counters_from_sample(s, now, &cs);
        n = table_rates_evaluate(&g->rates, &cs, TABLE_REPEAT_INTERVAL, events);
        for (size_t i = 0; i < n; i++)
                if (events[i].counter != TABLE_COUNTER_DROP)
                        log_counter_event(&events[i], s);
}

/* ---- AutoRaise ---- */

#define MAX_PATH "net/netfilter/nf_conntrack_max"
#define BUCKETS_PATH "net/netfilter/nf_conntrack_buckets"
#define HASHSIZE_PATH "sys/module/nf_conntrack/parameters/hashsize"

static uint64_t assigned_max(const Config *c) {
        const SysctlSetting *st = config_find_sysctl(c, MAX_PATH);
        unsigned long long v;
        char *end;

        if (!st || !st->origin || streq(st->origin, CONFIG_ORIGIN_FOLLOWED) || !st->value)
                return 0;
        errno = 0;
        v = strtoull(st->value, &end, 10);
        return errno == 0 && end != st->value && *end == '\0' ? v : 0;
}

/* The kernel's prices, beneath the root; nf_conntrack may not be loaded yet (-ENOENT): then
 * again at the next sample. */
static int raise_read_sizes(TableGuard *g) {
        int r;

        if (g->object_size > 0 && g->mem_total > 0)
                return 0;
        r = table_raise_read_object_size(g->root, &g->object_size);
        if (r >= 0)
                r = table_raise_read_mem_total(g->root, &g->mem_total);
        if (r < 0) {
                g->object_size = g->mem_total = 0;
                if (r != -ENOENT && !g->sizes_reported) {
                        log_warning_errno(r, "AutoRaise: failed to read the conntrack entry size or "
                                          "MemTotal, not raising until they can be read: %m");
                        g->sizes_reported = true;
                }
                return r;
        }
        g->sizes_reported = false;
        log_debug("AutoRaise: %" PRIu64 " bytes per entry, MemTotal %" PRIu64 " bytes.",
                  g->object_size, g->mem_total);
        return 0;
}

static int read_u64_sysctl(const char *sysctl_root, const char *path, uint64_t *ret) {
        _cleanup_free_ char *v = NULL;
        unsigned long long u;
        char *end;
        int r;

        r = sysctl_read(sysctl_root, path, &v);
        if (r < 0)
                return r;
        errno = 0;
        u = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
                return -EINVAL;
        *ret = u;
        return 0;
}

/* The hash size is a module parameter in /sys, writable only in the first network namespace. */
static int write_hashsize(const TableGuard *g, uint64_t buckets) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        char v[32];
        int n;

        if (asprintf(&p, "%s/%s", g->root, HASHSIZE_PATH) < 0)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = snprintf(v, sizeof(v), "%" PRIu64 "\n", buckets);
        if (write(fd, v, (size_t) n) != n)
                return errno > 0 ? -errno : -EIO;
        return 0;
}

static void log_budget_exhausted(const TableRaiseInput *in, const TableRaise *p) {
        Fields f = {};

        fields_add(&f, "CTGUARD_COUNT=%" PRIu64, in->count);
        fields_add(&f, "CTGUARD_MAX=%" PRIu64, in->max);
        fields_add(&f, "CTGUARD_TARGET_MAX=%" PRIu64, p->target);
        fields_add(&f, "CTGUARD_BUDGET=%" PRIu64, in->budget);
        fields_add(&f, "CTGUARD_BUDGET_USED=%" PRIu64, p->used);
        log_event(EVENT_TABLE_BUDGET_EXHAUSTED, (const char * const *) f.s,
                  "Conntrack memory budget exhausted: the table needs %" PRIu64 " entries (%" PRIu64 " of %" PRIu64 " in use), MemoryBudget= (%" PRIu64 " bytes) pays for %" PRIu64 ".",
                  p->target, in->count, in->max, in->budget, p->max);
        fields_done(&f);
}

static void log_raised(const TableRaiseInput *in, const TableRaise *p, uint64_t buckets) {
        Fields f = {};

        fields_add(&f, "CTGUARD_COUNT=%" PRIu64, in->count);
        fields_add(&f, "CTGUARD_OLD_MAX=%" PRIu64, in->max);
        fields_add(&f, "CTGUARD_MAX=%" PRIu64, p->max);
        fields_add(&f, "CTGUARD_OLD_BUCKETS=%" PRIu64, in->buckets);
        fields_add(&f, "CTGUARD_BUCKETS=%" PRIu64, buckets);
        fields_add(&f, "CTGUARD_BUDGET=%" PRIu64, in->budget);
        fields_add(&f, "CTGUARD_BUDGET_USED=%" PRIu64, p->used);
        fields_add(&f, "CTGUARD_BUDGET_LEFT=%" PRIu64, p->left);
        log_event(EVENT_TABLE_RAISED, (const char * const *) f.s,
                  "Conntrack table raised from %" PRIu64 " to %" PRIu64 " entries, %" PRIu64 " to %" PRIu64 " buckets (%" PRIu64 " in use); %" PRIu64 " of %" PRIu64 " budget bytes left.",
                  in->max, p->max, in->buckets, buckets, in->count, p->left, in->budget);
        fields_done(&f);
}

/* Resizes the hash to the planned buckets, handing them to the sysctl guard to keep. Returns
 * the buckets the table has now. */
static uint64_t raise_resize_hash(TableGuard *g, uint64_t buckets, uint64_t planned) {
        char value[32];
        int r;

        r = write_hashsize(g, planned);
        if (r < 0) {
                if (!g->hashsize_reported)
                        log_full_errno(sysctl_error_is_readonly(r) || r == -ENOENT ? LOG_NOTICE : LOG_WARNING, r,
                                       "AutoRaise: cannot resize the conntrack hash to %" PRIu64 " buckets here "
                                       "(possible only in the first network namespace, with "
                                       HASHSIZE_PATH " writable), raising the maximum alone: %m",
                                       planned);
                g->hashsize_reported = true;
                return buckets;
        }
        snprintf(value, sizeof(value), "%" PRIu64, planned);
        (void) sysctl_guard_raise(g->sysctl_guard, BUCKETS_PATH, value);
        return planned;
}

/* What the budget pays for a table of max entries and buckets buckets, as status shows it. */
static void budget_view_update(TableGuard *g, const TableRaiseInput *in, uint64_t max,
                               uint64_t buckets) {
        TableRaiseInput t = *in;

        t.max = max;
        t.buckets = buckets;
        daemon_budget_price(&t, &g->budget_view);
}

/* Writes the raised maximum and hands it to the sysctl guard to keep. A read-only key (a
 * network namespace) is said once and stops the raises; any other failure is said once per
 * episode and waits for RaiseIntervalSec like a success. */
static int raise_write_max(TableGuard *g, uint64_t max, usec_t now) {
        char value[32];
        int r;

        snprintf(value, sizeof(value), "%" PRIu64, max);
        r = sysctl_write_verified(g->sysctl_root, MAX_PATH, value, NULL);
        if (r < 0 && sysctl_error_is_readonly(r)) {
                log_full_errno(LOG_NOTICE, r, "AutoRaise: nf_conntrack_max cannot be written here (read-only "
                                 "in this network namespace), alerting only: %m");
                g->max_readonly_reported = true;
                return r;
        }
        /* Success or not, the next try waits for RaiseIntervalSec. */
        table_raise_done(&g->raise_state, now);
        if (r < 0) {
                if (!g->failure_reported)
                        log_warning_errno(r, "AutoRaise: failed to raise nf_conntrack_max to %s: %m", value);
                g->failure_reported = true;
                return r;
        }
        g->failure_reported = false;
        (void) sysctl_guard_raise(g->sysctl_guard, MAX_PATH, value);
        return 0;
}

static void auto_raise(TableGuard *g, const CtSample *s, usec_t now) {
        TableRaiseInput in;
        TableRaiseVerdict v;
        uint64_t buckets, new_buckets;
        bool dropping;
        int r;

        dropping = s->has_cpu_stats && g->have_last_drop && s->drop > g->last_drop;
        g->have_last_drop = s->has_cpu_stats;
        g->last_drop = s->drop;

        g->budget_view = (DaemonBudget) {};
        if (!g->auto_raise || !g->root || raise_read_sizes(g) < 0)
                return;
        r = read_u64_sysctl(g->sysctl_root, BUCKETS_PATH, &buckets);
        if (r < 0) {
                log_debug_errno(r, "AutoRaise: cannot read nf_conntrack_buckets: %m");
                return;
        }
        in = (TableRaiseInput) {
                .count = s->count,
                .max = s->max,
                .buckets = buckets,
                .object_size = g->object_size,
                .budget = table_budget_bytes(&g->budget, g->mem_total),
                .floor_max = g->floor_max,
                .warn_percent = MIN(g->pc.warn_percent, 99u),
        };
        budget_view_update(g, &in, in.max, in.buckets);
        r = table_raise_evaluate(&g->raise_state, &in, g->pc.crit_percent, dropping, now,
                                 g->raise_interval, &v);
        if (r < 0) {
                log_debug_errno(r, "AutoRaise: cannot plan: %m");
                return;
        }
        if (v.alert_exhausted)
                log_budget_exhausted(&in, &v.plan);
        if (!v.triggered) {
                g->would_reported = false;
                return;
        }
        if (!v.plan.raise || v.deferred || g->max_readonly_reported)
                return;

        if (!g->sysctl_guard || !sysctl_guard_may_write(g->sysctl_guard)) {
                if (!g->would_reported)
                        log_notice("AutoRaise would raise nf_conntrack_max from %" PRIu64 " to %" PRIu64 " and the hash from %" PRIu64 " to %" PRIu64 " buckets, but ctguard writes nothing now (Mode=monitor or on hold).",
                                   in.max, v.plan.max, in.buckets, v.plan.buckets);
                g->would_reported = true;
                return;
        }

        new_buckets = v.plan.resize ? raise_resize_hash(g, buckets, v.plan.buckets) : buckets;

        if (raise_write_max(g, v.plan.max, now) < 0)
                return;
        g->last_raise = (DaemonRaise) {
                .time = now_usec(CLOCK_REALTIME),
                .from_max = in.max,
                .to_max = v.plan.max,
                .from_buckets = in.buckets,
                .to_buckets = new_buckets,
        };
        budget_view_update(g, &in, v.plan.max, new_buckets);
        log_raised(&in, &v.plan, new_buckets);
}

int table_guard_counters_error(const TableGuard *g) {
        return g->counters_error;
}

void table_guard_budget(const TableGuard *g, DaemonBudget *ret_budget, DaemonRaise *ret_raise) {
        *ret_budget = g->budget_view;
        *ret_raise = g->last_raise;
}

/* ---- sampling ---- */

static void report_sample_failure(TableGuard *g, int r) {
        if (g->sample_failing)
                return;
        g->sample_failing = true;
        /* No nf_conntrack_count at all: the module is not loaded, the module guard's business. */
        log_full_errno(r == -ENOENT ? LOG_INFO : LOG_WARNING, r,
                       "Failed to read the conntrack count and maximum, will keep trying: %m");
}

usec_t table_guard_tick(TableGuard *g, usec_t now, bool *ret_changed) {
        TableStatus before = g->status;
        TableSample ts;
        TableVerdict v;
        CtSample s;
        int r;

        if (ret_changed)
                *ret_changed = false;

        r = ctstat_sample(g->stat, &s);
        if (r < 0) {
                report_sample_failure(g, r);
                return table_policy_poll_interval(&g->policy, &g->pc);
        }
        if (g->sample_failing)
                log_info("Reading the conntrack count works again (%s).",
                         ctstat_source_to_string(s.source));
        g->sample_failing = false;
        log_debug("Conntrack sample: %" PRIu32 " of %" PRIu32 " entries, drop counter %" PRIu64 "%s.",
                  s.count, s.max, s.drop, s.has_cpu_stats ? "" : " (unknown)");
        g->counters_error = s.has_cpu_stats ? 0 : abs(s.counters_error ?: -ENODATA);
        if (!s.has_cpu_stats && !g->proc_reported) {
                log_full_errno(LOG_NOTICE, s.counters_error,
                               "The conntrack counters cannot be read (%m; /proc/net/stat/nf_conntrack, "
                               "or ctnetlink while nf_conntrack_netlink is loaded): "
                               "table-full (dropped packets) cannot be detected.");
                g->proc_reported = true;
        } else if (s.has_cpu_stats)
                g->proc_reported = false;

        ts = (TableSample) {
                .time = now,
                .count = s.count,
                .max = s.max,
                .drop = s.drop,
                .have_drop = s.has_cpu_stats,
        };
        table_growth_add(&g->growth, now, s.count);
        evaluate_counters(g, &s, now);
        auto_raise(g, &s, now);
        r = table_policy_evaluate(&g->policy, &g->pc, &ts, &v);
        if (r < 0) {
                /* config_validate() already refuses such a configuration. */
                log_error_errno(r, "Invalid conntrack thresholds, not evaluating: %m");
                return g->pc.poll_interval ?: USEC_PER_SEC;
        }

        g->status = (TableStatus) {
                .valid = true,
                .sample = s,
                .percent = table_percent(s.count, s.max),
                .level = g->policy.level,
        };
        if (v.drop_counter_reset)
                log_info("The conntrack drop counter went back to %" PRIu64 " (the module was "
                         "reloaded); counting from there.", s.drop);

        for (size_t i = 0; i < v.n_events; i++) {
                const TableEvent *e = &v.events[i];

                if (g->top_talkers > 0 &&
                    (e->type == TABLE_EVENT_CRIT || e->type == TABLE_EVENT_FULL))
                        alert_with_top(g, e);
                else
                        log_table_event(g, e, NULL, false);
        }

        if (ret_changed)
                *ret_changed = !before.valid || before.percent != g->status.percent ||
                               before.level != g->status.level ||
                               before.sample.max != g->status.sample.max;
        return v.next_poll;
}

void table_guard_set_config(TableGuard *g, const Config *c) {
        table_guard_policy_config(c, &g->pc);
        g->top_talkers = c->top_talkers;
        g->auto_raise = c->auto_raise;
        g->budget = c->memory_budget;
        g->raise_interval = c->raise_interval;
        g->floor_max = assigned_max(c);
        /* Read again: a reload is how an operator says the machine changed. */
        g->object_size = g->mem_total = 0;
        g->max_readonly_reported = g->hashsize_reported = g->would_reported = false;
        if (g->root && g->auto_raise)
                (void) raise_read_sizes(g);
}

int table_guard_attach(TableGuard *g, SysctlGuard *sysctl_guard) {
        g->sysctl_guard = sysctl_guard;
        if (g->auto_raise)
                (void) raise_read_sizes(g);
        return 0;
}

void table_guard_set_may_load(TableGuard *g, bool may_load) {
        g->may_load = may_load;
}

void table_guard_status(const TableGuard *g, TableStatus *ret) {
        *ret = g->status;
}

int table_status_format(const TableStatus *s, char *buf, size_t size) {
        int n;

        if (!s->valid)
                n = snprintf(buf, size, "table unknown");
        else
                n = snprintf(buf, size, "table %" PRIu32 "/%" PRIu32 " (%u%%, %s)", s->sample.count,
                             s->sample.max, s->percent, table_level_to_string(s->level));
        return n < 0 || (size_t) n >= size ? -ENOSPC : 0;
}

TableGuard *table_guard_free(TableGuard *g) {
        if (!g)
                return NULL;
        /* Alerts still waiting for a dump are not lost on the way out. */
        for (size_t i = 0; i < g->n_pending; i++)
                log_table_event(g, &g->pending[i], NULL, false);
        dump_stop(g);
        ctstat_close(g->stat);
        sd_event_unref(g->event);
        free(g->root);
        free(g->sysctl_root);
        free(g);
        return NULL;
}

int table_guard_new(sd_event *event, const char *root, const Config *c, TableGuard **ret) {
        _cleanup_(table_guard_freep) TableGuard *g = NULL;
        int r;

        g = calloc(1, sizeof(TableGuard));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        g->policy = TABLE_POLICY_INIT;
        g->growth = TABLE_GROWTH_INIT;
        g->rates = TABLE_RATES_INIT;
        table_guard_set_config(g, c);
        g->root = strdup(strempty(root));
        if (!g->root || asprintf(&g->sysctl_root, "%s/proc/sys", g->root) < 0)
                return -ENOMEM;

        r = ctstat_open(g->root, &g->stat);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(g);
        return 0;
}

int table_sample_once(const char *root, const Config *c, TableStatus *ret) {
        _cleanup_(ctstat_closep) CtStat *stat = NULL;
        TablePolicyConfig pc;
        CtSample s;
        int r;

        r = ctstat_open(root, &stat);
        if (r < 0)
                return r;
        r = ctstat_sample(stat, &s);
        if (r < 0)
                return r;

        table_guard_policy_config(c, &pc);
        *ret = (TableStatus) {
                .valid = true,
                .sample = s,
                .percent = table_percent(s.count, s.max),
                .level = table_level_plain(&pc, s.count, s.max),
        };
        return 0;
}
