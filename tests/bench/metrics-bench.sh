#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The daemon with its node_exporter textfile on, at the defaults (PollIntervalSec=1s, the
# snapshot of sysctls, the default modules), in a namespace of its own:
#  - idle CPU over METRICS_SECONDS (default 180; schedstat, as footprint.sh), target <= 0.05 %;
#  - the size of ctguard.prom in bytes, and how often it was rewritten while idle (at least
#    once a minute, so that staleness shows).
# The cost of one exposition and its write is measured by metrics-write-bench.
# Prints "name: value" lines; exits 1 if the idle CPU target is missed.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

SECONDS_IDLE=${METRICS_SECONDS:-180}
CPU_TARGET_PERCENT=0.05

require_root
ns_setup
ctguard_root_setup
mkdir -p "$CTG_ROOT/prom" && chmod 0755 "$CTG_ROOT/prom"
prom="$CTG_ROOT/prom/ctguard.prom"
ctguard_write_config etc/ctguard/ctguard.conf <<'CONF'
[Metrics]
TextfileDirectory=/prom
CONF

start_ctguard
wait_for_log 10 "[config-loaded]"
# shellcheck disable=SC2317 # called through wait_until
written() { [ -s "$prom" ]; }
wait_until 10 written || fail "no ctguard.prom"
# Past the start's events, settled into idle ticks.
sleep 3

read -r ns0 _ <"/proc/$CTG_PID/schedstat"
m0=$(stat -c %Y "$prom")
writes=0
last=$(stat -c %i "$prom")
end=$((SECONDS + SECONDS_IDLE))
# Each rewrite is a rename: a new inode. Looking once a second costs the daemon nothing.
while [ "$SECONDS" -lt "$end" ]; do
        sleep 1
        i=$(stat -c %i "$prom")
        [ "$i" = "$last" ] || writes=$((writes + 1))
        last=$i
done
read -r ns1 _ <"/proc/$CTG_PID/schedstat"
m1=$(stat -c %Y "$prom")
size=$(stat -c %s "$prom")
ctguard_running || fail "ctguard exited during the measurement"
stop_ctguard

echo "textfile-size: $size bytes"
echo "textfile-rewrites: $writes in $SECONDS_IDLE s (mtime advanced $((m1 - m0)) s)"
awk -v s="$SECONDS_IDLE" -v ns="$((ns1 - ns0))" -v target="$CPU_TARGET_PERCENT" 'BEGIN {
        printf "idle-cpu-metrics: over %d s: on CPU %.2f ms; %.4f %% of a core (target <= %s %%)\n",
               s, ns / 1e6, ns / 1e9 / s * 100, target
        exit !(ns / 1e9 / s * 100 <= target)
}'
