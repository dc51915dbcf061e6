#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The bash completion and ctguard(8) against the verbs' option tables, as the hidden
# "ctguard --list-options" prints them ("VERB OPTION ARG" per line, ARG "-" for none; a line
# with the verb alone for each verb; VERB "ctguard" for the options before any verb):
#  - the completion offers exactly the verbs, every long option of each verb (short ones are
#    optional) and nothing the verb does not take;
#  - after an option that takes an argument it offers no option and no verb (the argument is
#    the next word), and an argument of a global option is not taken for the verb;
#  - ctguard(8) names every long option of each verb in that verb's entry, every global one
#    under OPTIONS, and no option that does not exist there; so does the README's row of the
#    verb in its table of commands.
set -euo pipefail

ctguard=$1
src=$2
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

list=$("$ctguard" --list-options)
verbs=$(awk 'NF == 1 { print $1 }' <<<"$list")
[ -n "$verbs" ] || { echo "FAIL: --list-options lists no verbs" >&2; exit 1; }

options_of() { awk -v v="$1" '$1 == v && NF == 3 { print $2 }' <<<"$list" | sort -u; }
long_options_of() { options_of "$1" | grep -- '^--' || true; }
arg_options_of() { awk -v v="$1" '$1 == v && NF == 3 && $3 != "-" { print $2 }' <<<"$list" | sort -u; }

# Just enough of bash-completion for the script to run without the package. The variables are
# the caller's locals (bash scopes dynamically), as in bash-completion itself.
# shellcheck disable=SC2034,SC2317
_init_completion() {
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
}
# shellcheck disable=SC2317
_filedir() { COMPREPLY=(FILE); }
# shellcheck disable=SC2317
complete() { :; }
# shellcheck source=shell-completion/ctguard
. "$src/shell-completion/ctguard"

# What the completion offers for the words given, the last being the one completed.
offered() {
        local COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=()
        _ctguard
        if [ ${#COMPREPLY[@]} -gt 0 ]; then printf '%s\n' "${COMPREPLY[@]}" | sort -u; fi
}

# Every long option (and every verb) known is offered; everything offered is known.
compare() {     # what known offered
        local w
        for w in $2; do
                [[ $w = -[!-]* ]] || grep -qxF -- "$w" <<<"$3" || fail "$1: the completion does not offer $w"
        done
        for w in $3; do
                grep -qxF -- "$w" <<<"$2" || fail "$1: the completion offers $w, which does not exist"
        done
}

compare "ctguard (verbs)" "$verbs" "$(offered ctguard '')"
compare "ctguard" "$(options_of ctguard)" "$(offered ctguard -)"
for v in $verbs; do
        compare "ctguard $v" "$(options_of "$v")" "$(offered ctguard "$v" -)"
done

# An option's argument is not completed as an option or a verb.
for v in ctguard $verbs; do
        for o in $(arg_options_of "$v"); do
                if [ "$v" = ctguard ]; then words=(ctguard "$o" ''); else words=(ctguard "$v" "$o" ''); fi
                got=$(offered "${words[@]}")
                if [ -n "$got" ] && grep -qxF -f <(options_of "$v"; echo "$verbs") <<<"$got"; then
                        fail "ctguard ${words[*]:1}: the completion offers options or verbs for the argument of $o"
                fi
        done
done
for o in $(arg_options_of ctguard); do
        got=$(offered ctguard "$o" ARG '')
        [ "$got" = "$(sort <<<"$verbs")" ] ||
                fail "ctguard $o ARG: the completion takes ARG for the verb (does it skip $o's argument?)"
done

# ctguard(8): each verb's entry under COMMANDS (".TP" then ".B verb" or ".BR \"verb ..."), and
# OPTIONS for the global ones. "\-" is "-" in the source; an option is "-x" or "--name" not
# preceded by a letter (so "table\-full" is no option).
man_section() { # verb, or "ctguard" for OPTIONS
        sed 's/\\-/-/g' "$src/man/ctguard.8" | awk -v v="$1" '
                /^\.SH/ { in_cmds = ($2 == "COMMANDS"); in_opts = ($2 == "OPTIONS"); cur = ""; next }
                in_cmds && prev == ".TP" && /^\.BR? / {
                        w = $2; gsub(/"/, "", w); cur = w
                }
                { prev = $0 }
                (in_cmds && cur == v) || (in_opts && v == "ctguard")
        '
}
man_options() { man_section "$1" | grep -oP '(?<![A-Za-z0-9-])(--[a-z][a-z-]*[a-z]|-[a-zA-Z](?![A-Za-z0-9-]))' | sort -u || true; }

for v in ctguard $verbs; do
        section=$(man_section "$v")
        [ -n "$section" ] || { fail "ctguard(8) has no entry for $v"; continue; }
        mentioned=$(man_options "$v")
        for o in $(long_options_of "$v"); do
                # The common options are documented once, under OPTIONS.
                [ "$v" != ctguard ] && grep -qxF -- "$o" <(options_of ctguard) && continue
                grep -qxF -- "$o" <<<"$mentioned" || fail "ctguard(8): $v's entry does not name $o"
        done
        for o in $mentioned; do
                grep -qxF -- "$o" <(options_of "$v") || fail "ctguard(8): $v's entry names $o, which $v does not take"
        done
done

# README.md: the row "| `VERB ...` | what it does |" of each verb.
for v in $verbs; do
        row=$(grep -m1 "^| \`$v\b" "$src/README.md" || true)
        [ -n "$row" ] || { fail "README.md has no row for $v"; continue; }
        mentioned=$(grep -oP '(?<![A-Za-z0-9-])(--[a-z][a-z-]*[a-z]|-[a-zA-Z](?![A-Za-z0-9-]))' <<<"$row" | sort -u || true)
        for o in $(long_options_of "$v"); do
                grep -qxF -- "$o" <(options_of ctguard) && continue
                grep -qxF -- "$o" <<<"$mentioned" || fail "README.md: $v's row does not name $o"
        done
        for o in $mentioned; do
                grep -qxF -- "$o" <(options_of "$v") || fail "README.md: $v's row names $o, which $v does not take"
        done
done

[ "$failed" = 0 ] && echo "completion, ctguard(8) and README.md agree with the option tables ($(wc -l <<<"$list") rows)"
exit "$failed"
