# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit with Namespaces=all: a network namespace of its own ("pod1") with
# real traffic through an nftables conntrack rule fills the table (nf_conntrack_max=256, one
# limit for every namespace) while the host's own table stays empty. ctguard names pod1 in
# table-warn and then in table-full, with the packets the kernel dropped; the host's table
# raises nothing.

# seen EVENT [FIELD=VALUE...]: ctguard.service logged EVENT with those fields.
seen() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -qx "CTGUARD_EVENT=$_ev"
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
# field EVENT NAME: the field NAME of the first EVENT.
field() {
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$1" | sed -n "s/^$2=//p" | head -n 1
}

cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-'CONF'
	[Sysctl]
	net.netfilter.nf_conntrack_max=256

	[Conntrack]
	Namespaces=all
	NamespaceScanIntervalSec=1s
CONF

step "a namespace with its own conntrack rule"
assert_ok ip netns add pod1
assert_ok ip -n pod1 link set lo up
# Without a rule that uses it, conntrack registers no hooks in pod1 and tracks nothing.
assert_ok ip netns exec pod1 nft add table inet e2e
assert_ok ip netns exec pod1 nft add chain inet e2e out '{ type filter hook output priority 0; }'
assert_ok ip netns exec pod1 nft add rule inet e2e out ct state new counter
inode=$(stat -L -c %i /run/netns/pod1)
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 256

step "TCP connections over pod1's loopback"
# As in e2e-table-pressure.sh: TCP (assured entries are spared by early drop, so new SYNs are
# dropped once the table is full), from an address of their own, in two steps so that the
# warning level is seen first. The generators are pod1's processes: the shipped unit reads a
# namespace through a process in it (CAP_SYS_PTRACE), not by entering it.
src=127.0.0.42
cat > /tmp/e2e-gen.py <<'PY'
import os, socket, sys, time
n, hold, src = int(sys.argv[1]), sys.argv[2], sys.argv[3]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1024)
srv.setblocking(False)
port, conns, accepted = srv.getsockname()[1], [], []
def accept():
    try:
        while True:
            accepted.append(srv.accept()[0])
    except BlockingIOError:
        pass
for i in range(n):
    c = socket.socket()
    c.bind((src, 0))
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    conns.append(c)
    accept()
end = time.monotonic() + 120
while os.path.exists(hold) and time.monotonic() < end:
    accept()
    time.sleep(0.1)
print("port", port, "connections", n, "accepted", len(accepted), flush=True)
PY
touch /tmp/e2e-hold
gens=
gen() {
        ip netns exec pod1 python3 /tmp/e2e-gen.py "$1" /tmp/e2e-hold "$src" >> /tmp/e2e-gen.log 2>&1 &
        gens="$gens $!"
}
pod_count_at_least() {
        [ "$(ip netns exec pod1 sysctl -n net.netfilter.nf_conntrack_count)" -ge "$1" ]
}

gen 218                         # 85 %: above WarnPercent=80
wait_until 30 pod_count_at_least 218
echo "host count: $(sysctl -n net.netfilter.nf_conntrack_count), pod1: $(ip netns exec pod1 sysctl -n net.netfilter.nf_conntrack_count)"
wait_until 60 seen table-warn CTGUARD_NETNS_NAME=pod1
assert_eq "$(field table-warn CTGUARD_NETNS)" "$inode" "table-warn CTGUARD_NETNS"
gen 60                          # more than the table holds
wait_until 60 seen table-full CTGUARD_NETNS_NAME=pod1
journalctl -u ctguard.service -o cat CTGUARD_EVENT=table-warn + CTGUARD_EVENT=table-crit \
        + CTGUARD_EVENT=table-full
assert_eq "$(field table-full CTGUARD_NETNS)" "$inode" "table-full CTGUARD_NETNS"
assert_eq "$(field table-full PRIORITY)" 2 "table-full priority (crit)"
drops=$(field table-full CTGUARD_DROPS)
[ "${drops:-0}" -gt 0 ] || fail "table-full without dropped packets: CTGUARD_DROPS='$drops'"
ok "table-full names pod1 ($inode): CTGUARD_DROPS=$drops"
assert_contains "$(journalctl -u ctguard.service -o cat CTGUARD_EVENT=table-full)" \
        "netns pod1 full" "table-full message"
# The host's own table raised nothing: every table event names a namespace.
host_events=$(journalctl -u ctguard.service -o export CTGUARD_EVENT=table-warn + \
        CTGUARD_EVENT=table-crit + CTGUARD_EVENT=table-full | awk '
        /^__CURSOR=/ { if (n && !ns) bad++; n = 1; ns = 0 }
        /^CTGUARD_NETNS=/ { ns = 1 }
        END { if (n && !ns) bad++; print bad + 0 }')
assert_eq "$host_events" 0 "table events without CTGUARD_NETNS (the host's)"
rm -f /tmp/e2e-hold
# shellcheck disable=SC2086 # a list of pids
wait $gens
cat /tmp/e2e-gen.log
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
