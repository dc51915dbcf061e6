#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# "ctguard status --netns" and "ctguard top --netns ID" against namespaces made here: two with a
# /run/netns name and nobody in them, one made by "unshare --net" with a process and no name,
# each filled by ct-insert with a different count. The list is sorted by fill and names each
# namespace as an operator knows it; top dumps exactly the namespace named by a name, an inode or
# a PID, and says that entering needs CAP_SYS_ADMIN. The test runs in a network namespace and a
# mount namespace of its own with a tmpfs on /run: the host's /run/netns is never written.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_root
require_cmd ip unshare nsenter python3 setpriv mount
[ -n "${CTGUARD:-}" ] || fail "CTGUARD is not set"
[ -n "${CT_INSERT:-}" ] || fail "CT_INSERT is not set"

if [ -z "${NETNS_VERBS_INNER:-}" ]; then
        # shellcheck disable=SC2093 # the skip runs only if exec itself fails
        NETNS_VERBS_INNER=1 exec unshare --mount --propagation private --net -- "$0" "$@"
        skip "unshare --mount --net failed"
fi
mount -t tmpfs -o mode=0755 tmpfs /run || skip "cannot mount a tmpfs on /run"
[ -e /proc/sys/net/netfilter/nf_conntrack_count ] || skip "the kernel has no conntrack"

TEST_TMP=$(mktemp -d /tmp/ctguard-netns-verbs.XXXXXX) || fail "mktemp"
SLEEP_PID=
# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
        local rc=$?
        trap - EXIT
        [ -z "$SLEEP_PID" ] || { kill -KILL "$SLEEP_PID" 2>/dev/null; wait "$SLEEP_PID" 2>/dev/null; }
        ip netns delete ctg-fill-a 2>/dev/null
        ip netns delete ctg-fill-b 2>/dev/null
        rm -rf -- "$TEST_TMP"
        exit "$rc"
}
trap cleanup EXIT

ip netns add ctg-fill-a || fail "ip netns add"
ip netns add ctg-fill-b || fail "ip netns add"
unshare --net sleep 600 &
SLEEP_PID=$!
# shellcheck disable=SC2317 # called through wait_until
moved() {
        [ "$(stat -L -c %i "/proc/$SLEEP_PID/ns/net")" != "$(stat -L -c %i /proc/self/ns/net)" ] &&
                [ "$(cat "/proc/$SLEEP_PID/comm")" = sleep ]
}
wait_until 10 moved || fail "unshare --net sleep did not start"

ip netns exec ctg-fill-a "$CT_INSERT" -q --count 3000 || fail "ct-insert in ctg-fill-a"
ip netns exec ctg-fill-b "$CT_INSERT" -q --count 700 || fail "ct-insert in ctg-fill-b"
nsenter --net="/proc/$SLEEP_PID/ns/net" "$CT_INSERT" -q --count 1500 ||
        fail "ct-insert in the unshared namespace"
"$CT_INSERT" -q --count 20 || fail "ct-insert here"

inode_a=$(stat -L -c %i /run/netns/ctg-fill-a)
inode_b=$(stat -L -c %i /run/netns/ctg-fill-b)
inode_p=$(stat -L -c %i "/proc/$SLEEP_PID/ns/net")
inode_self=$(stat -L -c %i /proc/self/ns/net)
max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)

# ---- status --netns ----
"$CTGUARD" status --netns >"$TEST_TMP/status.txt" 2>"$TEST_TMP/err" ||
        fail "status --netns failed: $(cat "$TEST_TMP/err")"
head -n 1 "$TEST_TMP/status.txt" | grep -q '^NETNS  *NAME  *PID  *POD/CONTAINER  *COUNT  *FILL  *DROPS$' ||
        fail "status --netns header: $(head -n 1 "$TEST_TMP/status.txt")"
# Ours in the order of fill, whatever else the host has between them.
order=$(awk -v a="$inode_a" -v b="$inode_b" -v p="$inode_p" -v s="$inode_self" '
        $1 == a { printf "a " } $1 == b { printf "b " } $1 == p { printf "p " } $1 == s { printf "s " }' \
        "$TEST_TMP/status.txt")
assert_eq "a p b s " "$order" "namespaces in the order of fill"
line_a=$(awk -v i="$inode_a" '$1 == i' "$TEST_TMP/status.txt")
line_p=$(awk -v i="$inode_p" '$1 == i' "$TEST_TMP/status.txt")
# shellcheck disable=SC2086 # the line's words
set -- $line_a
assert_eq "ctg-fill-a - - 3000" "$2 $3 $4 $5" "ctg-fill-a's row"
# shellcheck disable=SC2086
set -- $line_p
assert_eq "pid $SLEEP_PID (sleep) $SLEEP_PID - 1500" "$2 $3 $4 $5 $6 $7" "the unshared namespace's row"

"$CTGUARD" status --netns --json >"$TEST_TMP/status.json" 2>"$TEST_TMP/err" ||
        fail "status --netns --json failed: $(cat "$TEST_TMP/err")"
python3 - "$TEST_TMP/status.json" "$inode_a" "$inode_b" "$inode_p" "$SLEEP_PID" "$max" <<'PY' ||
import json, sys
doc = json.load(open(sys.argv[1]))
a, b, p, pid, mx = (int(x) for x in sys.argv[2:])
assert doc["max"] == mx, doc["max"]
rows = {r["inode"]: r for r in doc["namespaces"]}
keys = ["inode", "display_name", "name", "host", "pid", "comm", "pod_uid", "container_id",
        "count", "percent", "drop", "early_drop", "insert_failed", "error"]
for r in doc["namespaces"]:
    assert sorted(r) == sorted(keys), r
counts = [r["count"] for r in doc["namespaces"] if r["count"] is not None]
assert counts == sorted(counts, reverse=True), counts
ra, rb, rp = rows[a], rows[b], rows[p]
assert (ra["name"], ra["display_name"], ra["pid"], ra["count"]) == ("ctg-fill-a", "ctg-fill-a", None, 3000), ra
assert (rb["name"], rb["count"]) == ("ctg-fill-b", 700), rb
assert (rp["name"], rp["pid"], rp["comm"], rp["count"]) == (None, pid, "sleep", 1500), rp
assert rp["display_name"] == "pid %d (sleep)" % pid, rp
assert abs(ra["percent"] - round(3000 * 100 / mx, 2)) < 0.006, (ra["percent"], mx)
assert ra["drop"] == 0 and ra["error"] is None and ra["host"] is False, ra
PY
        fail "status --netns --json: $(cat "$TEST_TMP/status.json")"

# ---- top --netns ----
top_entries() {
        "$CTGUARD" top --netns "$1" --json --by src >"$TEST_TMP/top.json" 2>"$TEST_TMP/top.err" ||
                fail "top --netns $1 failed: $(cat "$TEST_TMP/top.err")"
        python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["entries"])' "$TEST_TMP/top.json"
}
assert_eq 3000 "$(top_entries ctg-fill-a)" "top --netns NAME"
assert_eq 700 "$(top_entries "$inode_b")" "top --netns INODE"
assert_eq 700 "$(top_entries "netns:[$inode_b]")" "top --netns netns:[INODE]"
assert_eq 1500 "$(top_entries "$SLEEP_PID")" "top --netns PID"
assert_eq 1500 "$(top_entries "$inode_p")" "top --netns INODE of a process's namespace"
# Without --netns: our own namespace, unchanged by the others.
"$CTGUARD" top --json --by src >"$TEST_TMP/top.json" 2>"$TEST_TMP/top.err" || fail "top failed"
assert_eq 20 "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["entries"])' "$TEST_TMP/top.json")" \
        "top without --netns"

# A namespace that is not there, a bad ID, and no CAP_SYS_ADMIN.
if "$CTGUARD" top --netns ctg-none >/dev/null 2>"$TEST_TMP/err"; then
        fail "top --netns of a missing name succeeded"
fi
assert_file_contains "$TEST_TMP/err" "No network namespace 'ctg-none' found"
if "$CTGUARD" top --netns ../etc >/dev/null 2>"$TEST_TMP/err"; then
        fail "top --netns ../etc succeeded"
fi
assert_file_contains "$TEST_TMP/err" "Invalid --netns '../etc'"
if setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$CTGUARD" top --netns ctg-fill-a \
        >/dev/null 2>"$TEST_TMP/err"; then
        fail "top --netns without CAP_SYS_ADMIN succeeded"
fi
assert_file_contains "$TEST_TMP/err" "needs CAP_SYS_ADMIN"

# Without CAP_SYS_ADMIN a namespace known only by its name cannot be entered to be read: its row
# is there, without a count; one read through a process still has its count.
setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$CTGUARD" status --netns --json \
        >"$TEST_TMP/status.json" 2>"$TEST_TMP/err" || fail "status --netns without CAP_SYS_ADMIN"
python3 - "$TEST_TMP/status.json" "$inode_a" "$inode_p" <<'PY' ||
import json, sys
doc = json.load(open(sys.argv[1]))
a, p = int(sys.argv[2]), int(sys.argv[3])
rows = {r["inode"]: r for r in doc["namespaces"]}
assert rows[a]["count"] is None and rows[a]["percent"] is None and rows[a]["drop"] is None, rows[a]
assert rows[a]["error"], rows[a]
assert rows[p]["count"] == 1500 and rows[p]["error"] is None, rows[p]
assert doc["namespaces"][-1]["count"] is None, "the unreadable rows come last"
PY
        fail "status --netns without CAP_SYS_ADMIN: $(cat "$TEST_TMP/status.json")"

# A deleted namespace is no longer listed.
ip netns delete ctg-fill-b || fail "ip netns delete"
"$CTGUARD" status --netns >"$TEST_TMP/status.txt" 2>"$TEST_TMP/err" || fail "status --netns"
assert_eq "" "$(awk -v i="$inode_b" '$1 == i' "$TEST_TMP/status.txt")" "the deleted namespace's row"

exit 0
