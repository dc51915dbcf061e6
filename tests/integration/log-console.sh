#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Logging where systemd's variables are inherited but no journal listens (a container started
# from a unit, a pod whose runtime passes INVOCATION_ID through):
#  - a command's errors and the daemon's events reach stderr, instead of being sent to a
#    journal socket that is not there;
#  - every line of the daemon starts with an RFC 3339 time with its zone and the level name, so
#    a container log says when and how bad without a journal to add it;
#  - the commands' own lines stay "ctguard: message".
# The journal socket is hidden in a private mount namespace: the host's /run is not touched.

# shellcheck disable=SC2119 # start_ctguard and stop_ctguard take options, not this script's
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup
require_cmd unshare

key=net.netfilter.nf_conntrack_tcp_timeout_time_wait

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Sysctl]
$key=61
CONF

# under_systemd_without_journal CMD...: runs CMD in the namespace with systemd's variables set
# and /run/systemd (if there is one) covered by an empty tmpfs in a private mount namespace.
# shellcheck disable=SC2016
hide_journal='
                if [ -d /run/systemd ]; then
                        mount -t tmpfs -o mode=0755 tmpfs /run/systemd || exit 125
                fi
                [ ! -e /run/systemd/journal/socket ] || exit 125
                exec env -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID \
                        INVOCATION_ID=0123456789abcdef0123456789abcdef JOURNAL_STREAM=8:12345 "$@"
'
under_systemd_without_journal() {
        ip netns exec "$NS_NAME" unshare -m --propagation private sh -c "$hide_journal" sh "$@"
}

stamp_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} (emerg|alert|crit|err|warning|notice|info|debug) ctguard: '

# ---- a command: its error reaches stderr, unstamped ----
rc=0
under_systemd_without_journal "$CTGUARD" --root="$CTG_ROOT" no-such-verb \
        >"$TEST_TMP/cmd.out" 2>"$TEST_TMP/cmd.err" || rc=$?
[ "$rc" != 125 ] || fail "could not hide the journal socket"
assert_eq 64 "$rc" "exit status of an unknown verb"
assert_eq "ctguard: Unknown command 'no-such-verb'; see 'ctguard --help'." \
        "$(cat "$TEST_TMP/cmd.err")" "stderr of an unknown verb"

# check-config of a broken file says why on stderr.
ctguard_write_config etc/ctguard/ctguard.conf.d/50-broken.conf <<CONF
[Sysctl]
net.netfilter.nf_conntrack_max=
CONF
rc=0
under_systemd_without_journal "$CTGUARD" --root="$CTG_ROOT" check-config \
        >"$TEST_TMP/check.out" 2>"$TEST_TMP/check.err" || rc=$?
assert_ne 0 "$rc" "exit status of check-config with a broken drop-in"
assert_file_contains "$TEST_TMP/check.err" "50-broken.conf" "check-config's stderr"
rm -f "$CTG_ROOT/etc/ctguard/ctguard.conf.d/50-broken.conf"

# ---- the daemon: events on stderr, each line stamped ----
: >"$CTG_LOG"
# One simple command, so that each step execs the next and $! is the daemon (see start_ctguard).
ip netns exec "$NS_NAME" unshare -m --propagation private sh -c "$hide_journal" sh \
        "$CTGUARD" --root="$CTG_ROOT" run \
        </dev/null >"$TEST_TMP/ctguard.out" 2>"$CTG_LOG" &
# shellcheck disable=SC2034 # lib.sh's stop_ctguard and teardown read it
CTG_PID=$!
wait_for_log 10 "ctguard: [sysctl-restored] Restored $key: "
ns_sysctl_write "$key" 62 || fail "cannot write $key"
wait_for_log 10 "ctguard: [sysctl-restored] Restored $key: 62 -> 61"
stop_ctguard
assert_eq 0 "$CTG_STATUS" "exit status after SIGTERM"

[ "$(wc -l <"$CTG_LOG")" -ge 2 ] || fail "the daemon logged $(wc -l <"$CTG_LOG") lines"
if grep -vE -- "$stamp_re" "$CTG_LOG" >"$TEST_TMP/bad"; then
        fail "lines without a time and level: $(head -3 "$TEST_TMP/bad")"
fi
grep -E -- "$stamp_re\[sysctl-restored\] Restored $key: 62 -> 61 " "$CTG_LOG" >/dev/null ||
        fail "no stamped sysctl-restored line"

# The stamp is the time of the line: within a minute of now, in the zone's offset.
first=$(head -1 "$CTG_LOG" | cut -d' ' -f1)
then_s=$(date -d "$first" +%s) || fail "date cannot read the stamp '$first'"
now_s=$(date +%s)
age=$(( now_s - then_s ))
if [ "$age" -lt 0 ] || [ "$age" -ge 60 ]; then
        fail "stamp $first is not within a minute of now"
fi
info "ok: $(head -1 "$CTG_LOG")"
