/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <netinet/in.h>
#include <stdlib.h>

#include "ct-advice.h"
#include "macro.h"

static unsigned percent_of(uint64_t count, uint64_t entries) {
        if (entries == 0)
                return 0;
        if (count > UINT64_MAX / 100)
                return (unsigned) (count / (entries / 100 ?: 1));
        return (unsigned) (count * 100 / entries);
}

void ct_advice_compute(const CtTopItem *states, size_t n_states, const CtTopItem *top_dport,
                       uint64_t entries, CtAdvice *ret) {
        CtAdvice v = {};

        for (size_t i = 0; i < n_states; i++) {
                const CtTopItem *s = &states[i];

                if (!(s->key.flags & CT_KEY_UNREPLIED) || s->count == 0)
                        continue;
                /* Ties go to the key that orders first, so that the advice is stable. */
                if (v.unreplied && (s->count < v.unreplied_count ||
                                    (s->count == v.unreplied_count &&
                                     ct_key_compare(&s->key, &v.unreplied_key) >= 0)))
                        continue;
                v.unreplied = true;
                v.unreplied_key = s->key;
                v.unreplied_count = s->count;
        }
        v.unreplied_percent = percent_of(v.unreplied_count, entries);

        if (top_dport && top_dport->key.proto == IPPROTO_UDP &&
            (top_dport->key.flags & CT_KEY_HAS_PORT) && top_dport->count > entries / 2 &&
            top_dport->count <= entries) {
                v.notrack = true;
                v.udp_dport = top_dport->key.port;
                v.udp_count = top_dport->count;
                v.udp_percent = percent_of(top_dport->count, entries);
        }
        *ret = v;
}

int ct_advice_from_aggregate(const CtAggregate *a, CtAdvice *ret) {
        _cleanup_free_ CtTopItem *states = NULL, *dports = NULL;
        size_t n_states = 0, n_dports = 0;
        int r;

        r = ct_aggregate_top(a, CT_BY_STATE, ct_aggregate_keys(a, CT_BY_STATE), &states, &n_states);
        if (r < 0)
                return r;
        r = ct_aggregate_top(a, CT_BY_DPORT, 1, &dports, &n_dports);
        if (r < 0)
                return r;
        ct_advice_compute(states, n_states, n_dports > 0 ? &dports[0] : NULL,
                          ct_aggregate_entries(a), ret);
        return 0;
}
