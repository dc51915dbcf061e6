#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# How fast ctguard undoes a sysctl change, and what guarding costs when nothing happens.
# Runs in a network namespace of its own (root needed; exits 77 otherwise).
#
#   CTGUARD=build/daemon/ctguard tests/bench/sysctl-bench.sh
#
# 1. Restore latency: TRIALS times (default 50), at a random moment, write another value to
#    net.netfilter.nf_conntrack_tcp_timeout_established and time until it reads back as the
#    configured 7200. Measured twice at the default 1 s poll interval: as shipped (file watches
#    on), and by polling alone (CTGUARD_SYSCTL_WATCH=0). Every four trials ctguard is reloaded,
#    so that its fight detection (more than 5 restores of a key per minute) stays out of the way.
# 2. Idle CPU: utime+stime (/proc/PID/stat) and time on CPU (/proc/PID/schedstat) of the daemon
#    over CPU_SECONDS (default 60) with the default configuration (every conntrack timeout and
#    limit followed), extrapolated to an hour.
#
# Prints "name: value" lines; the targets are a median restore <= 0.5 s and idle CPU <= 0.05 %
# of a core.

# shellcheck disable=SC2119 # start_ctguard and stop_ctguard take options, not this script's
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

TRIALS=${TRIALS:-50}
CPU_SECONDS=${CPU_SECONDS:-60}
key=net.netfilter.nf_conntrack_tcp_timeout_established

ns_setup
ctguard_root_setup
require_cmd awk sort
[ -n "${EPOCHREALTIME:-}" ] || skip "needs bash 5 (EPOCHREALTIME)"

log_lines() {
        grep -cF -- "$1" "$CTG_LOG"
}

# One process inside the namespace runs every trial, so that no fork sits inside a measured
# interval: the write and the reads are shell builtins. It prints one latency in microseconds per
# trial, or "timeout".
# shellcheck disable=SC2016
trial_script='
f=/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established
n=$1 pid=$2 log=$3 fifo=$4
exec 3<>"$fifo"                 # never written: "read -t" on it is a sleep without a fork
loaded=$(grep -cF "[config-loaded]" "$log")
for ((i = 0; i < n; i++)); do
        if (( i > 0 && i % 4 == 0 )); then
                kill -HUP "$pid"
                loaded=$((loaded + 1))
                until [ "$(grep -cF "[config-loaded]" "$log")" -ge "$loaded" ]; do
                        read -r -t 0.01 -u 3
                done
        fi
        # A random pause, so that changes land at every phase of the poll timer.
        read -r -t "$(printf "0.%03d" $((RANDOM % 1000)))" -u 3
        t0=${EPOCHREALTIME/./}
        echo $((1000 + i)) >"$f"
        while read -r cur <"$f"; [ "$cur" != 7200 ]; do
                if (( ${EPOCHREALTIME/./} - t0 > 10000000 )); then
                        echo timeout
                        continue 2
                fi
        done
        t1=${EPOCHREALTIME/./}
        echo $((t1 - t0))
done
'

# summarize NAME FILE: median, p99 (nearest rank), mean, min and max of microsecond samples.
summarize() {
        local name=$1 file=$2 timeouts
        timeouts=$(grep -c timeout "$file")
        grep -v timeout "$file" | sort -n | awk -v name="$name" -v to="$timeouts" '
                { v[NR] = $1; s += $1 }
                END {
                        if (NR == 0) { printf "%s: no samples\n", name; exit }
                        p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
                        mid = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%s: trials %d, timeouts %d, median %.1f ms, p99 %.1f ms, " \
                               "mean %.1f ms, min %.2f ms, max %.1f ms\n", name, NR, to,
                               mid / 1000, v[p99] / 1000, s / NR / 1000, v[1] / 1000,
                               v[NR] / 1000
                }'
}

# latency NAME: runs the trials against the running daemon.
latency() {
        local out="$TEST_TMP/$1.us"
        ns_exec bash -c "$trial_script" bash "$TRIALS" "$CTG_PID" "$CTG_LOG" "$TEST_TMP/fifo" \
                >"$out" || fail "the trials failed"
        [ "$(wc -l <"$out")" = "$TRIALS" ] || fail "expected $TRIALS samples in $out"
        summarize "$1" "$out"
}

mkfifo "$TEST_TMP/fifo" || fail "mkfifo"

ctguard_write_config etc/ctguard/ctguard.conf <<CONF
[Sysctl]
$key=7200
CONF

info "restore latency, $TRIALS trials each, PollIntervalSec=1s (the default)"
start_ctguard
wait_for_log 10 "Restored $key: "
latency "restore-latency-watch"
assert_eq 0 "$(log_lines "[sysctl-fight]")" "fights during the trials"
stop_ctguard

export CTGUARD_SYSCTL_WATCH=0
start_ctguard
wait_for_log 10 "[config-loaded]"
latency "restore-latency-poll-only"
assert_eq 0 "$(log_lines "[sysctl-fight]")" "fights during the trials"
stop_ctguard
unset CTGUARD_SYSCTL_WATCH

# cpu NAME: the daemon's CPU time over CPU_SECONDS while nothing changes.
cpu() {
        local name=$1 hz keys ticks0 ticks1 ns0 ns1 stat
        hz=$(getconf CLK_TCK)
        wait_for_log 10 "[config-loaded]"
        keys=$(sed -n 's/.* \([0-9]*\) sysctl(s) guarded.*/\1/p' "$CTG_LOG" | head -n 1)
        # With nothing assigned, the netfilter keys are followed: looked at each tick as well.
        local f followable=0
        for f in /proc/sys/net/netfilter/nf_conntrack_max /proc/sys/net/netfilter/nf_conntrack_buckets \
                 /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_* \
                 /proc/sys/net/netfilter/nf_conntrack_udp_timeout*; do
                [ -e "$f" ] && followable=$((followable + 1))
        done
        keys="$keys assigned, $followable followable"
        ctguard_running || fail "ctguard is not running"
        read -r ns0 _ <"/proc/$CTG_PID/schedstat"
        stat=$(sed 's/^.*) //' "/proc/$CTG_PID/stat")
        ticks0=$(echo "$stat" | awk '{ print $12 + $13 }')
        # The measurement period itself: nothing is waited for, the daemon is left alone.
        sleep "$CPU_SECONDS"
        read -r ns1 _ <"/proc/$CTG_PID/schedstat"
        stat=$(sed 's/^.*) //' "/proc/$CTG_PID/stat")
        ticks1=$(echo "$stat" | awk '{ print $12 + $13 }')
        ctguard_running || fail "ctguard exited during the measurement"
        awk -v name="$name" -v keys="$keys" -v s="$CPU_SECONDS" -v hz="$hz" \
            -v t="$((ticks1 - ticks0))" -v ns="$((ns1 - ns0))" 'BEGIN {
                printf "%s: keys %s, over %d s: utime+stime %d ticks (%.0f ms), " \
                       "on CPU %.2f ms; per hour %.2f s (utime+stime) / %.3f s (schedstat); " \
                       "%.4f %% of a core\n", name, keys, s, t, t * 1000 / hz, ns / 1e6,
                       t / hz * 3600 / s, ns / 1e9 * 3600 / s, ns / 1e9 / s * 100
        }'
}

# The default configuration: [Sysctl] assigns nothing, ctguard follows the netfilter keys.
: >"$CTG_ROOT/etc/ctguard/ctguard.conf"
info "idle CPU over $CPU_SECONDS s, default configuration"
start_ctguard
cpu "idle-cpu-watch"
stop_ctguard

export CTGUARD_SYSCTL_WATCH=0
start_ctguard
cpu "idle-cpu-poll-only"
stop_ctguard

exit 0
