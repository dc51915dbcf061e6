# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit (UMask=0077): "ctguard status" run by an unprivileged user, as a
# monitoring agent runs it, sees the running daemon and gives the verdict root gets.

# as_nobody CMD...: CMD as the user nobody, with no supplementary groups.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

step "start under the shipped unit"
assert_eq "$(systemctl show -P UMask ctguard.service)" 0077 "the unit's UMask"
assert_ok systemctl start ctguard.service
wait_until 30 systemctl is-active --quiet ctguard.service
wait_until 30 test -s /run/ctguard/state
for f in /run/ctguard/state /run/ctguard/daemon.lock; do
        assert_eq "$(stat -c %a "$f")" 644 "mode of $f"
done
assert_eq "$(stat -c %a /run/ctguard)" 755 "mode of /run/ctguard"

step "ctguard status as nobody"
ctguard status > /tmp/root.out 2>&1
root_rc=$?
as_nobody ctguard status > /tmp/nobody.out 2>&1
nobody_rc=$?
cat /tmp/nobody.out
assert_eq "$nobody_rc" "$root_rc" "exit of status as nobody, as root"
assert_eq "$nobody_rc" 0 "exit of status as nobody"
assert_ok grep -q "^CTGUARD OK - " /tmp/nobody.out
assert_ok grep -q "^daemon: running" /tmp/nobody.out
assert_ok grep -q "pid $(systemctl show -P MainPID ctguard.service), mode enforce" /tmp/nobody.out
assert_ok grep -q "the daemon's)" /tmp/nobody.out

step "ctguard status --json as nobody"
as_nobody ctguard status --json > /tmp/nobody.json 2> /dev/null
cat /tmp/nobody.json
assert_ok grep -q '"running":true' /tmp/nobody.json
assert_ok grep -q '"thresholds_from":"daemon"' /tmp/nobody.json
