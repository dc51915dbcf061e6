#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every reader sees the hold the daemon obeys: after "ctguard hold", "ctguard status" and
# "ctguard metrics" both say held, with the same end as a wall-clock time; after "ctguard
# release" neither does. The hold file counts on CLOCK_BOOTTIME, so a reader that compared it
# with the wall clock would say "not held".
set -euo pipefail

ctguard=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc/ctguard"

fail() { echo "FAIL: $*" >&2; exit 1; }
status_json() { "$ctguard" --root "$tmp" status --json 2>/dev/null || true; }
metric() { "$ctguard" --root "$tmp" metrics | awk -v m="$1" '$1 == m { print $2 }'; }

"$ctguard" --root "$tmp" hold --for 1h --reason "readers test" > /dev/null
now=$(date +%s)

status_json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["hold"]["held"] is True, d["hold"]' ||
        fail "status does not see the hold"
[ "$(metric ctguard_hold)" = 1 ] || fail "metrics: ctguard_hold is '$(metric ctguard_hold)', not 1, during a hold"
end=$(metric ctguard_hold_end_timestamp_seconds)
python3 -c 'import sys; end, now = float(sys.argv[1]), int(sys.argv[2]); assert now + 3500 <= end <= now + 3700, (end, now)' \
        "${end:-0}" "$now" || fail "metrics: the hold ends at '$end', not an hour after $now"

"$ctguard" --root "$tmp" release > /dev/null
status_json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["hold"]["held"] is False, d["hold"]' ||
        fail "status still sees a hold after release"
[ "$(metric ctguard_hold)" = 0 ] || fail "metrics: ctguard_hold is '$(metric ctguard_hold)' after release"
echo "status and metrics agree on the hold"
