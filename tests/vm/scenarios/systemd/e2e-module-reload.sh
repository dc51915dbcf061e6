# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: the whole conntrack chain is unloaded with modprobe -r; ctguard loads
# it back and puts the guarded sysctls back on the new module instance.

# count EVENT [FIELD=VALUE...]: how often ctguard.service logged EVENT with those fields.
count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
# more N EVENT [FIELD=VALUE...]: logged more than N times.
more() {
        _n=$1
        shift
        [ "$(count "$@")" -gt "$_n" ]
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
# heals: the "N heal(s) since start" of the service's STATUS= line.
heals() {
        systemctl show -P StatusText ctguard.service |
                sed -n 's/.* \([0-9][0-9]*\) heal(s) since start.*/\1/p'
}
heals_above() { [ "$(heals)" -gt "$1" ]; }
heals_is() { [ "$(heals)" = "$1" ]; }
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-'CONF'
	[Sysctl]
	net.netfilter.nf_conntrack_max=50000
	net.netfilter.nf_conntrack_tcp_timeout_established=7200
CONF

step "ctguard.service loads the chain and tunes it"
assert_ok systemctl start ctguard.service
for m in $chain; do
        wait_until 30 live "$m"
done
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 50000
wait_until 30 sysctl_is net.netfilter.nf_conntrack_tcp_timeout_established 7200

step "modprobe -r the whole chain"
# ctguard's conntrack sampler makes the kernel load nf_conntrack_netlink, which holds
# nf_conntrack. The daemon is stopped for the moment of the unload: otherwise it loads nf_nat
# back between modprobe's removals and nf_conntrack stays in use. The kernel's remove events
# wait in its socket.
pid=$(systemctl show -P MainPID ctguard.service)
# Loading the chain at start counted too: only events after the unload count below.
nat=$(count module-reloaded CTGUARD_MODULE=nf_nat)
chains=$(count module-chain-restored)
restores=$(count sysctl-restored CTGUARD_KEY=net.netfilter.nf_conntrack_max CTGUARD_NEW=50000)
heals0=$(heals)
[ -n "$heals0" ] || fail "no heal count in STATUS=: $(systemctl show -P StatusText ctguard.service)"
assert_ok kill -STOP "$pid"
modprobe -r nf_conntrack_netlink 2> /dev/null
assert_ok modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6
for m in $chain; do
        assert_ok gone "$m"
done
assert_ok kill -CONT "$pid"

step "the chain is back, sysctls restored"
for m in $chain; do
        wait_until 30 live "$m"
done
# Whichever brings nf_conntrack back first (ctguard, or the kernel loading nf_conntrack_netlink
# for the sampler, which needs it), nf_nat comes back only through ctguard.
wait_until 30 more "$nat" module-reloaded CTGUARD_MODULE=nf_nat
assert_eq "$(journalctl -u ctguard CTGUARD_EVENT=module-reloaded | grep -c 'Module nf_nat')" \
        $((nat + 1)) "journalctl -u ctguard CTGUARD_EVENT=module-reloaded, nf_nat"
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 50000
wait_until 30 sysctl_is net.netfilter.nf_conntrack_tcp_timeout_established 7200
wait_until 30 more "$restores" sysctl-restored CTGUARD_KEY=net.netfilter.nf_conntrack_max \
        CTGUARD_NEW=50000
wait_until 30 more "$chains" module-chain-restored
assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID (no restart)"

step "STATUS= counts the heals, across a reload"
wait_until 10 heals_above "$heals0"
heals1=$(heals)
assert_ok systemctl reload ctguard.service
# The reload answers before the daemon has re-read its files: wait for the line to settle.
wait_until 10 heals_is "$heals1"
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
journalctl -u ctguard.service -o cat --no-pager | tail -n 20
