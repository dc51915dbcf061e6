#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost of watching every network namespace (issue 15's targets): one sample per namespace
# per tick at 1, 100 and 1000 namespaces, each with a process in it (target: <= 20 us per
# namespace per sample, and <= 2 % of a core for 1000 namespaces polled every second), and the
# scan at 1000 namespaces and 5000 processes. The namespaces are made by netns-bench's children
# (unshare(CLONE_NEWNET)) and go with them; nothing of the host is written.
#
#   NETNS_BENCH=build/tests/bench/netns-bench tests/bench/netns-bench.sh [ROUNDS]
#
# Prints one "netns-N: ..." block per size, then "target ..." lines; exits 1 if a target is
# missed, 77 without root.

set -u -o pipefail

bench=${NETNS_BENCH:?NETNS_BENCH is not set}
rounds=${1:-200}
[ "$(id -u)" = 0 ] || { echo "netns-bench: needs root, skipping" >&2; exit 77; }

out=$(mktemp -d /tmp/ctguard-netns-bench.XXXXXX) || exit 2
trap 'rm -rf "$out"' EXIT

run() {
        # run TAG NAMESPACES PROCESSES ROUNDS
        local tag=$1 rc
        shift
        "$bench" "$@" >"$out/$tag" 2>&1
        rc=$?
        sed "s/^/$tag: /" "$out/$tag"
        [ "$rc" = 0 ] || { echo "netns-bench: $tag failed (exit $rc)" >&2; exit "$rc"; }
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
run netns-1 1 1 "$rounds"
run netns-100 100 100 "$rounds"
run netns-1000 1000 1000 "$rounds"
run netns-1000-5000 1000 5000 $((rounds / 4 + 1))
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# The cost is the CPU time the samples take (user and system): on a loaded machine the wall
# clock also counts the time spent waiting for a CPU, which is shown beside it.
per_ns=$(sed -n 's/^sample: .*(cpu median \([0-9.]*\) us).*/\1/p' "$out/netns-1000")
cpu=$(sed -n 's/^sample: .* = \([0-9.]*\) % of a core.*/\1/p' "$out/netns-1000")
missed=0
if awk -v v="$per_ns" 'BEGIN { exit !(v <= 20) }'; then
        echo "target per namespace per sample <= 20 us at 1000 (cpu): $per_ns us, met"
else
        echo "target per namespace per sample <= 20 us at 1000 (cpu): $per_ns us, MISSED"
        missed=1
fi
if awk -v v="$cpu" 'BEGIN { exit !(v <= 2) }'; then
        echo "target <= 2 % of a core for 1000 namespaces at 1 s: $cpu %, met"
else
        echo "target <= 2 % of a core for 1000 namespaces at 1 s: $cpu %, MISSED"
        missed=1
fi
exit "$missed"
