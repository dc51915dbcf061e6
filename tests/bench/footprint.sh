#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the daemon costs while nothing happens: "ctguard run" on the shipped defaults (modules,
# the conntrack sysctls followed, the table polled every second), in a network namespace
# of its own (root needed; exits 77 otherwise).
#
#   CTGUARD=build/daemon/ctguard [FOOTPRINT_FLOOR=build/tests/bench/footprint-floor] \
#           tests/bench/footprint.sh
#
# 1. Memory: VmRSS and its peak VmHWM (/proc/PID/status), and Pss and the private pages
#    (/proc/PID/smaps_rollup: shared libraries counted by their share), once ready and again
#    after the idle period; growth in between would be a leak.
# 2. Idle CPU over FOOTPRINT_SECONDS (default 180): utime+stime (/proc/PID/stat) and time on
#    CPU (/proc/PID/schedstat, nanoseconds), as a share of one core.
# 3. With FOOTPRINT_FLOOR, the floor under (1): footprint-floor, an sd-event loop on libsystemd
#    alone that reads nf_conntrack_count every second, runs beside the daemon through the idle
#    period. Its memory is what any daemon on libsystemd has here (libc, libsystemd and
#    libsystemd's own libraries); the daemon's minus the floor's is ctguard's own share. Both are
#    read at the same moment, since Pss splits the pages of a library among all that map it; the
#    daemon's figures in (1) are read with the floor not running, as they were without it.
#
# Prints "name: value" lines and exits 1 if a target is missed: VmRSS <= 3 MiB, idle CPU
# <= 0.05 % of a core. A sanitizer build is refused (77): its figures say nothing about the
# daemon.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

SECONDS_IDLE=${FOOTPRINT_SECONDS:-180}
RSS_TARGET_KIB=3072
CPU_TARGET_PERCENT=0.05

[ -n "${CTGUARD:-}" ] || { echo "footprint: CTGUARD must be set" >&2; exit 2; }
if [ -n "${FOOTPRINT_FLOOR:-}" ] && [ ! -x "$FOOTPRINT_FLOOR" ]; then
        echo "footprint: FOOTPRINT_FLOOR=$FOOTPRINT_FLOOR is not an executable" >&2
        exit 2
fi
if grep -qa -e AddressSanitizer -e LeakSanitizer "$CTGUARD"; then
        skip "$CTGUARD is a sanitizer build; measure a plain one"
fi
ns_setup
ctguard_root_setup
require_cmd awk getconf

# The shipped defaults: a main file that sets nothing.
: >"$CTG_ROOT/etc/ctguard/ctguard.conf"
start_ctguard
wait_for_log 10 "[config-loaded]"
# The first ticks load what is missing and see the followed keys; start measuring after them.
wait_for_log 10 "[module-chain-present]"

# memory PID: "VmRSS VmHWM RssAnon RssFile Pss Private" in KiB.
memory() {
        local pss priv
        pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup")
        priv=$(awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" { s += $2 } END { print s }' \
                "/proc/$1/smaps_rollup")
        awk -v pss="$pss" -v priv="$priv" '{ v[$1] = $2 }
                END { print v["VmRSS:"], v["VmHWM:"], v["RssAnon:"], v["RssFile:"], pss, priv }' \
                "/proc/$1/status"
}
# by_mapping PID: the six largest resident mappings, "name KiB", to say where the RSS is.
by_mapping() {
        awk '/^[0-9a-f]+-[0-9a-f]+ / { n = NF >= 6 ? $6 : "[anon]"; sub(/.*\//, "", n) }
             $1 == "Rss:" { r[n] += $2 }
             END { for (n in r) if (r[n] > 0) print r[n], n }' "/proc/$1/smaps" |
                sort -rn | head -n 6 | awk '{ printf "%s%s %d KiB", (NR > 1 ? ", " : ""), $2, $1 }'
}
cpu_ticks() {
        sed 's/^.*) //' "/proc/$CTG_PID/stat" | awk '{ print $12 + $13 }'
}

# floor_*: the floor program, started after the daemon's first reading so as not to share its
# libraries' pages (and so lower its Pss) at that moment.
FLOOR_PID=
floor_state() {
        sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$FLOOR_PID/stat" 2>/dev/null
}
floor_reads() {
        awk '$1 == "syscr:" { print $2 }' "/proc/$FLOOR_PID/io" 2>/dev/null
}
# floor_asleep_after READS: asleep in its loop, with more read(2) calls behind it than READS.
# shellcheck disable=SC2317 # called through wait_until
floor_asleep_after() {
        local state reads
        state=$(floor_state)
        reads=$(floor_reads)
        [ "$state" = S ] && [ "${reads:-0}" -gt "$1" ]
}
floor_start() {
        local reads
        ip netns exec "$NS_NAME" "$FOOTPRINT_FLOOR" </dev/null >/dev/null 2>"$TEST_TMP/floor.err" &
        FLOOR_PID=$!
        # Asleep in sd_event_loop once set up (the loader and sd-event never sleep before).
        wait_until 10 floor_asleep_after -1 ||
                fail "footprint-floor did not reach its loop: $(cat "$TEST_TMP/floor.err")"
        # And asleep again after more reads: the first tick (1 s on) read nf_conntrack_count.
        reads=$(floor_reads)
        wait_until 10 floor_asleep_after "$reads" ||
                fail "footprint-floor did not tick: $(cat "$TEST_TMP/floor.err")"
}
floor_stop() {
        local state
        kill -TERM "$FLOOR_PID" || fail "kill -TERM footprint-floor"
        wait "$FLOOR_PID"
        state=$?
        FLOOR_PID=
        assert_eq 0 "$state" "exit status of footprint-floor"
}

read -r rss0 hwm0 anon0 file0 pss0 priv0 < <(memory "$CTG_PID")
[ -z "${FOOTPRINT_FLOOR:-}" ] || floor_start
read -r ns0 _ <"/proc/$CTG_PID/schedstat"
ticks0=$(cpu_ticks)
info "idle for $SECONDS_IDLE s"
# The measurement period itself: nothing is waited for, the daemon is left alone.
sleep "$SECONDS_IDLE"
ctguard_running || fail "ctguard exited during the measurement"
read -r ns1 _ <"/proc/$CTG_PID/schedstat"
ticks1=$(cpu_ticks)
if [ -n "$FLOOR_PID" ]; then
        # The two at the same moment, each having polled for the idle period.
        case $(floor_state) in
        "" | Z | X) fail "footprint-floor exited during the measurement: $(cat "$TEST_TMP/floor.err")" ;;
        esac
        read -r f_rss _ f_anon f_file f_pss f_priv < <(memory "$FLOOR_PID")
        read -r d_rss _ _ _ d_pss _ < <(memory "$CTG_PID")
        floor_mappings=$(by_mapping "$FLOOR_PID")
        floor_stop
fi
read -r rss1 hwm1 anon1 file1 pss1 priv1 < <(memory "$CTG_PID")
mappings=$(by_mapping "$CTG_PID")
keys=$(sed -n 's/.* \([0-9]*\) sysctl(s) guarded.*/\1/p' "$CTG_LOG" | head -n 1)
stop_ctguard
assert_eq 0 "$CTG_STATUS" "exit status of ctguard"

echo "memory-ready: VmRSS $rss0 KiB (anon $anon0, file $file0), VmHWM $hwm0 KiB, Pss $pss0 KiB," \
     "private $priv0 KiB"
echo "memory-idle: VmRSS $rss1 KiB (anon $anon1, file $file1), VmHWM $hwm1 KiB, Pss $pss1 KiB," \
     "private $priv1 KiB (after $SECONDS_IDLE s; target VmRSS <= $RSS_TARGET_KIB KiB)"
echo "memory-by-mapping: $mappings"
if [ -n "${FOOTPRINT_FLOOR:-}" ]; then
        echo "memory-floor: an sd-event program linked with libsystemd alone: VmRSS $f_rss KiB" \
             "(anon $f_anon, file $f_file), Pss $f_pss KiB, private $f_priv KiB" \
             "(the least any daemon on libsystemd can have here; Pss read beside ctguard)"
        echo "memory-floor-by-mapping: $floor_mappings"
        echo "memory-own-share: ctguard's own share, above the floor: VmRSS $d_rss - $f_rss =" \
             "$((d_rss - f_rss)) KiB, Pss $d_pss - $f_pss = $((d_pss - f_pss)) KiB" \
             "(both read at the same moment, side by side)"
fi
awk -v s="$SECONDS_IDLE" -v hz="$(getconf CLK_TCK)" -v t="$((ticks1 - ticks0))" \
    -v ns="$((ns1 - ns0))" -v keys="$keys" -v target="$CPU_TARGET_PERCENT" 'BEGIN {
        printf "idle-cpu: %s sysctls guarded, over %d s: utime+stime %.0f ms, on CPU %.2f ms; " \
               "%.4f %% of a core (target <= %s %%)\n", keys, s, t * 1000 / hz, ns / 1e6,
               ns / 1e9 / s * 100, target
}'

rc=0
if [ "$hwm1" -gt "$RSS_TARGET_KIB" ]; then
        echo "footprint: peak RSS $hwm1 KiB is above $RSS_TARGET_KIB KiB" >&2
        rc=1
fi
if ! awk -v ns="$((ns1 - ns0))" -v s="$SECONDS_IDLE" -v target="$CPU_TARGET_PERCENT" \
        'BEGIN { exit !(ns / 1e9 / s * 100 <= target) }'; then
        echo "footprint: idle CPU above $CPU_TARGET_PERCENT % of a core" >&2
        rc=1
fi
exit $rc
