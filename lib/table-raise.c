/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>

#include "macro.h"
#include "table-raise.h"

static uint64_t mul_sat(uint64_t a, uint64_t b) {
        uint64_t r;

        if (__builtin_mul_overflow(a, b, &r))
                return UINT64_MAX;
        return r;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t div_round_up(uint64_t a, uint64_t b) {
        return a / b + (a % b != 0);
}

static uint64_t round_up(uint64_t a, uint64_t m) {
        return a % m == 0 ? a : add_sat(a - a % m, m);
}

int table_budget_parse(const char *s, TableBudget *ret) {
        static const struct {
                char c;
                unsigned shift;
        } suffixes[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 } };
        uint64_t v = 0;
        const char *p;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        for (p = s; isdigit((unsigned char) *p); p++)
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, (uint64_t) (*p - '0'), &v))
                        return -EINVAL;

        if (streq(p, "%")) {
                if (v < 1 || v > 100)
                        return -ERANGE;
                *ret = (TableBudget) { .percent = (unsigned) v };
                return 0;
        }
        if (*p) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(suffixes); i++)
                        if (*p == suffixes[i].c)
                                break;
                if (i >= ELEMENTSOF(suffixes))
                        return -EINVAL;
                if (v > UINT64_MAX >> suffixes[i].shift)
                        return -EINVAL;
                v <<= suffixes[i].shift;
                p++;
                if (*p == 'B')
                        p++;
                if (*p)
                        return -EINVAL;
        }
        if (v == 0)
                return -EINVAL;
        *ret = (TableBudget) { .bytes = v };
        return 0;
}

char *table_budget_format(const TableBudget *b, char *buf, size_t l) {
        static const char suffixes[] = "KMGT";
        uint64_t v = b->bytes;
        int i = -1;

        if (b->percent > 0) {
                snprintf(buf, l, "%u%%", b->percent);
                return buf;
        }
        while (i < 3 && v >= 1024 && v % 1024 == 0) {
                v /= 1024;
                i++;
        }
        if (i < 0)
                snprintf(buf, l, "%" PRIu64, v);
        else
                snprintf(buf, l, "%" PRIu64 "%c", v, suffixes[i]);
        return buf;
}

uint64_t table_budget_bytes(const TableBudget *b, uint64_t mem_total) {
        if (b->percent == 0)
                return b->bytes;
        /* Dividing first where multiplying would overflow loses under 100 bytes. */
        if (mem_total <= UINT64_MAX / 100)
                return mem_total * b->percent / 100;
        return mem_total / 100 * b->percent;
}

uint64_t table_raise_cost(uint64_t max, uint64_t buckets, uint64_t object_size) {
        return add_sat(mul_sat(max, object_size), mul_sat(buckets, TABLE_RAISE_BUCKET_BYTES));
}

/* The fewest buckets a table of max entries may have: the current ones if they still hold
 * max / 4, else max / 4 rounded up to the kernel's allocation unit. */
static uint64_t buckets_min(uint64_t cur, uint64_t max) {
        uint64_t need = div_round_up(max, TABLE_RAISE_BUCKET_RATIO);

        if (cur >= need)
                return cur;
        return MIN(round_up(need, TABLE_RAISE_HASH_ROUND), TABLE_RAISE_BUCKETS_LIMIT);
}

static bool fits(const TableRaiseInput *in, uint64_t max) {
        return table_raise_cost(max, buckets_min(in->buckets, max), in->object_size) <= in->budget;
}

int table_raise_plan(const TableRaiseInput *in, TableRaise *ret) {
        uint64_t lo, want, m, b;
        TableRaise r = {};

        if (in->object_size == 0 || in->warn_percent < 1 || in->warn_percent > 99)
                return -EINVAL;

        /* Where the count sits at WarnPercent: count * 100 / warn, rounded up. */
        want = div_round_up(mul_sat(in->count, 100), in->warn_percent);
        want = MAX(want, mul_sat(in->max, TABLE_RAISE_STEP_NUM) / TABLE_RAISE_STEP_DEN);
        want = MAX(want, in->floor_max);
        want = MIN(want, TABLE_RAISE_MAX_LIMIT);
        lo = MAX(in->max, MIN(in->floor_max, TABLE_RAISE_MAX_LIMIT));
        want = MAX(want, lo);
        r.target = want;

        if (fits(in, want))
                m = want;
        else if (!fits(in, lo))
                m = lo;         /* nothing left to spend: hold the current values */
        else {
                /* The largest maximum the budget pays for: the cost is monotonic in max. */
                uint64_t a = lo, z = want;      /* fits(a), !fits(z) */

                while (z - a > 1) {
                        uint64_t mid = a + (z - a) / 2;

                        if (fits(in, mid))
                                a = mid;
                        else
                                z = mid;
                }
                m = a;
        }
        r.exhausted = m < want;

        b = in->buckets;
        if (b < div_round_up(m, TABLE_RAISE_BUCKET_RATIO)) {
                /* A resize: 1:1 if the budget allows, else what it leaves, at least max / 4. */
                uint64_t spare, most;

                b = MIN(round_up(m, TABLE_RAISE_HASH_ROUND), TABLE_RAISE_BUCKETS_LIMIT);
                spare = in->budget > mul_sat(m, in->object_size) ?
                        in->budget - mul_sat(m, in->object_size) : 0;
                most = spare / TABLE_RAISE_BUCKET_BYTES / TABLE_RAISE_HASH_ROUND *
                       TABLE_RAISE_HASH_ROUND;
                b = MAX(MIN(b, most), buckets_min(in->buckets, m));
        }

        r.max = m;
        r.buckets = b;
        r.resize = b != in->buckets;
        r.raise = m != in->max || r.resize;
        r.used = table_raise_cost(m, b, in->object_size);
        r.left = in->budget > r.used ? in->budget - r.used : 0;
        *ret = r;
        return 0;
}

uint64_t table_raise_headroom(const TableRaiseInput *in) {
        uint64_t a = in->max, z = TABLE_RAISE_MAX_LIMIT + 1;    /* fits(a), !fits(z) */

        if (in->object_size == 0 || in->max >= TABLE_RAISE_MAX_LIMIT || !fits(in, in->max))
                return 0;
        if (fits(in, TABLE_RAISE_MAX_LIMIT))
                return TABLE_RAISE_MAX_LIMIT - in->max;
        while (z - a > 1) {
                uint64_t mid = a + (z - a) / 2;

                if (fits(in, mid))
                        a = mid;
                else
                        z = mid;
        }
        return a - in->max;
}

int table_raise_evaluate(TableRaiseState *st, const TableRaiseInput *in, unsigned crit_percent,
                         bool dropping, usec_t now, usec_t interval, TableRaiseVerdict *ret) {
        TableRaiseVerdict v = {};
        int r;

        if (crit_percent < 1 || crit_percent > 100)
                return -EINVAL;
        r = table_raise_plan(in, &v.plan);
        if (r < 0)
                return r;

        v.triggered = dropping ||
                      (in->max > 0 && mul_sat(in->count, 100) >= mul_sat(crit_percent, in->max));
        if (!v.triggered) {
                st->exhausted_alerted = false;  /* the episode is over */
                v.plan.raise = v.plan.resize = v.plan.exhausted = false;
                v.plan.max = in->max;
                v.plan.buckets = in->buckets;
                v.plan.used = table_raise_cost(in->max, in->buckets, in->object_size);
                v.plan.left = in->budget > v.plan.used ? in->budget - v.plan.used : 0;
                *ret = v;
                return 0;
        }

        if (v.plan.raise && st->raised && now >= st->last_raise && now - st->last_raise < interval)
                v.deferred = true;
        if (v.plan.exhausted && !st->exhausted_alerted) {
                v.alert_exhausted = true;
                st->exhausted_alerted = true;
        }
        *ret = v;
        return 0;
}

void table_raise_done(TableRaiseState *st, usec_t now) {
        st->raised = true;
        st->last_raise = now;
}

static int read_u64_file(const char *path, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[64], *end;
        unsigned long long v;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (!fgets(line, sizeof(line), f))
                return ferror(f) ? -EIO : -ENODATA;
        errno = 0;
        if (!isdigit((unsigned char) line[0]))
                return -EINVAL;
        v = strtoull(line, &end, 10);
        if (errno != 0 || (*end != '\n' && *end != '\0'))
                return -EINVAL;
        *ret = v;
        return 0;
}

static int root_path(const char *root, const char *rel, char **ret) {
        if (asprintf(ret, "%s/%s", root && *root ? root : "", rel) < 0)
                return -ENOMEM;
        return 0;
}

static int read_slabinfo(const char *path, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[512];

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        /* "name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : ..." */
        while (fgets(line, sizeof(line), f)) {
                unsigned long long active, num, size;
                char name[64];

                if (sscanf(line, "%63s %llu %llu %llu", name, &active, &num, &size) != 4)
                        continue;
                if (!streq(name, "nf_conntrack"))
                        continue;
                if (size == 0)
                        return -EINVAL;
                *ret = size;
                return 0;
        }
        return ferror(f) ? -EIO : -ENOENT;
}

int table_raise_read_object_size(const char *root, uint64_t *ret) {
        static const char * const files[] = {
                "sys/kernel/slab/nf_conntrack/slab_size",
                "sys/kernel/slab/nf_conntrack/object_size",
        };
        _cleanup_free_ char *slabinfo = NULL;
        uint64_t v;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = NULL;

                r = root_path(root, files[i], &p);
                if (r < 0)
                        return r;
                r = read_u64_file(p, &v);
                if (r >= 0 && v > 0) {
                        *ret = v;
                        return 0;
                }
                if (r < 0 && r != -ENOENT)
                        return r;
        }

        /* SLAB kernels have no /sys/kernel/slab; slabinfo is root's only. */
        r = root_path(root, "proc/slabinfo", &slabinfo);
        if (r < 0)
                return r;
        return read_slabinfo(slabinfo, ret);
}

int table_raise_read_mem_total(const char *root, uint64_t *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *p = NULL;
        char line[256];
        int r;

        r = root_path(root, "proc/meminfo", &p);
        if (r < 0)
                return r;
        f = fopen(p, "re");
        if (!f)
                return negative_errno();
        while (fgets(line, sizeof(line), f)) {
                unsigned long long kb;
                char unit[8];

                if (!strneq(line, "MemTotal:", 9))
                        continue;
                if (sscanf(line + 9, "%llu %7s", &kb, unit) != 2 || !streq(unit, "kB") ||
                    kb == 0 || kb > UINT64_MAX / 1024)
                        return -EINVAL;
                *ret = (uint64_t) kb * 1024;
                return 0;
        }
        return ferror(f) ? -EIO : -ENOENT;
}
