#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The service unit as the build installs it:
#  - "systemd-analyze verify" accepts it without a single message, inside a root that has it,
#    ctguard at its ExecStart= path, the man pages it documents and systemd's own units;
#  - "systemd-analyze security --offline=yes" rates its exposure at MAX_EXPOSURE or better.
# Both checks are shown to fail on a unit that is wrong, so that a silent tool cannot pass.
#
#   unit-file.sh UNIT CTGUARD SBINDIR UNITDIR SRCDIR
set -euo pipefail

# 2.0 before CAP_SYS_PTRACE (Namespaces=all) was granted; the budget is 2.5.
MAX_EXPOSURE=2.3

unit=$1 ctguard=$2 sbindir=$3 unitdir=$4 src=$5
command -v systemd-analyze > /dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[ -d /usr/lib/systemd/system ] || { echo "SKIP: no systemd units on this machine"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A root laid out like a merged-/usr Debian system. The unit's default dependencies
# (sysinit.target, basic.target, shutdown.target) and Wants= must resolve, so systemd's own
# units come along.
root=$tmp/root
mkdir -p "$root/usr/lib/systemd" "$root/usr/share/man/man5" "$root/usr/share/man/man8" \
         "$root/etc/systemd/system"
ln -s usr/lib "$root/lib"
ln -s usr/bin "$root/bin"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
mkdir -p "$root/$unitdir" "$root/$sbindir"
cp "$unit" "$root/$unitdir/ctguard.service"
cp "$ctguard" "$root/$sbindir/ctguard"
cp "$src/man/ctguard.8" "$root/usr/share/man/man8/"
cp "$src/man/ctguard.conf.5" "$root/usr/share/man/man5/"

grep -qx "ExecStart=$sbindir/ctguard run" "$unit" || fail "ExecStart= is not $sbindir/ctguard run"

# verify UNIT-NAME: every message is a defect (an unknown or misspelt directive only warns).
# Documentation= is checked with man(1) against the pages in the root, when man is there.
verify() {
        local man=--man=no
        if command -v man > /dev/null; then
                man=--man=yes
        fi
        MANPATH=$root/usr/share/man systemd-analyze verify "$man" --root="$root" "$1" \
                > "$tmp/verify.out" 2>&1
}

if ! verify ctguard.service; then
        cat "$tmp/verify.out" >&2
        fail "systemd-analyze verify failed"
fi
if [ -s "$tmp/verify.out" ]; then
        cat "$tmp/verify.out" >&2
        fail "systemd-analyze verify printed messages"
fi
echo "systemd-analyze verify: OK"

# exposure FILE: the number in the last line, "→ Overall exposure level for X: 2.0 OK ...".
exposure() {
        systemd-analyze security --offline=yes --root="$root" "$1" > "$tmp/security.out" 2>&1 ||
                true
        tail -n 1 "$tmp/security.out" |
                sed -n 's/^.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*$/\1/p'
}
# at_most A B: A <= B for one-decimal numbers.
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

level=$(exposure "$root/$unitdir/ctguard.service")
[ -n "$level" ] || { cat "$tmp/security.out" >&2; fail "no exposure level in the last line"; }
echo "systemd-analyze security: exposure $level (at most $MAX_EXPOSURE)"
at_most "$level" "$MAX_EXPOSURE" || {
        cat "$tmp/security.out" >&2
        fail "exposure $level is above $MAX_EXPOSURE"
}

# The checks can fail: a misspelt directive, an ExecStart= that is not there, and a unit with
# its sandbox taken away must each be caught.
mkdir -p "$root/etc/systemd/system"
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$unit" > "$root/etc/systemd/system/ctguard-typo.service"
if verify ctguard-typo.service && [ ! -s "$tmp/verify.out" ]; then
        fail "verify accepted a misspelt directive"
fi
sed "s|^ExecStart=.*|ExecStart=$sbindir/not-ctguard run|" "$unit" \
        > "$root/etc/systemd/system/ctguard-noexec.service"
if verify ctguard-noexec.service; then
        fail "verify accepted a missing ExecStart= binary"
fi
grep -v -e '^Protect' -e '^Private' -e '^SystemCall' -e '^CapabilityBoundingSet=' "$unit" \
        > "$root/etc/systemd/system/ctguard-open.service"
open_level=$(exposure "$root/etc/systemd/system/ctguard-open.service")
[ -n "$open_level" ] || fail "no exposure level for the unsandboxed unit"
if at_most "$open_level" "$MAX_EXPOSURE"; then
        fail "an unsandboxed unit rates $open_level, within $MAX_EXPOSURE"
fi
echo "self-check: a misspelt directive, a missing binary and exposure $open_level are caught"
