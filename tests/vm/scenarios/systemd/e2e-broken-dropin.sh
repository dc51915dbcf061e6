# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: a broken drop-in and "systemctl reload". ExecReload='s check-config
# fails the reload, the service stays active on its old configuration (still enforced), and the
# journal names the file and line. A SIGHUP that bypasses the check is refused by the daemon
# itself, the same way.

# count EVENT [FIELD=VALUE...]: how often ctguard.service logged EVENT with those fields.
count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
more() { [ "$(count "$@")" -gt "$n" ]; }
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
key=net.netfilter.nf_conntrack_tcp_timeout_established
bad=/etc/ctguard/ctguard.conf.d/60-broken.conf

step "a good configuration in force"
printf '[Sysctl]\n%s=7200\n' $key > /etc/ctguard/ctguard.conf.d/50-e2e.conf
assert_ok modprobe nf_conntrack
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is $key 7200
pid=$(systemctl show -P MainPID ctguard.service)

step "a broken drop-in, systemctl reload"
# Line 3 is an error (an unknown key); line 2 would change the value if it were taken.
printf '[Sysctl]\n%s=3600\nNoSuchKey=1\n' $key > $bad
assert_fail systemctl reload ctguard.service
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service after the reload"
assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID"
named() { journalctl -u ctguard.service -o cat | grep -qF "$bad:3"; }
wait_until 10 named
journalctl -u ctguard.service -o cat | grep -F "$bad"

step "the old configuration is still enforced"
assert_ok sysctl_is $key 7200
n=$(count sysctl-restored CTGUARD_KEY=$key CTGUARD_NEW=7200)
assert_ok sysctl -q -w $key=1234
wait_until 10 sysctl_is $key 7200
wait_until 10 more sysctl-restored CTGUARD_KEY=$key CTGUARD_NEW=7200

step "SIGHUP without the check: the daemon refuses the file itself"
n=$(count config-rejected)
assert_ok kill -HUP "$pid"
wait_until 10 more config-rejected
error=$(journalctl -u ctguard.service -o export CTGUARD_EVENT=config-rejected |
        sed -n 's/^CTGUARD_ERROR=//p' | tail -n 1)
assert_contains "$error" "$bad:3" "CTGUARD_ERROR"
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service after SIGHUP"
assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID"
n=$(count sysctl-restored CTGUARD_KEY=$key CTGUARD_NEW=7200)
assert_ok sysctl -q -w $key=1234
wait_until 10 sysctl_is $key 7200
wait_until 10 more sysctl-restored CTGUARD_KEY=$key CTGUARD_NEW=7200

step "fixed: the reload goes through"
printf '[Sysctl]\n%s=3600\n' $key > $bad
assert_ok systemctl reload ctguard.service
wait_until 10 sysctl_is $key 3600
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
