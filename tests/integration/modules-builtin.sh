#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The module guard on the running kernel, in a namespace: the daemon and "repair --dry-run"
# find the conntrack chain present (built in on a kernel without loadable netfilter modules,
# loaded on one with them), skip the names this kernel does not have, load nothing and log
# nothing at warning priority or above. Only module state is read; sysctls are written in the namespace only.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup

chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

# Every module of the chain must be in this kernel, one way or another, for the test to mean
# anything: built in (a /sys/module dir without initstate, or none at all) or loaded (live).
for m in $chain; do
        if [ -e "/sys/module/$m/initstate" ]; then
                [ "$(cat "/sys/module/$m/initstate")" = live ] || skip "$m is not live here"
        fi
done
# Built in is what this test is about: without any loadable module support, or with the
# chain compiled in, nothing may be reported missing.
kind=builtin
for m in $chain; do
        [ -e "/sys/module/$m/initstate" ] && kind=loaded
done
info "the chain is $kind on this kernel"

ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Guard]
PollIntervalSec=200ms

# One assignment, so that no snapshot is taken: this test judges the module guard, and the
# snapshot's keys that are read-only in a namespace are the sysctl guard's business.
[Sysctl]
net.netfilter.nf_conntrack_tcp_timeout_established=432000

[Modules]
# The legacy names are merged into nf_conntrack and nf_nat on every kernel since 5.1.
Ensure=nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack_ipv4 nf_conntrack nf_nat nf_nat_ipv6
CONF

# ---- repair --dry-run ----
ctguard_cmd repair --dry-run >"$TEST_TMP/out" 2>"$TEST_TMP/err"
rc=$?
cat "$TEST_TMP/out" >&2
assert_eq 0 "$rc" "repair --dry-run exit status"
for m in $chain; do
        if [ "$kind" = builtin ]; then
                grep -qE "^  $m +present, built in" "$TEST_TMP/out" ||
                        fail "repair --dry-run does not report $m present and built in"
        else
                grep -qE "^  $m +present, " "$TEST_TMP/out" ||
                        fail "repair --dry-run does not report $m present"
        fi
done
grep -qE "^  nf_conntrack_ipv4 +skipped: " "$TEST_TMP/out" || fail "nf_conntrack_ipv4 not skipped"
grep -qE "^  nf_nat_ipv6 +skipped: " "$TEST_TMP/out" || fail "nf_nat_ipv6 not skipped"
assert_file_contains "$TEST_TMP/out" "Module chain present, nothing to load."
assert_file_lacks "$TEST_TMP/out" "would load"
[ ! -s "$TEST_TMP/err" ] || fail "repair --dry-run wrote to stderr: $(cat "$TEST_TMP/err")"

# ---- the daemon ----
start_ctguard --log-level=info
wait_for_log 10 "ctguard: [module-chain-present]"
ctguard_running || fail "ctguard exited"
for m in $chain; do
        if [ "$kind" = builtin ]; then
                grep -F "[module-chain-present]" "$CTG_LOG" | grep -qE "$m \(built in" ||
                        fail "the daemon does not report $m built in"
        fi
done
assert_file_contains "$CTG_LOG" "[module-skipped] Module nf_conntrack_ipv4"
assert_file_contains "$CTG_LOG" "[module-skipped] Module nf_nat_ipv6"

# More sweeps, without guessing how long they take: every tick reads the hold file before it
# looks at the modules, so a hold and a release seen mean at least one whole sweep in between.
ctguard_cmd hold --for 1h --reason "integration test" >/dev/null || fail "ctguard hold"
wait_for_log 10 "ctguard: [held]"
ctguard_cmd release >/dev/null || fail "ctguard release"
wait_for_log 10 "ctguard: [released]"
ctguard_running || fail "ctguard exited"
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "ctguard exit status"

for e in module-reloaded module-load-failed module-missing module-blocked module-flapping; do
        assert_file_lacks "$CTG_LOG" "[$e]" "the daemon's log"
done
info "ok: $(grep -c . "$CTG_LOG") log lines at info and above"

# ---- nothing at warning or above ----
# Outside systemd the daemon writes plain lines to stderr, so the priority of a line is judged
# by the daemon itself: with --log-level=warning it writes exactly the messages at warning or
# above, and must write none. What it did meanwhile is read from the state it publishes, which
# keeps every event whatever the log level. If a line ever carries a level token
# ("<time> <level> ..."), that only shows what went wrong.
state="$CTG_ROOT/run/ctguard/state"
rm -f "$state"
start_ctguard --log-level=warning
published() { [ -f "$state" ] && grep -qF "module-chain-present" "$state"; }
wait_until 10 published || fail "the daemon did not publish module-chain-present"
# Sweeps past the first, as above: the hold and its release are events in the state too.
ctguard_cmd hold --for 1h --reason "integration test" >/dev/null || fail "ctguard hold"
held_seen() { grep -qF '"held"' "$state" || grep -qE '(^|[^a-z])held([^a-z]|$)' "$state"; }
wait_until 10 held_seen || fail "the daemon did not publish the hold"
ctguard_cmd release >/dev/null || fail "ctguard release"
released_seen() { grep -qF "released" "$state"; }
wait_until 10 released_seen || fail "the daemon did not publish the release"
ctguard_running || fail "ctguard exited"
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "ctguard exit status"
if [ -s "$CTG_LOG" ]; then
        cat "$CTG_LOG" >&2
        fail "the daemon logged $(grep -c . "$CTG_LOG") line(s) at warning or above"
fi
info "ok: nothing at warning or above"
