#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The advice of table-crit, in a namespace filled with ct-insert: a table where unreplied DNS
# (UDP port 53) holds more than half the entries names udp:UNREPLIED as the largest unreplied
# share and says that a raw-table NOTRACK rule for port 53 is the remedy; a table where TCP
# holds the most names its unreplied share and gives no NOTRACK advice.
#
# WarnPercent=1 and CritPercent=2 of the namespace's maximum (the host's, 262144 or more) alert
# at a few thousand entries.

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
[ "$max" -ge 100000 ] || skip "nf_conntrack_max is only $max"

ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
PollIntervalSec=100ms

[Modules]
Ensure=

[Conntrack]
WarnPercent=1
CritPercent=2
FastPollIntervalSec=100ms
TopTalkers=5
CONF

crit_fields() {
        journal_query table-crit CTGUARD_UNREPLIED CTGUARD_UNREPLIED_PERCENT CTGUARD_UDP_DPORT \
                CTGUARD_UDP_DPORT_PERCENT CTGUARD_ADVICE | tail -n 1
}
crit_message() { journal_query table-crit MESSAGE | tail -n 1; }

# ---- a resolver: 6,000 unreplied DNS entries of 7,000 ----
cat >"$TEST_TMP/spec" <<'SPEC'
# COUNT SRC           DST       DPORT PROTO STATE
6000    10.0.0.0/16   10.1.0.53 53    udp   UNREPLIED
1000    10.2.0.0/16   10.1.0.1  443   tcp   ESTABLISHED
SPEC
ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec" || fail "ct-insert"
start_ctguard_journal
wait_for_event 20 table-crit
# 6000 of 7000: 85% (rounded down).
assert_eq "udp:UNREPLIED|85|53|85|notrack-udp-dport" "$(crit_fields)" "advice fields"
msg=$(crit_message)
case $msg in
*"Largest unreplied share: udp:UNREPLIED, 85% of the entries. UDP port 53 holds 85% of the table: a NOTRACK rule for it in the raw table"*"ctguard writes no firewall rules") ;;
*) fail "table-crit message: $msg" ;;
esac
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"

# ---- TCP holds the most: an unreplied share, no NOTRACK advice ----
ns_exec conntrack -F >/dev/null 2>&1 || fail "conntrack -F"
: >"$JOURNAL_OUT"
cat >"$TEST_TMP/spec" <<'SPEC'
4000    10.0.0.0/16   10.1.0.1  443   tcp   ESTABLISHED
2000    10.3.0.0/16   10.1.0.2  80    tcp   SYN_SENT
1000    10.4.0.0/16   10.1.0.53 53    udp   UNREPLIED
SPEC
ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec" || fail "ct-insert"
start_ctguard_journal
wait_for_event 20 table-crit
# 2000 of 7000: 28%.
assert_eq "tcp:SYN_SENT:UNREPLIED|28|-|-|-" "$(crit_fields)" "advice fields without NOTRACK"
msg=$(crit_message)
case $msg in
*NOTRACK*) fail "NOTRACK advice without a UDP port over half: $msg" ;;
esac
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
info "ok"
