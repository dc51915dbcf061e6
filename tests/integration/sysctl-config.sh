#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configuration against the real kernel, in a network namespace of its own:
#  - repair --dry-run predicts exactly what repair fails at: nf_conntrack_max is read-only
#    inside a namespace, and both runs count it (the dry run probes without writing); a value
#    of the wrong type is refused by both before anything is touched;
#  - an interface with a capital letter and a VLAN dot (Lan0.100, written
#    net.ipv4.conf.Lan0/100.forwarding as in sysctl.d(5)) is guarded: a change is restored.
# The host's own values are compared before and after.

# shellcheck disable=SC2119 # start_ctguard and stop_ctguard take options, not this script's
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup
require_cmd ip

key=net.netfilter.nf_conntrack_tcp_timeout_established
host_timeout=$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)
host_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)
ns_max=$(ns_sysctl_read net.netfilter.nf_conntrack_max) || fail "cannot read nf_conntrack_max"
want_max=$(( ns_max > 1024 ? ns_max / 2 : ns_max + 1024 ))
ns_timeout=$(ns_sysctl_read "$key") || fail "cannot read $key"
want_timeout=$(( ns_timeout == 7200 ? 7201 : 7200 ))

# ---- repair --dry-run and repair agree ----
ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Modules]
Ensure=
[Sysctl]
$key=$want_timeout
net.netfilter.nf_conntrack_max=$want_max
CONF

dry=$(ctguard_cmd repair --dry-run 2>&1); dry_rc=$?
assert_eq "$ns_timeout" "$(ns_sysctl_read "$key")" "$key after the dry run"
real=$(ctguard_cmd repair 2>&1); real_rc=$?
info "dry run: $dry"
info "real run: $real"
assert_eq 1 "$dry_rc" "repair --dry-run exit status"
assert_eq 1 "$real_rc" "repair exit status"
grep -qF "net.netfilter.nf_conntrack_max: would fail to set $want_max (is $ns_max): read-only here" <<<"$dry" ||
        fail "the dry run does not predict the read-only nf_conntrack_max"
grep -qF "net.netfilter.nf_conntrack_max: failed to set $want_max (is $ns_max): read-only here" <<<"$real" ||
        fail "the real run does not report the read-only nf_conntrack_max"
grep -qF "$key: would set $want_timeout (is $ns_timeout)" <<<"$dry" || fail "dry run: $key"
grep -qF "$key: set $want_timeout (was $ns_timeout)" <<<"$real" || fail "real run: $key"
assert_eq "$(grep 'could not be' <<<"$dry" | grep -o '^[0-9]*')" \
        "$(grep 'could not be' <<<"$real" | grep -o '^[0-9]*')" "failures predicted and found"
assert_eq "$want_timeout" "$(ns_sysctl_read "$key")" "$key after the real run"

# A value of the wrong type: both refuse the configuration (78) and change nothing.
ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Modules]
Ensure=
[Sysctl]
$key=$ns_timeout
net.netfilter.nf_conntrack_tcp_timeout_time_wait=abc
CONF
ctguard_cmd repair --dry-run >/dev/null 2>&1; dry_rc=$?
ctguard_cmd repair >/dev/null 2>&1; real_rc=$?
assert_eq 78 "$dry_rc" "repair --dry-run with a bad value"
assert_eq 78 "$real_rc" "repair with a bad value"
assert_eq "$want_timeout" "$(ns_sysctl_read "$key")" "$key after a refused configuration"

# ---- an interface named with a capital and a VLAN dot ----
# A VLAN needs 8021q; where the kernel lacks it, a veth pair gives the same names (the name is
# what is under test, not the link type).
if ! ns_exec ip link add Lan0 type veth peer name Lan0p 2>/dev/null; then
        skip "cannot create a veth pair in the namespace"
fi
if ! ns_exec ip link add link Lan0 name Lan0.100 type vlan id 100 2>/dev/null; then
        info "no VLAN support here: Lan0.100 is a veth"
        ns_exec ip link add Lan0.100 type veth peer name Lan0q || fail "cannot create Lan0.100"
fi
fwd=net/ipv4/conf/Lan0.100/forwarding
assert_eq 0 "$(ns_sysctl_read "$fwd")" "Lan0.100 forwarding before start"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Modules]
Ensure=
[Sysctl]
net.ipv4.conf.Lan0/100.forwarding=1
net.ipv6.conf.Lan0.forwarding=1
CONF
ctguard_cmd check-config >/dev/null || fail "check-config refuses the interface keys"

# shellcheck disable=SC2317 # called through wait_until
value_is() {
        [ "$(ns_sysctl_read "$1")" = "$2" ]
}

start_ctguard
wait_until 10 value_is "$fwd" 1 || fail "$fwd is $(ns_sysctl_read "$fwd"), not 1"
wait_until 10 value_is net/ipv6/conf/Lan0/forwarding 1 || fail "Lan0's ipv6 forwarding not set"
ns_sysctl_write "$fwd" 0 || fail "cannot write $fwd"
wait_until 10 value_is "$fwd" 1 || fail "$fwd was not restored (is $(ns_sysctl_read "$fwd"))"
wait_for_log 10 "Restored net.ipv4.conf.Lan0/100.forwarding: 0 -> 1"
stop_ctguard

assert_eq "$host_timeout" "$(cat /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established)" "the host's $key"
assert_eq "$host_max" "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" "the host's nf_conntrack_max"
echo "PASS: $_TEST_NAME"
