#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The exposition and the shipped monitoring files: "ctguard metrics" passes promtool, the rules
# pass promtool and their unit tests, and every metric the rules and the dashboard use is one
# ctguard exports (its family table) or node_exporter's textfile mtime.
set -euo pipefail

ctguard=$1
src=$2
command -v promtool > /dev/null || { echo "promtool not installed: skipping"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# On the running system (read-only: it only looks) and on an empty root, where nothing can be
# read and the unreadable families must be left out rather than written as 0.
"$ctguard" metrics > "$tmp/live.prom"
"$ctguard" --root "$tmp" metrics > "$tmp/empty.prom"
for f in live empty; do
        out=$(promtool check metrics < "$tmp/$f.prom" 2>&1) || { echo "$out"; exit 1; }
        [ -z "$out" ] || { echo "promtool check metrics ($f): $out"; exit 1; }
done
grep -q '^ctguard_build_info{version="' "$tmp/live.prom"
if grep -q '^ctguard_conntrack_entries ' "$tmp/empty.prom"; then
        echo "an unreadable table count was written"; exit 1
fi

cd "$src/monitoring"
promtool check rules ctguard.rules.yml
promtool test rules ctguard.rules.test.yml

grep -o '"ctguard_[a-z_]*"' "$src/lib/metrics.c" | tr -d '"' | sort -u > "$tmp/exported"
echo node_textfile_mtime_seconds >> "$tmp/exported"
# Comments are prose, not queries.
grep -hv '^[[:space:]]*#' ctguard.rules.yml ctguard-dashboard.json |
        grep -o 'ctguard_[a-z_]*\|node_[a-z_]*' | sort -u > "$tmp/used"
missing=$(comm -23 "$tmp/used" <(sort -u "$tmp/exported"))
if [ -n "$missing" ]; then
        echo "used but not exported: $missing"; exit 1
fi
echo "exposition valid, rules tested, $(wc -l < "$tmp/used") metric names used, all exported"
