# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit, with the shipped configuration (no [Sysctl]: ctguard guards the
# values it finds at start): sysctl -w of nf_conntrack_max is undone and logged.

# seen EVENT [FIELD=VALUE...]: ctguard.service logged EVENT with those fields.
seen() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -qx "CTGUARD_EVENT=$_ev"
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
key=net.netfilter.nf_conntrack_max

step "the chain is loaded before ctguard starts, so its snapshot has the key"
assert_ok modprobe -a nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat
max=$(sysctl -n $key)
assert_ok test "$max" -gt 1000
assert_ok systemctl start ctguard.service
wait_until 30 seen config-loaded
# A snapshot value is listed commented out: the file assigns nothing.
assert_eq "$(ctguard cat-config | sed -n "s/^#$key=$max *; //p")" snapshot "origin in cat-config"

step "sysctl -w $key=1000"
assert_ok sysctl -q -w $key=1000
wait_until 10 sysctl_is $key "$max"
wait_until 10 seen sysctl-restored CTGUARD_KEY=$key CTGUARD_OLD=1000 CTGUARD_NEW="$max"
journalctl -u ctguard.service -o cat CTGUARD_EVENT=sysctl-restored
assert_eq "$(journalctl -u ctguard.service -p warning -o cat)" "" "warnings and worse"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
