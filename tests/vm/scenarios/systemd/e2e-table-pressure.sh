# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: a conntrack table of 256 entries filled over loopback. ctguard
# reports table-warn (80 %), table-crit (95 %) and table-full (the kernel dropped packets,
# CTGUARD_DROPS > 0) naming the generator's address as the top source, and "ctguard status"
# exits 1 (WARNING), then 2 (CRITICAL).

# seen EVENT [FIELD=VALUE...]: ctguard.service logged EVENT with those fields.
seen() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -qx "CTGUARD_EVENT=$_ev"
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
status_is() {
        ctguard status > /dev/null 2>&1
        [ $? -eq "$1" ]
}

cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-'CONF'
	[Sysctl]
	net.netfilter.nf_conntrack_max=256
CONF

step "a table of 256, tracked for local traffic"
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 256
# Without a rule that uses it, conntrack registers no hooks and tracks nothing.
assert_ok nft add table inet e2e
assert_ok nft add chain inet e2e out '{ type filter hook output priority 0; }'
assert_ok nft add rule inet e2e out ct state new counter
wait_until 30 status_is 0

step "TCP connections over loopback, in three steps"
# TCP rather than UDP: an established connection is "assured", and the kernel's early drop
# spares assured entries; once the table is full, new SYNs are dropped for want of an entry,
# which is what table-full reports. Three steps, each a generator holding its connections
# until /tmp/e2e-hold is removed (120 s at most): one straight to full would skip the warning
# level within one poll interval, and ctguard rightly reports only the worst level it sees.
# The connections come from an address of their own, 127.0.0.42, so the top source named in
# the alerts is provably the generator, not whatever else talks over loopback.
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
# gen N: N more connections, held in the background.
gen() {
        python3 /tmp/e2e-gen.py "$1" /tmp/e2e-hold "$src" >> /tmp/e2e-gen.log 2>&1 &
        gens="$gens $!"
}
count_at_least() { [ "$(sysctl -n net.netfilter.nf_conntrack_count)" -ge "$1" ]; }

gen 218                         # 85 %: above WarnPercent=80
wait_until 30 count_at_least 218
wait_until 30 seen table-warn CTGUARD_THRESHOLD=80
wait_until 30 status_is 1
gen 30                          # 97 %: above CritPercent=95
wait_until 30 count_at_least 248
wait_until 30 seen table-crit CTGUARD_THRESHOLD=95
wait_until 30 status_is 2
gen 60                          # more than the table holds
wait_until 30 seen table-full
echo "count: $(sysctl -n net.netfilter.nf_conntrack_count)/256"
ctguard status
echo "StatusText: $(systemctl show -P StatusText ctguard.service)"
journalctl -u ctguard.service -o cat CTGUARD_EVENT=table-warn + CTGUARD_EVENT=table-crit \
        + CTGUARD_EVENT=table-full
# full_field NAME: the field NAME of the first table-full event.
full_field() {
        journalctl -u ctguard.service -o export CTGUARD_EVENT=table-full |
                sed -n "s/^$1=//p" | head -n 1
}
assert_eq "$(full_field PRIORITY)" 2 "table-full priority (crit)"
drops=$(full_field CTGUARD_DROPS)
[ "${drops:-0}" -gt 0 ] || fail "table-full without dropped packets: CTGUARD_DROPS='$drops'"
ok "table-full: CTGUARD_DROPS=$drops"
top=$(full_field CTGUARD_TOP_SRC)
# "ADDRESS=COUNT ...", largest first: the generator's address, holding most of the table.
assert_eq "${top%%=*}" "$src" "top source of table-full"
top_count=${top#*=}
top_count=${top_count%% *}
[ "$top_count" -ge 200 ] || fail "the generator holds only $top_count entries: $top"
ok "the generator holds $top_count of 256 entries"
rm -f /tmp/e2e-hold
# shellcheck disable=SC2086 # a list of pids
wait $gens
cat /tmp/e2e-gen.log
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
