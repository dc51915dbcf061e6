#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped configuration and the docs say what the code does:
#  - conf/ctguard.conf is accepted as shipped;
#  - with every key uncommented it still means exactly the built-in defaults (the comments
#    claim "every key at its default");
#  - every key ctguard knows is listed in the shipped file, the README and ctguard.conf(5).
set -euo pipefail

ctguard=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# The trust check refuses files writable by group or others. A checkout's modes follow the
# umask of whoever unpacked it (git archive under umask 002 gives 0664), so judge a copy whose
# modes are fixed here, not the checkout's permission bits.
umask 022
chmod 0755 "$tmp"
install -m 0644 "$src/conf/ctguard.conf" "$tmp/ctguard.conf"

out=$("$ctguard" --root "$tmp" --config "$tmp/ctguard.conf" check-config)
[ "$out" = "configuration OK" ] || fail "shipped config not accepted: $out"

# Uncomment every key outside [Sysctl] (whose lines are examples, not defaults).
awk '
        /^\[/ { sysctl = ($0 == "[Sysctl]") }
        !sysctl && /^#[A-Z][A-Za-z]*=/ { sub(/^#/, "") }
        { print }
' "$tmp/ctguard.conf" > "$tmp/uncommented.conf"
grep -q '^Mode=' "$tmp/uncommented.conf" || fail "uncommenting found no keys"

# Values only: strip the origin comment that follows every value.
# The assignments only: cat-config writes each key's one-line help above it.
values() { "$ctguard" --root "$tmp" "$@" cat-config | grep -v '^#' | grep '=' | sed 's/ *; .*$//'; }
diff <(values) <(values --config "$tmp/uncommented.conf") ||
        fail "the shipped file's commented values differ from the built-in defaults"

# Every known key (as cat-config prints them) appears in the shipped file, README, man page.
keys=$(values | grep -v '^net' | cut -d= -f1)
[ -n "$keys" ] || fail "no keys found"
for k in $keys; do
        grep -q "^#$k=" "$src/conf/ctguard.conf" || fail "$k= missing from conf/ctguard.conf"
        grep -q "\`$k=\`" "$src/README.md" || fail "$k= missing from README.md"
        grep -q "^\.BR $k= " "$src/man/ctguard.conf.5" || fail "$k= missing from ctguard.conf(5)"
done

# Every verb --help lists is documented in ctguard(8) and the README and completed by bash.
verbs=$("$ctguard" --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
[ -n "$verbs" ] || fail "no verbs found in --help"
for v in $verbs; do
        grep -q "^\.BR* \"*$v\b" "$src/man/ctguard.8" || fail "verb $v missing from ctguard(8)"
        grep -q "| \`$v" "$src/README.md" || fail "verb $v missing from README.md"
        grep -q "verbs='.*\b$v\b" "$src/shell-completion/ctguard" || fail "verb $v missing from the bash completion"
        "$ctguard" "$v" --help > /dev/null || fail "ctguard $v --help failed"
done

# The man pages format without warnings.
for m in "$src"/man/*.[0-9]; do
        warnings=$(groff -man -ww -z "$m" 2>&1) || fail "groff failed on $m"
        [ -z "$warnings" ] || fail "groff warnings in $m: $warnings"
done
echo "shipped configuration and docs agree ($(echo $keys | wc -w) keys)"
