# SPDX-License-Identifier: GPL-2.0-or-later
# table-chain-too-long on the 6.1 kernel: a hash of 512 buckets under a maximum of 65,536, filled
# with 30,000 entries through ctnetlink (ct-insert from the build directory, which the VM sees
# over 9p). Each entry is hashed in both directions, so 512 buckets hold about 117 nodes each,
# past the kernel's limit (a random 50..79 per insertion): insertions are refused and the
# per-CPU chaintoolong counter ("chainlength" in /proc/net/stat/nf_conntrack) rises. ctguard
# logs table-chain-too-long with the rise and its rate. AutoRaise is off, so nothing grows the
# hash behind the test's back, and the thresholds are high, so no table alert gets in the way.

ct_insert=${VM_BUILD:-}/tests/helpers/ct-insert
[ -x "$ct_insert" ] || skip "no ct-insert at $ct_insert (VM_BUILD='${VM_BUILD:-}')"

seen() {
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$1" | grep -qx "CTGUARD_EVENT=$1"
}
field() {
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$1" |
                sed -n "s/^$2=//p" | tail -n 1
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
# A column of /proc/net/stat/nf_conntrack (hexadecimal, one row a CPU), summed.
stat_sum() {
        _sum=0
        # shellcheck disable=SC2013 # one hexadecimal word a CPU
        for _h in $(awk -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                                     c { print $c }' /proc/net/stat/nf_conntrack); do
                _sum=$((_sum + 0x$_h))
        done
        echo "$_sum"
}

cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-'CONF'
	[Guard]
	PollIntervalSec=1s

	[Sysctl]
	net.netfilter.nf_conntrack_max=65536

	[Conntrack]
	WarnPercent=90
	CritPercent=95
	TopTalkers=0
	AutoRaise=no
CONF

step "a hash of 512 buckets, a maximum of 65,536"
assert_ok modprobe nf_conntrack hashsize=512
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 65536
assert_eq "$(cat /sys/module/nf_conntrack/parameters/hashsize)" 512 "hashsize"
head -n 1 /proc/net/stat/nf_conntrack | grep -qw chainlength ||
        skip "this kernel has no chainlength counter"
c0=$(stat_sum chainlength)
# The insertions take seconds under TCG and go on refusing: some sample of the daemon's, one a
# second, comes before the last of them, whenever its first one was.

step "30,000 entries through ctnetlink"
"$ct_insert" -q -n 30000 --timeout 600 > /tmp/ct-insert.log 2>&1
echo "ct-insert exit $?: $(tail -n 3 /tmp/ct-insert.log)"
c1=$(stat_sum chainlength)
echo "entries $(cat /proc/sys/net/netfilter/nf_conntrack_count), chainlength $c0 -> $c1"
[ "$c1" -gt "$c0" ] || fail "the chainlength counter did not rise"

step "table-chain-too-long"
wait_until 30 seen table-chain-too-long
journalctl -u ctguard.service -o cat CTGUARD_EVENT=table-chain-too-long
assert_eq "$(field table-chain-too-long CTGUARD_COUNTER)" chaintoolong "CTGUARD_COUNTER"
delta=$(field table-chain-too-long CTGUARD_DELTA)
[ "${delta:-0}" -gt 0 ] || fail "CTGUARD_DELTA is '$delta'"
assert_eq "$(field table-chain-too-long PRIORITY)" 4 "priority"
echo "table-chain-too-long: delta $delta, rate $(field table-chain-too-long CTGUARD_RATE)/s"
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
