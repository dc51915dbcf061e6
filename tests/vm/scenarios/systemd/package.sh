# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package under systemd, as an operator takes it: "dpkg -i" enables and starts the
# service and registers the catalog; the chain is healed after an unload; the operator's
# drop-in and conffile edit survive installing the same package again, which restarts the
# daemon; "apt-get remove" stops and disables it and keeps the conffile; "dpkg --purge" leaves
# nothing of ctguard behind. run-vm --deb puts the package in the share and leaves the build's
# install tree out, so only what the package installs is here.

deb=$VM_SHARE/ctguard.deb
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
key=net.netfilter.nf_conntrack_tcp_timeout_established
# Files and directories named after ctguard where a package, its scripts, systemd or the
# daemon put them (a find over all of /usr through 9p takes minutes under TCG), plus every path
# the package listed when it was installed ($files).
files=
leftovers() {
        {
                # Not the host's container images (tests/image/run leaves one), which are
                # other roots' files.
                find /etc /run /var/lib /var/cache /var/log /lib/systemd /usr/lib/systemd \
                        /usr/lib/ctguard /usr/sbin /usr/share/doc /usr/share/man/man5 \
                        /usr/share/man/man8 /usr/share/bash-completion \
                        -path /var/lib/containers -prune -o -name '*ctguard*' -print 2> /dev/null
                for _f in $files; do
                        [ ! -e "$_f" ] || echo "$_f"
                done
        } | sort -u
}
count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
more() {
        _n=$1
        shift
        [ "$(count "$@")" -gt "$_n" ]
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
state_is() { [ "$(systemctl is-active ctguard.service)" = "$1" ]; }
pid_is_not() {
        _p=$(systemctl show -P MainPID ctguard.service)
        [ "$_p" != 0 ] && [ "$_p" != "$1" ]
}

step "nothing of ctguard before the package"
assert_ok test -f "$deb"
assert_eq "$(leftovers)" "" "files named ctguard"
assert_fail dpkg-query -W ctguard
# man-db's trigger re-indexes every manual page, a minute under TCG; nothing here reads it.
rm -f /var/lib/man-db/auto-update
# The host this root comes from is a container whose policy-rc.d forbids starting services
# from maintainer scripts; a real machine has none.
rm -f /usr/sbin/policy-rc.d

step "dpkg -i enables and starts ctguard.service"
assert_ok dpkg -i "$deb"
assert_eq "$(systemctl is-enabled ctguard.service)" enabled "is-enabled"
wait_until 30 state_is active
# Every path of the package but the directories it shares with others.
files=$(dpkg -L ctguard | while read -r f; do
        [ -d "$f" ] && [ "$(dpkg-query -S "$f" 2> /dev/null | cut -d: -f1)" != ctguard ] ||
                echo "$f"
done)
assert_contains "$files" /etc/ctguard/ctguard.conf.d "dpkg -L ctguard"
assert_eq "$(systemctl show -P FragmentPath ctguard.service)" /lib/systemd/system/ctguard.service \
        "unit file"
assert_eq "$(dpkg-query -W -f '${Conffiles}' ctguard | awk 'NF { print $1 }')" \
        /etc/ctguard/ctguard.conf "conffiles"
assert_eq "$(dpkg-query -S /etc/ctguard/ctguard.conf.d /usr/lib/ctguard/ctguard.conf.d |
        cut -d: -f1 | sort -u)" ctguard "owner of the drop-in directories"
for f in /usr/sbin/ctguard /usr/share/man/man8/ctguard.8.gz /usr/share/man/man5/ctguard.conf.5.gz \
        /usr/share/bash-completion/completions/ctguard /usr/lib/systemd/catalog/ctguard.catalog; do
        assert_ok test -f "$f"
done
assert_eq "$(command -v ctguard)" /usr/sbin/ctguard "ctguard on PATH"
id=$(sed -n 's/^-- \([0-9a-f]\{32\}\).*/\1/p' /usr/lib/systemd/catalog/ctguard.catalog | head -n 1)
assert_contains "$(journalctl --list-catalog "$id" 2> /dev/null)" "$id" "catalog entry $id"
assert_ok ctguard check-config

step "the chain is healed after an unload"
for m in $chain; do
        wait_until 30 live "$m"
done
pid=$(systemctl show -P MainPID ctguard.service)
chains=$(count module-chain-restored)
# As in e2e-module-reload: the daemon is frozen for the moment of the unload, or it loads
# nf_nat back between modprobe's removals.
assert_ok kill -STOP "$pid"
modprobe -r nf_conntrack_netlink 2> /dev/null
assert_ok modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6
assert_ok gone nf_conntrack
assert_ok kill -CONT "$pid"
for m in $chain; do
        wait_until 30 live "$m"
done
wait_until 30 more "$chains" module-chain-restored
assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID (healed, no restart)"

step "an operator's drop-in and conffile edit survive dpkg -i of the same package"
printf '[Sysctl]\n%s=7200\n' $key > /etc/ctguard/ctguard.conf.d/50-operator.conf
echo "# edited by the operator" >> /etc/ctguard/ctguard.conf
assert_ok systemctl reload ctguard.service
wait_until 30 sysctl_is $key 7200
sum=$(md5sum /etc/ctguard/ctguard.conf /etc/ctguard/ctguard.conf.d/50-operator.conf)
assert_ok dpkg -i "$deb"
assert_eq "$(md5sum /etc/ctguard/ctguard.conf /etc/ctguard/ctguard.conf.d/50-operator.conf)" \
        "$sum" "the operator's files after the upgrade"
# The upgrade restarts the daemon (a new MainPID), which enforces the drop-in again.
wait_until 30 pid_is_not "$pid"
wait_until 30 state_is active
assert_eq "$(systemctl is-enabled ctguard.service)" enabled "is-enabled after the upgrade"
assert_ok sysctl -q -w $key=1234
wait_until 30 sysctl_is $key 7200

step "apt-get remove stops and disables the service, keeps the conffile"
assert_ok apt-get remove -y -q ctguard
wait_until 30 state_is inactive
enabled=$(systemctl is-enabled ctguard.service 2> /dev/null)
[ "$enabled" != enabled ] || fail "ctguard.service is still enabled after removal"
ok "is-enabled after removal: ${enabled:-(no such unit)}"
assert_fail test -e /usr/sbin/ctguard
assert_ok test -f /etc/ctguard/ctguard.conf
assert_contains "$(cat /etc/ctguard/ctguard.conf)" "# edited by the operator" "kept conffile"
assert_eq "$(dpkg-query -W -f '${db:Status-Abbrev}' ctguard)" "rc " "dpkg status"
# The daemon's metrics for node_exporter go with it: they would only go stale.
assert_fail test -e /var/lib/prometheus/node-exporter/ctguard.prom

step "dpkg --purge leaves nothing of ctguard behind"
assert_ok dpkg --purge ctguard
assert_fail test -e /etc/ctguard
assert_fail test -e /run/ctguard
left=$(leftovers)
echo "left after purge: ${left:-nothing}"
assert_eq "$left" "" "files named ctguard after purge"
assert_fail dpkg-query -W ctguard
state=$(systemctl is-enabled ctguard.service 2> /dev/null)
echo "systemctl is-enabled after purge: ${state:-(no such unit)}"
case $state in
enabled | masked) fail "ctguard.service is $state after purge" ;;
esac
