# SPDX-License-Identifier: GPL-2.0-or-later
# Something keeps unloading the chain: after ReloadBurst heals within ReloadIntervalSec, the
# next one trips the flap guard (module-flapping, crit) and healing stops; "ctguard release"
# and a configuration reload each start it again.

log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

logged() { grep -qF -- "$1" "$log"; }
count() { grep -cF -- "$1" "$log"; }
count_is_at_least() { [ "$(count "$1")" -ge "$2" ]; }

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=200ms

[Modules]
Ensure=$chain
ReloadBurst=2
ReloadIntervalSec=10min
CONF

# shellcheck disable=SC2086 # a list of names

assert_ok modprobe -a $chain
ctguard --config "$conf" run 2> "$log" &
pid=$!
wait_until 30 logged "[module-chain-present]"

step "two heals are within the burst"
for i in 1 2; do
        assert_ok rmmod nf_nat
        wait_until 20 count_is_at_least "[module-reloaded] Module nf_nat" "$i"
        wait_until 10 live nf_nat
done
assert_eq "$(count "[module-flapping]")" 0 "flapping reports"

step "the third trips the flap guard"
assert_ok rmmod nf_nat
wait_until 20 logged "[module-flapping]"
wait_until 10 live nf_nat
assert_contains "$(grep -F '[module-flapping]' "$log")" "more than 2 times within 10min"

step "now nothing is healed"
assert_ok rmmod nf_nat
wait_until 20 logged "[module-missing] Module nf_nat is not loaded; the flap guard is tripped, not loading it."
assert_fail live nf_nat
assert_eq "$(count "[module-reloaded]")" 3 "reloads"
# The check woken by the tripping heal's own module finds nothing missing: no end of the window.
assert_eq "$(count "The flap guard window has passed")" 0 "window-passed lines while tripped"

step "ctguard release clears it"
assert_ok ctguard release
wait_until 20 live nf_nat
assert_eq "$(count "[module-reloaded]")" 4 "reloads"

step "tripped again, a configuration reload clears it too"
# The heal after the release was the first of a new window: two more trip it.
for i in 1 2; do
        assert_ok rmmod nf_nat
        wait_until 20 live nf_nat
done
wait_until 20 count_is_at_least "[module-flapping]" 2
assert_ok rmmod nf_nat
wait_until 20 count_is_at_least "[module-missing] Module nf_nat" 2
assert_fail live nf_nat
assert_ok kill -HUP "$pid"
wait_until 20 live nf_nat

assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
cat "$log"
