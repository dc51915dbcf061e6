#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks the message catalog against the daemon's event table (daemon/events.c), as the daemon
# itself has it: EVENT-TABLE is a program built from that table that prints one "name id
# priority" line per event. Every event has exactly one catalog entry with a Subject, every
# entry belongs to an event, and no name or id is used twice. Then, where journalctl exists,
# installs the catalog into a temporary root at the installed path and has journalctl build and
# list its database. With SOURCE-ROOT, also checks that README.md's "Journal events" and
# ctguard(8)'s JOURNAL EVENTS name every event.
#
#   check-catalog.sh CATALOG EVENT-TABLE CATALOGDIR [SOURCE-ROOT]

set -u

catalog=$1
event_table=$2
catalogdir=$3
src=${4:-}
errors=0

err() {
        echo "check-catalog: $*" >&2
        errors=$((errors + 1))
}

tmp=$(mktemp -d /tmp/ctguard-catalog.XXXXXX) || exit 1
trap 'rm -rf -- "$tmp"' EXIT

# The table: "event id priority" lines. A row left out makes the program fail.
"$event_table" >"$tmp/rows" || err "$event_table failed: an event has no row"
cut -d' ' -f1,2 "$tmp/rows" >"$tmp/table"
[ -s "$tmp/table" ] || { err "no events from $event_table"; exit 1; }
for col in 1 2; do
        cut -d' ' -f$col "$tmp/table" | sort | uniq -d | while read -r dup; do
                echo "check-catalog: $dup is in the event table twice" >&2
        done
        [ -z "$(cut -d' ' -f$col "$tmp/table" | sort | uniq -d)" ] || errors=$((errors + 1))
done
while read -r event id priority; do
        [[ $event =~ ^[a-z][a-z-]*$ ]] || err "'$event' is not an event name"
        [[ $id =~ ^[0-9a-f]{32}$ ]] || err "$event: '$id' is not 128 bits in lower-case hex"
        [[ $priority =~ ^[2-6]$ ]] || err "$event: priority '$priority' is not crit..info"
done <"$tmp/rows"

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
        grep -q " $id\$" "$tmp/table" || err "catalog entry $id belongs to no event in the event table"
done <"$tmp/entries.ok"

# The documentation lists every event: README.md as `name`, ctguard(8) as a .B/.BR word.
if [ -n "$src" ]; then
        sed -n '/^### Journal events$/,/^#/p' "$src/README.md" >"$tmp/readme"
        sed -n '/^\.SH JOURNAL EVENTS$/,/^\.SH /p' "$src/man/ctguard.8" | sed 's/\\-/-/g' >"$tmp/man"
        [ -s "$tmp/readme" ] || err "README.md has no \"### Journal events\" section"
        [ -s "$tmp/man" ] || err "man/ctguard.8 has no JOURNAL EVENTS section"
        while read -r event _; do
                grep -qF "\`$event\`" "$tmp/readme" || err "README.md's Journal events do not name $event"
                grep -qE "^\.BR? (.*[ \"])?$event([ \",]|\$)" "$tmp/man" ||
                        err "ctguard(8)'s JOURNAL EVENTS do not name $event"
        done <"$tmp/table"
fi

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
echo "catalog OK: $n events in the event table, each with one entry"
