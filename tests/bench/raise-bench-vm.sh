# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the systemd VM (see raise-bench.sh): what AutoRaise buys against a burst, and what
# a hash resize costs.
#
#   burst:  a table of 256 ([Sysctl] assigns it, 512 buckets), 2,000 assured TCP flows over
#           loopback at a fixed 200 a second from one source, with AutoRaise=no and =yes
#           (MemoryBudget=16M, CritPercent=60, WarnPercent=50, RaiseIntervalSec=1s,
#           FastPollIntervalSec=100ms). Figures: the kernel's drop counter over the burst, the
#           flows accepted, and, with AutoRaise, the time from the count's first crossing of
#           CritPercent to the first raised maximum, both seen by a poller reading
#           /proc/sys/net/netfilter every 2 ms.
#   resize: the daemon stopped, the table filled with N entries through ctnetlink (ct-insert
#           from the build directory), then the hash size doubled by a write to
#           /sys/module/nf_conntrack/parameters/hashsize. Figures: how long the write took, the
#           longest gap between the replies of a UDP ping-pong over loopback that runs
#           throughout (every ping a new conntrack entry), the pings lost, and the drop and
#           insert_failed counters across the write.
#
# Output: "burst autoraise=no ..." and "resize entries=N ..." lines, read by tests/bench/run.

RESIZE_ENTRIES="10000 100000 250000"
ct_insert=${VM_BUILD:-}/tests/helpers/ct-insert
[ -x "$ct_insert" ] || skip "no ct-insert at $ct_insert"

sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
stat_sum() {
        _sum=0
        # shellcheck disable=SC2013 # one hexadecimal word a CPU
        for _h in $(awk -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                                     c { print $c }' /proc/net/stat/nf_conntrack); do
                _sum=$((_sum + 0x$_h))
        done
        echo "$_sum"
}

cat > /tmp/gen.py <<'PY'
import os, resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n, rate, src = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(4096)
srv.setblocking(False)
port, conns, accepted = srv.getsockname()[1], [], []
def accept():
    try:
        while True:
            accepted.append(srv.accept()[0])
    except BlockingIOError:
        pass
start = time.monotonic()
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
    delay = start + (i + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
end = time.monotonic() + 30
while len(accepted) < n and time.monotonic() < end:
    accept()
    time.sleep(0.05)
print("accepted", len(accepted), flush=True)
PY

# poll.py CRIT_COUNT BASE_MAX STOPFILE: the first time the count reaches CRIT_COUNT and the first
# time the maximum passes BASE_MAX, in ms on one clock.
cat > /tmp/poll.py <<'PY'
import os, sys, time
crit, base, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rd(name):
    with open("/proc/sys/net/netfilter/" + name) as f:
        return int(f.read())
t_cross = t_raise = None
while not os.path.exists(stop):
    t = time.monotonic()
    if t_cross is None and rd("nf_conntrack_count") >= crit:
        t_cross = t
    if t_raise is None and rd("nf_conntrack_max") > base:
        t_raise = t
    time.sleep(0.002)
f = lambda v: "-" if v is None else "%.0f" % (v * 1000)
print("cross_ms", f(t_cross), "raise_ms", f(t_raise),
      "cross_to_raise_ms", "-" if None in (t_cross, t_raise) else "%.0f" % ((t_raise - t_cross) * 1000))
PY

# ping.py STOPFILE: UDP ping-pong over loopback until STOPFILE exists, each ping from a new
# socket (a new conntrack entry); prints the longest gap between two replies and the pings
# that got no reply within 1 s.
cat > /tmp/ping.py <<'PY'
import os, socket, sys, time
stop = sys.argv[1]
srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(("127.0.0.1", 0))
addr = srv.getsockname()
srv.settimeout(1.0)
gap = lost = sent = 0
last = None
while not os.path.exists(stop):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.sendto(b"x", addr)
    sent += 1
    try:
        srv.recvfrom(16)
        now = time.monotonic()
        if last is not None:
            gap = max(gap, now - last)
        last = now
    except socket.timeout:
        lost += 1
    c.close()
    time.sleep(0.001)
print("max_gap_ms %.1f lost %d pings %d" % (gap * 1000, lost, sent), flush=True)
PY

conf() {
        cat > /etc/ctguard/ctguard.conf.d/50-bench.conf <<-CONF
	[Sysctl]
	net.netfilter.nf_conntrack_max=256
	net.netfilter.nf_conntrack_buckets=512

	[Conntrack]
	WarnPercent=50
	CritPercent=60
	FastPollIntervalSec=100ms
	TopTalkers=0
	AutoRaise=$1
	MemoryBudget=16M
	RaiseIntervalSec=1s
CONF
}

assert_ok modprobe nf_conntrack hashsize=512
assert_ok nft add table inet bench
assert_ok nft add chain inet bench out '{ type filter hook output priority 0; }'
assert_ok nft add rule inet bench out ct state new counter

src=40
for mode in no yes; do
        step "burst, AutoRaise=$mode"
        conf $mode
        # An empty table before the daemon starts: the previous burst's entries would have it
        # raise at its first sample.
        "$ct_insert" --delete-all > /dev/null 2>&1
        assert_ok systemctl start ctguard.service
        wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 256
        rm -f /tmp/poll-stop
        python3 /tmp/poll.py $((256 * 60 / 100)) 256 /tmp/poll-stop > /tmp/poll.log 2>&1 &
        poller=$!
        d0=$(stat_sum drop)
        src=$((src + 1))
        python3 /tmp/gen.py 2000 200 127.0.0.$src > /tmp/gen.log 2>&1
        d1=$(stat_sum drop)
        touch /tmp/poll-stop
        wait $poller
        echo "burst autoraise=$mode drops $((d1 - d0)) $(cat /tmp/gen.log) $(cat /tmp/poll.log)" \
                "max $(sysctl -n net.netfilter.nf_conntrack_max) buckets $(cat /sys/module/nf_conntrack/parameters/hashsize)"
        assert_ok systemctl stop ctguard.service
done

step "hash resize under load"
# The daemon is stopped: nothing but the test writes the table's sizes now.
assert_ok sysctl -qw net.netfilter.nf_conntrack_max=300000
for n in $RESIZE_ENTRIES; do
        echo 16384 > /sys/module/nf_conntrack/parameters/hashsize
        "$ct_insert" --delete-all > /dev/null 2>&1
        "$ct_insert" -q -n "$n" --src 10.0.0.0/8 --timeout 3600 || fail "ct-insert $n"
        h=$(cat /sys/module/nf_conntrack/parameters/hashsize)
        d0=$(stat_sum drop) i0=$(stat_sum insert_failed)
        # The pings run from a second before the write to a second after it.
        rm -f /tmp/ping-stop
        python3 /tmp/ping.py /tmp/ping-stop > /tmp/ping.log 2>&1 &
        pinger=$!
        t=$(python3 -c "
import time
time.sleep(1)
t = time.monotonic()
with open('/sys/module/nf_conntrack/parameters/hashsize', 'w') as f:
    f.write('$((h * 2))\\n')
print('%.1f' % ((time.monotonic() - t) * 1000))
time.sleep(1)")
        touch /tmp/ping-stop
        wait $pinger
        echo "resize entries=$n count $(cat /proc/sys/net/netfilter/nf_conntrack_count)" \
                "buckets $h->$(cat /sys/module/nf_conntrack/parameters/hashsize) write_ms $t" \
                "$(cat /tmp/ping.log) drop +$(( $(stat_sum drop) - d0 ))" \
                "insert_failed +$(( $(stat_sum insert_failed) - i0 ))"
done
"$ct_insert" --delete-all > /dev/null 2>&1
ok "raise-bench done"
