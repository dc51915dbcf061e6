#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost of watching a large conntrack table, in a private namespace with 250,000 entries:
#   (a) one stats sample (ctstat-bench), full table against empty: target at most 1.1x;
#   (b) "ctguard top" against the classic pipeline
#         conntrack -L | awk (first src=) | sort | uniq -c | sort -rn | head
#       and against a bare "conntrack -L > /dev/null": target at least 5x faster than the
#       pipeline and at most 1.5x the bare dump; and the peak memory of "ctguard top".
# Times are the best of RUNS runs (wall clock; the machine may be shared) with the CPU time
# (user + system) of that run; memory is the peak resident set (wait4's ru_maxrss). The runs are
# interleaved: each round runs every command once, in an order rotated every round, so that a
# slow phase of the machine slows all of them rather than one.
#
#   CTGUARD=... CT_INSERT=... CTSTAT_BENCH=... table-bench.sh [ENTRIES [RUNS]]
# Exits 77 without root, namespaces, conntrack(8) or python3.

set -u
entries=${1:-250000}
runs=${2:-5}

[ "$(id -u)" = 0 ] || { echo "table-bench: needs root, skipping" >&2; exit 77; }
for c in conntrack python3 unshare; do
        command -v "$c" >/dev/null || { echo "table-bench: needs $c, skipping" >&2; exit 77; }
done
if [ -z "${CTGUARD:-}" ] || [ -z "${CT_INSERT:-}" ]; then
        echo "table-bench: CTGUARD and CT_INSERT must be set" >&2
        exit 1
fi

if [ -z "${TABLE_BENCH_IN_NS:-}" ]; then
        # Everything below runs in a namespace of its own, gone when the script ends.
        TABLE_BENCH_IN_NS=1 exec unshare --net -- "$0" "$@"
fi
ip link set lo up 2>/dev/null

tmp=$(mktemp -d /tmp/ctguard-table-bench.XXXXXX) || exit 1
trap 'rm -rf -- "$tmp"' EXIT

# measure CMD...: runs the shell commands RUNS rounds, each command once per round, the first
# of them rotated every round; prints "wall cpu maxrss_kib" of each command's fastest run, one
# line per command in the order given.
measure() {
        python3 - "$runs" "$@" <<'PY'
import os, subprocess, sys, time
runs, cmds = int(sys.argv[1]), sys.argv[2:]
best = [None] * len(cmds)
for r in range(runs):
    for k in range(len(cmds)):
        i = (r + k) % len(cmds)
        t0 = time.monotonic()
        p = subprocess.Popen(["/bin/sh", "-c", cmds[i]], stdout=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("command failed: " + cmds[i])
        run = (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)
        if best[i] is None or run[0] < best[i][0]:
            best[i] = run
for b in best:
    print("%.3f %.3f %d" % b)
PY
}

ratio() {
        python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"
}

echo "== (a) one stats sample, empty table against $entries entries"
if [ -n "${CTSTAT_BENCH:-}" ] && [ -x "$CTSTAT_BENCH" ]; then
        "$CTSTAT_BENCH" "$CT_INSERT" "$entries" 5000 | tee "$tmp/ctstat"
        # The medians, in us with a fraction, of the samples interleaved between the two tables.
        empty=$(awk '/^empty table/ { s = 1 } s == 1 && $1 == "netlink" { for (i = 1; i <= NF; i++) if ($i == "median") { print $(i + 1); exit } }' "$tmp/ctstat")
        full=$(awk '/^[0-9]+ entries,/ { s = 1 } s == 1 && $1 == "netlink" { for (i = 1; i <= NF; i++) if ($i == "median") { print $(i + 1); exit } }' "$tmp/ctstat")
        control=$(sed -n 's/^full\/empty medians: .*, proc \([0-9.]*\)x.*/\1/p' "$tmp/ctstat")
        if [ -n "$empty" ] && [ -n "$full" ] && awk -v e="$empty" 'BEGIN { exit !(e > 0) }'; then
                echo "sample: ${empty} us empty, ${full} us full: $(ratio "$full" "$empty")x" \
                     "(target <= 1.1x; proc control ${control:-?}x)"
        fi
        "$CT_INSERT" --delete-all >/dev/null || exit 1
else
        echo "CTSTAT_BENCH not set, skipped"
fi

echo "== (b) $entries entries: ctguard top against conntrack(8)"
cat >"$tmp/spec" <<SPEC
$(( entries * 40 / 100 )) 10.0.0.0/16  10.1.0.1 443  tcp ESTABLISHED
$(( entries * 24 / 100 )) 10.2.0.0/16  10.1.0.2 80   tcp SYN_SENT
$(( entries * 20 / 100 )) 10.3.0.0/20  10.1.0.3 53   udp UNREPLIED
$(( entries - entries * 84 / 100 )) 10.4.0.7 10.1.0.4 8080 tcp TIME_WAIT
SPEC
"$CT_INSERT" --spec "$tmp/spec" || exit 1
echo "entries: $(cat /proc/sys/net/netfilter/nf_conntrack_count)"

pipeline="conntrack -L 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if (\$i ~ /^src=/) { print substr(\$i, 5); break } }' | sort | uniq -c | sort -rn | head"

# The answers must agree before the times mean anything.
"$CTGUARD" top -n 10 --by src 2>/dev/null | awk 'NR > 1 { print $1, $2 }' >"$tmp/ours"
sh -c "$pipeline" | awk '{ print $1, $2 }' >"$tmp/theirs"
if [ "$(cut -d' ' -f1 "$tmp/ours")" != "$(cut -d' ' -f1 "$tmp/theirs")" ] ||
   [ "$(head -1 "$tmp/ours")" != "$(head -1 "$tmp/theirs")" ]; then
        echo "table-bench: ctguard top and the pipeline disagree:" >&2
        paste "$tmp/ours" "$tmp/theirs" >&2
        exit 1
fi

# The kernel's share: the dump received and thrown away (dump-floor). Without it, "true".
floor_cmd=true
[ -n "${DUMP_FLOOR:-}" ] && [ -x "$DUMP_FLOOR" ] && floor_cmd="'$DUMP_FLOOR' >/dev/null"
measure "'$CTGUARD' top -n 10 --by src" "'$CTGUARD' top -n 10" "$pipeline" \
        "conntrack -L >/dev/null 2>&1" "$floor_cmd" >"$tmp/times" || exit 1
{
        read -r top_w top_c top_m
        read -r all_w all_c all_m
        read -r pipe_w pipe_c _
        read -r bare_w bare_c bare_m
        read -r floor_w floor_c _
} <"$tmp/times"

printf '%-34s %8s %8s %10s\n' "" "wall s" "cpu s" "peak RSS"
printf '%-34s %8s %8s %7s KiB\n' "ctguard top --by src" "$top_w" "$top_c" "$top_m"
printf '%-34s %8s %8s %7s KiB\n' "ctguard top (all 5 dimensions)" "$all_w" "$all_c" "$all_m"
printf '%-34s %8s %8s %10s\n' "conntrack -L | awk | sort | uniq" "$pipe_w" "$pipe_c" "-"
printf '%-34s %8s %8s %7s KiB\n' "conntrack -L > /dev/null" "$bare_w" "$bare_c" "$bare_m"
echo "pipeline / top:  $(ratio "$pipe_w" "$top_w")x wall, $(ratio "$pipe_c" "$top_c")x cpu (target >= 5x)"
echo "top / bare dump: $(ratio "$top_w" "$bare_w")x wall, $(ratio "$top_c" "$bare_c")x cpu (target <= 1.5x)"
if [ "$floor_cmd" != true ]; then
        # No program that reads the table over ctnetlink can beat the kernel's own share.
        printf '%-34s %8s %8s %10s\n' "kernel's dump alone (dump-floor)" "$floor_w" "$floor_c" "-"
        echo "top / kernel's dump: $(ratio "$top_w" "$floor_w")x wall"
        echo "pipeline / kernel's dump: $(ratio "$pipe_w" "$floor_w")x wall (the most any dump reader can reach)"
fi
if [ -x /usr/bin/time ]; then
        /usr/bin/time -v "$CTGUARD" top -n 10 2>&1 >/dev/null | grep -E "Maximum resident|Elapsed"
fi
"$CT_INSERT" --delete-all >/dev/null
