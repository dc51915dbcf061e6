# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit, with Debian's prometheus-node-exporter running: after a chain heal
# and a table-full episode, node_exporter's /metrics shows ctguard's families from ctguard.prom
# with the right values: the heal counted, drops above 0, the modules live.

command -v prometheus-node-exporter > /dev/null || skip "prometheus-node-exporter is not installed"
[ -d /var/lib/prometheus/node-exporter ] || skip "no /var/lib/prometheus/node-exporter"
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
seen_full() { journalctl -u ctguard.service -o export CTGUARD_EVENT=table-full | grep -qx CTGUARD_EVENT=table-full; }
scrape() { curl -sf http://127.0.0.1:9100/metrics > /tmp/scrape; }
# metric_at_least LINE-PREFIX N: the scraped sample starting with LINE-PREFIX is >= N.
metric_at_least() {
        scrape || return 1
        _v=$(grep -F "$1 " /tmp/scrape | sed -n 's/.* \([0-9.e+]*\)$/\1/p' | head -n 1)
        [ -n "$_v" ] && awk -v v="$_v" -v n="$2" 'BEGIN { exit !(v >= n) }'
}

cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-'CONF'
	[Sysctl]
	net.netfilter.nf_conntrack_max=256
CONF

step "node_exporter and ctguard.service run"
assert_ok systemctl start prometheus-node-exporter.service
assert_ok systemctl start ctguard.service
for m in $chain; do
        wait_until 30 live "$m"
done
wait_until 30 metric_at_least 'ctguard_up' 1
wait_until 30 metric_at_least 'ctguard_module_state{module="nf_conntrack",state="live"}' 1
# node_exporter names the file by its base name (1.5) or its path (later releases).
grep -E '^node_textfile_mtime_seconds\{file="(.*/)?ctguard.prom"\}' /tmp/scrape ||
        fail "node_exporter does not read ctguard.prom: $(grep textfile /tmp/scrape)"
heals0=$(grep -F 'ctguard_heals_total{kind="module-chain"} ' /tmp/scrape | sed 's/.* //')
[ -n "$heals0" ] || fail "no heal count scraped"

step "a chain heal is counted"
pid=$(systemctl show -P MainPID ctguard.service)
assert_ok kill -STOP "$pid"
modprobe -r nf_conntrack_netlink 2> /dev/null
assert_ok modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6
assert_ok kill -CONT "$pid"
for m in $chain; do
        wait_until 30 live "$m"
done
wait_until 30 metric_at_least 'ctguard_heals_total{kind="module-chain"}' $((heals0 + 1))
wait_until 30 metric_at_least 'ctguard_module_state{module="nf_nat",state="live"}' 1
ok "heals $heals0 -> $(grep -F 'ctguard_heals_total{kind="module-chain"} ' /tmp/scrape | sed 's/.* //')"

step "a full table drops, and the drops are counted"
assert_ok nft add table inet e2e
assert_ok nft add chain inet e2e out '{ type filter hook output priority 0; }'
assert_ok nft add rule inet e2e out ct state new counter
cat > /tmp/e2e-gen.py <<'PY'
import os, socket, sys, time
n, hold = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1024)
srv.setblocking(False)
port, conns, accepted = srv.getsockname()[1], [], []
for i in range(n):
    c = socket.socket()
    c.setblocking(False)
    try:
        c.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    conns.append(c)
    try:
        while True:
            accepted.append(srv.accept()[0])
    except BlockingIOError:
        pass
end = time.monotonic() + 120
while os.path.exists(hold) and time.monotonic() < end:
    time.sleep(0.1)
PY
touch /tmp/e2e-hold
python3 /tmp/e2e-gen.py 320 /tmp/e2e-hold > /tmp/e2e-gen.log 2>&1 &
gen=$!
# While the table is full a scrape is a new connection too, and is dropped: scrape after.
wait_until 60 seen_full
rm -f /tmp/e2e-hold
wait "$gen"
wait_until 60 metric_at_least 'ctguard_conntrack_drop_total' 1
wait_until 30 metric_at_least 'ctguard_events_total{event="table-full"}' 1
grep -E '^ctguard_(conntrack|events|heals|module_state)' /tmp/scrape
nft delete table inet e2e
ok "node_exporter serves ctguard's heals, drops and module states"
