#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ctguard's check-config, cat-config and run in a namespace, against a temporary configuration
# tree: the daemon starts, rejects a broken drop-in on SIGHUP naming its FILE:LINE and keeps
# running, takes the repaired one (and its new values take effect: the mode, and a sysctl it
# now assigns), and exits 0 on SIGTERM.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup

log_lines() {
        grep -cF -- "$1" "$CTG_LOG"
}

# shellcheck disable=SC2317 # called through wait_until
log_lines_are() {
        [ "$(log_lines "$1")" = "$2" ]
}

main_conf="$CTG_ROOT/etc/ctguard/ctguard.conf"
broken="$CTG_ROOT/etc/ctguard/ctguard.conf.d/50-broken.conf"

ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
Mode=monitor
PollIntervalSec=500ms
CONF

# A value only the namespace has, so that cat-config proves it read the namespace's sysctls.
key=net.netfilter.nf_conntrack_tcp_timeout_established
host_value=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)
value=1234
[ "$host_value" != "$value" ] || value=4321
ns_sysctl_write "$key" "$value" || fail "cannot write $key in the namespace"
assert_eq "$value" "$(ns_sysctl_read "$key")" "$key in the namespace"
assert_eq "$host_value" "$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)" \
        "$key on the host"

# ---- check-config ----
ctguard_cmd check-config >"$TEST_TMP/out" 2>"$TEST_TMP/err"
assert_eq 0 "$?" "check-config exit status"
assert_file_contains "$TEST_TMP/out" "configuration OK"

printf '[Guard]\nPollIntervalSec=forever\n' |
        ctguard_write_config etc/ctguard/ctguard.conf.d/50-broken.conf
ctguard_cmd check-config >"$TEST_TMP/out" 2>"$TEST_TMP/err"
assert_eq 78 "$?" "check-config exit status with a broken drop-in"
assert_file_contains "$TEST_TMP/err" "$broken:2:" "check-config errors"
assert_file_lacks "$TEST_TMP/out" "configuration OK"
rm -f "$broken"

# ---- cat-config ----
ctguard_cmd cat-config >"$TEST_TMP/out" 2>"$TEST_TMP/err"
assert_eq 0 "$?" "cat-config exit status"
assert_file_contains "$TEST_TMP/out" "Mode=monitor" "cat-config"
assert_file_contains "$TEST_TMP/out" "$main_conf:2" "cat-config origin of Mode"
assert_file_contains "$TEST_TMP/out" "PollIntervalSec=500ms" "cat-config"
grep -E "nf_conntrack_tcp_timeout_established=$value( |;|$)" "$TEST_TMP/out" >/dev/null ||
        fail "cat-config does not show the namespace's $key=$value"

# ---- run ----
start_ctguard --log-level=info
wait_for_log 10 "ctguard: [config-loaded]"
ctguard_running || fail "ctguard exited after loading its configuration"
assert_eq "$NS_INODE" "$(stat -L -c '%d:%i' "/proc/$CTG_PID/ns/net")" "the daemon's namespace"

# A broken drop-in on reload: rejected with its FILE:LINE, the daemon keeps running.
printf '[Guard]\nMode=monitor\n\n[Conntrack]\nWarnPercent=250\n' |
        ctguard_write_config etc/ctguard/ctguard.conf.d/50-broken.conf
ctguard_signal HUP
wait_for_log 10 "ctguard: [config-rejected]"
wait_for_log 10 "$broken:5:"
ctguard_running || fail "ctguard exited on a broken drop-in"
assert_eq 1 "$(log_lines "ctguard: [config-loaded]")" \
        "config-loaded events after the rejected reload"

# Until now the key is not assigned: followed, left as it is.
assert_eq "$value" "$(ns_sysctl_read "$key")" "$key before the reload"

# Repaired: the next reload is taken, and what it says is done: enforce, and own the key.
want=$(( value + 1 ))
printf '[Guard]\nMode=enforce\n\n[Sysctl]\n%s=%s\n\n[Conntrack]\nWarnPercent=70\n' \
        "$key" "$want" | ctguard_write_config etc/ctguard/ctguard.conf.d/50-broken.conf
ctguard_signal HUP
wait_until 10 log_lines_are "ctguard: [config-loaded]" 2 ||
        fail "ctguard did not reload the repaired configuration"
ctguard_running || fail "ctguard exited after a reload"
assert_eq 1 "$(log_lines "Configuration reloaded: mode enforce, 1 sysctl(s) guarded")" \
        "the reloaded mode and sysctls"
# shellcheck disable=SC2317 # called through wait_until
value_is() { [ "$(ns_sysctl_read "$key")" = "$1" ]; }
wait_until 10 value_is "$want" || fail "$key is $(ns_sysctl_read "$key") after the reload, want $want"
wait_for_log 5 "ctguard: [sysctl-restored] Restored $key: $value -> $want"

stop_ctguard TERM 10
assert_eq 0 "$CTG_STATUS" "exit status after SIGTERM"
assert_eq 1 "$(log_lines "ctguard: [config-rejected]")" "config-rejected events"

exit 0
