# SPDX-License-Identifier: GPL-2.0-or-later
# The chain unloaded by kmod's modprobe -r, as an operator or a firewall restart does it.
# Soft dependencies come back as modprobe loads them, but not in vain: libcrc32c's
# crc32c_intel, which QEMU's emulated CPU refuses (no SSE4.2: ENODEV, after a whole module
# load), is tried once, not for every module that depends on libcrc32c and not at every heal.
# An unload while the daemon runs is let finish, then healed.
#
# The module loads are counted by the kernel's module_load trace event, which names the task
# that loaded the module. "modprobe" is spelt /sbin/modprobe: this shell's own modprobe is
# busybox's, which ignores soft dependencies.

log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
modprobe=/sbin/modprobe
tracing=/sys/kernel/tracing

all_live() { for m in $chain; do live "$m" || return 1; done; }
count() { grep -cF -- "$1" "$log"; }
count_is_at_least() { [ "$(count "$1")" -ge "$2" ]; }
sysctl_is() { [ "$(cat "/proc/sys/net/netfilter/$1" 2>/dev/null)" = "$2" ]; }
restored() { all_live && sysctl_is nf_conntrack_max 131072; }
# loads_by_daemon MODULE: how often the daemon had the kernel load MODULE.
loads_by_daemon() {
        grep -c "ctguard-[0-9]* .* module_load: $1 " "$tracing/trace"
}
# The chain, libcrc32c and, with it, its soft dependency crc32c_generic.
unload() {
        if [ -e /sys/module/nf_conntrack_netlink ]; then
                rmmod nf_conntrack_netlink || return
        fi
        $modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6 libcrc32c
}

$modprobe -V 2> /dev/null | grep -q kmod || skip "no kmod modprobe"
[ -d "$tracing/events" ] || mount -t tracefs nodev "$tracing" 2> /dev/null ||
        skip "no tracefs"
[ -w "$tracing/events/module/module_load/enable" ] || skip "no module_load trace event"

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=1h

[Modules]
Ensure=$chain
ReloadBurst=100
ReloadIntervalSec=1s

[Sysctl]
net.netfilter.nf_conntrack_max=131072
CONF

step "the chain loaded by modprobe, then the daemon"
# ctnetlink too: the daemon's conntrack sampler would have the kernel load it, and that load
# could still be on its way when a step below unloads the chain.
# shellcheck disable=SC2086 # a list of names
assert_ok $modprobe -a $chain nf_conntrack_netlink
live crc32c_intel && skip "this CPU runs crc32c_intel: no refused soft dependency to show"
echo 1 > "$tracing/events/module/module_load/enable"
echo > "$tracing/trace"
ctguard --config "$conf" run 2> "$log" &
pid=$!
wait_until 30 count_is_at_least "[module-chain-present]" 1
wait_until 30 restored

step "healed from nothing: the refused soft dependency tried once, the other loaded"
# The daemon is stopped while the chain goes, so that it finds all of it gone.
assert_ok kill -STOP "$pid"
assert_ok unload
for m in $chain libcrc32c crc32c_generic; do
        assert_ok gone "$m"
done
assert_ok kill -CONT "$pid"
wait_until 30 restored
wait_until 10 count_is_at_least "[module-chain-restored]" 1
assert_ok live libcrc32c
assert_ok live crc32c_generic
# Once for libcrc32c; libkmod would try it again for nf_nat, which needs libcrc32c too.
assert_eq "$(loads_by_daemon crc32c_intel)" 1 "crc32c_intel loads by the daemon"

step "again: the refused soft dependency is not tried a second time"
assert_ok kill -STOP "$pid"
assert_ok unload
assert_ok kill -CONT "$pid"
wait_until 30 restored
wait_until 10 count_is_at_least "[module-chain-restored]" 2
assert_ok live crc32c_generic
assert_eq "$(loads_by_daemon crc32c_intel)" 1 "crc32c_intel loads by the daemon"
assert_eq "$(loads_by_daemon crc32c_generic)" 2 "crc32c_generic loads by the daemon"
assert_eq "$(loads_by_daemon nf_conntrack)" 2 "nf_conntrack loads by the daemon"

step "nf_nat alone: libcrc32c is in, none of its soft dependencies is loaded"
assert_ok rmmod nf_nat
wait_until 30 restored
wait_until 10 count_is_at_least "[module-chain-restored]" 3
assert_eq "$(loads_by_daemon nf_nat)" 3 "nf_nat loads by the daemon"
assert_eq "$(loads_by_daemon crc32c_generic)" 2 "crc32c_generic loads by the daemon"
assert_eq "$(loads_by_daemon crc32c_intel)" 1 "crc32c_intel loads by the daemon"

step "modprobe -r while the daemon runs: let finish, then healed"
# The daemon waits until nothing is left that modprobe -r could still take out, so modprobe
# -r normally succeeds; under a host slow enough to stall it past the daemon's patience the
# two race, which only the end state may not show.
unload
echo "modprobe -r exited with $?"
wait_until 30 restored
wait_until 10 count_is_at_least "[module-chain-restored]" 4

step "no flapping, a clean exit"
assert_eq "$(count "[module-flapping]")" 0 "module-flapping events"
echo 0 > "$tracing/events/module/module_load/enable"
assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
