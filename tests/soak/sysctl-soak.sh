#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Soak: sysctl drift and restore, SOAK_CYCLES times (default 100000), against the real kernel in
# a network namespace of its own, with the daemon's memory and descriptors sampled throughout.
#
# The daemon owns every nf_conntrack *timeout* key the namespace has. Each cycle writes a foreign
# value to the next key in turn and waits (no sleep: it reads the key until it holds the owned
# value again, against a deadline) for the daemon to put it back from its file watch. Five
# restores of one key within a minute are a fight, which the daemon stops answering; so after
# every key has been restored four times the configuration is reloaded (SIGHUP, waited for in
# the state file), which starts the count afresh: the soak takes the reload path too.
#
# Every SOAK_SAMPLE cycles (default 1000) it samples VmRSS from /proc/PID/status and the open
# descriptors in /proc/PID/fd, and prints one line at the end:
#   cycles N seconds S rate R/s reloads N rss_kb start/end/max A/B/C fds start/end/max D/E/F
# It fails if the daemon exits, misses a restore, or ends with more descriptors than it began.
# SOAK_TRACE=FILE also writes every sample there ("cycle rss_kb fds"), to tell warm-up from a
# trend.
#
# CTGUARD=build/daemon/ctguard CT_INSERT=build/tests/helpers/ct-insert tests/soak/sysctl-soak.sh

# shellcheck disable=SC2119 # start_ctguard and stop_ctguard take options, not this script's
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

cycles=${SOAK_CYCLES:-100000}
sample=${SOAK_SAMPLE:-1000}

ns_setup
ctguard_root_setup

keys=() desired=()
for f in /proc/sys/net/netfilter/nf_conntrack_*timeout*; do
        k=${f#/proc/sys/}
        v=$(ns_exec cat "$f") || continue
        # Owned at a value of our own, so that the first restore is the daemon's doing.
        keys+=("$k") desired+=($((v + 1)))
done
[ "${#keys[@]}" -gt 0 ] || skip "no nf_conntrack timeout sysctls"

{
        echo "[Sysctl]"
        for i in "${!keys[@]}"; do
                echo "${keys[$i]//\//.}=${desired[$i]}"
        done
} | ctguard_write_config etc/ctguard/ctguard.conf

start_ctguard
wait_for_log 10 "[config-loaded]"
state=$CTG_ROOT/run/ctguard/state
wait_until 10 test -s "$state" || fail "no state file"

# The loop runs in the namespace, in one shell: writes and reads are builtins, so a cycle costs
# the daemon's restore and little else.
# shellcheck disable=SC2016 # expanded by the inner shell
ns_exec bash -c '
        set -u
        pid=$1 cycles=$2 sample=$3 state=$4 trace=$5
        shift 5
        n=$(($# / 2))
        keys=("${@:1:n}") want=("${@:n+1}")

        now_cs() { local u; read -r u _ </proc/uptime; echo $(( ${u%.*} * 100 + 10#${u#*.} )); }
        rss=0 fds=0
        sample_daemon() {
                local k v _u f
                rss=
                while read -r k v _u; do
                        [ "$k" = VmRSS: ] && { rss=$v; break; }
                done <"/proc/$pid/status" || return 1
                f=("/proc/$pid/fd/"*)
                fds=${#f[@]}
        }
        reload_line() {
                local l
                r=
                while read -r l; do
                        case $l in Reload=*) r=$l ;; esac
                done <"$state"
        }
        # wait_value KEY-PATH VALUE: reads until it holds VALUE, 10 s at most.
        wait_value() {
                local v polls=0 deadline
                deadline=$(( $(now_cs) + 1000 ))
                while :; do
                        read -r v <"$1" && [ "$v" = "$2" ] && return 0
                        polls=$((polls + 1))
                        if [ $((polls % 512)) = 0 ]; then
                                [ "$(now_cs)" -lt "$deadline" ] || return 1
                                kill -0 "$pid" 2>/dev/null || return 1
                        fi
                done
        }

        for i in "${!keys[@]}"; do
                wait_value "/proc/sys/${keys[$i]}" "${want[$i]}" ||
                        { echo "FAIL: ${keys[$i]} never became ${want[$i]}" >&2; exit 1; }
        done
        sample_daemon || exit 1
        rss0=$rss fds0=$fds rss_max=$rss fds_max=$fds
        reloads=0 per_reload=$((n * 4))
        t0=$(now_cs)
        for ((c = 1; c <= cycles; c++)); do
                i=$(( (c - 1) % n ))
                p=/proc/sys/${keys[$i]}
                echo $((want[i] + 1000 + c % 7)) >"$p" || { echo "FAIL: cannot write $p" >&2; exit 1; }
                wait_value "$p" "${want[$i]}" ||
                        { echo "FAIL: cycle $c: ${keys[$i]} not restored" >&2; exit 1; }
                if [ $((c % per_reload)) = 0 ] && [ "$c" -lt "$cycles" ]; then
                        reload_line; before=$r
                        kill -HUP "$pid" || exit 1
                        deadline=$(( $(now_cs) + 1000 ))
                        while reload_line; [ "$r" = "$before" ]; do
                                [ "$(now_cs)" -lt "$deadline" ] ||
                                        { echo "FAIL: reload $((reloads + 1)) not seen" >&2; exit 1; }
                        done
                        reloads=$((reloads + 1))
                fi
                if [ $((c % sample)) = 0 ]; then
                        sample_daemon || { echo "FAIL: the daemon is gone at cycle $c" >&2; exit 1; }
                        [ "$rss" -le "$rss_max" ] || rss_max=$rss
                        [ "$fds" -le "$fds_max" ] || fds_max=$fds
                        [ -z "$trace" ] || echo "$c $rss $fds" >>"$trace"
                fi
        done
        t1=$(now_cs)
        sample_daemon || exit 1
        [ "$rss" -le "$rss_max" ] || rss_max=$rss
        [ "$fds" -le "$fds_max" ] || fds_max=$fds
        cs=$((t1 - t0)); [ "$cs" -gt 0 ] || cs=1
        printf "cycles %d seconds %d.%02d rate %d/s reloads %d rss_kb start/end/max %s/%s/%s fds start/end/max %s/%s/%s\n" \
                "$cycles" $((cs / 100)) $((cs % 100)) $((cycles * 100 / cs)) "$reloads" \
                "$rss0" "$rss" "$rss_max" "$fds0" "$fds" "$fds_max"
        [ "$fds" -le "$fds0" ] || { echo "FAIL: $fds descriptors at the end, $fds0 at the start" >&2; exit 1; }
' soak "$CTG_PID" "$cycles" "$sample" "$state" "${SOAK_TRACE:-}" "${keys[@]}" "${desired[@]}" || {
        if ! ctguard_running; then
                wait "$CTG_PID"
                fail "the daemon exited with status $? (above 128: killed by signal \$? - 128)"
        fi
        fail "soak failed"
}

ctguard_running || fail "the daemon exited"
assert_eq 0 "$(grep -c '\[sysctl-fight\]' "$CTG_LOG")" "fights reported"
restored=$(grep -c '\[sysctl-restored\]' "$CTG_LOG")
info "restores logged: $restored"
[ "$restored" -ge "$cycles" ] || fail "$restored restores logged for $cycles cycles"
stop_ctguard
assert_eq 0 "$CTG_STATUS" "exit status"
