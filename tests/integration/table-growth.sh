#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Time to full in a namespace: a table that grows while the daemon watches gets
# CTGUARD_FULL_IN_SEC= and CTGUARD_GROWTH_RATE= in table-warn and "full in about" in the text;
# a table a new daemon finds above WarnPercent says nothing about when it will be full (one
# sample is no growth).
#
# nf_conntrack_max is the host's and read-only in a namespace, so WarnPercent=2 (5,243 entries
# of 262144) and CritPercent=99 keep the test to a few thousand entries.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/table-lib.sh
. "$(dirname "$0")/table-lib.sh"

require_cmd conntrack python3
ns_setup
ctguard_root_setup
journal_setup
[ -n "${CT_INSERT:-}" ] || fail "CT_INSERT is not set"

max=$(ns_sysctl_read net.netfilter.nf_conntrack_max)
warn_at=$(( (max * 2 + 99) / 100 ))
info "nf_conntrack_max=$max: warn at $warn_at entries"
[ "$max" -ge 100000 ] || skip "nf_conntrack_max is only $max"

ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
Mode=monitor
PollIntervalSec=200ms

[Modules]
Ensure=

[Conntrack]
WarnPercent=2
CritPercent=99
FastPollIntervalSec=100ms
TopTalkers=0
CONF

# shellcheck disable=SC2317 # called through wait_until
count_is() { [ "$(ns_count)" = "$1" ]; }

# ---- growing while watched: 400 entries every 200 ms or so ----
start_ctguard_journal --log-level=debug
wait_until 10 grep -q '"MESSAGE": "Conntrack sample: 0 of ' "$JOURNAL_OUT" ||
        fail "no sample of the empty table"
grow() {
        for i in $(seq 1 20); do
                printf '400 10.%d.0.0/16 10.1.0.1 443 tcp ESTABLISHED\n' "$((i + 10))" >"$TEST_TMP/spec-$i"
                ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec-$i" || return 1
                [ "$(journal_count table-warn)" -ge 1 ] && return 0
                sleep 0.2       # the pace of the growth, not a wait for anything
        done
}
grow || fail "growing the table"
wait_for_event 10 table-warn
line=$(journal_query table-warn CTGUARD_FULL_IN_SEC CTGUARD_GROWTH_RATE PRIORITY | tail -1)
info "table-warn while growing: $line"
IFS='|' read -r full_in rate prio <<<"$line"
[[ $full_in =~ ^[0-9]+$ ]] || fail "no CTGUARD_FULL_IN_SEC in the table-warn of a growing table: $line"
if ! [[ $rate =~ ^[0-9]+$ ]] || [ "$rate" -le 0 ]; then
        fail "no positive CTGUARD_GROWTH_RATE: $line"
fi
assert_eq 4 "$prio" "table-warn priority"
# The estimate is of the right order: the rest of the table at the rate given.
count=$(journal_query table-warn CTGUARD_COUNT | tail -1)
expect=$(( (max - count) / rate ))
if [ "$full_in" -lt $((expect / 2)) ] || [ "$full_in" -gt $((expect * 2 + 2)) ]; then
        fail "CTGUARD_FULL_IN_SEC=$full_in, expected about $expect (count $count, rate $rate)"
fi
journal_query table-warn MESSAGE | tail -1 | grep -qE "full in about [0-9,.]+ [a-z]+ at \+[0-9,.]+ entries/s" ||
        fail "the table-warn message does not say when the table is full: $(journal_query table-warn MESSAGE | tail -1)"

# ---- found above WarnPercent by a new daemon, and flat: no estimate ----
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
# The count as it is now: the growth may have added a batch after the first table-warn.
count=$(ns_count)
start_ctguard_journal --log-level=debug
wait_for_event 10 table-warn 2
assert_eq "$count|-|-" "$(journal_query table-warn CTGUARD_COUNT CTGUARD_FULL_IN_SEC CTGUARD_GROWTH_RATE | tail -1)" \
        "table-warn of a table found full"

stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
info "ok"
