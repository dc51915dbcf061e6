#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ct-insert fills a namespace's conntrack table, and the count reads back exactly, both from
# nf_conntrack_count and from conntrack(8); a spec file gives a known distribution.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_cmd conntrack
ns_setup
[ -n "${CT_INSERT:-}" ] || fail "CT_INSERT is not set"

# shellcheck disable=SC2317 # called through wait_until
count_is() {
        [ "$(ns_count)" = "$1" ]
}

assert_eq 0 "$(ns_count)" "entries in a fresh namespace"

ns_exec "$CT_INSERT" --count 10000 >"$TEST_TMP/out" || fail "ct-insert --count 10000"
info "$(cat "$TEST_TMP/out")"
assert_eq 10000 "$(ns_count)" "nf_conntrack_count after 10000"
assert_eq 10000 "$(ns_exec conntrack -C)" "conntrack -C after 10000"

# The same entries again are refused one by one, counted, and change nothing.
if ns_exec "$CT_INSERT" --count 10000 2>"$TEST_TMP/err"; then
        fail "ct-insert accepted 10000 duplicate entries"
fi
assert_file_contains "$TEST_TMP/err" "10000 of 10000 entries refused"
assert_eq 10000 "$(ns_count)" "count after the refused duplicates"

# Another source range adds exactly as many.
ns_exec "$CT_INSERT" -q --count 2345 --src 10.99.0.0/24 --proto udp --dport 53 ||
        fail "ct-insert udp"
assert_eq 12345 "$(ns_count)" "count after 2345 more"
assert_eq 2345 "$(ns_exec conntrack -L -p udp 2>/dev/null | wc -l)" "udp entries"

ns_exec "$CT_INSERT" --delete-all || fail "ct-insert --delete-all"
wait_until 10 count_is 0 || fail "table not empty after --delete-all: $(ns_count)"

# A known distribution, ranked the way a top-talker report would rank it.
cat >"$TEST_TMP/spec" <<'SPEC'
# COUNT SRC            DST       DPORT PROTO STATE
3000    10.20.0.1      10.1.0.1  443   tcp   ESTABLISHED
2000    10.20.0.2      10.1.0.1  443   tcp   ESTABLISHED
   1000 10.20.0.3      10.1.0.2  53    udp   ASSURED
500     10.21.0.0/24   10.1.0.1  80    tcp   SYN_SENT

250     10.20.0.1      10.1.0.3  22    tcp   TIME_WAIT
SPEC
ns_exec "$CT_INSERT" -q --spec "$TEST_TMP/spec" || fail "ct-insert --spec"
assert_eq 6750 "$(ns_count)" "count after the spec"
ns_exec conntrack -L 2>/dev/null >"$TEST_TMP/table" || fail "conntrack -L"
# The first src= of a line is the original source.
top=$(sed -n 's/^[^=]* src=\([0-9.]*\) .*/\1/p' "$TEST_TMP/table" | sort | uniq -c | sort -rn |
      head -3 | awk '{ printf "%s:%s ", $2, $1 }')
assert_eq "10.20.0.1:3250 10.20.0.2:2000 10.20.0.3:1000 " "$top" "top talkers"
assert_eq 500 "$(grep -c ' SYN_SENT src=10\.21\.0\.' "$TEST_TMP/table")" \
        "SYN_SENT entries from 10.21.0.0/24"
assert_eq 256 "$(grep -o ' SYN_SENT src=10\.21\.0\.[0-9]* ' "$TEST_TMP/table" | sort -u | wc -l)" \
        "distinct sources in 10.21.0.0/24"
assert_eq 250 "$(grep -c ' TIME_WAIT src=10\.20\.0\.1 dst=10\.1\.0\.3 ' "$TEST_TMP/table")" \
        "TIME_WAIT entries"

# Bad spec lines are refused with their line number, before anything is inserted.
printf '10 10.30.0.1 10.1.0.1 80 tcp ESTABLISHED\n10 10.30.0.2 10.1.0.1 80 sctp ESTABLISHED\n' \
        >"$TEST_TMP/bad-spec"
if ns_exec "$CT_INSERT" --spec "$TEST_TMP/bad-spec" 2>"$TEST_TMP/err"; then
        fail "ct-insert accepted a bad spec"
fi
assert_file_contains "$TEST_TMP/err" "$TEST_TMP/bad-spec:2:"
assert_eq 6750 "$(ns_count)" "count after a bad spec"

# A rate is kept: 300 entries at 1000/s take at least 0.3 s (the upper bound is loose on
# purpose, for slow machines).
ns_exec "$CT_INSERT" --delete-all || fail "ct-insert --delete-all"
t0=$(_now_us)
ns_exec "$CT_INSERT" -q --count 300 --rate 1000/s || fail "ct-insert --rate"
elapsed=$(( $(_now_us) - t0 ))
[ "$elapsed" -ge 280000 ] || fail "300 entries at 1000/s took only $elapsed us"
[ "$elapsed" -le 10000000 ] || fail "300 entries at 1000/s took $elapsed us"
wait_until 10 count_is 300 || fail "count after the paced insert: $(ns_count)"

# A quarter of a million entries (fewer if the limit is lower), still exact, in seconds.
max=$(ns_sysctl_read net.netfilter.nf_conntrack_max)
big=250000
[ "$max" -gt $((big + 1000)) ] || big=$((max - 1000))
ns_exec "$CT_INSERT" --delete-all || fail "ct-insert --delete-all"
wait_until 10 count_is 0 || fail "table not empty: $(ns_count)"
t0=$(_now_us)
ns_exec "$CT_INSERT" --count "$big" >"$TEST_TMP/out" || fail "ct-insert --count $big"
elapsed=$(( $(_now_us) - t0 ))
info "$(cat "$TEST_TMP/out") ($((elapsed / 1000)) ms with process start)"
assert_eq "$big" "$(ns_count)" "nf_conntrack_count after $big"
assert_eq "$big" "$(ns_exec conntrack -C)" "conntrack -C after $big"
[ "$elapsed" -le 60000000 ] || fail "$big entries took $((elapsed / 1000000)) s"

exit 0
