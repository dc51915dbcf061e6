#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A full table in a namespace: filled to nf_conntrack_max with assured entries (which early drop
# may not evict), the daemon raises table-crit naming the top talkers, dumping a quarter of a
# million entries while its loop keeps sampling; each new flow after that is dropped by the
# kernel, and the daemon raises table-full with the exact number of drops, once: more drops
# within the repeat interval raise nothing more. Emptied, the table is back to table-ok.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/table-lib.sh
. "$(dirname "$0")/table-lib.sh"

require_cmd conntrack nft python3
ns_setup
ctguard_root_setup
journal_setup
[ -n "${CT_INSERT:-}" ] || fail "CT_INSERT is not set"
[ -n "${CTGUARD_EVENT_TABLE:-}" ] || fail "CTGUARD_EVENT_TABLE is not set"

max=$(ns_sysctl_read net.netfilter.nf_conntrack_max)
if [ "$max" -lt 120000 ] || [ "$max" -gt 4194304 ]; then
        skip "nf_conntrack_max is $max"
fi

# Conntrack only sees a namespace's packets once a rule needs it.
ns_exec nft -f - <<'NFT' || fail "nft"
table inet ctguard_test {
        chain out {
                type filter hook output priority 0;
                ct state new counter accept
        }
}
NFT

ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
Mode=monitor
PollIntervalSec=300ms

[Modules]
Ensure=

[Conntrack]
FastPollIntervalSec=100ms
TopTalkers=3
CONF

rest=$(( max - 110000 ))
cat >"$TEST_TMP/spec" <<SPEC
60000   10.9.9.9     10.1.0.1 443 tcp ESTABLISHED
50000   10.9.9.8     10.1.0.2 80  tcp ESTABLISHED
$rest   10.16.0.0/16 10.1.0.3 22  tcp ESTABLISHED
SPEC

# send_new_flows N: N UDP datagrams, each from a new socket and so a new flow. The kernel
# drops them for want of a conntrack entry, and write(2) fails: that is expected.
send_new_flows() {
        # shellcheck disable=SC2016 # expanded by the inner shell
        ns_exec bash -c 'for ((i = 0; i < $1; i++)); do echo x >/dev/udp/127.0.0.1/9; done 2>/dev/null; true' \
                sh "$1"
}

# sample_lines: the daemon's debug lines for each sample, in order.
sample_lines() {
        python3 - "$JOURNAL_OUT" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line).get("MESSAGE", "")
    if m.startswith("Conntrack sample: "):
        print(m)
PY
}

# shellcheck disable=SC2317 # called through wait_until
sampled_drops() {
        sample_lines | grep -q "drop counter $1\\.$"
}

start_ctguard_journal --log-level=debug
wait_for_event 10 config-loaded
wait_until 10 sampled_drops 0 || fail "no sample with the drop counter at 0"

ctguard_signal STOP
ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec" || { ctguard_signal CONT; fail "ct-insert"; }
ctguard_signal CONT
assert_eq "$max" "$(ns_count)" "entries: the table is full"

# ---- table-crit, after a dump of the whole table ----
wait_for_event 30 table-crit
assert_eq "$max|$max|100|crit|$max|-|-" \
        "$(journal_query table-crit CTGUARD_COUNT CTGUARD_MAX CTGUARD_PERCENT CTGUARD_LEVEL \
           CTGUARD_TOP_ENTRIES CTGUARD_TOP_PARTIAL CTGUARD_TOP_UNATTRIBUTED)" "table-crit fields"
assert_eq "10.9.9.9=60000 10.9.9.8=50000 10.16.0.0=$(( (rest + 65535) / 65536 ))" "$(journal_query table-crit CTGUARD_TOP_SRC)" \
        "CTGUARD_TOP_SRC"
assert_eq "10.1.0.3=$rest 10.1.0.1=60000 10.1.0.2=50000" "$(journal_query table-crit CTGUARD_TOP_DST)" \
        "CTGUARD_TOP_DST"
assert_eq "tcp:22=$rest tcp:443=60000 tcp:80=50000" "$(journal_query table-crit CTGUARD_TOP_DPORT)" \
        "CTGUARD_TOP_DPORT"
assert_eq "tcp:ESTABLISHED=$max" "$(journal_query table-crit CTGUARD_TOP_STATE)" "CTGUARD_TOP_STATE"

# The loop went on sampling while the dump ran (at 100ms while critical).
python3 - "$JOURNAL_OUT" >"$TEST_TMP/during" <<'PY'
import json, re, sys
state, samples, ms = 0, 0, None
for line in open(sys.argv[1]):
    e = json.loads(line)
    m = e.get("MESSAGE", "")
    if state == 0 and m.startswith("Dumping the conntrack table"):
        state = 1
    elif state == 1 and m.startswith("Conntrack sample: "):
        samples += 1
    elif state == 1 and m.startswith("Conntrack dump complete"):
        ms = int(re.search(r" in (\d+) ms", m).group(1))
        break
print(samples, ms)
PY
read -r during dump_ms <"$TEST_TMP/during"
info "dump of $max entries: $dump_ms ms, $during sample(s) taken meanwhile"
[ "$dump_ms" != None ] || fail "no 'Conntrack dump complete' line"
if [ "$dump_ms" -ge 300 ]; then
        [ "$during" -ge 1 ] || fail "no sample was taken during a dump of $dump_ms ms: the loop stalled"
fi

# ---- one dropped flow: table-full with exactly one drop ----
send_new_flows 1
wait_for_event 30 table-full
full_id=$("$CTGUARD_EVENT_TABLE" | awk '$1 == "table-full" { print $2 }')
[ -n "$full_id" ] || fail "no id for table-full from $CTGUARD_EVENT_TABLE"
assert_eq "1|$max|100|crit|$full_id|2" \
        "$(journal_query table-full CTGUARD_DROPS CTGUARD_COUNT CTGUARD_PERCENT CTGUARD_LEVEL \
           MESSAGE_ID PRIORITY)" "table-full fields"
assert_eq "10.9.9.9=60000 10.9.9.8=50000 10.16.0.0=$(( (rest + 65535) / 65536 ))" "$(journal_query table-full CTGUARD_TOP_SRC)" \
        "table-full CTGUARD_TOP_SRC"

# ---- four more within the repeat interval: counted, not reported yet ----
send_new_flows 4
wait_until 10 sampled_drops 5 || fail "the daemon did not sample the drop counter at 5"
# The events of a sample are logged right after its line: one more sample line and they are in.
n=$(sample_lines | wc -l)
# shellcheck disable=SC2317 # called through wait_until
more_samples() { [ "$(sample_lines | wc -l)" -gt "$1" ]; }
wait_until 10 more_samples "$n" || fail "no sample after the drops"
assert_eq 1 "$(journal_count table-full)" "table-full events within the repeat interval"

# ---- emptied ----
ctguard_signal STOP
ns_exec "$CT_INSERT" --delete-all || { ctguard_signal CONT; fail "ct-insert --delete-all"; }
ctguard_signal CONT
wait_for_event 10 table-ok
assert_eq "ok" "$(journal_query table-ok CTGUARD_LEVEL)" "level after emptying"
assert_eq 1 "$(journal_count table-crit)" "table-crit events"

stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "exit status"
info "ok"
