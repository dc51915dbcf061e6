/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "macro.h"
#include "table-policy.h"

static const char * const level_names[_TABLE_LEVEL_MAX] = {
        [TABLE_LEVEL_OK] = "ok",
        [TABLE_LEVEL_WARN] = "warn",
        [TABLE_LEVEL_CRIT] = "crit",
};

const char *table_level_to_string(TableLevel l) {
        if (l < 0 || l >= _TABLE_LEVEL_MAX)
                return NULL;
        return level_names[l];
}

static const char * const event_names[_TABLE_EVENT_MAX] = {
        [TABLE_EVENT_WARN] = "table-warn",
        [TABLE_EVENT_CRIT] = "table-crit",
        [TABLE_EVENT_OK] = "table-ok",
        [TABLE_EVENT_FULL] = "table-full",
};

const char *table_event_to_string(TableEventType t) {
        if (t < 0 || t >= _TABLE_EVENT_MAX)
                return NULL;
        return event_names[t];
}

/* a * b, saturated: the operands are a count and a small factor, so saturation only happens for
 * values no kernel produces, and there it keeps the comparisons monotonic. */
static uint64_t mul_sat(uint64_t a, uint64_t b) {
        uint64_t r;

        if (__builtin_mul_overflow(a, b, &r))
                return UINT64_MAX;
        return r;
}

uint64_t table_fraction(uint64_t count, uint64_t max, uint64_t unit) {
        if (max == 0)
                return 0;
        if (count <= UINT64_MAX / unit)
                return count * unit / max;
        /* Only reachable with absurd counts; dividing first loses nothing that matters. */
        return count / (max / unit + 1);
}

unsigned table_percent(uint64_t count, uint64_t max) {
        return (unsigned) MIN(table_fraction(count, max, 100), (uint64_t) UINT_MAX);
}

const char *table_percent_format(uint64_t count, uint64_t max, char buf[static TABLE_PERCENT_FORMAT_MAX]) {
        uint64_t permille = table_fraction(count, max, 1000);

        snprintf(buf, TABLE_PERCENT_FORMAT_MAX, "%" PRIu64 ".%" PRIu64 "%%", permille / 10, permille % 10);
        return buf;
}

bool table_full_recent(usec_t event_time, usec_t now) {
        return now < event_time || now - event_time < TABLE_FULL_RECENT_USEC;
}

/* Everything is compared in half points (count * 200 against half_points * max), exact in
 * integers: "at 80%" means count * 100 >= 80 * max, not a rounded percentage. */
static bool at_or_above(const TableSample *s, unsigned half_points) {
        return mul_sat(s->count, 200) >= mul_sat(half_points, s->max);
}

/* The level is left only below threshold - min(5, threshold / 2) points. */
unsigned table_clear_half_points(unsigned threshold) {
        return 2 * threshold - MIN(2 * TABLE_HYSTERESIS_POINTS, threshold);
}

static TableLevel next_level(TableLevel cur, const TablePolicyConfig *c, const TableSample *s) {
        if (at_or_above(s, 2 * c->crit_percent))
                return TABLE_LEVEL_CRIT;
        if (cur == TABLE_LEVEL_CRIT && at_or_above(s, table_clear_half_points(c->crit_percent)))
                return TABLE_LEVEL_CRIT;
        if (at_or_above(s, 2 * c->warn_percent))
                return TABLE_LEVEL_WARN;
        if (cur >= TABLE_LEVEL_WARN && at_or_above(s, table_clear_half_points(c->warn_percent)))
                return TABLE_LEVEL_WARN;
        return TABLE_LEVEL_OK;
}

TableLevel table_level_plain(const TablePolicyConfig *c, uint64_t count, uint64_t max) {
        TableSample s = { .count = count, .max = max };

        if (max == 0)
                return TABLE_LEVEL_OK;
        return next_level(TABLE_LEVEL_OK, c, &s);
}

int table_policy_config_validate(const TablePolicyConfig *c) {
        if (c->warn_percent < 1 || c->crit_percent > 100 || c->warn_percent >= c->crit_percent)
                return -EINVAL;
        if (c->poll_interval == 0 || c->fast_poll_interval == 0 || c->repeat_interval == 0)
                return -EINVAL;
        return 0;
}

usec_t table_policy_poll_interval(const TablePolicy *p, const TablePolicyConfig *c) {
        return p->level >= TABLE_LEVEL_WARN ? c->fast_poll_interval : c->poll_interval;
}

static bool due(usec_t now, usec_t last, usec_t interval) {
        return now < last || now - last >= interval;
}

static void add_event(TableVerdict *v, TableEventType type, TableLevel level, bool repeat,
                      const TableSample *s, uint64_t drops, usec_t since) {
        /* At most one level event and one table-full per sample: the array always fits. */
        v->events[v->n_events++] = (TableEvent) {
                .type = type,
                .level = level,
                .repeat = repeat,
                .count = s->count,
                .max = s->max,
                .percent = table_percent(s->count, s->max),
                .drops = drops,
                .time = s->time,
                .since = since,
        };
}

static void evaluate_level(TablePolicy *p, const TablePolicyConfig *c, const TableSample *s,
                           TableVerdict *v) {
        TableLevel l;

        if (s->max == 0)
                return;         /* nothing to compare with: keep the level we had */

        l = next_level(p->level, c, s);
        if (l > p->level) {
                p->level = l;
                p->level_since = s->time;
                p->level_alerted = s->time;
                add_event(v, l == TABLE_LEVEL_CRIT ? TABLE_EVENT_CRIT : TABLE_EVENT_WARN, l,
                          false, s, 0, s->time);
        } else if (l < p->level) {
                p->level = l;
                p->level_since = s->time;
                p->level_alerted = s->time;
                add_event(v, TABLE_EVENT_OK, l, false, s, 0, s->time);
        } else if (l > TABLE_LEVEL_OK && due(s->time, p->level_alerted, c->repeat_interval)) {
                p->level_alerted = s->time;
                add_event(v, l == TABLE_LEVEL_CRIT ? TABLE_EVENT_CRIT : TABLE_EVENT_WARN, l,
                          true, s, 0, p->level_since);
        }
}

uint64_t table_counter_delta(uint64_t before, uint64_t now, bool *ret_reset) {
        /* The kernel counts in 32 bits per CPU, so the sum goes down by 2^32 when one CPU's
         * counter wraps; modulo 2^32 the difference is still exact, as no poll interval sees
         * 2^31 events. */
        uint32_t mod = (uint32_t) (now - before);

        *ret_reset = false;
        if (now >= before)
                return now - before;
        if (mod < UINT32_C(1) << 31 && before >= (UINT64_C(1) << 32) - mod)
                return mod;
        /* The counters start from zero with the module: what they hold now was counted since
         * then. */
        *ret_reset = true;
        return now;
}

static void evaluate_drops(TablePolicy *p, const TablePolicyConfig *c, const TableSample *s,
                           TableVerdict *v) {
        uint64_t delta = 0;

        if (!s->have_drop)
                return;

        if (p->have_drop) {
                bool reset;

                delta = table_counter_delta(p->last_drop, s->drop, &reset);
                if (reset) {
                        p->drop_resets++;
                        v->drop_counter_reset = true;
                }
        }
        /* The first sample is the baseline: drops from before ctguard looked are not news. */
        p->have_drop = true;
        p->last_drop = s->drop;

        if (delta > 0) {
                if (p->pending_drops == 0)
                        p->pending_since = s->time;
                p->pending_drops = p->pending_drops > UINT64_MAX - delta ? UINT64_MAX :
                                   p->pending_drops + delta;
        }

        if (p->pending_drops == 0)
                return;
        if (p->full_alerted && !due(s->time, p->full_alerted_at, c->repeat_interval))
                return;

        /* A reminder if the dropping began while the previous report's window was open. */
        bool repeat = p->full_alerted &&
                      !due(p->pending_since, p->full_alerted_at, c->repeat_interval);

        add_event(v, TABLE_EVENT_FULL, p->level, repeat, s, p->pending_drops, p->pending_since);
        p->full_alerted = true;
        p->full_alerted_at = s->time;
        p->pending_drops = 0;
}

int table_policy_evaluate(TablePolicy *p, const TablePolicyConfig *c, const TableSample *s,
                          TableVerdict *ret) {
        TableVerdict v = {};

        if (table_policy_config_validate(c) < 0)
                return -EINVAL;

        evaluate_level(p, c, s, &v);
        evaluate_drops(p, c, s, &v);
        v.next_poll = table_policy_poll_interval(p, c);

        *ret = v;
        return 0;
}
