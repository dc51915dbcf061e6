# SPDX-License-Identifier: GPL-2.0-or-later
# A hold taken before the daemon starts is in force when it starts (it survives restarts): a
# module that goes is reported and not loaded; when the hold runs out by itself, it is.

log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

logged() { grep -qF -- "$1" "$log"; }
count() { grep -cF -- "$1" "$log"; }

printf '[Guard]\nPollIntervalSec=500ms\n\n[Modules]\nEnsure=%s\n' "$chain" > "$conf"
# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain

step "held before the daemon starts"
assert_ok ctguard hold --for 15s --reason "maintenance window"
assert_ok test -f /run/ctguard/hold
ctguard --config "$conf" run 2> "$log" &
pid=$!
wait_until 30 logged "[held] On hold (maintenance window), for another 1"

step "nothing is healed while held, but it is reported"
assert_ok rmmod nf_nat
wait_until 20 logged "[module-missing] Module nf_nat is not loaded; on hold, not loading it."
assert_fail live nf_nat
assert_eq "$(count "[module-reloaded]")" 0 "reloads while held"

step "the hold runs out: healed"
wait_until 30 logged "[hold-expired]"
wait_until 10 live nf_nat
wait_until 10 logged "[module-reloaded] Module nf_nat loaded again."

step "repair refuses while held, unless told"
assert_ok ctguard hold --reason again
assert_ok rmmod nf_nat
wait_until 20 logged "[module-missing] Module nf_nat is not loaded; on hold, not loading it."
assert_fail ctguard --config "$conf" repair
assert_fail live nf_nat
out=$(ctguard --config "$conf" repair --dry-run)
assert_contains "$out" "nf_nat             missing, would load: nf_nat"
assert_fail live nf_nat
out=$(ctguard --config "$conf" repair --ignore-hold)
assert_contains "$out" "nf_nat             loaded"
assert_ok live nf_nat
assert_ok ctguard release

assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
cat "$log"
