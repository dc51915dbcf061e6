#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon's textfile for node_exporter, and "ctguard metrics" beside a running daemon:
#  - ctguard.prom appears in TextfileDirectory=, mode 0644, valid for promtool, with the daemon
#    up and the namespace's own table;
#  - an event (a sysctl restored) rewrites it at once, counted by name and in the restores;
#  - no temporary file is left behind; the verb sees the same daemon.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup
mkdir -p "$CTG_ROOT/prom" && chmod 0755 "$CTG_ROOT/prom"
prom="$CTG_ROOT/prom/ctguard.prom"

key=net.netfilter.nf_conntrack_udp_timeout
value=$(ns_sysctl_read "$key") || fail "cannot read $key"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Guard]
PollIntervalSec=200ms

[Sysctl]
$key=$value

[Metrics]
TextfileDirectory=/prom
CONF

ns_exec "$CT_INSERT" --count 50 >/dev/null || fail "ct-insert"
start_ctguard
wait_for_log 10 "[config-loaded]"

# shellcheck disable=SC2317 # called through wait_until
has() { grep -qxF -- "$1" "$prom" 2>/dev/null; }
wait_until 10 has "ctguard_up 1" || fail "no ctguard.prom with ctguard_up 1"
assert_eq 644 "$(stat -c %a "$prom")" "mode of ctguard.prom"
has "ctguard_conntrack_entries 50" || fail "entries: $(grep entries "$prom")"
has "ctguard_sysctl_desired_value{key=\"$key\",ownership=\"owned\"} $value" ||
        fail "desired value: $(grep desired "$prom")"
if command -v promtool >/dev/null; then
        out=$(promtool check metrics < "$prom" 2>&1) || fail "promtool: $out"
        [ -z "$out" ] || fail "promtool: $out"
fi

ns_sysctl_write "$key" $((value + 7))
wait_for_log 10 "[sysctl-restored]"
wait_until 5 has "ctguard_events_total{event=\"sysctl-restored\"} 1" ||
        fail "the restore was not counted: $(grep -E 'events|restores' "$prom")"
has "ctguard_sysctl_restores_total 1" || fail "restores: $(grep restores "$prom")"
[ -z "$(find "$CTG_ROOT/prom" -name '.ctguard.prom.*')" ] || fail "a temporary file was left"

ctguard_cmd metrics > "$TEST_TMP/verb.prom" || fail "ctguard metrics failed"
assert_file_contains "$TEST_TMP/verb.prom" "ctguard_up 1"
assert_file_contains "$TEST_TMP/verb.prom" "ctguard_sysctl_restores_total 1"
assert_file_contains "$TEST_TMP/verb.prom" "ctguard_conntrack_entries 50"

stop_ctguard
info "ok"
