# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: a drop-in in /etc/ctguard/ctguard.conf.d/ masks the vendor drop-in of
# the same name in /usr/lib/ctguard/ctguard.conf.d/, and "systemctl reload" puts its value in
# force.

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

step "the vendor drop-in is in force"
# A fixed path that ctguard reads whatever its prefix; the build installs to /usr/local.
assert_ok mkdir -p /usr/lib/ctguard/ctguard.conf.d
printf '[Sysctl]\n%s=3600\n' $key > /usr/lib/ctguard/ctguard.conf.d/50-e2e.conf
assert_ok modprobe nf_conntrack
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is $key 3600
origin=$(ctguard cat-config | sed -n "s/^$key=3600 *; //p")
assert_eq "$origin" /usr/lib/ctguard/ctguard.conf.d/50-e2e.conf:2 "origin in cat-config"

step "an /etc drop-in of the same name, and systemctl reload"
printf '[Sysctl]\n%s=7200\n' $key > /etc/ctguard/ctguard.conf.d/50-e2e.conf
n=$(count config-loaded)
pid=$(systemctl show -P MainPID ctguard.service)
assert_ok systemctl reload ctguard.service
wait_until 10 more config-loaded
wait_until 10 sysctl_is $key 7200
assert_ok systemctl is-active --quiet ctguard.service
assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID (reloaded in place)"
files=$(journalctl -u ctguard.service -o export CTGUARD_EVENT=config-loaded |
        sed -n 's/^CTGUARD_FILES=//p' | tail -n 1)
assert_contains "$files" /etc/ctguard/ctguard.conf.d/50-e2e.conf "CTGUARD_FILES"
case $files in
*/usr/lib/ctguard/*) fail "the masked vendor drop-in was read: $files" ;;
esac

step "the new value is the one enforced"
n=$(count sysctl-restored CTGUARD_KEY=$key CTGUARD_OLD=1234 CTGUARD_NEW=7200)
assert_ok sysctl -q -w $key=1234
wait_until 10 sysctl_is $key 7200
wait_until 10 more sysctl-restored CTGUARD_KEY=$key CTGUARD_OLD=1234 CTGUARD_NEW=7200
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
