/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cttable.h"

/* What a table-crit or table-full alert advises, from the top-talker dump: the largest share of
 * unreplied entries (a state key flagged unreplied: "udp:UNREPLIED", "tcp:SYN_SENT:UNREPLIED"),
 * and whether one UDP destination port holds more than half the entries counted, for which a
 * NOTRACK rule in the raw table is the standard remedy (DNS on a resolver is the classic).
 * ctguard only says so: it never writes firewall rules. Pure. */

typedef struct CtAdvice {
        bool unreplied;                 /* some entries are unreplied */
        CtKey unreplied_key;            /* a CT_BY_STATE key */
        uint64_t unreplied_count;
        unsigned unreplied_percent;     /* of the entries counted, rounded down */

        bool notrack;                   /* one UDP destination port holds more than half */
        uint16_t udp_dport;
        uint64_t udp_count;
        unsigned udp_percent;
} CtAdvice;

/* states: every key of the state dimension (any order); top_dport: the largest key of the dport
 * dimension, or NULL (a port holding more than half the entries is necessarily the largest);
 * entries: the entries counted. */
void ct_advice_compute(const CtTopItem *states, size_t n_states, const CtTopItem *top_dport,
                       uint64_t entries, CtAdvice *ret);

/* The same from an aggregate that counted the state and dport dimensions. */
int ct_advice_from_aggregate(const CtAggregate *a, CtAdvice *ret);
