#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon's table alerts in a namespace, through a journal of the test's own: table-warn,
# table-crit (naming the top talkers) and table-ok (twice: down to the warning level, then down
# to normal) as entries are added and deleted, each once, with its fields and MESSAGE_ID.
#
# nf_conntrack_max is the host's and read-only in a namespace (262144 here), so instead of
# filling 80% of it the test sets WarnPercent=1 and CritPercent=2: 2,622 and 5,243 entries. The
# daemon is stopped (SIGSTOP) while entries change, so that it samples each state whole.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/table-lib.sh
. "$(dirname "$0")/table-lib.sh"

require_cmd conntrack python3
ns_setup
ctguard_root_setup
journal_setup
[ -n "${CT_INSERT:-}" ] || fail "CT_INSERT is not set"

[ -n "${CTGUARD_EVENT_TABLE:-}" ] || fail "CTGUARD_EVENT_TABLE is not set"
id_of() {
        "$CTGUARD_EVENT_TABLE" | awk -v e="$1" '$1 == e { print $2 }'
}
[ -n "$(id_of table-warn)" ] || fail "no id for table-warn from $CTGUARD_EVENT_TABLE"

max=$(ns_sysctl_read net.netfilter.nf_conntrack_max)
warn_at=$(( (max * 1 + 99) / 100 ))
crit_at=$(( (max * 2 + 99) / 100 ))
info "nf_conntrack_max=$max: warn at $warn_at, crit at $crit_at entries"
[ "$max" -ge 100000 ] || skip "nf_conntrack_max is only $max"

ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
Mode=monitor
PollIntervalSec=300ms

[Modules]
Ensure=

[Conntrack]
WarnPercent=1
CritPercent=2
FastPollIntervalSec=100ms
TopTalkers=3
CONF

# changed_while_stopped CMD...: runs CMD with the daemon stopped, so that its next sample sees
# the table after CMD, not halfway through.
changed_while_stopped() {
        ctguard_signal STOP
        "$@" || { ctguard_signal CONT; fail "$*"; }
        ctguard_signal CONT
}

# shellcheck disable=SC2317 # called through wait_until
count_is() { [ "$(ns_count)" = "$1" ]; }

start_ctguard_journal --log-level=debug
wait_for_event 10 config-loaded
assert_eq "$(id_of config-loaded)" "$(journal_query config-loaded MESSAGE_ID)" "config-loaded MESSAGE_ID"
# A sample taken with the table empty: no alert.
wait_until 10 grep -q '"MESSAGE": "Conntrack sample: 0 of ' "$JOURNAL_OUT" ||
        fail "no sample of the empty table"
assert_eq 0 "$(journal_count table-warn)" "table-warn with an empty table"

# ---- 3,500 entries: above 1% ----
cat >"$TEST_TMP/spec-a" <<'SPEC'
2000 10.0.0.5    10.1.0.1 443 tcp ESTABLISHED
1500 10.0.8.0/22 10.1.0.2 80  tcp ESTABLISHED
SPEC
changed_while_stopped ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec-a"
assert_eq 3500 "$(ns_count)" "entries after the first insert"
wait_for_event 10 table-warn
assert_eq "3500|$max|1|warn|1|-|$(id_of table-warn)|4" \
        "$(journal_query table-warn CTGUARD_COUNT CTGUARD_MAX CTGUARD_PERCENT CTGUARD_LEVEL \
           CTGUARD_THRESHOLD CTGUARD_TOP_SRC MESSAGE_ID PRIORITY)" "table-warn fields"

# ---- 5,500 entries: above 2%, with the top talkers ----
cat >"$TEST_TMP/spec-b" <<'SPEC'
2000 10.0.0.7 10.1.0.3 53 udp UNREPLIED
SPEC
changed_while_stopped ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec-b"
wait_for_event 20 table-crit
assert_eq "5500|$max|2|crit|2|$(id_of table-crit)|2|5500|-" \
        "$(journal_query table-crit CTGUARD_COUNT CTGUARD_MAX CTGUARD_PERCENT CTGUARD_LEVEL \
           CTGUARD_THRESHOLD MESSAGE_ID PRIORITY CTGUARD_TOP_ENTRIES CTGUARD_TOP_PARTIAL)" \
        "table-crit fields"
assert_eq "10.0.0.5=2000 10.0.0.7=2000 10.0.8.0=2" "$(journal_query table-crit CTGUARD_TOP_SRC)" \
        "CTGUARD_TOP_SRC"
assert_eq "10.1.0.1=2000 10.1.0.3=2000 10.1.0.2=1500" "$(journal_query table-crit CTGUARD_TOP_DST)" \
        "CTGUARD_TOP_DST"
assert_eq "tcp:443=2000 udp:53=2000 tcp:80=1500" "$(journal_query table-crit CTGUARD_TOP_DPORT)" \
        "CTGUARD_TOP_DPORT"
assert_eq "tcp:ESTABLISHED=3500 udp:UNREPLIED=2000" "$(journal_query table-crit CTGUARD_TOP_STATE)" \
        "CTGUARD_TOP_STATE"
journal_query table-crit MESSAGE | grep -qF "Top sources: 10.0.0.5=2000 10.0.0.7=2000 10.0.8.0=2; destinations: 10.1.0.1=2000" ||
        fail "the table-crit message does not name the top talkers: $(journal_query table-crit MESSAGE)"

# ---- the TCP entries deleted: 2,000 left, below 2% - 1 but above 0.5% ----
changed_while_stopped ns_exec conntrack -D -p tcp >/dev/null 2>&1
assert_eq 2000 "$(ns_count)" "entries after deleting TCP"
wait_for_event 10 table-ok
assert_eq "2000|0|warn|2|$(id_of table-ok)|5" \
        "$(journal_query table-ok CTGUARD_COUNT CTGUARD_PERCENT CTGUARD_LEVEL CTGUARD_THRESHOLD \
           MESSAGE_ID PRIORITY)" "table-ok fields (down to warn)"

# ---- empty: back to normal ----
changed_while_stopped ns_exec "$CT_INSERT" --delete-all
wait_until 10 count_is 0 || fail "table not empty after --delete-all"
wait_for_event 10 table-ok 2
assert_eq "0|0|ok|1" \
        "$(journal_query table-ok CTGUARD_COUNT CTGUARD_PERCENT CTGUARD_LEVEL CTGUARD_THRESHOLD | tail -1)" \
        "table-ok fields (down to ok)"

# Each alert once: a condition that lasts is repeated every 5 minutes at most, and none lasted.
assert_eq 1 "$(journal_count table-warn)" "table-warn events"
assert_eq 1 "$(journal_count table-crit)" "table-crit events"
assert_eq 2 "$(journal_count table-ok)" "table-ok events"
assert_eq 0 "$(journal_count table-full)" "table-full events"

stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
info "ok"
