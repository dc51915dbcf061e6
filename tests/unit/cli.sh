#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The command line as a table: each row is an invocation and the exit status it must give.
# 64 is EX_USAGE, 78 EX_CONFIG, for status too: a usage error is the caller's, not a verdict.
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
64 top --netns
64 top --netns ../x
64 top --netns 12x
1  top --netns no-such-name
0  hold --help
64 hold --for nonsense
64 hold extra
0  release --help
64 release extra
0  repair --help
64 repair extra
0  status --help
64 status --no-such-option
64 status extra
64 status --netns extra
1  status --netns
0  metrics
0  metrics --help
64 metrics extra
64 metrics --no-such-option
78 --config BAD metrics
TABLE
# check-config's lines are bare FILE:LINE: ..., warnings do not fail it. A fake kernel under
# --root: nf_conntrack_max exists, sys/module knows nf_conntrack, there is no module tree.
umask 022
chmod 0755 "$tmp"
mkdir -p "$tmp/proc/sys/net/netfilter" "$tmp/sys/module/nf_conntrack"
echo 262144 > "$tmp/proc/sys/net/netfilter/nf_conntrack_max"
printf '[Modules]\nEnsure=nf_conntrack nf_no_such_module\n[Sysctl]\nnet.netfilter.nf_conntrack_max=01\nnet.netfilter.nf_conntrack_maxx=5\n' > "$tmp/warn.conf"
printf '[Sysctl]\nnet.netfilter.nf_conntrack_tcp_timeout_time_wait=abc\n[Conntrack]\nWarnPercent=90\nCritPercent=80\n' > "$tmp/type.conf"
check() {       # want-status want-output conf
        local out got
        out=$("$ctguard" --root "$tmp" --config "$3" check-config 2>&1)
        got=$?
        if [ "$got" != "$1" ] || [ "$out" != "$2" ]; then
                printf 'FAIL: check-config %s: exit %s, want %s; got:\n%s\nwant:\n%s\n' \
                        "$3" "$got" "$1" "$out" "$2" >&2
                failed=1
        fi
}
check 0 "$tmp/warn.conf:5: warning: sysctl 'net.netfilter.nf_conntrack_maxx' does not exist in the running kernel (a typo, or its module is not loaded)
$tmp/warn.conf:2: warning: module 'nf_no_such_module' is not in the running kernel and there is no module tree to look it up in
configuration OK, 2 warnings" "$tmp/warn.conf"
check 78 "$tmp/type.conf:2: sysctl 'net.netfilter.nf_conntrack_tcp_timeout_time_wait' takes an integer, not 'abc'" "$tmp/type.conf"
printf '[Guard]\nPollIntervalSec=5s\n[Conntrack]\nFastPollIntervalSec=6s\nWarnPercent=90\nCritPercent=80\n' > "$tmp/cross.conf"
check 78 "$tmp/cross.conf:6: WarnPercent=90 must be below CritPercent=80
$tmp/cross.conf:4: FastPollIntervalSec=6s must not be longer than PollIntervalSec=5s" "$tmp/cross.conf"

[ "$failed" = 0 ] && echo "every invocation gave its exit status"
exit "$failed"
