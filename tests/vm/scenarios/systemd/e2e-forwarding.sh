# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: net.ipv4.ip_forward, guarded at 1 by a drop-in, is set back when
# someone turns it off. ProtectKernelTunables= makes /proc/sys read-only; this proves that the
# ReadWritePaths= for the forwarding keys let the writes through, and that a key the sandbox
# does cover (a bridge key whose directory did not exist when the service started) is
# reported read-only rather than failing quietly.

# count EVENT [FIELD=VALUE...]: how often ctguard.service logged EVENT with those fields.
count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
more() { [ "$(count "$@")" -gt "$n" ]; }
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }

cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-'CONF'
	[Sysctl]
	net.ipv4.ip_forward=1
	net.ipv4.conf.lo.forwarding=1
	net.bridge.bridge-nf-call-iptables=0
CONF

step "ctguard.service turns forwarding on at start"
assert_ok sysctl -q -w net.ipv4.ip_forward=0
assert_fail test -e /proc/sys/net/bridge
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is net.ipv4.ip_forward 1
wait_until 30 sysctl_is net.ipv4.conf.lo.forwarding 1
n=0
wait_until 30 more sysctl-unavailable CTGUARD_KEY=net.bridge.bridge-nf-call-iptables

step "sysctl -w net.ipv4.ip_forward=0"
n=$(count sysctl-restored CTGUARD_KEY=net.ipv4.ip_forward CTGUARD_OLD=0)
assert_ok sysctl -q -w net.ipv4.ip_forward=0
wait_until 10 sysctl_is net.ipv4.ip_forward 1
wait_until 10 more sysctl-restored CTGUARD_KEY=net.ipv4.ip_forward CTGUARD_OLD=0

step "per-interface forwarding, below a ReadWritePaths= directory"
wait_until 10 sysctl_is net.ipv4.conf.lo.forwarding 1
n=$(count sysctl-restored CTGUARD_KEY=net.ipv4.conf.lo.forwarding CTGUARD_OLD=0)
assert_ok sysctl -q -w net.ipv4.conf.lo.forwarding=0
wait_until 10 sysctl_is net.ipv4.conf.lo.forwarding 1
wait_until 10 more sysctl-restored CTGUARD_KEY=net.ipv4.conf.lo.forwarding CTGUARD_OLD=0
assert_eq "$(count sysctl-readonly)" 0 "sysctl-readonly events"
assert_eq "$(count sysctl-failed)" 0 "sysctl-failed events"

step "a key outside the writable paths is reported, not dropped"
# /proc/sys/net/bridge did not exist when the service started, so its ReadWritePaths= (marked
# "-") was skipped and the directory is read-only in the service's mount namespace.
assert_ok modprobe br_netfilter
assert_ok sysctl_is net.bridge.bridge-nf-call-iptables 1
n=0
wait_until 10 more sysctl-readonly CTGUARD_KEY=net.bridge.bridge-nf-call-iptables \
        CTGUARD_ERRNO=30
journalctl -u ctguard.service -o cat CTGUARD_EVENT=sysctl-readonly
assert_ok sysctl_is net.bridge.bridge-nf-call-iptables 1
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
