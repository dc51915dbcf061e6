# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit, with the shipped configuration (no [Sysctl]): ctguard follows the
# netfilter sysctls and owns nothing. What is set after start (dockerd's ip_forward,
# kube-proxy's nf_conntrack_max) stays and is logged as sysctl-adopted, never restored; after
# the chain is unloaded and healed, nf_conntrack_max is put back to the value it was set to.

# count EVENT [FIELD=VALUE...]: how often ctguard.service logged EVENT with those fields.
count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
seen() { [ "$(count "$@")" -gt 0 ]; }
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
# followed: the STATUS= line counts the followed keys among the ones ok, so they were looked at.
followed() {
        systemctl show -P StatusText ctguard.service | grep -q 'sysctls ok [1-9][0-9]*/'
}
key=net.netfilter.nf_conntrack_max
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

step "the chain is loaded before ctguard starts"
# shellcheck disable=SC2086 # a list of modules
assert_ok modprobe -a $chain
max=$(sysctl -n $key)
assert_ok test "$max" -gt 1000
assert_ok test "$max" != 200000
assert_ok sysctl -q -w net.ipv4.ip_forward=0
assert_ok systemctl start ctguard.service
wait_until 30 seen config-loaded
wait_until 30 followed
# A followed value is listed commented out: the configuration assigns nothing.
assert_eq "$(ctguard cat-config | sed -n "s/^#$key=$max *; //p")" followed "origin in cat-config"

step "sysctl -w net.ipv4.ip_forward=1 $key=200000"
assert_ok sysctl -q -w net.ipv4.ip_forward=1 $key=200000
wait_until 10 seen sysctl-adopted CTGUARD_KEY=$key CTGUARD_OLD="$max" CTGUARD_NEW=200000
# The look that adopted it would have restored it: there is nothing to wait for.
assert_eq "$(sysctl -n $key)" 200000 "$key after the write"
assert_eq "$(sysctl -n net.ipv4.ip_forward)" 1 "ip_forward after the write"
assert_eq "$(count sysctl-restored)" 0 "sysctl-restored events"
assert_eq "$(count sysctl-adopted CTGUARD_KEY=$key)" 1 "sysctl-adopted events for $key"
assert_eq "$(count sysctl-adopted CTGUARD_KEY=net.ipv4.ip_forward)" 0 "ip_forward is not followed"
journalctl -u ctguard.service -o cat CTGUARD_EVENT=sysctl-adopted
assert_eq "$(journalctl -u ctguard.service -p warning -o cat)" "" "warnings and worse"

step "modprobe -r the whole chain; ctguard heals it"
# As in e2e-module-reload.sh: the daemon is stopped for the moment of the unload, or it would
# load modules back between modprobe's removals. The kernel's remove events wait in its socket.
pid=$(systemctl show -P MainPID ctguard.service)
assert_ok kill -STOP "$pid"
modprobe -r nf_conntrack_netlink 2> /dev/null
assert_ok modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6
assert_ok gone nf_conntrack
assert_ok kill -CONT "$pid"
for m in $chain; do
        wait_until 30 live "$m"
done
wait_until 30 sysctl_is $key 200000
wait_until 10 seen sysctl-restored CTGUARD_KEY=$key CTGUARD_NEW=200000 CTGUARD_REASON=module-reload
journalctl -u ctguard.service -o cat CTGUARD_EVENT=sysctl-restored
assert_eq "$(sysctl -n net.ipv4.ip_forward)" 1 "ip_forward after the heal"
assert_eq "$(count sysctl-restored CTGUARD_KEY=net.ipv4.ip_forward)" 0 "ip_forward restores"
assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID (no restart)"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
