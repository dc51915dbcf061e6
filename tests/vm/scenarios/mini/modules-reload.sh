# SPDX-License-Identifier: GPL-2.0-or-later
# The module guard on a kernel with loadable netfilter modules, without udevd: the chain
# unloaded comes back in the configured order, from the kernel's uevent alone (the poll tick is
# far longer than the waits here), with the conntrack table sized by the guarded
# nf_conntrack_buckets and every guarded sysctl restored.

chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
log=/tmp/ctguard.log
conf=/tmp/ctguard.conf

all_live() { for m in $chain; do live "$m" || return 1; done; }
logged() { grep -qF -- "$1" "$log"; }
count() { grep -cF -- "$1" "$log"; }
count_is_at_least() { [ "$(count "$1")" -ge "$2" ]; }
sysctl_is() { [ "$(cat "/proc/sys/net/netfilter/$1")" = "$2" ]; }
sysctls_restored() {
        sysctl_is nf_conntrack_max 131072 && sysctl_is nf_conntrack_buckets 16384 &&
                sysctl_is nf_conntrack_tcp_timeout_established 7200
}

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=1h

[Modules]
Ensure=$chain nf_conntrack_ipv4

[Sysctl]
net.netfilter.nf_conntrack_max=131072
net.netfilter.nf_conntrack_buckets=16384
net.netfilter.nf_conntrack_tcp_timeout_established=7200
CONF

step "the daemon starts with the chain loaded and puts the sysctls in place"
# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
ctguard --config "$conf" run 2> "$log" &
pid=$!
wait_until 30 logged "[module-chain-present]"
assert_contains "$(grep -F '[module-chain-present]' "$log")" "nf_conntrack (live)"
assert_contains "$(grep -F '[module-skipped]' "$log")" "nf_conntrack_ipv4"
wait_until 30 sysctls_restored

step "one module removed: healed from its uevent, not the hourly tick"
assert_ok rmmod nf_nat
wait_until 20 live nf_nat
wait_until 10 logged "[module-reloaded] Module nf_nat loaded again"
wait_until 10 count_is_at_least "[module-chain-restored]" 1

step "the whole chain removed while held, then released: reloaded in order"
assert_ok ctguard hold --reason "vm test"
wait_until 20 logged "[held] On hold (vm test)"
before=$(count "[module-reloaded]")
# ctguard's conntrack sampler talks ctnetlink, which the kernel autoloads and which holds
# nf_conntrack: it goes first (rmmod: its socket keeps nfnetlink, which modprobe -r would try).
[ ! -e /sys/module/nf_conntrack_netlink ] || assert_ok rmmod nf_conntrack_netlink
assert_ok modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6
for m in $chain; do
        assert_ok gone "$m"
done
wait_until 20 count_is_at_least "[module-missing]" 4
assert_eq "$(count "[module-reloaded]")" "$before" "reloads while held"
assert_ok ctguard release
wait_until 30 all_live
wait_until 10 count_is_at_least "[module-reloaded]" $((before + 4))
order=$(grep -F "[module-reloaded]" "$log" | tail -n 4 |
        sed 's/.*\[module-reloaded\] Module \([a-z0-9_]*\) .*/\1/' | tr '\n' ' ')
assert_eq "$order" "$chain " "reload order"
assert_eq "$(cat /sys/module/nf_conntrack/parameters/hashsize)" 16384 "nf_conntrack hashsize"
assert_contains "$(grep -F '[module-reloaded] Module nf_conntrack' "$log" | tail -n 1)" \
        "with hashsize=16384"
wait_until 20 sysctls_restored

step "nothing alarming so far"
grep -E "\[module-(load-failed|blocked|flapping)\]" "$log"
for e in module-load-failed module-blocked module-flapping; do
        assert_eq "$(grep -cF "[$e]" "$log")" 0 "$e events"
done

step "modprobe -r of the chain while guarded: whatever it takes out comes back"
# modprobe and ctguard race here: a module may be loaded while one it needs is still going
# away, which fails that load; the retry that follows heals it. What counts is the end state.
rmmod nf_conntrack_netlink 2> /dev/null
modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6 2> /dev/null
wait_until 30 all_live
wait_until 20 sysctls_restored

step "the daemon is alive"
cat "$log"
assert_ok kill -0 "$pid"
assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
assert_eq "$(count "[module-flapping]")" 0 "module-flapping events"
