#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The sysctl guard against the real kernel, in a network namespace of its own:
#  - a changed net.netfilter.nf_conntrack_tcp_timeout_established is restored and reported
#    (sysctl-restored with the old and new value), with the file watches and by polling alone;
#  - nf_conntrack_max, read-only inside a namespace, is reported once (sysctl-readonly) and
#    not retried; a key no kernel has is reported once (sysctl-unavailable);
#  - a key that appears later (an interface's forwarding switch) is set when it appears;
#  - something that keeps setting the key back is reported as a fight after five restores,
#    then left alone; a reload guards the key again.
# The host's own values are compared before and after.

# shellcheck disable=SC2119 # start_ctguard and stop_ctguard take options, not this script's
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup
require_cmd ip

key=net.netfilter.nf_conntrack_tcp_timeout_established
fwd_if=ctg-veth0
fwd_key=net.ipv4.conf.$fwd_if.forwarding

host_timeout=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)
host_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)

ns_max=$(ns_sysctl_read net.netfilter.nf_conntrack_max) || fail "cannot read nf_conntrack_max"
want_max=$(( ns_max > 1024 ? ns_max / 2 : ns_max + 1024 ))
[ -e "/proc/sys/net/ipv4/conf/$fwd_if" ] && skip "the host has an interface named $fwd_if"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Sysctl]
$key=7200
net.netfilter.nf_conntrack_max=$want_max
net.netfilter.nf_conntrack_enable=1
$fwd_key=1
CONF

log_lines() {
        grep -cF -- "$1" "$CTG_LOG"
}

# shellcheck disable=SC2317 # called through wait_until
value_is() {
        [ "$(ns_sysctl_read "$1")" = "$2" ]
}

# shellcheck disable=SC2317
log_lines_are() {
        [ "$(log_lines "$1")" = "$2" ]
}

# ---- start: the configured value replaces the kernel's ----
start_ctguard
wait_for_log 10 "ctguard: [sysctl-restored] Restored $key: "
assert_eq "$NS_INODE" "$(stat -L -c '%d:%i' "/proc/$CTG_PID/ns/net")" "the daemon's namespace"
wait_until 5 value_is "$key" 7200 || fail "$key is $(ns_sysctl_read "$key"), not 7200"
wait_for_log 10 "ctguard: [sysctl-readonly] net.netfilter.nf_conntrack_max is read-only here"
wait_for_log 10 "ctguard: [sysctl-unavailable] net.netfilter.nf_conntrack_enable does not exist"
wait_for_log 10 "ctguard: [sysctl-unavailable] $fwd_key does not exist"

# ---- a change is restored, seen through the file watch ----
ns_sysctl_write "$key" 101 || fail "cannot write $key"
wait_until 5 value_is "$key" 7200 || fail "$key was not restored (is $(ns_sysctl_read "$key"))"
wait_for_log 5 "ctguard: [sysctl-restored] Restored $key: 101 -> 7200"

# ---- a fight: something writes 100 every 50ms ----
# It stops when told to through a file: a background function is a subshell, and a signal to it
# would not reach the loop in the namespace.
# shellcheck disable=SC2016 # expanded by the inner shell
ns_exec sh -c 'while [ ! -e "$1" ]; do
        echo 100 > /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established
        sleep 0.05
done' sh "$TEST_TMP/stop-fighter" &
fighter=$!
wait_for_log 20 "ctguard: [sysctl-fight] $key keeps changing: set to 100 again after 5 restores"
touch "$TEST_TMP/stop-fighter"
wait "$fighter" || fail "the fighting loop failed"
# Five restores within the minute: the one of 101 above, and four of the fighter's 100.
fought=$(log_lines "Restored $key: 100 -> 7200")
assert_eq 4 "$fought" "restores of the fighter's value before the fight"
assert_eq 1 "$(log_lines "[sysctl-fight]")" "fight events"

# ---- a key that appears later; its tick also proves the fought key is left alone ----
ns_exec ip link add "$fwd_if" type veth peer name ctg-veth1 || fail "cannot add a veth pair"
wait_for_log 10 "ctguard: [sysctl-available] $fwd_key appeared"
wait_for_log 10 "ctguard: [sysctl-restored] Restored $fwd_key: 0 -> 1"
assert_eq 1 "$(ns_sysctl_read "$fwd_key")" "$fwd_key"
assert_eq 100 "$(ns_sysctl_read "$key")" "$key during the fight window"
assert_eq "$fought" "$(log_lines "Restored $key: 100 -> 7200")" "restores during the fight window"

# ---- a reload ends the fight ----
ctguard_signal HUP
wait_until 10 log_lines_are "ctguard: [config-loaded]" 2 || fail "ctguard did not reload"
wait_until 10 value_is "$key" 7200 || fail "$key was not restored after the reload"
wait_until 5 log_lines_are "Restored $key: 100 -> 7200" $((fought + 1)) ||
        fail "no restore logged after the reload"

# A reload starts a new episode: one more report each, in the first tick after it.
wait_until 5 log_lines_are "[sysctl-readonly] net.netfilter.nf_conntrack_max" 2 ||
        fail "read-only reports: $(log_lines "[sysctl-readonly]"), want 2"
wait_until 5 log_lines_are "[sysctl-unavailable] net.netfilter.nf_conntrack_enable" 2 ||
        fail "unavailable reports: $(log_lines "[sysctl-unavailable] net.netfilter"), want 2"
assert_eq 0 "$(log_lines "[sysctl-failed]")" "failures"
stop_ctguard TERM 10
assert_eq 0 "$CTG_STATUS" "exit status after SIGTERM"

# ---- by polling alone (no file watches): restored within a poll interval or two ----
export CTGUARD_SYSCTL_WATCH=0
ns_sysctl_write "$key" 300 || fail "cannot write $key"
start_ctguard
wait_for_log 10 "ctguard: [sysctl-restored] Restored $key: 300 -> 7200"
wait_for_log 10 "ctguard: [sysctl-readonly] net.netfilter.nf_conntrack_max"
ns_sysctl_write "$key" 301 || fail "cannot write $key"
wait_until 5 value_is "$key" 7200 || fail "$key was not restored by polling"
wait_for_log 5 "ctguard: [sysctl-restored] Restored $key: 301 -> 7200"
# At least two ticks have passed since the read-only report: still reported only once.
ns_sysctl_write "$key" 302 || fail "cannot write $key"
wait_for_log 5 "ctguard: [sysctl-restored] Restored $key: 302 -> 7200"
assert_eq 1 "$(log_lines "[sysctl-readonly]")" "read-only reports while polling"
assert_eq 1 "$(log_lines "[sysctl-unavailable]")" "unavailable reports while polling"
stop_ctguard TERM 10
assert_eq 0 "$CTG_STATUS" "exit status after SIGTERM"
unset CTGUARD_SYSCTL_WATCH

# ---- the host was never touched ----
assert_eq "$host_timeout" "$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)" \
        "$key on the host"
assert_eq "$host_max" "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" \
        "nf_conntrack_max on the host"
[ -e "/proc/sys/net/ipv4/conf/$fwd_if" ] && fail "$fwd_if appeared on the host"

exit 0
