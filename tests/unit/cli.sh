#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The command line as a table: each row is an invocation and the exit status it must give.
# 64 is EX_USAGE, 78 EX_CONFIG; status answers usage errors with 3 (UNKNOWN) as a monitoring
# plugin must.
set -uo pipefail

ctguard=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc/ctguard"
printf '[Guard]\nBogus=1\n' > "$tmp/bad.conf"

failed=0
while read -r want args; do
        [ -z "$want" ] || [ "${want#\#}" != "$want" ] && continue
        args=${args//BAD/$tmp/bad.conf}
        # shellcheck disable=SC2086 # args is a list of words
        "$ctguard" --root "$tmp" $args > /dev/null 2>&1
        got=$?
        if [ "$got" != "$want" ]; then
                echo "FAIL: ctguard $args: exit $got, want $want" >&2
                failed=1
        fi
done <<'TABLE'
0  --version
0  --help
64
64 no-such-verb
64 --no-such-option check-config
0  check-config
0  check-config --help
64 check-config extra
64 check-config --no-such-option
78 --config BAD check-config
78 check-config --config /nonexistent
0  cat-config --help
64 cat-config extra
0  run --help
64 run extra
78 run --config /nonexistent
0  top --help
64 top --no-such-option
64 top -n 0
64 top --by nothing
0  hold --help
64 hold --for nonsense
64 hold extra
0  release --help
64 release extra
0  repair --help
64 repair extra
0  status --help
3  status --no-such-option
3  status extra
0  metrics
0  metrics --help
64 metrics extra
64 metrics --no-such-option
78 --config BAD metrics
TABLE
[ "$failed" = 0 ] && echo "every invocation gave its exit status"
exit "$failed"
