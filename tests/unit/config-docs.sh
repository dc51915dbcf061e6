#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Holds what documents the configuration against lib/config.c's table of keys, as config-keys
# prints it (section, name, default, range, one-line documentation, help; one row a line):
#  - conf/ctguard.conf: every key commented out at its default, the row's documentation the
#    comment line right above it ("# help (range)."), the [Sysctl] row's right below [Sysctl];
#  - ctguard.conf(5): every key's entry in its section's table, ".BR Key= " (default: D; R)"";
#  - the README's configuration table: "| `[Section]` | `Key=` | `D` | R | help. |";
#  - tests/fuzz/config.dict: "[Section]" and "Key=" for every row;
#  - and back: every key the shipped file, ctguard.conf(5)'s tables, the README table and
#    ctguard(8) name is a row of the table (ctguard(8) has no list of keys, only mentions).
# Every missing or stale line is reported, not only the first.
set -euo pipefail

keys_exe=$1
src=$2
conf=$src/conf/ctguard.conf
man5=$src/man/ctguard.conf.5
man8=$src/man/ctguard.8
readme=$src/README.md
dict=$src/tests/fuzz/config.dict

failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# Fields separated by \037: a tab is white space to read, and empty fields must stay fields.
rows=$("$keys_exe" | tr '\t' '\037')
[ "$(printf '%s\n' "$rows" | wc -l)" -ge 2 ] || { echo "FAIL: config-keys printed no table" >&2; exit 1; }

# The line of file right after the first line equal to $2 (exact, whole line), or nothing.
line_after() { awk -v want="$2" 'found { print; exit } $0 == want { found = 1 }' "$1"; }
# The line right before the first line equal to $2 within section [$3] of the INI file $1.
line_before_in() {
        awk -v want="$2" -v sect="[$3]" '
                /^\[/ { in_sect = ($0 == sect) }
                in_sect && $0 == want { print prev; found = 1; exit }
                { prev = $0 }
                END { exit !found }' "$1"
}
# groff escapes as text: "\-" is "-", "\(em" does not occur in the key lines.
man_text() { sed 's/\\-/-/g' "$1"; }
# The .SH section of ctguard.conf(5) for [Section]: its lines up to the next .SH.
man_section() {
        local upper
        upper=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
        man_text "$man5" | awk -v sh=".SH \"[$upper] SECTION\"" '
                /^\.SH/ { on = ($0 == sh) ; next }
                on { print }'
}

prev_section=
while IFS=$'\037' read -r section name def range doc help; do
        if [ "$section" != "$prev_section" ]; then
                # A section's first row: its header everywhere.
                grep -qxF "[$section]" "$conf" || fail "[$section] missing from conf/ctguard.conf"
                [ -n "$(man_section "$section")" ] ||
                        fail "[$section] has no section in ctguard.conf(5)"
                grep -qxF "\"[$section]\"" "$dict" || fail "\"[$section]\" missing from tests/fuzz/config.dict"
                first=yes
        else
                first=
        fi
        prev_section=$section

        if [ -z "$name" ]; then
                # The row for a whole section ([Sysctl]): its documentation right below the header.
                [ "$(line_after "$conf" "[$section]")" = "# $doc" ] ||
                        fail "conf/ctguard.conf: the line after [$section] is not '# $doc'"
                grep -F "| \`[$section]\` |" "$readme" | grep -F "| $help. |" >/dev/null ||
                        fail "README.md: no table row for [$section] ending in '| $help. |'"
                continue
        fi

        # conf/ctguard.conf: "# doc" right above "#Name=def", in its section.
        above=$(line_before_in "$conf" "#$name=$def" "$section") ||
                { fail "conf/ctguard.conf: no '#$name=$def' in [$section]"; above=; }
        [ -z "$above" ] || [ "$above" = "# $doc" ] ||
                fail "conf/ctguard.conf: the line above #$name=$def is '$above', not '# $doc'"

        # ctguard.conf(5): the entry's header in its section.
        if [ -n "$range" ]; then
                want=".BR $name= \" (default: $def; $range)\""
        else
                want=".BR $name= \" (default: $def)\""
        fi
        # Not grep -q: stopping at the first match would leave man_section writing into a closed
        # pipe, and pipefail would call that a failure.
        man_section "$section" | grep -xF "$want" >/dev/null ||
                fail "ctguard.conf(5) [$section]: no line '$want'"

        # README: the table row; the section is named on its first row.
        if [ -n "$first" ]; then col="\`[$section]\`"; else col=""; fi
        want="| $col | \`$name=\` | \`$def\` | $range | $help. |"
        want=${want//|  |/| |}
        grep -qxF "$want" "$readme" || fail "README.md: no table row '$want'"

        # The fuzz dictionary.
        grep -qxF "\"$name=\"" "$dict" || fail "\"$name=\" missing from tests/fuzz/config.dict"
done <<< "$rows"

# ---- and back: nothing names a key the table does not have ----

known() {       # known SECTION NAME: a row of the table (in any section if SECTION is -)
        printf '%s\n' "$rows" | awk -F'\037' -v s="$1" -v n="$2" '
                $2 == n && (s == "-" || $1 == s) { found = 1 } END { exit !found }'
}

# The shipped file: every "#Key=" outside [Sysctl], in its section.
while read -r section name; do
        known "$section" "$name" || fail "conf/ctguard.conf names $name= in [$section], which is no key"
done < <(awk '/^\[/ { s = substr($0, 2, length($0) - 2) }
              s != "Sysctl" && /^#[A-Z][A-Za-z]*=/ { sub(/^#/, ""); sub(/=.*/, ""); print s, $0 }' "$conf")

# ctguard.conf(5): every entry of the sections' tables.
while read -r section name; do
        known "$section" "$name" || fail "ctguard.conf(5) documents $name= in [$section], which is no key"
done < <(man_text "$man5" | awk '
        /^\.SH "\[[A-Z]+\] SECTION"/ { s = $2; gsub(/[\"\[\]]/, "", s); next }
        /^\.SH/ { s = "" }
        s != "" && /^\.BR [A-Z][A-Za-z]*= " \(default:/ { n = $2; sub(/=$/, "", n); print s, n }' |
        while read -r upper name; do
                # The man page's section titles are upper case; the table's are not.
                section=$(printf '%s\n' "$rows" | awk -F'\037' -v u="$upper" 'toupper($1) == u { print $1; exit }')
                echo "${section:-$upper} $name"
        done)

# The README table: every "| ... | `Key=` |" row.
while read -r name; do
        known - "$name" || fail "README.md's table documents $name=, which is no key"
done < <(sed -n 's/^| [^|]* | `\([A-Z][A-Za-z]*\)=` |.*/\1/p' "$readme")

# ctguard(8): every key it mentions, and "[Section] Key=" in the right section. Its SANDBOX
# section names systemd's unit settings, which are no keys of ctguard's.
while read -r section name; do
        where=" in [$section]"
        [ "$section" != - ] || where=
        known "$section" "$name" || fail "ctguard(8) names $name=$where, which is no key"
done < <(awk '/^\.SH/ { sandbox = ($2 == "SANDBOX") } !sandbox { print }' "$man8" |
         grep -oE '(\[[A-Z][a-z]+\] )?\b[A-Z][a-z]+[A-Z][A-Za-z]*=|(\[[A-Z][a-z]+\] )?\b(Mode|Ensure)=' |
         sed -E 's/^\[([A-Za-z]+)\] /\1 /; s/^([A-Z][A-Za-z]*=)$/- \1/; s/=$//')

# The fuzz dictionary: every "Key=" token.
while read -r name; do
        known - "$name" || fail "tests/fuzz/config.dict has \"$name=\", which is no key"
done < <(sed -n 's/^"\([A-Z][A-Za-z]*\)="$/\1/p' "$dict")

[ "$failed" = 0 ] || exit 1
echo "the shipped file, ctguard.conf(5), the README, ctguard(8) and the fuzz dictionary agree" \
     "with the table ($(printf '%s\n' "$rows" | wc -l) rows)"
