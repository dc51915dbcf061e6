# SPDX-License-Identifier: GPL-2.0-or-later
# Soak, in the mini VM: nf_nat is unloaded SOAK_HEALS times (tests/soak/vm-soak sets it; 1000 by
# default) and the daemon heals the chain each time from the kernel's uevent, with its memory
# and descriptors sampled every SOAK_SAMPLE heals. The flap guard is set wide open
# (ReloadBurst=100 within 1 s, far more than TCG can heal) so that every unload is healed.
#
# Time comes from /proc/uptime through the read builtin, never from a forked date. Each heal
# waits on its condition (nf_nat live and one more module-reloaded line) against a deadline.
# Prints: heals N seconds S per_heal_ms M rss_kb start/end/max A/B/C fds start/end/max D/E/F
#         cpu_ticks T (utime+stime of the daemon over the soak, USER_HZ)

heals=${SOAK_HEALS:-1000}
every=${SOAK_SAMPLE:-50}
log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=1h

[Modules]
Ensure=$chain
ReloadBurst=100
ReloadIntervalSec=1s
CONF

now_cs() {
        read -r _u _rest < /proc/uptime
        _f=${_u#*.}
        NOW=$(( ${_u%.*} * 100 + ${_f#0} ))
}
sample() {
        RSS=
        while read -r _k _v _rest; do
                [ "$_k" = VmRSS: ] && { RSS=$_v; break; }
        done < "/proc/$pid/status"
        set -- /proc/"$pid"/fd/*
        FDS=$#
        [ -n "$RSS" ]
}
cpu_ticks() {
        read -r _l < "/proc/$pid/stat"
        # shellcheck disable=SC2086 # the fields after "(comm) "
        set -- ${_l#*) }
        shift 11
        TICKS=$(( $1 + $2 ))
}
reloads() { grep -cF "[module-reloaded] Module nf_nat" "$log"; }
# As live, without a fork: the read builtin.
nat_live() {
        _s=
        read -r _s 2> /dev/null < /sys/module/nf_nat/initstate
        [ "$_s" = live ]
}

# shellcheck disable=SC2086 # a list of names
assert_ok modprobe -a $chain
ctguard --config "$conf" --log-level="${SOAK_LOG_LEVEL:-info}" run 2> "$log" &
pid=$!
# On failure, what the daemon said last.
trap '[ "$?" = 0 ] || { tail -n 60 "$log"; lsmod; }' EXIT
wait_until 30 grep -qF "[module-chain-present]" "$log"

sample || fail "cannot sample the daemon"
rss0=$RSS fds0=$FDS rss_max=$RSS fds_max=$FDS
cpu_ticks; ticks0=$TICKS
now_cs; t0=$NOW
i=0
while [ "$i" -lt "$heals" ]; do
        i=$((i + 1))
        # The daemon may still hold a reference while it finishes the last heal: retry.
        n=0
        until rmmod nf_nat 2> /dev/null; do
                n=$((n + 1))
                [ "$n" -le 200 ] || fail "heal $i: cannot unload nf_nat"
                sleep 0.01
        done
        now_cs; deadline=$((NOW + 3000))
        until nat_live; do
                now_cs
                [ "$NOW" -lt "$deadline" ] || fail "heal $i: nf_nat not healed within 30 s"
                kill -0 "$pid" || fail "heal $i: the daemon is gone"
                sleep 0.01
        done
        # ... and the daemon's word for it, before the next unload.
        until [ "$(reloads)" -ge "$i" ]; do
                now_cs
                [ "$NOW" -lt "$deadline" ] || fail "heal $i: no module-reloaded line within 30 s"
                sleep 0.01
        done
        if [ $((i % every)) = 0 ]; then
                sample || fail "heal $i: cannot sample the daemon"
                [ "$RSS" -le "$rss_max" ] || rss_max=$RSS
                [ "$FDS" -le "$fds_max" ] || fds_max=$FDS
        fi
done
now_cs; t1=$NOW
cpu_ticks
sample || fail "cannot sample the daemon"
[ "$RSS" -le "$rss_max" ] || rss_max=$RSS
[ "$FDS" -le "$fds_max" ] || fds_max=$FDS
cs=$((t1 - t0))
[ "$cs" -gt 0 ] || cs=1
echo "heals $heals seconds $((cs / 100)).$((cs % 100 / 10)) per_heal_ms $((cs * 10 / heals))" \
        "rss_kb start/end/max $rss0/$RSS/$rss_max fds start/end/max $fds0/$FDS/$fds_max" \
        "cpu_ticks $((TICKS - ticks0))"
assert_eq "$(reloads)" "$heals" "nf_nat reloads"
assert_eq "$(grep -cF "[module-flapping]" "$log")" 0 "flapping reports"
assert_ok test "$FDS" -le "$fds0"
assert_ok kill "$pid"
wait "$pid"
assert_eq "$?" 0 "ctguard exit status"
ok "soak"
