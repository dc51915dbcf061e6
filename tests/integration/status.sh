#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# "ctguard status" against a daemon in a namespace, and what the daemon says at start:
#  - a guarded key that is read-only here (nf_conntrack_max in a namespace) is reported at
#    start even though it has not drifted: a sandbox or namespace that blocks a write is said
#    at once, not on the day the value drifts;
#  - status sees the daemon (its lock), its guarded values and last events, and exits as a
#    monitoring plugin: 1 with the daemon stopped, 0 with it running and all in place, 1 for a
#    drifted sysctl the daemon may not restore (monitor mode), 2 above CritPercent;
#  - --json is one object with the documented members.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup

max=$(ns_sysctl_read net.netfilter.nf_conntrack_max) || fail "cannot read nf_conntrack_max"
timeout_key=net.netfilter.nf_conntrack_udp_timeout
timeout_value=$(ns_sysctl_read "$timeout_key") || fail "cannot read $timeout_key"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Guard]
PollIntervalSec=200ms

[Sysctl]
net.netfilter.nf_conntrack_max=$max
$timeout_key=$timeout_value
CONF

status() { ctguard_cmd status "$@" >"$TEST_TMP/status" 2>"$TEST_TMP/status.err"; }

# ---- no daemon: a warning, and the values are shown ----
status
assert_eq 1 "$?" "status exit without a daemon"
assert_file_contains "$TEST_TMP/status" "ctguard: not running"
assert_file_contains "$TEST_TMP/status" "status: warning"

# ---- the daemon: read-only reported at start, without any drift ----
start_ctguard
wait_for_log 10 "ctguard: [sysctl-readonly] net.netfilter.nf_conntrack_max is read-only here"
wait_for_log 10 "[config-loaded]"

# shellcheck disable=SC2317 # called through wait_until
status_is() { status; [ "$?" = "$1" ]; }
wait_until 10 status_is 0 || fail "status exit $(status; echo $?), want 0: $(cat "$TEST_TMP/status")"
assert_file_contains "$TEST_TMP/status" "ctguard: running"
assert_file_contains "$TEST_TMP/status" "pid $CTG_PID, mode enforce"
assert_file_contains "$TEST_TMP/status" "config-loaded"
grep -qE "^  net.netfilter.nf_conntrack_udp_timeout +$timeout_value ok$" "$TEST_TMP/status" ||
        fail "status does not show $timeout_key ok: $(cat "$TEST_TMP/status")"

ctguard_cmd status --json >"$TEST_TMP/json" || true
python3 - "$TEST_TMP/json" "$CTG_PID" <<'PY' || fail "status --json: $(cat "$TEST_TMP/json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["status"] == "ok" and d["exit"] == 0, d
assert d["daemon"]["running"] and d["daemon"]["pid"] == int(sys.argv[2]), d["daemon"]
assert d["hold"]["held"] is False
assert {s["key"] for s in d["sysctls"]} >= {"net.netfilter.nf_conntrack_max"}
assert all(s["ok"] for s in d["sysctls"]), d["sysctls"]
assert d["table"]["max"] > 0 and d["table"]["level"] == "ok"
assert any(e["event"] == "config-loaded" for e in d["events"])
assert d["problems"] == []
PY

# ---- table above CritPercent: critical ----
ctguard_write_config etc/ctguard/ctguard.conf.d/50-crit.conf <<'CONF'
[Conntrack]
WarnPercent=1
CritPercent=2
CONF
need=$(( max * 2 / 100 + 1 ))
ns_exec "$CT_INSERT" -q --count "$need" || fail "ct-insert failed"
status
assert_eq 2 "$?" "status exit above CritPercent"
assert_file_contains "$TEST_TMP/status" "status: critical"
ns_exec conntrack -F >/dev/null 2>&1 || fail "conntrack -F failed"
rm -f "$CTG_ROOT/etc/ctguard/ctguard.conf.d/50-crit.conf"

# ---- a drift the daemon may not restore (monitor mode): a warning ----
stop_ctguard
ctguard_write_config etc/ctguard/ctguard.conf.d/60-monitor.conf <<'CONF'
[Guard]
Mode=monitor
CONF
start_ctguard
wait_for_log 10 "[config-loaded]"
ns_sysctl_write "$timeout_key" $(( timeout_value + 7 ))
wait_for_log 10 "[sysctl-drift]"
status
assert_eq 1 "$?" "status exit with a drifted sysctl"
assert_file_contains "$TEST_TMP/status" "DRIFTED (want $timeout_value)"

stop_ctguard
echo "status reports the daemon, the values and the table as a monitoring plugin expects"
