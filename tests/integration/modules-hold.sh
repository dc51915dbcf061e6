#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The maintenance hold and the one-shot repair, in a namespace: "ctguard hold" keeps the running
# daemon (and one started later) from healing while it still reports, "ctguard release" and
# expiry end it, "repair" heals drifted sysctls once, refuses while held, and exits non-zero for
# what it cannot heal.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup

key=net.netfilter.nf_conntrack_tcp_timeout_established
want=4000
drift=1234
hold_file="$CTG_ROOT/run/ctguard/hold"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Guard]
PollIntervalSec=200ms

[Sysctl]
$key=$want
CONF

value_is() {
        [ "$(ns_sysctl_read "$key")" = "$1" ]
}

ns_sysctl_write "$key" "$drift" || fail "cannot write $key in the namespace"

# ---- repair --dry-run changes nothing ----
ctguard_cmd repair --dry-run >"$TEST_TMP/out" 2>&1
assert_eq 0 "$?" "repair --dry-run exit status"
assert_file_contains "$TEST_TMP/out" "$key: would set $want (is $drift)"
value_is "$drift" || fail "repair --dry-run changed $key"

# ---- the hold ----
ctguard_cmd hold --for 0 >/dev/null 2>&1
assert_eq 64 "$?" "hold --for 0"
ctguard_cmd hold --reason "$(printf 'two\nlines')" >/dev/null 2>&1
assert_eq 64 "$?" "hold with a two-line reason"
[ ! -e "$hold_file" ] || fail "a refused hold wrote $hold_file"

ctguard_cmd hold --for 1h --reason "kernel upgrade" >"$TEST_TMP/out" 2>&1
assert_eq 0 "$?" "hold exit status"
assert_file_contains "$TEST_TMP/out" "On hold for 1h"
assert_file_contains "$hold_file" "State=held"
assert_file_contains "$hold_file" "Reason=kernel upgrade"

# repair respects it...
ctguard_cmd repair >"$TEST_TMP/out" 2>&1
assert_eq 1 "$?" "repair while held"
assert_file_contains "$TEST_TMP/out" "on hold (kernel upgrade)"
value_is "$drift" || fail "repair changed $key while held"

# ...and so does a daemon started while it is in force: it reports, it does not heal.
start_ctguard --log-level=info
wait_for_log 10 "ctguard: [held] On hold (kernel upgrade)"
wait_for_log 10 "ctguard: [sysctl-drift]"
ctguard_running || fail "ctguard exited"
value_is "$drift" || fail "the daemon restored $key while held"

# ---- release: healing resumes within a tick ----
ctguard_cmd release >"$TEST_TMP/out" 2>&1
assert_eq 0 "$?" "release exit status"
assert_file_contains "$TEST_TMP/out" "Released"
assert_file_contains "$hold_file" "State=released"
wait_for_log 10 "ctguard: [released]"
wait_until 10 value_is "$want" || fail "$key not restored after the release"

# ---- a hold that runs out ----
ctguard_cmd hold --for 1s >/dev/null || fail "hold --for 1s"
# shellcheck disable=SC2016 # expanded by eval, at each try
wait_until 10 eval '[ "$(grep -cF "ctguard: [held]" "$CTG_LOG")" -ge 2 ]' ||
        fail "the second hold was not reported"
wait_for_log 10 "ctguard: [hold-expired]"
ns_sysctl_write "$key" "$drift" || fail "cannot write $key in the namespace"
wait_until 10 value_is "$want" || fail "$key not restored after the hold expired"
stop_ctguard TERM
assert_eq 0 "$CTG_STATUS" "ctguard exit status"
for e in module-reloaded module-load-failed module-missing module-blocked module-flapping; do
        assert_file_lacks "$CTG_LOG" "[$e]" "the daemon's log (the chain was present throughout)"
done

# ---- repair heals, and says when it cannot ----
ns_sysctl_write "$key" "$drift" || fail "cannot write $key in the namespace"
ctguard_cmd hold --for 1h >/dev/null || fail "hold"
ctguard_cmd repair --ignore-hold >"$TEST_TMP/out" 2>&1
rc=$?
cat "$TEST_TMP/out" >&2
assert_eq 0 "$rc" "repair --ignore-hold exit status"
assert_file_contains "$TEST_TMP/out" "$key: set $want (was $drift)"
assert_file_contains "$TEST_TMP/out" "Everything is in place."
value_is "$want" || fail "repair did not restore $key"
ctguard_cmd release >/dev/null || fail "release"

# nf_conntrack_max is read-only inside a namespace: a different value cannot be healed.
max=$(ns_sysctl_read net.netfilter.nf_conntrack_max)
printf '[Sysctl]\nnet.netfilter.nf_conntrack_max=%s\n' $((max + 1)) |
        ctguard_write_config etc/ctguard/ctguard.conf.d/50-max.conf
ctguard_cmd repair >"$TEST_TMP/out" 2>&1
rc=$?
cat "$TEST_TMP/out" >&2
assert_eq 1 "$rc" "repair exit status with a read-only key"
assert_file_contains "$TEST_TMP/out" "net.netfilter.nf_conntrack_max: failed to set"
assert_file_contains "$TEST_TMP/out" "could not be healed"
assert_eq "$max" "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" "the host's nf_conntrack_max"
