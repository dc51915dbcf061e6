#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The sysctl guard against the real kernel, in a network namespace of its own:
#  - a changed net.netfilter.nf_conntrack_tcp_timeout_established is restored and reported
#    (sysctl-restored with the old and new value), with the file watches and by polling alone;
#  - nf_conntrack_max, read-only inside a namespace, is reported once (sysctl-readonly) and
#    not retried; a key no kernel has is reported once (sysctl-unavailable);
#  - a key that appears later (an interface's forwarding switch) is set when it appears;
#  - something that keeps setting the key back is reported as a fight after five restores,
#    then left alone; a reload guards the key again;
#  - with [Sysctl] empty, the netfilter keys are followed: a foreign write to a timeout is kept
#    and reported once (sysctl-adopted), read-only nf_conntrack_max produces no line at all,
#    ip_forward is not touched; assigning one key owns it (restored) while the others stay
#    followed, and a reload that drops the assignment follows it from its current value.
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

# ---- [Sysctl] empty: the netfilter keys are followed, not guarded ----
fkey=net.netfilter.nf_conntrack_udp_timeout
ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
PollIntervalSec=200ms
CONF
fwd_before=$(ns_sysctl_read net.ipv4.ip_forward) || fail "cannot read ip_forward"
fvalue=$(ns_sysctl_read "$fkey") || fail "cannot read $fkey"
# A first start: nothing a previous run followed (its state file) is carried over.
rm -f "$CTG_ROOT/run/ctguard/state"
start_ctguard --log-level=debug
# The first look at a followed key says nothing above debug: that line is the sign it was seen.
wait_for_log 10 "Following $fkey, now $fvalue."
ns_sysctl_write "$fkey" $(( fvalue + 11 )) || fail "cannot write $fkey"
wait_for_log 5 "ctguard: [sysctl-adopted] $fkey was set to $(( fvalue + 11 )) (was $fvalue)"
ns_sysctl_write net.ipv4.ip_forward $(( 1 - fwd_before )) || fail "cannot write ip_forward"
# Two more ticks, and a second write of the same key, which is one more change.
ns_sysctl_write "$fkey" $(( fvalue + 12 )) || fail "cannot write $fkey"
wait_for_log 5 "ctguard: [sysctl-adopted] $fkey was set to $(( fvalue + 12 )) (was $(( fvalue + 11 )))"
other_key=net.netfilter.nf_conntrack_tcp_timeout_close
ns_sysctl_write "$other_key" 11 || fail "cannot write $other_key"
wait_for_log 5 "ctguard: [sysctl-adopted] $other_key was set to 11"
assert_eq $(( fvalue + 12 )) "$(ns_sysctl_read "$fkey")" "$fkey after foreign writes"
assert_eq 1 "$(log_lines "[sysctl-adopted] $fkey was set to $(( fvalue + 12 ))")" \
        "adopted events for one change"
assert_eq 3 "$(log_lines "[sysctl-adopted]")" "adopted events"
assert_eq $(( 1 - fwd_before )) "$(ns_sysctl_read net.ipv4.ip_forward)" "ip_forward"
assert_eq 0 "$(log_lines "[sysctl-restored]")" "restores with nothing assigned"
# Read-only in the namespace: not followed, and not a word about it.
assert_eq 0 "$(log_lines "nf_conntrack_max")" "lines about read-only nf_conntrack_max"
assert_eq 0 "$(log_lines "nf_conntrack_buckets")" "lines about read-only nf_conntrack_buckets"
assert_eq 0 "$(log_lines "[sysctl-readonly]")" "read-only reports"
ns_sysctl_write net.ipv4.ip_forward "$fwd_before" || fail "cannot write ip_forward"

# ---- one key assigned: owned and restored, the others still followed ----
ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Guard]
PollIntervalSec=200ms

[Sysctl]
$key=7200
CONF
ctguard_signal HUP
wait_until 10 log_lines_are "ctguard: [config-loaded]" 2 || fail "ctguard did not reload"
wait_until 5 value_is "$key" 7200 || fail "$key was not set after the reload"
ns_sysctl_write "$key" 102 || fail "cannot write $key"
wait_for_log 5 "ctguard: [sysctl-restored] Restored $key: 102 -> 7200"
ns_sysctl_write "$fkey" $(( fvalue + 13 )) || fail "cannot write $fkey"
wait_for_log 5 "ctguard: [sysctl-adopted] $fkey was set to $(( fvalue + 13 ))"
assert_eq $(( fvalue + 13 )) "$(ns_sysctl_read "$fkey")" "$fkey, followed next to an owned key"

# ---- the assignment dropped: followed from what it holds, nothing stale put back ----
ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
PollIntervalSec=200ms
CONF
ctguard_signal HUP
wait_until 10 log_lines_are "ctguard: [config-loaded]" 3 || fail "ctguard did not reload"
# The first run with nothing assigned followed it from 7200 too: this is the second time.
wait_until 5 log_lines_are "Following $key, now 7200." 2 || fail "$key is not followed after the reload"
ns_sysctl_write "$key" 103 || fail "cannot write $key"
wait_for_log 5 "ctguard: [sysctl-adopted] $key was set to 103 (was 7200)"
assert_eq 103 "$(ns_sysctl_read "$key")" "$key after the assignment was dropped"
assert_eq 0 "$(log_lines "[sysctl-readonly]")" "read-only reports"
stop_ctguard TERM 10
assert_eq 0 "$CTG_STATUS" "exit status after SIGTERM"

# ---- a restart of the daemon keeps what it followed (from its state file) ----
# Changed while no daemon ran: the new run knows the old value, so this is a change it adopts.
ns_sysctl_write "$key" 104 || fail "cannot write $key"
start_ctguard --log-level=debug
wait_for_log 5 "ctguard: [sysctl-adopted] $key was set to 104 (was 103)"
wait_for_log 10 "[config-loaded]"
# shellcheck disable=SC2317 # called through wait_until
followed_in_status() {
        ctguard_cmd status --json >"$TEST_TMP/json" 2>/dev/null
        python3 - "$TEST_TMP/json" "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = [s for s in d["sysctls"] if s["key"] == sys.argv[2]]
sys.exit(0 if rows and not rows[0]["owned"] and rows[0]["desired"] == sys.argv[3] else 1)
PY
}
wait_until 5 followed_in_status "$key" 104 || fail "$key is not followed at 104 after a restart: $(cat "$TEST_TMP/json")"
ns_sysctl_write "$fkey" $(( fvalue + 14 )) || fail "cannot write $fkey"
wait_for_log 5 "ctguard: [sysctl-adopted] $fkey was set to $(( fvalue + 14 )) (was $(( fvalue + 13 )))"
assert_eq 2 "$(log_lines "[sysctl-adopted]")" "adopted events after a restart"
stop_ctguard TERM 10
assert_eq 0 "$CTG_STATUS" "exit status after SIGTERM"

# ---- the host was never touched ----
assert_eq "$host_timeout" "$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)" \
        "$key on the host"
assert_eq "$host_max" "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" \
        "nf_conntrack_max on the host"
[ -e "/proc/sys/net/ipv4/conf/$fwd_if" ] && fail "$fwd_if appeared on the host"

exit 0
