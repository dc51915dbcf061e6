# SPDX-License-Identifier: GPL-2.0-or-later
# ctguard.service under systemd, with udevd running: a module unloaded comes back, and the
# journal has the events with their fields; a hold survives a restart of the service; a failed
# load carries its errno.

# event_has EVENT FIELD=VALUE...: the journal has EVENT with those fields (this boot).
event_has() {
        _ev=$1
        shift
        journalctl -b -o export "CTGUARD_EVENT=$_ev" "$@" 2> /dev/null | grep -q "^CTGUARD_EVENT=$_ev$"
}
field_of() {
        journalctl -b -o export "CTGUARD_EVENT=$1" "CTGUARD_MODULE=$2" 2> /dev/null |
                sed -n "s/^$3=//p" | tail -n 1
}

chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
mkdir -p /etc/ctguard/ctguard.conf.d
printf '[Guard]\nPollIntervalSec=1s\n' > /etc/ctguard/ctguard.conf.d/50-vmtest.conf

step "the service starts and finds the chain"
assert_ok systemctl is-active systemd-udevd.service
# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
assert_ok systemctl start ctguard.service
wait_until 60 event_has module-chain-present

step "nf_nat unloaded: back, with a module-reloaded event and its latency"
assert_ok rmmod nf_nat
wait_until 30 live nf_nat
wait_until 30 event_has module-reloaded CTGUARD_MODULE=nf_nat
latency=$(field_of module-reloaded nf_nat CTGUARD_LATENCY_USEC)
assert_ok test -n "$latency"
echo "heal latency: ${latency}us"
assert_eq "$(field_of module-reloaded nf_nat PRIORITY)" 5 "module-reloaded priority"

step "a hold survives a restart of the service"
assert_ok ctguard hold --reason "vm journal test"
wait_until 30 event_has held CTGUARD_REASON="vm journal test"
n=$(journalctl -b -o cat CTGUARD_EVENT=held | grep -c .)
assert_ok systemctl restart ctguard.service
wait_until 30 sh -c "[ \$(journalctl -b -o cat CTGUARD_EVENT=held | grep -c .) -gt $n ]"
assert_ok rmmod nf_nat
wait_until 30 event_has module-missing CTGUARD_MODULE=nf_nat
assert_fail live nf_nat
assert_ok ctguard release
wait_until 30 live nf_nat

step "a failed load carries its errno"
ko=$(modinfo -n nf_nat)
assert_ok mv "$ko" /root/nf_nat.ko.away
assert_ok rmmod nf_nat
wait_until 30 event_has module-load-failed CTGUARD_MODULE=nf_nat
assert_eq "$(field_of module-load-failed nf_nat CTGUARD_ERRNO)" 2 "errno"
assert_eq "$(field_of module-load-failed nf_nat PRIORITY)" 3 "module-load-failed priority"
assert_ok mv /root/nf_nat.ko.away "$ko"
wait_until 30 live nf_nat
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
