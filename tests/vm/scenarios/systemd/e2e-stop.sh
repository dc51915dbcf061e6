# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: "systemctl stop" ends the daemon cleanly: it says STOPPING=1, exits
# 0, systemd records a successful deactivation, and nothing it logged was an error.

step "running"
assert_ok systemctl start ctguard.service
ready() { [ "$(systemctl show -P SubState ctguard.service)" = running ]; }
wait_until 30 ready
pid=$(systemctl show -P MainPID ctguard.service)
# PID 1 logs every notification it gets at debug level: that is where STOPPING=1 shows.
assert_ok systemctl log-level debug

step "systemctl stop"
assert_ok systemctl stop ctguard.service
assert_ok systemctl log-level info
assert_eq "$(systemctl is-active ctguard.service)" inactive "ctguard.service"
# Not "systemctl show -P Result/ExecMainStatus": a stopped unit nothing refers to is unloaded
# at once, and a fresh load shows defaults (success, 0) whatever happened. PID 1's own log lines
# for this unit, from the stop, are the record.
logged() { journalctl -u ctguard.service -o cat | grep -qF -- "$1"; }
wait_until 10 logged "Received SIGTERM, stopping."
wait_until 10 logged "ctguard.service: Got notification message from PID $pid (STOPPING=1)"
wait_until 10 logged "ctguard.service: Main process exited, code=exited, status=0/SUCCESS"
wait_until 10 logged "ctguard.service: Deactivated successfully."
wait_until 10 logged "Stopped ctguard.service"
log=$(journalctl -u ctguard.service -o cat)
case $log in
*"Failed with result"*) fail "the unit failed: $log" ;;
esac
assert_eq "$(journalctl -u ctguard.service -p err -o cat)" "" "error entries"
assert_eq "$(echo "$log" | grep -c 'Sanitizer\|runtime error')" 0 "sanitizer reports"
