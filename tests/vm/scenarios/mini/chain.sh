# SPDX-License-Identifier: GPL-2.0-or-later
# The conntrack chain loads and unloads with modprobe, and ctguard runs on this kernel.

chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

step "load the chain"
assert_ok modprobe -a $chain
for m in $chain; do
        assert_eq "$(cat /sys/module/$m/initstate)" live "$m initstate"
done

step "unload it"
assert_ok modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6
for m in $chain; do
        assert_fail test -e /sys/module/$m
done

step "ctguard"
assert_contains "$(ctguard check-config 2>&1)" "configuration OK" "ctguard check-config"
