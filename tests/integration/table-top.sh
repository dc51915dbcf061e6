#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# "ctguard top" in a namespace filled with a known distribution: the rankings by source,
# destination, port, state and protocol are exactly the ones the distribution gives (ties in
# address, port or state order), as text and as JSON; the full source list matches what
# conntrack(8) shows; bad options are usage errors; without CAP_NET_ADMIN it says so.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd conntrack python3
ns_setup
ctguard_root_setup
[ -n "${CT_INSERT:-}" ] || fail "CT_INSERT is not set"

cat >"$TEST_TMP/spec" <<'SPEC'
# COUNT SRC          DST       DPORT PROTO STATE
400     10.0.0.5     10.1.0.1  443   tcp   ESTABLISHED
250     10.0.0.9     10.1.0.1  80    tcp   SYN_SENT
250     10.0.0.7     10.1.0.2  53    udp   UNREPLIED
120     10.3.0.0/24  10.1.0.3  53    udp   ASSURED
60      10.0.0.5     10.1.0.9  22    tcp   TIME_WAIT
7       10.4.0.1     10.1.0.1  443   udp   REPLIED
SPEC
ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec" || fail "ct-insert --spec"
# Three IPv6 entries, unreplied, to port 53.
for sport in 1001 1002 1003; do
        ns_exec conntrack -I -s 2001:db8::1 -d 2001:db8::53 -p udp --sport "$sport" --dport 53 \
                -t 600 >/dev/null 2>&1 || fail "conntrack -I (IPv6)"
done
assert_eq 1090 "$(ns_count)" "entries inserted"

# top_list BY N: "KEY=COUNT KEY=COUNT ..." from the text output (COUNT SHARE KEY columns).
top_list() {
        ctguard_cmd top -n "$2" --by "$1" >"$TEST_TMP/top.out" 2>"$TEST_TMP/top.err" ||
                fail "ctguard top --by $1 failed: $(cat "$TEST_TMP/top.err")"
        awk 'NR == 1 { next } { printf "%s%s=%s", sep, $3, $1; sep = " " }' "$TEST_TMP/top.out"
}

assert_eq "10.0.0.5=460 10.0.0.7=250 10.0.0.9=250 10.4.0.1=7 2001:db8::1=3 10.3.0.0=1" \
        "$(top_list src 6)" "top sources"
assert_eq "COUNT SHARE SOURCE" "$(head -1 "$TEST_TMP/top.out" | awk '{ print $1, $2, $3 }')" "header"
# The share of the 1090 entries: 460 are 42.2%, 3 are 0.3%.
assert_eq "42.2% 10.0.0.5" "$(ctguard_cmd top -n 1 --by src 2>/dev/null | awk 'NR == 2 { print $2, $3 }')" \
        "share column"
assert_eq "0.3% 2001:db8::1" "$(ctguard_cmd top -n 5 --by src 2>/dev/null | awk 'NR == 6 { print $2, $3 }')" \
        "share column, IPv6"
assert_eq "10.0.0.5=460" "$(top_list src 1)" "top source"
assert_eq "10.1.0.1=657 10.1.0.2=250 10.1.0.3=120 10.1.0.9=60 2001:db8::53=3" \
        "$(top_list dst 10)" "top destinations"
assert_eq "tcp:443=400 udp:53=373 tcp:80=250 tcp:22=60 udp:443=7" \
        "$(top_list dport 10)" "top ports"
# udp:UNREPLIED counts the IPv6 entries too: 253, ahead of tcp:SYN_SENT:UNREPLIED.
assert_eq "tcp:ESTABLISHED=400 udp:UNREPLIED=253 tcp:SYN_SENT:UNREPLIED=250 udp:ASSURED=120 tcp:TIME_WAIT=60 udp:REPLIED=7" \
        "$(top_list state 10)" "top states"
assert_eq "tcp=710 udp=380" "$(top_list proto 10)" "top protocols"

# Every dimension by default, with the total first.
ctguard_cmd top -n 2 >"$TEST_TMP/all" 2>"$TEST_TMP/err" || fail "ctguard top: $(cat "$TEST_TMP/err")"
assert_eq "1090 entries" "$(head -1 "$TEST_TMP/all")" "total line"
for title in SOURCE DESTINATION DPORT STATE PROTO; do
        assert_eq 1 "$(grep -c "^ *COUNT   SHARE  $title\$" "$TEST_TMP/all")" "section $title"
done

# A comma list of groupings is the same as repeating --by.
ctguard_cmd top -n 2 --by src,dst >"$TEST_TMP/comma" 2>"$TEST_TMP/err" ||
        fail "ctguard top --by src,dst: $(cat "$TEST_TMP/err")"
ctguard_cmd top -n 2 --by src --by dst >"$TEST_TMP/repeat" 2>&1 || fail "ctguard top --by src --by dst"
cmp -s "$TEST_TMP/comma" "$TEST_TMP/repeat" || fail "--by src,dst differs from --by src --by dst"
assert_eq "SOURCE DESTINATION" "$(awk '$1 == "COUNT" { printf "%s%s", sep, $3; sep = " " }' "$TEST_TMP/comma")" \
        "sections of --by src,dst"

# JSON: the same rankings, and valid JSON.
ctguard_cmd top -n 3 --by src,state --json >"$TEST_TMP/json" 2>"$TEST_TMP/err" ||
        fail "ctguard top --json: $(cat "$TEST_TMP/err")"
python3 - "$TEST_TMP/json" >"$TEST_TMP/json.txt" <<'PY' || fail "the JSON does not parse: $(cat "$TEST_TMP/json")"
import json, sys
d = json.load(open(sys.argv[1]))
print(d["entries"], d["truncated"], d["interrupted"], sorted(k for k in d if k in ("src", "dst", "dport", "state", "proto")))
for k in ("src", "state"):
    print(k, " ".join("%s=%d=%.2f" % (i["key"], i["count"], i["percent"]) for i in d[k]))
print("unattributed", d["unattributed"]["src"], d["unattributed"]["state"], "untracked" in d)
PY
assert_eq "1090 False False ['src', 'state']
src 10.0.0.5=460=42.20 10.0.0.7=250=22.94 10.0.0.9=250=22.94
state tcp:ESTABLISHED=400=36.70 udp:UNREPLIED=253=23.21 tcp:SYN_SENT:UNREPLIED=250=22.94
unattributed 0 0 False" "$(cat "$TEST_TMP/json.txt")" "JSON output"

# The whole source list against conntrack(8)'s view, independently computed.
ns_exec conntrack -L 2>/dev/null |
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^src=/) { print substr($i, 5); break } }' |
        sort | uniq -c | awk '{ print $2, $1 }' | sort >"$TEST_TMP/want"
ctguard_cmd top -n 100000 --by src 2>/dev/null | awk 'NR > 1 { print $3, $1 }' | sort >"$TEST_TMP/got"
[ "$(wc -l <"$TEST_TMP/want")" -eq 125 ] || fail "conntrack -L shows $(wc -l <"$TEST_TMP/want") sources"
cmp -s "$TEST_TMP/want" "$TEST_TMP/got" ||
        fail "source counts differ from conntrack -L: $(diff "$TEST_TMP/want" "$TEST_TMP/got" | head -5)"

# An empty table lists nothing, successfully.
ns_exec "$CT_INSERT" --delete-all || fail "ct-insert --delete-all"
# shellcheck disable=SC2317 # called through wait_until
count_is() { [ "$(ns_count)" = "$1" ]; }
wait_until 10 count_is 0 || fail "table not empty after --delete-all"
ctguard_cmd top --json >"$TEST_TMP/json" 2>"$TEST_TMP/err" || fail "ctguard top on an empty table"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["entries"] == 0 and d["src"] == [], d' \
        "$TEST_TMP/json" || fail "JSON of an empty table: $(cat "$TEST_TMP/json")"

# Usage errors.
for args in "--by sport" "--by src,sport" "--by src," "--by ,dst" "--by src,,dst" "--by=" "-n 0" "-n 100001" "-n x" "extra" "--bogus"; do
        # shellcheck disable=SC2086 # split on purpose
        ctguard_cmd top $args >/dev/null 2>&1
        assert_eq 64 "$?" "exit status of 'ctguard top $args'"
done

# Without CAP_NET_ADMIN (as nobody, no capabilities left).
if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
        test -x "$CTGUARD" 2>/dev/null; then
        ns_exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
                "$CTGUARD" top >/dev/null 2>"$TEST_TMP/err"
        assert_eq 1 "$?" "exit status without CAP_NET_ADMIN"
        assert_file_contains "$TEST_TMP/err" "needs CAP_NET_ADMIN"
else
        info "cannot run ctguard as nobody here; not checking the CAP_NET_ADMIN message"
fi

info "ok"
