# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: looking never loads a module. On hold, and then in monitor mode, the
# whole chain including nf_conntrack_netlink is removed with the daemon running; the removal
# succeeds (nothing ctguard holds pins a module), the daemon keeps answering and serving its
# watchdog, and the chain stays out across several polls (nothing ctguard asks loads it back).

count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
more() {
        _n=$1
        shift
        [ "$(count "$@")" -gt "$_n" ]
}
uptime_ms() {
        read -r _up _ < /proc/uptime
        echo $((${_up%.*} * 1000 + 10#${_up#*.} * 10))
}
chain="nf_conntrack_netlink nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6"
all_gone() {
        for _m in $chain; do
                gone "$_m" || return 1
        done
}
# stays_gone MS: the whole chain stays absent for MS milliseconds, checked every 0.1 s.
stays_gone() {
        _end=$(($(uptime_ms) + $1))
        while [ "$(uptime_ms)" -lt "$_end" ]; do
                all_gone || fail "a module of the chain came back: $(ls -d /sys/module/nf_* 2> /dev/null | tr '\n' ' ')"
                sleep 0.1
        done
        ok "the chain stayed out for $1 ms"
}
# netlink_stays_out MS: with nf_conntrack loaded, nf_conntrack_netlink stays absent for MS
# milliseconds, while every poll reads the statistics (a ctnetlink query would load it).
netlink_stays_out() {
        assert_ok live nf_conntrack
        modprobe -r nf_conntrack_netlink 2> /dev/null
        assert_ok gone nf_conntrack_netlink
        _end=$(($(uptime_ms) + $1))
        while [ "$(uptime_ms)" -lt "$_end" ]; do
                gone nf_conntrack_netlink || fail "nf_conntrack_netlink was loaded again"
                sleep 0.1
        done
        ok "nf_conntrack_netlink stayed out for $1 ms with nf_conntrack loaded"
}
# The daemon is not frozen: systemd and ctguard status get their answers, the watchdog has
# not restarted it.
answers() {
        assert_ok timeout 10 systemctl status ctguard.service > /dev/null
        timeout 10 ctguard status > "$VM_SHARE/status.txt" 2>&1
        assert_ne_rc=$?
        [ "$assert_ne_rc" -ne 124 ] || fail "ctguard status did not answer in 10 s"
        assert_eq "$(systemctl show -P MainPID ctguard.service)" "$pid" "MainPID (no restart)"
        assert_eq "$(systemctl show -P NRestarts ctguard.service)" "$restarts" "NRestarts"
        assert_eq "$(systemctl is-active ctguard.service)" active "ctguard.service state"
}
# unload_chain: what an operator does for maintenance; it must succeed while ctguard runs.
unload_chain() {
        missing=$(count module-missing CTGUARD_MODULE=nf_conntrack)
        assert_ok modprobe nf_conntrack_netlink
        assert_ok modprobe -r $chain
        all_gone || fail "still loaded after modprobe -r: $(ls -d /sys/module/nf_* 2> /dev/null | tr '\n' ' ')"
        wait_until 10 more "$missing" module-missing CTGUARD_MODULE=nf_conntrack
}

# One-second polls, and top talkers on (the default), so that every kind of look happens.
printf '[Guard]\nPollIntervalSec=1s\n' > /etc/ctguard/ctguard.conf.d/50-e2e.conf

step "running, chain up"
assert_ok systemctl start ctguard.service
wait_until 30 live nf_nat
wait_until 30 live nf_conntrack
pid=$(systemctl show -P MainPID ctguard.service)
restarts=$(systemctl show -P NRestarts ctguard.service)

step "the statistics polls load nothing, even while healing"
netlink_stays_out 3500

step "(b) on hold, the whole chain goes and stays out"
assert_ok ctguard hold --for 10min --reason "e2e maintenance"
wait_until 10 more 0 held
unload_chain
# Three polls and a half.
stays_gone 3500
answers
grep -i hold "$VM_SHARE/status.txt"

step "release heals"
assert_ok ctguard release
wait_until 30 live nf_nat
wait_until 30 live nf_conntrack

step "(c) in monitor mode, the same"
printf '[Guard]\nPollIntervalSec=1s\nMode=monitor\n' > /etc/ctguard/ctguard.conf.d/50-e2e.conf
loaded=$(count config-loaded)
assert_ok systemctl reload ctguard.service
wait_until 10 more "$loaded" config-loaded
unload_chain
stays_gone 3500
answers

assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
