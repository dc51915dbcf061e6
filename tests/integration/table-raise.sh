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

# ---- status shows the budget as the daemon priced it ----
# 1 GiB at 256 bytes an entry and 8 a bucket; the headroom is the largest maximum whose buckets
# (the current ones while they hold max/4, else max/4 rounded up to 512) still fit.
buckets=$(ns_sysctl_read net.netfilter.nf_conntrack_buckets)
read -r used headroom entries < <(python3 - "$max" "$buckets" <<'PY'
import sys
mx, b, budget = int(sys.argv[1]), int(sys.argv[2]), 1 << 30
def cost(m):
    need = -(-m // 4)
    return m * 256 + 8 * (b if b >= need else -(-need // 512) * 512)
lo, hi = mx, 4 * (2**31 - 1) // 8 // 512 * 512 + 1
while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid)
used = mx * 256 + b * 8
print(used, max(budget - used, 0), lo - mx if cost(mx) <= budget else 0)
PY
)
# shellcheck disable=SC2317 # called through wait_until
status_has_budget() {
        ctguard_cmd status >"$TEST_TMP/status" 2>&1
        grep -qF "budget 1,073,741,824 bytes" "$TEST_TMP/status"
}
wait_until 10 status_has_budget || fail "no budget in status: $(cat "$TEST_TMP/status")"
assert_file_contains "$TEST_TMP/status" "auto-raise: on (MemoryBudget=1G, the daemon's)"
want=$(python3 -c "import sys; f=lambda v: format(int(v), ','); a=sys.argv[1:]; \
print(f'used {f(a[0])} ({f(a[1])} entries x 256 bytes + {f(a[2])} buckets x 8 bytes), ' \
      f'headroom {f(a[3])} bytes, {f(a[4])} more entries')" "$used" "$max" "$buckets" "$headroom" "$entries")
assert_file_contains "$TEST_TMP/status" "$want"
ctguard_cmd status --json >"$TEST_TMP/status.json" 2>&1
python3 - "$TEST_TMP/status.json" "$used" "$headroom" "$entries" "$max" "$buckets" <<'PY' || fail "status --json: $(cat "$TEST_TMP/status.json")"
import json, sys
a = json.load(open(sys.argv[1]))["auto_raise"]
used, headroom, entries, mx, b = map(int, sys.argv[2:])
assert a["enabled"] is True and a["memory_budget"] == "1G" and a["from"] == "daemon", a
assert a["budget"] == {"bytes": 1 << 30, "used": used, "headroom": headroom,
                       "headroom_entries": entries, "entry_bytes": 256, "bucket_bytes": 8,
                       "max": mx, "buckets": b}, a
assert a["raised"] is None, a
PY
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
info "ok"
