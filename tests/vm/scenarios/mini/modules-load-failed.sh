# SPDX-License-Identifier: GPL-2.0-or-later
# A module whose file has gone: the load fails with ENOENT, is retried with growing delays
# (1s, 2s, ...) and reported once (the retries that fail the same way are debug lines), the
# daemon stays up, and the module is back once the file is.

log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

logged() { grep -qF -- "$1" "$log"; }
count() { grep -cF -- "$1" "$log"; }
count_is_at_least() { [ "$(count "$1")" -ge "$2" ]; }

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=1s

[Modules]
Ensure=$chain
CONF

step "the daemon guards the loaded chain"
# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
ctguard --config "$conf" --log-level=debug run 2> "$log" &
pid=$!
wait_until 30 logged "[module-chain-present]"

step "nf_nat's file goes away, then nf_nat does"
ko=$(modinfo -n nf_nat)
assert_ok test -f "$ko"
assert_ok mv "$ko" /tmp/nf_nat.ko.away
assert_ok rmmod nf_nat
wait_until 20 logged "[module-load-failed] Failed to load module nf_nat: No such file or directory. Retrying in 1s."
wait_until 20 logged "Failed to load module nf_nat again: No such file or directory. Retrying in 2s."
wait_until 20 logged "Failed to load module nf_nat again: No such file or directory. Retrying in 4s."
assert_ok kill -0 "$pid"
assert_fail live nf_nat
# The rest of the chain is untouched.
for m in nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack; do
        assert_ok live "$m"
done
failures=$(count "[module-load-failed]")
assert_eq "$failures" 1 "module-load-failed events before the 8s retry (once per module and error)"

step "the file is back: healed at the next retry"
assert_ok mv /tmp/nf_nat.ko.away "$ko"
wait_until 30 live nf_nat
wait_until 10 logged "[module-reloaded] Module nf_nat loaded again."
assert_ok kill -0 "$pid"

step "a new loss starts the backoff over"
assert_ok mv "$ko" /tmp/nf_nat.ko.away
assert_ok rmmod nf_nat
wait_until 20 count_is_at_least "[module-load-failed]" $((failures + 1))
assert_contains "$(grep -F '[module-load-failed]' "$log" | tail -n 1)" "Retrying in 1s."
assert_ok mv /tmp/nf_nat.ko.away "$ko"
wait_until 30 live nf_nat

assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
cat "$log"
