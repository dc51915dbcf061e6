# SPDX-License-Identifier: GPL-2.0-or-later
# modprobe.d has the last word: a blacklisted module, or one given an install command, is not
# loaded by ctguard (and no command runs); it is reported once, and healed once modprobe.d
# lets it be. A blacklisted dependency blocks nothing, as with modprobe.

log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

logged() { grep -qF -- "$1" "$log"; }
count() { grep -cF -- "$1" "$log"; }

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=200ms

[Modules]
Ensure=$chain
CONF

mkdir -p /etc/modprobe.d
# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
ctguard --config "$conf" run 2> "$log" &
pid=$!
wait_until 30 logged "[module-chain-present]"

step "blacklisted: reported once, not loaded"
echo "blacklist nf_nat" > /etc/modprobe.d/ctguard-test.conf
assert_ok rmmod nf_nat
wait_until 20 logged "[module-blocked] Module nf_nat is missing and not loaded: it is blacklisted in modprobe.d."
# Ticks pass (a hold and a release are each seen by one), nothing changes.
assert_ok ctguard hold
wait_until 10 logged "[held]"
assert_ok ctguard release
wait_until 10 logged "[released]"
assert_fail live nf_nat
assert_eq "$(count "[module-blocked]")" 1 "module-blocked reports"
assert_eq "$(count "[module-reloaded]")" 0 "reloads"

step "an install command instead: reported, never run"
echo "install nf_nat /bin/touch /tmp/install-ran" > /etc/modprobe.d/ctguard-test.conf
wait_until 20 logged "it has an install command (ctguard runs no commands) in modprobe.d."
assert_fail test -e /tmp/install-ran
assert_fail live nf_nat

step "modprobe.d allows it again: healed"
rm /etc/modprobe.d/ctguard-test.conf
wait_until 20 live nf_nat
wait_until 10 logged "[module-reloaded] Module nf_nat loaded again."
assert_fail test -e /tmp/install-ran

step "a blacklisted dependency does not block what needs it, as with modprobe"
# modprobe's blacklist applies to the names it is asked for, not to dependencies.
echo "blacklist nf_conntrack" > /etc/modprobe.d/ctguard-test.conf
assert_ok rmmod nf_nat
wait_until 20 live nf_nat
wait_until 10 [ "$(count "[module-reloaded] Module nf_nat loaded again.")" = 2 ]
assert_fail logged "its dependency nf_conntrack is blacklisted"
rm /etc/modprobe.d/ctguard-test.conf

assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
cat "$log"
