#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks the message catalog against the code: every event the daemon logs has a MESSAGE_ID in
# daemon/catalog-ids.h, every id there has exactly one catalog entry with a Subject, and no id is
# used twice. Then, where journalctl exists, installs the catalog into a temporary root at the
# installed path and has journalctl build and list its database.
#
#   check-catalog.sh CATALOG SOURCE-ROOT CATALOGDIR

set -u

catalog=$1
src=$2
catalogdir=$3
ids="$src/daemon/catalog-ids.h"
errors=0

err() {
        echo "check-catalog: $*" >&2
        errors=$((errors + 1))
}

tmp=$(mktemp -d /tmp/ctguard-catalog.XXXXXX) || exit 1
trap 'rm -rf -- "$tmp"' EXIT

# The table of ids: "event id" lines.
sed -n 's/^ *{ "\([a-z-]*\)", *"\([^"]*\)" },$/\1 \2/p' "$ids" >"$tmp/table"
[ -s "$tmp/table" ] || { err "no ids found in $ids"; exit 1; }
cut -d' ' -f1 "$tmp/table" | sort | uniq -d | while read -r e; do
        echo "check-catalog: event $e has two ids in $ids" >&2
done
[ -z "$(cut -d' ' -f1 "$tmp/table" | sort | uniq -d)" ] || errors=$((errors + 1))
[ -z "$(cut -d' ' -f2 "$tmp/table" | sort | uniq -d)" ] || err "an id is used for two events in $ids"
while read -r event id; do
        [[ $id =~ ^[0-9a-f]{32}$ ]] || err "$event: '$id' is not 128 bits in lower-case hex"
done <"$tmp/table"

# The catalog's entries: "id subject" lines, each entry's header checked.
awk '
        /^-- / {
                if (id != "" && subject == "") { print "ERROR " id " has no Subject:"; }
                id = $2; subject = ""; defined = ""; header = 1; next
        }
        header && /^Subject: / { subject = substr($0, 10); next }
        header && /^Defined-By: ctguard$/ { defined = 1; next }
        header && /^$/ {
                if (id != "") {
                        if (!defined) print "ERROR " id " lacks Defined-By: ctguard";
                        print id, subject
                }
                header = 0; next
        }
        END { if (header && id != "") print "ERROR " id " has a header but no text" }
' "$catalog" >"$tmp/entries"
grep '^ERROR ' "$tmp/entries" | while read -r _ rest; do
        echo "check-catalog: $catalog: $rest" >&2
done
! grep -q '^ERROR ' "$tmp/entries" || errors=$((errors + 1))
grep -v '^ERROR ' "$tmp/entries" >"$tmp/entries.ok"
[ -z "$(cut -d' ' -f1 "$tmp/entries.ok" | sort | uniq -d)" ] || err "$catalog has an id twice"

while read -r event id; do
        n=$(grep -c "^$id " "$tmp/entries.ok")
        [ "$n" = 1 ] || err "$event ($id): $n catalog entries"
done <"$tmp/table"
while read -r id _; do
        grep -q " $id\$" "$tmp/table" || err "catalog entry $id belongs to no event in $ids"
done <"$tmp/entries.ok"

# Every event name the code logs: the literal event argument of log_event() and of the guards'
# wrappers, and the table events, which come from tables in lib/table-policy.c and
# lib/table-rate.c.
{
        grep -ohE '(log_event|EVENT|report)\([^,]+, *"[a-z][a-z-]*"' "$src"/daemon/*.c |
                sed 's/.*"\([a-z-]*\)"$/\1/'
        sed -n 's/^ *\[TABLE_EVENT_[A-Z]*\] = "\([a-z-]*\)",$/\1/p' "$src/lib/table-policy.c"
        sed -n 's/^ *"[a-z_]*", "\(table-[a-z-]*\)",$/\1/p' "$src/lib/table-rate.c"
} | sort -u >"$tmp/logged"
[ "$(grep -c . "$tmp/logged")" -ge 20 ] || err "found only $(grep -c . "$tmp/logged") events in the code"
while read -r event; do
        grep -q "^$event " "$tmp/table" || err "the daemon logs $event, which has no MESSAGE_ID"
done <"$tmp/logged"

# journalctl's own parser, on the file installed where meson installs it.
if command -v journalctl >/dev/null; then
        mkdir -p "$tmp/root$catalogdir"
        cp "$catalog" "$tmp/root$catalogdir/ctguard.catalog"
        if ! journalctl --root="$tmp/root" --update-catalog 2>"$tmp/update.err"; then
                err "journalctl --update-catalog failed: $(cat "$tmp/update.err")"
        elif [ -s "$tmp/update.err" ]; then
                err "journalctl --update-catalog complained: $(cat "$tmp/update.err")"
        fi
        journalctl --root="$tmp/root" --list-catalog 2>/dev/null | sort >"$tmp/listed"
        sed 's/^\([0-9a-f]*\) \(.*\)$/\1 ctguard: \2/' "$tmp/entries.ok" | sort >"$tmp/want"
        cmp -s "$tmp/want" "$tmp/listed" ||
                err "journalctl lists other entries than the file has: $(diff "$tmp/want" "$tmp/listed" | head -5)"
else
        echo "check-catalog: no journalctl, not checking with it" >&2
fi

n=$(grep -c . "$tmp/table")
if [ "$errors" -gt 0 ]; then
        echo "1 failed: $errors problem(s) in the catalog" >&2
        exit 1
fi
echo "catalog OK: $n events, $(grep -c . "$tmp/logged") logged by the code, all with an entry"
