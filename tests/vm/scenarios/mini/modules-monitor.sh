# SPDX-License-Identifier: GPL-2.0-or-later
# Monitor mode reports a missing module and loads nothing; switched to enforce by a reload, the
# daemon heals it.

log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

logged() { grep -qF -- "$1" "$log"; }
count() { grep -cF -- "$1" "$log"; }

printf '[Guard]\nMode=monitor\nPollIntervalSec=200ms\n\n[Modules]\nEnsure=%s\n' "$chain" > "$conf"
# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
ctguard --config "$conf" run 2> "$log" &
pid=$!
wait_until 30 logged "[module-chain-present]"

step "monitor: reported once, not loaded"
assert_ok rmmod nf_nat
wait_until 20 logged "[module-missing] Module nf_nat is not loaded; monitor mode, not loading it."
assert_ok ctguard hold
wait_until 10 logged "[held]"
assert_ok ctguard release
wait_until 10 logged "[released]"
assert_fail live nf_nat
assert_eq "$(count "[module-missing]")" 1 "module-missing reports"
assert_eq "$(count "[module-reloaded]")" 0 "reloads"

step "enforce after a reload: healed"
printf '[Guard]\nMode=enforce\nPollIntervalSec=200ms\n\n[Modules]\nEnsure=%s\n' "$chain" > "$conf"
assert_ok kill -HUP "$pid"
wait_until 20 live nf_nat
wait_until 10 logged "[module-reloaded] Module nf_nat loaded again."

assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
cat "$log"
