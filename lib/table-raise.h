/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse-util.h"

/* AutoRaise: how far to raise nf_conntrack_max (and the hash size) when the table fills, within
 * a memory budget priced with the kernel's own numbers. Pure, except the two readers at the end,
 * which take a root directory ("/" on a live system) so that tests point them at a tree.
 *
 * Pricing: an entry costs the nf_conntrack slab object (slab_size, what one object occupies
 * with its alignment: 256 bytes on a 6.18 x86-64 kernel), a bucket 8 bytes (one
 * struct hlist_nulls_head). used = max * object + buckets * 8.
 *
 * The step: the new maximum puts the current count at WarnPercent, is at least 1.5 times the
 * current maximum and at least an assigned [Sysctl] maximum (the floor), and is capped by the
 * budget; it never goes below the current values.
 *
 * The ratio: buckets stay as they are while buckets >= max / 4 (kube-proxy's ratio). Every entry
 * is hashed twice, original and reply direction, so a full table at 1:4 has chains of 8 nodes
 * on average, far below the kernel's limit (a random 50..79 per insertion; 8..31 before
 * upstream c77737b736ce). Measured on Debian's 6.1.0-57 with 512 buckets: insertions were
 * refused as chaintoolong from 20,404 entries on, 80 nodes a bucket. Keeping the hash size
 * avoids a resize, which rehashes every entry under a global lock; when a raise would leave
 * fewer, the hash is resized to 1:1 (the kernel's own default since 5.15), so that the next few
 * raises need no resize. A bucket costs 8 bytes against an entry's ~256, so 1:1 costs 3% more
 * memory than 1:4. Hash sizes are rounded up to a multiple of 512, what the kernel allocates
 * anyway (a page of heads); under the cap the hash size is what the budget leaves, never below
 * max / 4. */

#define TABLE_RAISE_BUCKET_BYTES 8u
#define TABLE_RAISE_HASH_ROUND 512u
#define TABLE_RAISE_BUCKET_RATIO 4u     /* buckets >= max / 4 */
#define TABLE_RAISE_STEP_NUM 3u         /* at least max * 3 / 2 */
#define TABLE_RAISE_STEP_DEN 2u
/* The kernel allocates at most INT_MAX / 8 bucket heads (rounded to whole pages here); the
 * maximum stays where the ratio still holds, well inside nf_conntrack_max's int. */
#define TABLE_RAISE_BUCKETS_LIMIT ((uint64_t) (INT32_MAX / 8) / TABLE_RAISE_HASH_ROUND * \
                                   TABLE_RAISE_HASH_ROUND)
#define TABLE_RAISE_MAX_LIMIT (TABLE_RAISE_BUCKETS_LIMIT * TABLE_RAISE_BUCKET_RATIO)

/* MemoryBudget=: an absolute size in bytes, or a share of MemTotal. */
typedef struct TableBudget {
        uint64_t bytes;                 /* if percent == 0 */
        unsigned percent;               /* 1..100 */
} TableBudget;

#define TABLE_BUDGET_DEFAULT ((TableBudget) { .percent = 5 })

/* "512M", "2G", "1048576" (bytes; suffixes K, M, G, T are powers of 1024, an optional "B"
 * after them), or "5%" (a whole percentage 1..100 of MemTotal). Zero, junk and overflow are
 * -EINVAL (-ERANGE for a percentage outside 1..100). */
int table_budget_parse(const char *s, TableBudget *ret);

/* The spelling table_budget_parse() reads back to the same value: "5%", "512M", "1000". */
char *table_budget_format(const TableBudget *b, char *buf, size_t l);
#define TABLE_BUDGET_FORMAT_MAX 32

/* The budget in bytes for a machine with mem_total bytes of RAM. */
uint64_t table_budget_bytes(const TableBudget *b, uint64_t mem_total);

typedef struct TableRaiseInput {
        uint64_t count;
        uint64_t max;
        uint64_t buckets;
        uint64_t object_size;           /* bytes per entry */
        uint64_t budget;                /* bytes, from table_budget_bytes() */
        uint64_t floor_max;             /* an assigned [Sysctl] nf_conntrack_max, 0: none */
        unsigned warn_percent;          /* 1..99 */
} TableRaiseInput;

typedef struct TableRaise {
        bool raise;                     /* max or buckets change */
        bool resize;                    /* buckets change (a rehash) */
        bool exhausted;                 /* the budget held the raise short of the target */
        uint64_t max;                   /* the values to hold: new, or the current ones */
        uint64_t buckets;
        uint64_t target;                /* the maximum the count asked for */
        uint64_t used;                  /* bytes the result costs */
        uint64_t left;                  /* budget - used, 0 if over */
} TableRaise;

/* The cost in bytes of a table of max entries and buckets buckets, saturated. */
uint64_t table_raise_cost(uint64_t max, uint64_t buckets, uint64_t object_size);

/* Plans a raise. -EINVAL if object_size is 0 or warn_percent is not in 1..99. */
int table_raise_plan(const TableRaiseInput *in, TableRaise *ret);

/* The headroom in entries: how far the budget lets in->max grow, the buckets it then needs
 * (max / 4, rounded as a raise rounds them) paid for too; 0 if the table already costs more.
 * Only max, buckets, object_size and budget of in are read. */
uint64_t table_raise_headroom(const TableRaiseInput *in);

/* When to raise: the count reaches CritPercent or the drop counter rises; at most once per
 * RaiseIntervalSec; table-budget-exhausted once per episode, an episode ending when the
 * trigger is gone. */
typedef struct TableRaiseState {
        bool raised;
        usec_t last_raise;
        bool exhausted_alerted;
} TableRaiseState;

typedef struct TableRaiseVerdict {
        TableRaise plan;                /* valid if triggered */
        bool triggered;
        bool deferred;                  /* a raise is wanted, RaiseIntervalSec not yet over */
        bool alert_exhausted;           /* log table-budget-exhausted now */
} TableRaiseVerdict;

/* in as for table_raise_plan(); crit_percent 1..100; dropping: the drop counter rose since the
 * previous sample. The caller writes plan.buckets (if plan.resize) then plan.max when
 * verdict.plan.raise && !verdict.deferred, and calls table_raise_done() once it did. */
int table_raise_evaluate(TableRaiseState *st, const TableRaiseInput *in, unsigned crit_percent,
                         bool dropping, usec_t now, usec_t interval, TableRaiseVerdict *ret);
void table_raise_done(TableRaiseState *st, usec_t now);

/* The kernel's numbers beneath root: the size of one nf_conntrack slab object from
 * sys/kernel/slab/nf_conntrack/slab_size, else .../object_size, else the objsize column of
 * proc/slabinfo (-ENOENT if none has it: nf_conntrack not loaded); MemTotal from proc/meminfo,
 * in bytes. */
int table_raise_read_object_size(const char *root, uint64_t *ret);
int table_raise_read_mem_total(const char *root, uint64_t *ret);
