/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "macro.h"
#include "table-raise.h"

#define K 1024ull
#define M (1024ull * 1024ull)
#define G (1024ull * 1024ull * 1024ull)

/* The raise arithmetic: (count, max, buckets, object size, budget, floor, WarnPercent) in, the
 * plan out. Budgets here are bytes; MemTotal shares are table_budget_bytes()'s test below. */
typedef struct PlanCase {
        const char *name;
        TableRaiseInput in;
        bool raise, resize, exhausted;
        uint64_t max, buckets, target, used, left;
} PlanCase;

static const PlanCase plan_cases[] = {
        { "minimum step: x1.5 beats the count at WarnPercent, buckets 1:1 kept",
          { .count = 9500, .max = 10000, .buckets = 10000, .object_size = 256, .budget = G,
            .warn_percent = 80 },
          true, false, false, 15000, 10000, 15000, 15000 * 256 + 10000 * 8,
          G - (15000 * 256 + 10000 * 8) },
        { "count at WarnPercent beats x1.5; buckets below max/4 resized to 1:1, rounded to 512",
          { .count = 9900, .max = 10000, .buckets = 4096, .object_size = 256, .budget = G,
            .warn_percent = 50 },
          true, true, false, 19800, 19968, 19800, 19800 * 256 + 19968 * 8,
          G - (19800 * 256 + 19968 * 8) },
        { "a resize to an exact multiple of 512 is not rounded further",
          { .count = 7000, .max = 8192, .buckets = 2048, .object_size = 256, .budget = G,
            .warn_percent = 80 },
          true, true, false, 12288, 12288, 12288, 12288 * 264, G - 12288 * 264 },
        { "capped by the budget: the largest max it pays for, buckets kept",
          { .count = 950, .max = 1000, .buckets = 1024, .object_size = 256, .budget = 300000,
            .warn_percent = 80 },
          true, false, true, 1139, 1024, 1500, 1139 * 256 + 1024 * 8, 300000 - 299776 },
        { "budget exhausted: nothing left, the current values held",
          { .count = 1000, .max = 1000, .buckets = 1024, .object_size = 256, .budget = 200000,
            .warn_percent = 80 },
          false, false, true, 1000, 1024, 1500, 1000 * 256 + 1024 * 8, 0 },
        { "under a tight budget the hash gets what is left, at least max/4",
          { .count = 9900, .max = 10000, .buckets = 1024, .object_size = 256, .budget = 3900000,
            .warn_percent = 80 },
          true, true, false, 15000, 7168, 15000, 15000 * 256 + 7168 * 8, 3900000 - 3897344 },
        { "the budget pays only for the max the hash allows at max/4",
          { .count = 9900, .max = 10000, .buckets = 1024, .object_size = 256, .budget = 3000000,
            .warn_percent = 80 },
          /* m * 256 + roundup512(m / 4) * 8 <= 3000000: m = 11622 (buckets 3072) */
          true, true, true, 11622, 3072, 15000, 11622 * 256 + 3072 * 8,
          3000000 - (11622 * 256 + 3072 * 8) },
        { "an assigned [Sysctl] max is the floor",
          { .count = 100, .max = 1000, .buckets = 1024, .object_size = 256, .budget = G,
            .floor_max = 50000, .warn_percent = 80 },
          true, true, false, 50000, 50176, 50000, 50000 * 256 + 50176 * 8,
          G - (50000 * 256 + 50176 * 8) },
        { "a large hash is never shrunk",
          { .count = 9000, .max = 10000, .buckets = 65536, .object_size = 256, .budget = G,
            .warn_percent = 80 },
          true, false, false, 15000, 65536, 15000, 15000 * 256 + 65536 * 8,
          G - (15000 * 256 + 65536 * 8) },
        { "the entry price is the kernel's: 320-byte objects",
          { .count = 950, .max = 1000, .buckets = 1024, .object_size = 320, .budget = 400000,
            .warn_percent = 80 },
          /* (400000 - 8192) / 320 = 1224.4 */
          true, false, true, 1224, 1024, 1500, 1224 * 320 + 8192, 400000 - (1224 * 320 + 8192) },
        { "a table someone else made larger than the budget is held, not lowered",
          { .count = 90000, .max = 100000, .buckets = 100000, .object_size = 256,
            .budget = 10 * M, .warn_percent = 80 },
          false, false, true, 100000, 100000, 150000, 100000 * 264, 0 },
        { "the kernel's limit on hash heads caps the maximum",
          { .count = 1000000000, .max = 1000000000, .buckets = 268434944, .object_size = 256,
            .budget = 1024 * G, .warn_percent = 80 },
          true, false, false, 4ull * 268434944, 268434944, 4ull * 268434944,
          4ull * 268434944 * 256 + 268434944ull * 8,
          1024 * G - (4ull * 268434944 * 256 + 268434944ull * 8) },
};

START_TEST(test_plan) {
        const PlanCase *c = &plan_cases[_i];
        TableRaise r;

        ck_assert_int_eq(table_raise_plan(&c->in, &r), 0);
        ck_assert_msg(r.raise == c->raise && r.resize == c->resize && r.exhausted == c->exhausted,
                      "%s: raise=%d resize=%d exhausted=%d", c->name, r.raise, r.resize,
                      r.exhausted);
        ck_assert_msg(r.max == c->max && r.buckets == c->buckets && r.target == c->target,
                      "%s: max %" PRIu64 " buckets %" PRIu64 " target %" PRIu64, c->name, r.max,
                      r.buckets, r.target);
        ck_assert_msg(r.used == c->used && r.left == c->left,
                      "%s: used %" PRIu64 " left %" PRIu64, c->name, r.used, r.left);
        /* Invariants of every plan. */
        ck_assert_uint_ge(r.max, c->in.max);
        ck_assert_uint_ge(r.buckets, c->in.buckets);
        ck_assert_uint_ge(r.buckets * TABLE_RAISE_BUCKET_RATIO, r.max);
        if (r.resize)
                ck_assert_uint_eq(r.buckets % TABLE_RAISE_HASH_ROUND, 0);
        if (r.raise && r.max > c->in.max)
                ck_assert_uint_le(r.used, c->in.budget);
}
END_TEST

/* The headroom "ctguard status" shows: entries the budget still pays for, with their buckets. */
typedef struct HeadroomCase {
        const char *name;
        TableRaiseInput in;
        uint64_t headroom;
} HeadroomCase;

static const HeadroomCase headroom_cases[] = {
        { "the buckets there suffice: (300000 - 1024 * 8) / 256 = 1139 entries in all",
          { .max = 1000, .buckets = 1024, .object_size = 256, .budget = 300000 }, 139 },
        { "more entries need more buckets, paid for too (as the plan above: 11622)",
          { .max = 10000, .buckets = 1024, .object_size = 256, .budget = 3000000 }, 1622 },
        { "a table that costs more than the budget has none",
          { .max = 1000, .buckets = 1024, .object_size = 256, .budget = 200000 }, 0 },
        { "exactly at the budget: none",
          { .max = 1000, .buckets = 1024, .object_size = 256, .budget = 1000 * 256 + 8192 }, 0 },
        { "no price known: none",
          { .max = 1000, .buckets = 1024, .object_size = 0, .budget = G }, 0 },
        { "a budget beyond the kernel's limit stops at the limit",
          { .max = 1000, .buckets = 1024, .object_size = 256, .budget = 1024 * G },
          TABLE_RAISE_MAX_LIMIT - 1000 },
};

START_TEST(test_headroom) {
        const HeadroomCase *c = &headroom_cases[_i];

        ck_assert_msg(table_raise_headroom(&c->in) == c->headroom, "%s: %" PRIu64 ", want %" PRIu64,
                      c->name, table_raise_headroom(&c->in), c->headroom);
}
END_TEST

START_TEST(test_plan_invalid) {
        TableRaiseInput in = { .count = 1, .max = 10, .buckets = 10, .object_size = 0,
                               .budget = G, .warn_percent = 80 };
        TableRaise r;

        ck_assert_int_eq(table_raise_plan(&in, &r), -EINVAL);
        in.object_size = 256;
        in.warn_percent = 0;
        ck_assert_int_eq(table_raise_plan(&in, &r), -EINVAL);
        in.warn_percent = 100;
        ck_assert_int_eq(table_raise_plan(&in, &r), -EINVAL);
}
END_TEST

/* The trigger, RaiseIntervalSec and the once-per-episode exhaustion alert over a sequence.
 * want: 'R' raise now, 'D' deferred, '-' nothing, then 'X' if table-budget-exhausted is due. */
typedef struct EvalStep {
        usec_t t;
        uint64_t count, max, buckets;
        bool dropping;
        const char *want;
} EvalStep;

START_TEST(test_evaluate) {
        static const EvalStep steps[] = {
                { 0,   500,  1000, 1024, false, "-" },     /* below CritPercent=95 */
                { 1,   950,  1000, 1024, false, "R" },     /* at crit: raise to 1500 */
                { 2,  1430,  1500, 1024, false, "D" },     /* again at crit, within 60 s */
                { 30,  800,  1500, 1024, true,  "D" },     /* drops trigger too */
                { 61, 1430,  1500, 1024, false, "R" },     /* the interval is over */
                { 62, 2100,  2200, 1024, false, "DX" },    /* the budget runs out: alert once */
                { 63, 2100,  2200, 1024, true,  "D" },     /* same episode: no second alert */
                { 64, 1000,  2200, 1024, false, "-" },     /* the episode ends */
                { 200, 2100, 2200, 1024, false, "RX" },    /* a new one alerts again */
        };
        TableRaiseState st = {};

        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                const EvalStep *s = &steps[i];
                TableRaiseInput in = { .count = s->count, .max = s->max, .buckets = s->buckets,
                                       .object_size = 256, .budget = 700000, .warn_percent = 80 };
                TableRaiseVerdict v;
                char got[4] = {};

                ck_assert_int_eq(table_raise_evaluate(&st, &in, 95, s->dropping,
                                                      s->t * USEC_PER_SEC, USEC_PER_MINUTE, &v),
                                 0);
                got[0] = !v.triggered || !v.plan.raise ? '-' : v.deferred ? 'D' : 'R';
                if (v.alert_exhausted)
                        got[1] = 'X';
                ck_assert_msg(streq(got, s->want), "step %zu: got %s, want %s", i, got, s->want);
                if (got[0] == 'R')
                        table_raise_done(&st, s->t * USEC_PER_SEC);
                if (!v.triggered)
                        ck_assert_uint_eq(v.plan.max, s->max);
        }
}
END_TEST

typedef struct BudgetCase {
        const char *s;
        int ret;
        uint64_t bytes;
        unsigned percent;
        const char *formatted;
} BudgetCase;

static const BudgetCase budget_cases[] = {
        { "512M", 0, 512 * M, 0, "512M" },
        { "2G", 0, 2 * G, 0, "2G" },
        { "2GB", 0, 2 * G, 0, "2G" },
        { "1024K", 0, M, 0, "1M" },
        { "1T", 0, 1024 * G, 0, "1T" },
        { "1048577", 0, 1048577, 0, "1048577" },
        { "5%", 0, 0, 5, "5%" },
        { "100%", 0, 0, 100, "100%" },
        { "1%", 0, 0, 1, "1%" },
        { "0%", -ERANGE, 0, 0, NULL },
        { "101%", -ERANGE, 0, 0, NULL },
        { "0", -EINVAL, 0, 0, NULL },
        { "0M", -EINVAL, 0, 0, NULL },
        { "", -EINVAL, 0, 0, NULL },
        { "-5%", -EINVAL, 0, 0, NULL },
        { "5 %", -EINVAL, 0, 0, NULL },
        { "1.5G", -EINVAL, 0, 0, NULL },
        { "512m", -EINVAL, 0, 0, NULL },
        { "512MiB", -EINVAL, 0, 0, NULL },
        { "5%%", -EINVAL, 0, 0, NULL },
        { "99999999999999999999", -EINVAL, 0, 0, NULL },
        { "17179869184G", -EINVAL, 0, 0, NULL },          /* 2^64 bytes */
        { "16777215T", 0, 16777215ull * 1024 * G, 0, "16777215T" },
};

START_TEST(test_budget_parse) {
        const BudgetCase *c = &budget_cases[_i];
        TableBudget b = { .bytes = 42, .percent = 42 };
        char buf[TABLE_BUDGET_FORMAT_MAX];

        ck_assert_msg(table_budget_parse(c->s, &b) == c->ret, "'%s'", c->s);
        if (c->ret < 0) {
                ck_assert_uint_eq(b.bytes, 42);         /* untouched on failure */
                return;
        }
        ck_assert_uint_eq(b.bytes, c->bytes);
        ck_assert_uint_eq(b.percent, c->percent);
        ck_assert_str_eq(table_budget_format(&b, buf, sizeof(buf)), c->formatted);
}
END_TEST

START_TEST(test_budget_bytes) {
        TableBudget pct = TABLE_BUDGET_DEFAULT, abs = { .bytes = 512 * M };

        /* This host's MemTotal: 24683652 kB. */
        ck_assert_uint_eq(table_budget_bytes(&pct, 24683652 * K), 24683652 * K * 5 / 100);
        ck_assert_uint_eq(table_budget_bytes(&abs, 24683652 * K), 512 * M);
        pct.percent = 100;
        ck_assert_uint_eq(table_budget_bytes(&pct, UINT64_MAX), UINT64_MAX / 100 * 100);
        ck_assert_uint_eq(table_raise_cost(UINT64_MAX, 1, 256), UINT64_MAX);
}
END_TEST

/* ---- the readers, beneath a temporary root ---- */

static char root[] = "/tmp/test-table-raise.XXXXXX";

static void put(const char *rel, const char *content) {
        _cleanup_free_ char *p = NULL, *dir = NULL;
        int fd;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        dir = strdup(p);
        for (char *s = dir + strlen(root) + 1; (s = strchr(s, '/')); s++) {
                *s = '\0';
                (void) mkdir(dir, 0755);
                *s = '/';
        }
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
}

static void drop(const char *rel) {
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        ck_assert_int_eq(unlink(p), 0);
}

static void setup(void) {
        memcpy(root, "/tmp/test-table-raise.XXXXXX", sizeof(root));
        ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf -- '%s'", root), 0);
        ck_assert_int_eq(system(cmd), 0);
}

#define SLAB "sys/kernel/slab/nf_conntrack/"

START_TEST(test_read_object_size) {
        uint64_t v = 0;

        ck_assert_int_eq(table_raise_read_object_size(root, &v), -ENOENT);

        put("proc/slabinfo",
            "slabinfo - version: 2.1\n"
            "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
            "nf_conntrack_expect      0      0    208   19    1 : tunables    0    0    0 : slabdata      0      0      0\n"
            "nf_conntrack         214    272    320   16    1 : tunables    0    0    0 : slabdata     17     17      0\n");
        ck_assert_int_eq(table_raise_read_object_size(root, &v), 0);
        ck_assert_uint_eq(v, 320);              /* not nf_conntrack_expect's 208 */

        put(SLAB "object_size", "248\n");
        ck_assert_int_eq(table_raise_read_object_size(root, &v), 0);
        ck_assert_uint_eq(v, 248);

        put(SLAB "slab_size", "256\n");
        ck_assert_int_eq(table_raise_read_object_size(root, &v), 0);
        ck_assert_uint_eq(v, 256);              /* the aligned size is what an entry costs */

        put(SLAB "slab_size", "junk\n");
        ck_assert_int_eq(table_raise_read_object_size(root, &v), -EINVAL);
        drop(SLAB "slab_size");
        drop(SLAB "object_size");
        put("proc/slabinfo", "slabinfo - version: 2.1\nkmalloc-256 10 10 256 16 1\n");
        ck_assert_int_eq(table_raise_read_object_size(root, &v), -ENOENT);
}
END_TEST

START_TEST(test_read_mem_total) {
        uint64_t v = 0;

        ck_assert_int_eq(table_raise_read_mem_total(root, &v), -ENOENT);
        put("proc/meminfo", "MemTotal:       24683652 kB\nMemFree:         1000 kB\n");
        ck_assert_int_eq(table_raise_read_mem_total(root, &v), 0);
        ck_assert_uint_eq(v, 24683652 * K);
        put("proc/meminfo", "MemFree:         1000 kB\n");
        ck_assert_int_eq(table_raise_read_mem_total(root, &v), -ENOENT);
        put("proc/meminfo", "MemTotal:       24683652 MB\n");
        ck_assert_int_eq(table_raise_read_mem_total(root, &v), -EINVAL);
        ck_assert_uint_eq(v, 24683652 * K);     /* untouched on failure */
}
END_TEST

/* The live kernel, where it has the files: the numbers are plausible. */
START_TEST(test_read_live) {
        uint64_t v;
        int r;

        ck_assert_int_eq(table_raise_read_mem_total("/", &v), 0);
        ck_assert_uint_gt(v, 16 * M);
        r = table_raise_read_object_size("/", &v);
        if (r == -ENOENT || r == -EACCES)
                return;         /* nf_conntrack not loaded, or slabinfo only and not root */
        ck_assert_int_eq(r, 0);
        ck_assert_uint_ge(v, 128);
        ck_assert_uint_le(v, 4096);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("table-raise");
        TCase *tc = tcase_create("core"), *files = tcase_create("files");

        tcase_add_loop_test(tc, test_plan, 0, ELEMENTSOF(plan_cases));
        tcase_add_test(tc, test_plan_invalid);
        tcase_add_loop_test(tc, test_headroom, 0, ELEMENTSOF(headroom_cases));
        tcase_add_test(tc, test_evaluate);
        tcase_add_loop_test(tc, test_budget_parse, 0, ELEMENTSOF(budget_cases));
        tcase_add_test(tc, test_budget_bytes);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(files, setup, teardown);
        tcase_add_test(files, test_read_object_size);
        tcase_add_test(files, test_read_mem_total);
        tcase_add_test(files, test_read_live);
        suite_add_tcase(s, files);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
