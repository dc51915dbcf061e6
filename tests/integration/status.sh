#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# "ctguard status" against a daemon in a namespace, and what the daemon says at start:
#  - a guarded key that is read-only here (nf_conntrack_max in a namespace) is reported at
#    start even though it has not drifted: a sandbox or namespace that blocks a write is said
#    at once, not on the day the value drifts;
#  - status sees the daemon (its lock), its guarded values and last events, and exits as a
#    monitoring plugin: 1 with the daemon stopped, 0 with it running and all in place, 1 for a
#    drifted sysctl the daemon may not restore (monitor mode), 2 above CritPercent;
#  - --json is one object with the documented members;
#  - as the unprivileged user nobody, under umask 0077 as the unit has it, status still sees the
#    daemon, and grades the table against the daemon's thresholds, not the files';
#  - a FIFO, a symlink and a corrupt file at every path under run/ctguard are refused with a
#    message and never block any verb or the daemon (each run under timeout).

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

ns_setup
ctguard_root_setup

max=$(ns_sysctl_read net.netfilter.nf_conntrack_max) || fail "cannot read nf_conntrack_max"
timeout_key=net.netfilter.nf_conntrack_udp_timeout
timeout_value=$(ns_sysctl_read "$timeout_key") || fail "cannot read $timeout_key"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Guard]
PollIntervalSec=200ms

[Sysctl]
net.netfilter.nf_conntrack_max=$max
$timeout_key=$timeout_value
CONF

status() { ctguard_cmd status "$@" >"$TEST_TMP/status" 2>"$TEST_TMP/status.err"; }

# ---- no daemon: a warning, and the values are shown ----
status
assert_eq 1 "$?" "status exit without a daemon"
assert_file_contains "$TEST_TMP/status" "daemon: not running"
head -n1 "$TEST_TMP/status" | grep -q "^CTGUARD WARNING - the ctguard daemon is not running.* | count=[0-9]*;[0-9]*;[0-9]*;0;[0-9]* drops=[0-9]*c$" ||
        fail "first line: $(head -n1 "$TEST_TMP/status")"
assert_file_contains "$TEST_TMP/status" "from the configuration files, no daemon's"

# ---- usage errors are EX_USAGE, not UNKNOWN ----
status --no-such-option
assert_eq 64 "$?" "status exit for a usage error"
status extra-argument
assert_eq 64 "$?" "status exit for an extra argument"

# The unit runs the daemon with UMask=0077: the files must still be readable by anyone.
umask 0077

# ---- the daemon: read-only reported at start, without any drift ----
start_ctguard
wait_for_log 10 "ctguard: [sysctl-readonly] net.netfilter.nf_conntrack_max is read-only here"
wait_for_log 10 "[config-loaded]"

# shellcheck disable=SC2317 # called through wait_until
status_is() { status; [ "$?" = "$1" ]; }
wait_until 10 status_is 0 || fail "status exit $(status; echo $?), want 0: $(cat "$TEST_TMP/status")"
assert_file_contains "$TEST_TMP/status" "daemon: running"
assert_file_contains "$TEST_TMP/status" "pid $CTG_PID, mode enforce"
assert_file_contains "$TEST_TMP/status" "config-loaded"
grep -qE "^  net.netfilter.nf_conntrack_udp_timeout +$timeout_value ok \\(.*ctguard.conf:[0-9]+\\)$" "$TEST_TMP/status" ||
        fail "status does not show $timeout_key ok: $(cat "$TEST_TMP/status")"

ctguard_cmd status --json >"$TEST_TMP/json" || true
python3 - "$TEST_TMP/json" "$CTG_PID" <<'PY' || fail "status --json: $(cat "$TEST_TMP/json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 2 and d["status"] == "ok" and d["exit"] == 0, d
assert d["daemon"]["running"] and d["daemon"]["pid"] == int(sys.argv[2]), d["daemon"]
assert d["hold"]["held"] is False
assert {s["key"] for s in d["sysctls"]} >= {"net.netfilter.nf_conntrack_max"}
assert all(s["ok"] for s in d["sysctls"]), d["sysctls"]
owned = {"net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_udp_timeout"}
assert all(s["owned"] == (s["key"] in owned) for s in d["sysctls"]), d["sysctls"]
assert all(s["origin"] == "followed" for s in d["sysctls"] if not s["owned"]), d["sysctls"]
assert d["table"]["max"] > 0 and d["table"]["level"] == "ok"
assert isinstance(d["table"]["percent"], float), d["table"]
assert d["table"]["thresholds_from"] == "daemon"
assert any(e["event"] == "config-loaded" for e in d["events"])
assert all(e["time"][-6] in "+-" and e["time"][-3] == ":" for e in d["events"]), d["events"]
assert d["daemon"]["config_changed"] is False and d["daemon"]["reload"] is None
PY

# ---- the files are 0644 and the directory 0755 under the daemon's umask 0077 ----
for f in daemon.lock state; do
        assert_eq 644 "$(stat -c %a "$CTG_ROOT/run/ctguard/$f")" "mode of run/ctguard/$f"
done
assert_eq 755 "$(stat -c %a "$CTG_ROOT/run/ctguard")" "mode of run/ctguard"

# ---- as nobody: the daemon is seen ----
ctguard_cmd_nobody status >"$TEST_TMP/nobody" 2>&1
assert_eq 0 "$?" "status exit as nobody: $(cat "$TEST_TMP/nobody")"
assert_file_contains "$TEST_TMP/nobody" "daemon: running"
assert_file_contains "$TEST_TMP/nobody" "pid $CTG_PID, mode enforce"
assert_file_contains "$TEST_TMP/nobody" "config-loaded"
ctguard_cmd_nobody status --json >"$TEST_TMP/nobody.json" 2>/dev/null
python3 - "$TEST_TMP/nobody.json" <<'PY' || fail "status --json as nobody: $(cat "$TEST_TMP/nobody.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["daemon"]["running"], d
for k in ("drop", "early_drop", "insert_failed", "error"):
    assert k in d["table"], k                    # null if unreadable, never missing
    if d["table"][k] is None:
        assert any("drop counters" in p for p in d["problems"]), d["problems"]
PY

# ---- files changed since the last reload: a warning, until reloaded ----
ctguard_write_config etc/ctguard/ctguard.conf.d/40-comment.conf <<'CONF'
# nothing but a comment
CONF
status
assert_eq 1 "$?" "status exit with files changed since the last reload"
assert_file_contains "$TEST_TMP/status" "configuration files changed since the last reload"
ctguard_signal HUP
wait_until 10 status_is 0 || fail "after a reload: $(cat "$TEST_TMP/status")"
assert_file_contains "$TEST_TMP/status" "last reload ok"

# ---- a rejected reload: a warning ----
ctguard_write_config etc/ctguard/ctguard.conf.d/40-comment.conf <<'CONF'
[Conntrack]
WarnPercent=banana
CONF
ctguard_signal HUP
wait_for_log 10 "[config-rejected]"
wait_until 10 status_is 1 || fail "after a rejected reload: $(cat "$TEST_TMP/status")"
assert_file_contains "$TEST_TMP/status" "last reload rejected"
rm -f "$CTG_ROOT/etc/ctguard/ctguard.conf.d/40-comment.conf"
ctguard_signal HUP
wait_until 10 status_is 0 || fail "after a good reload: $(cat "$TEST_TMP/status")"

# ---- the daemon's thresholds, not the files': started with --config at 1/2 % ----
stop_ctguard
sed 's/^\[Guard\]/[Conntrack]\nWarnPercent=1\nCritPercent=2\n\n[Guard]/' \
        "$CTG_ROOT/etc/ctguard/ctguard.conf" >"$TEST_TMP/crit.conf"
chmod 0644 "$TEST_TMP/crit.conf"
start_ctguard --config="$TEST_TMP/crit.conf"
wait_for_log 10 "[config-loaded]"
need=$(( max * 2 / 100 + 1 ))
ns_exec "$CT_INSERT" -q --count "$need" || fail "ct-insert failed"
wait_for_log 10 "[table-crit]"
# shellcheck disable=SC2317 # called through wait_until
nobody_is() { ctguard_cmd_nobody status >"$TEST_TMP/nobody" 2>&1; [ "$?" = "$1" ]; }
wait_until 10 nobody_is 2 || fail "status as nobody with the daemon at 1/2 %: $(cat "$TEST_TMP/nobody")"
head -n1 "$TEST_TMP/nobody" | grep -q "^CTGUARD CRITICAL - table [0-9]*\.[0-9]% full" ||
        fail "first line: $(head -n1 "$TEST_TMP/nobody")"
assert_file_contains "$TEST_TMP/nobody" "(warning 1%, critical 2%, the daemon's)"
ns_exec conntrack -F >/dev/null 2>&1 || fail "conntrack -F failed"
stop_ctguard

# ---- a FIFO, a symlink, a corrupt file at every path: refused, never blocking ----
for f in hold state daemon.lock; do
        for kind in fifo symlink corrupt; do
                p="$CTG_ROOT/run/ctguard/$f"
                rm -rf "$p"
                case $kind in
                fifo) mkfifo -m 0644 "$p" ;;
                symlink) ln -s /etc/passwd "$p" ;;
                corrupt) printf 'Version=1\nPid=x\0junk\nState=maybe\n' >"$p" ;;
                esac
                for verb in status hold release; do
                        ns_exec timeout 10 env "$CTGUARD" --root="$CTG_ROOT" $verb \
                                >"$TEST_TMP/out" 2>&1 </dev/null
                        rc=$?
                        [ "$rc" = 124 ] && fail "$verb blocked on a $kind at run/ctguard/$f"
                        # Restore the thing under test (hold and release replace the hold file).
                        if [ "$f" = hold ] && [ "$verb" != status ]; then
                                rm -rf "$p"
                                case $kind in
                                fifo) mkfifo -m 0644 "$p" ;;
                                symlink) ln -s /etc/passwd "$p" ;;
                                corrupt) printf 'State=maybe\n' >"$p" ;;
                                esac
                        fi
                done
                # Without a daemon the state file is not read; a lock file's content is not used.
                if [ "$f" = hold ] || { [ "$f" = daemon.lock ] && [ "$kind" != corrupt ]; }; then
                        ns_exec timeout 10 "$CTGUARD" --root="$CTG_ROOT" status >"$TEST_TMP/out" 2>&1
                        rc=$?
                        [ "$rc" -ge 1 ] && [ "$rc" -le 3 ] ||
                                fail "status exit $rc with a $kind at run/ctguard/$f: $(cat "$TEST_TMP/out")"
                        grep -qE "run/ctguard/$f (is a symbolic link|is not a regular file|is corrupt)" \
                                "$TEST_TMP/out" || fail "no message for a $kind at $f: $(cat "$TEST_TMP/out")"
                fi
                # The daemon starts (or refuses) at once, not blocked in open().
                start_ctguard
                wait_until 10 eval 'ctguard_log_has "[config-loaded]" || ! ctguard_running' ||
                        fail "the daemon blocked on a $kind at run/ctguard/$f"
                stop_ctguard
                rm -rf "$p"
        done
done

# ---- a drift the daemon may not restore (monitor mode): a warning ----
ctguard_write_config etc/ctguard/ctguard.conf.d/60-monitor.conf <<'CONF'
[Guard]
Mode=monitor
CONF
start_ctguard
wait_for_log 10 "[config-loaded]"
ns_sysctl_write "$timeout_key" $(( timeout_value + 7 ))
wait_for_log 10 "[sysctl-drift]"
status
assert_eq 1 "$?" "status exit with a drifted sysctl"
assert_file_contains "$TEST_TMP/status" "DRIFTED (want $timeout_value, "

stop_ctguard
echo "status reports the daemon, the values and the table as a monitoring plugin expects"
