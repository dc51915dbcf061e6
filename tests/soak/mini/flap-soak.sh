# SPDX-License-Identifier: GPL-2.0-or-later
# Load, in the mini VM: something unloads nf_nat SOAK_UNLOADS times (100 by default) within
# SOAK_SECONDS (10): one rmmod every 1/10 s, on a schedule, whether the daemon has healed it
# since or not. With the shipped flap guard (ReloadBurst=5 within ReloadIntervalSec=10min)
# the daemon heals at most five times, reports module-flapping once, and stays quiet and cheap
# while the unloads go on. Its CPU time (utime+stime from /proc/PID/stat) is taken over the
# run.
#
# Time comes from /proc/uptime through the read builtin, never from a forked date.
# Prints: attempts N unloaded U seconds S reloads R flapping F cpu_ticks T (USER_HZ)
#         cpu_percent P

unloads=${SOAK_UNLOADS:-100}
seconds=${SOAK_SECONDS:-10}
log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

# The shipped defaults for everything but the chain.
cat > "$conf" <<CONF
[Modules]
Ensure=$chain
CONF

now_cs() {
        read -r _u _rest < /proc/uptime
        _f=${_u#*.}
        NOW=$(( ${_u%.*} * 100 + ${_f#0} ))
}
cpu_ticks() {
        read -r _l < "/proc/$pid/stat"
        # shellcheck disable=SC2086 # the fields after "(comm) "
        set -- ${_l#*) }
        shift 11
        TICKS=$(( $1 + $2 ))
}
nat_live() {
        _s=
        read -r _s 2> /dev/null < /sys/module/nf_nat/initstate
        [ "$_s" = live ]
}
count() { grep -cF -- "$1" "$log"; }
logged() { grep -qF -- "$1" "$log"; }

# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
ctguard --config "$conf" run 2> "$log" &
pid=$!
trap '[ "$?" = 0 ] || { tail -n 40 "$log"; lsmod; }' EXIT
wait_until 30 logged "[module-chain-present]"

cpu_ticks; ticks0=$TICKS
now_cs; t0=$NOW
step=$((seconds * 100 / unloads))
attempts=0 unloaded=0
while [ "$attempts" -lt "$unloads" ]; do
        # The next slot on the schedule: pacing the unloader, not waiting for the daemon.
        now_cs
        due=$((t0 + attempts * step))
        [ "$NOW" -ge "$due" ] || { sleep 0.01; continue; }
        attempts=$((attempts + 1))
        rmmod nf_nat 2> /dev/null && unloaded=$((unloaded + 1))
done
now_cs; t1=$NOW
wait_until 30 logged "[module-flapping]"
cpu_ticks
ticks=$((TICKS - ticks0))
cs=$((t1 - t0))
[ "$cs" -gt 0 ] || cs=1
reloads=$(count "[module-reloaded] Module nf_nat")
echo "attempts $attempts unloaded $unloaded seconds $((cs / 100)).$((cs % 100 / 10))" \
        "reloads $reloads flapping $(count "[module-flapping]") cpu_ticks $ticks" \
        "cpu_percent $((ticks * 100 / cs)).$((ticks * 1000 / cs % 10))"
# Five within the burst, and the one that trips the guard.
assert_ok test "$reloads" -le 6
assert_eq "$(count "[module-flapping]")" 1 "flapping reports"
assert_eq "$(count "flap guard window has passed")" 0 "window-passed lines while tripped"
assert_ok kill -0 "$pid"
assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
ok "flap"
