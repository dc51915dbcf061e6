# SPDX-License-Identifier: GPL-2.0-or-later
# AutoRaise under the shipped unit, real packets: [Sysctl] assigns nf_conntrack_max=256 and 512
# buckets, AutoRaise=yes with a budget for well over 4,096 entries; 2,000 assured TCP flows over
# loopback from one source, paced at about 50 a second, all connect, the drop counter stays 0,
# table-raised is logged with the new max and buckets, and the hash size was resized (the last
# raises pass max/4 > 512). The sysctl guard keeps the raised value over the assignment. Then a
# budget that pays for only 1,024 entries: table-budget-exhausted, and the kernel drops. Last,
# AutoRaise=no: the kernel drops, as without ctguard, and nothing is raised. "ctguard status"
# shows the budget and the raise as the daemon computed them, and a restart puts the assigned
# maximum back (how an operator returns to the configured value).
#
# CritPercent=60 and WarnPercent=50 leave 40 % of the table between the trigger and full, so
# that at 50 flows a second the next raise (RaiseIntervalSec=1s) is always in time.

seen() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -qx "CTGUARD_EVENT=$_ev"
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
# The per-CPU drop counters of /proc/net/stat/nf_conntrack (hexadecimal), summed.
drops() {
        _sum=0
        # shellcheck disable=SC2013 # one hexadecimal word a CPU
        for _h in $(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "drop") c = i; next }
                         { print $c }' /proc/net/stat/nf_conntrack); do
                _sum=$((_sum + 0x$_h))
        done
        echo "$_sum"
}
field() {
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$1" |
                sed -n "s/^$2=//p" | tail -n 1
}


conf() {
        cat > /etc/ctguard/ctguard.conf.d/50-e2e.conf <<-CONF
	[Sysctl]
	net.netfilter.nf_conntrack_max=256
	net.netfilter.nf_conntrack_buckets=512

	[Conntrack]
	WarnPercent=50
	CritPercent=60
	FastPollIntervalSec=100ms
	TopTalkers=0
	AutoRaise=${2:-yes}
	MemoryBudget=$1
	RaiseIntervalSec=1s
CONF
}

cat > /tmp/e2e-gen.py <<'PY'
import os, resource, socket, sys, time
# Two descriptors a flow, beyond the default soft limit of 1,024.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n, rate, hold, src = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
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
end = time.monotonic() + 60
while len(accepted) < n and time.monotonic() < end:
    accept()
    time.sleep(0.05)
print("connections", n, "accepted", len(accepted), flush=True)
while os.path.exists(hold) and time.monotonic() < end + 60:
    time.sleep(0.1)
PY

step "AutoRaise with room: 2,000 flows into a table of 256"
conf 16M
# Loaded before the service starts, as at boot: the unit's ReadWritePaths=-/sys/module/
# nf_conntrack/parameters only opens the hash size for writing if it exists then.
assert_ok modprobe nf_conntrack hashsize=512
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 256
wait_until 30 sysctl_is net.netfilter.nf_conntrack_buckets 512
# nf_conntrack is loaded now (ctguard's Ensure=): the price of an entry, as ctguard reads it.
obj=$(cat /sys/kernel/slab/nf_conntrack/slab_size 2> /dev/null ||
        awk '$1 == "nf_conntrack" { print $4 }' /proc/slabinfo)
[ -n "$obj" ] || fail "no nf_conntrack slab size"
echo "nf_conntrack slab object: $obj bytes"
assert_ok nft add table inet e2e
assert_ok nft add chain inet e2e out '{ type filter hook output priority 0; }'
assert_ok nft add rule inet e2e out ct state new counter
d0=$(drops)
touch /tmp/e2e-hold
python3 /tmp/e2e-gen.py 2000 50 /tmp/e2e-hold 127.0.0.42 > /tmp/e2e-gen.log 2>&1 &
gen=$!
wait_until 120 grep -q accepted /tmp/e2e-gen.log
cat /tmp/e2e-gen.log
journalctl -u ctguard.service -o cat CTGUARD_EVENT=table-raised + CTGUARD_EVENT=table-budget-exhausted
assert_eq "$(sed -n 's/.*accepted \([0-9]*\).*/\1/p' /tmp/e2e-gen.log)" 2000 "flows connected"
assert_eq "$(drops)" "$d0" "drop counter"
seen table-raised || fail "no table-raised"
max=$(sysctl -n net.netfilter.nf_conntrack_max)
buckets=$(cat /sys/module/nf_conntrack/parameters/hashsize)
echo "raised to max $max, $buckets buckets"
[ "$max" -ge 2000 ] || fail "nf_conntrack_max is $max"
[ "$buckets" -gt 512 ] || fail "the hash was not resized: $buckets buckets"
assert_eq "$(field table-raised CTGUARD_MAX)" "$max" "table-raised CTGUARD_MAX"
assert_eq "$(field table-raised CTGUARD_BUCKETS)" "$buckets" "table-raised CTGUARD_BUCKETS"
assert_eq "$(field table-raised PRIORITY)" 5 "table-raised priority"
# The sysctl guard kept the raise through the whole run (its watch sees every write at once):
# at most the one restore of 256 at start, no fight.
restores=$(journalctl -u ctguard.service -o export CTGUARD_EVENT=sysctl-restored \
        CTGUARD_KEY=net.netfilter.nf_conntrack_max | grep -c '^CTGUARD_NEW=256')
[ "$restores" -le 1 ] || fail "the sysctl guard restored nf_conntrack_max=256 $restores times"
seen sysctl-fight && fail "sysctl-fight logged"
assert_eq "$(sysctl -n net.netfilter.nf_conntrack_max)" "$max" "nf_conntrack_max at the end"
# status: the budget as the daemon priced it (16 MiB, entries at the slab's price, buckets at
# 8 bytes) and the raise with why.
ctguard status > /tmp/e2e-status.txt
cat /tmp/e2e-status.txt
assert_ok grep -qF "auto-raise: on (MemoryBudget=16M, the daemon's)" /tmp/e2e-status.txt
assert_ok grep -qE "^  net.netfilter.nf_conntrack_max +$max ok, raised by AutoRaise over 256 \(/etc/ctguard/ctguard.conf.d/50-e2e.conf:2\)$" /tmp/e2e-status.txt
assert_ok grep -q "^  max raised by AutoRaise at .* to $(printf '%s' "$max" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') entries" /tmp/e2e-status.txt
ctguard status --json > /tmp/e2e-status.json
assert_ok python3 - /tmp/e2e-status.json "$max" "$buckets" "$obj" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["auto_raise"]
mx, b, obj = map(int, sys.argv[2:])
budget = a["budget"]
assert a["enabled"] and a["from"] == "daemon", a
assert budget["bytes"] == 16 << 20 and budget["entry_bytes"] == obj, a
assert budget["max"] == mx and budget["buckets"] == b, a
assert budget["used"] == mx * obj + b * 8, a
assert budget["headroom"] == budget["bytes"] - budget["used"], a
assert a["raised"]["to_max"] == mx and a["raised"]["to_buckets"] == b, a
print("status --json: budget", budget, "raised", a["raised"])
PY
rm -f /tmp/e2e-hold
wait $gen
assert_ok systemctl stop ctguard.service

step "AutoRaise within a budget of 1,024 entries"
# The entries of the first step may linger (TIME_WAIT): the table is then full at once, which
# is no less a test of the cap. The guard puts back the assigned 256 and 512 at start.
conf $((1024 * obj + 512 * 8))
: > /tmp/e2e-gen.log
nft flush ruleset
since=$(date '+%Y-%m-%d %H:%M:%S')
# (No wait for 256: with the lingering entries, the first sample may raise at once.)
assert_ok systemctl start ctguard.service
# A restart starts from the assigned value: the raise of the first step is undone.
restored() {
        journalctl -u ctguard.service --since "$since" -o export CTGUARD_EVENT=sysctl-restored \
                CTGUARD_KEY=net.netfilter.nf_conntrack_max | grep -qx CTGUARD_NEW=256
}
wait_until 30 restored
assert_ok nft add table inet e2e
assert_ok nft add chain inet e2e out '{ type filter hook output priority 0; }'
assert_ok nft add rule inet e2e out ct state new counter
d0=$(drops)
touch /tmp/e2e-hold
python3 /tmp/e2e-gen.py 2000 200 /tmp/e2e-hold 127.0.0.43 > /tmp/e2e-gen.log 2>&1 &
gen=$!
exhausted() { journalctl -u ctguard.service --since "$since" -o export CTGUARD_EVENT=table-budget-exhausted | grep -qx CTGUARD_EVENT=table-budget-exhausted; }
wait_until 60 exhausted
journalctl -u ctguard.service --since "$since" -o cat CTGUARD_EVENT=table-raised + CTGUARD_EVENT=table-budget-exhausted
dropping() { [ "$(drops)" -gt "$d0" ]; }
wait_until 60 dropping
echo "drops: $(( $(drops) - d0 )), max $(sysctl -n net.netfilter.nf_conntrack_max)"
[ "$(sysctl -n net.netfilter.nf_conntrack_max)" -le 1024 ] || fail "raised past the budget"
rm -f /tmp/e2e-hold
kill $gen 2> /dev/null
wait $gen
assert_ok systemctl stop ctguard.service

step "AutoRaise off: the kernel drops, nothing is raised"
conf 16M no
: > /tmp/e2e-gen.log
nft flush ruleset
since=$(date '+%Y-%m-%d %H:%M:%S')
assert_ok systemctl start ctguard.service
wait_until 30 sysctl_is net.netfilter.nf_conntrack_max 256
# A rule that uses conntrack: without one the kernel tracks nothing.
assert_ok nft add table inet e2e
assert_ok nft add chain inet e2e out '{ type filter hook output priority 0; }'
assert_ok nft add rule inet e2e out ct state new counter
d0=$(drops)
touch /tmp/e2e-hold
python3 /tmp/e2e-gen.py 2000 200 /tmp/e2e-hold 127.0.0.44 > /tmp/e2e-gen.log 2>&1 &
gen=$!
wait_until 60 dropping
echo "drops: $(( $(drops) - d0 )), max $(sysctl -n net.netfilter.nf_conntrack_max)"
seen table-raised --since "$since" && fail "table-raised with AutoRaise=no"
assert_eq "$(sysctl -n net.netfilter.nf_conntrack_max)" 256 "nf_conntrack_max"
ctguard status > /tmp/e2e-status.txt
assert_ok grep -qF "auto-raise: off (MemoryBudget=16M, the daemon's)" /tmp/e2e-status.txt
rm -f /tmp/e2e-hold
kill $gen 2> /dev/null
wait $gen
assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
