#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# AutoRaise in a namespace, where nf_conntrack_max is the host's and read-only: with Mode=monitor
# the daemon says once what it would raise; enforcing, it tries, says once that the key cannot
# be written here, and alerts as without AutoRaise. The maximum is left as it was.
#
# WarnPercent=1 and CritPercent=2 of 262144 keep the table to 6,000 entries. The entry size is
# read beneath the root: the test tree gives it one, so that pricing does not depend on the
# host's slab merging.

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
mkdir -p "$CTG_ROOT/sys/kernel/slab/nf_conntrack" || fail "mkdir slab"
echo 256 >"$CTG_ROOT/sys/kernel/slab/nf_conntrack/slab_size"

config() {
        ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Guard]
Mode=$1
PollIntervalSec=100ms

[Modules]
Ensure=

[Conntrack]
WarnPercent=1
CritPercent=2
FastPollIntervalSec=100ms
TopTalkers=0
AutoRaise=yes
MemoryBudget=1G
RaiseIntervalSec=1s
CONF
}

msg_count() { grep -cF "$1" "$JOURNAL_OUT"; }
samples() { grep -c '"MESSAGE": "Conntrack sample: 6000 of ' "$JOURNAL_OUT"; }
# shellcheck disable=SC2317 # called through wait_until
samples_at_least() { [ "$(samples)" -ge "$1" ]; }

printf '6000 10.0.0.0/16 10.1.0.1 443 tcp ESTABLISHED\n' >"$TEST_TMP/spec"
ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec" || fail "ct-insert"

# ---- monitor: what would be done, once ----
config monitor
start_ctguard_journal --log-level=debug
wait_for_event 10 table-crit
wait_until 10 samples_at_least 10 || fail "too few samples"
would="AutoRaise would raise nf_conntrack_max from $max to "
assert_eq 1 "$(msg_count "$would")" "'would raise' messages in monitor mode"
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status (monitor)"

# ---- enforce: tried, read-only here, said once ----
config enforce
: >"$JOURNAL_OUT"
start_ctguard_journal --log-level=debug
wait_for_event 10 table-crit
wait_until 10 samples_at_least 30 || fail "too few samples"
assert_eq 1 "$(msg_count "AutoRaise: nf_conntrack_max cannot be written here")" \
        "read-only messages"
assert_eq 0 "$(msg_count "$would")" "'would raise' messages when enforcing"
assert_eq 0 "$(journal_count table-raised)" "table-raised events"
assert_eq "$max" "$(ns_sysctl_read net.netfilter.nf_conntrack_max)" "nf_conntrack_max"
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
info "ok"
