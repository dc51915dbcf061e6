#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# "ctguard status --netns" against a fake root: namespaces are regular files, a process's
# proc/PID/ns/net a hard link to its namespace's, and proc/PID/net/stat/nf_conntrack a text
# as the kernel prints it. Checks the order by fill, the names, the pod and container columns,
# the JSON members, and a name-only namespace that cannot be entered (not an nsfs file here).
set -uo pipefail

ctguard=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

fail() {
        echo "FAIL: netns-status: $*" >&2
        exit 1
}

uid=8d1c4f7e-2b3a-4c5d-9e6f-0a1b2c3d4e5f
id=3f5a9c2e7b1d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f4a
header="entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart"

mkdir -p "$root/nsfs" "$root/proc/sys/net/netfilter" "$root/run/netns"
echo 10000 >"$root/proc/sys/net/netfilter/nf_conntrack_max"

# proc PID NS COMM CGROUP COUNT DROP: a process in namespace NS whose file shows COUNT entries
# and DROP drops on each of two CPUs ('' COUNT: no nf_conntrack there).
proc() {
        local d="$root/proc/$1"
        mkdir -p "$d/ns" "$d/net/stat"
        [ -e "$root/nsfs/$2" ] || : >"$root/nsfs/$2"
        ln "$root/nsfs/$2" "$d/ns/net"
        echo "$3" >"$d/comm"
        echo "$4" >"$d/cgroup"
        if [ -n "$5" ]; then
                {
                        echo "$header"
                        for _ in 1 2; do
                                printf '%08x  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 %08x 00000002 00000000  00000000 00000000 00000000 00000000\n' "$5" "$6"
                        done
                } >"$d/net/stat/nf_conntrack"
        fi
}

proc 1 host systemd "0::/init.scope" 120 0
proc 2 host kthreadd "0::/" 120 0
proc 640 pod nginx "0::/kubepods/burstable/pod$uid/$id" 9500 7
proc 641 pod sidecar "0::/kubepods/burstable/pod$uid/$id" 9500 7
proc 900 docker redis-server "0::/system.slice/docker-$id.scope" 2500 0
proc 950 quiet sleep "0::/user.slice" "" ""
: >"$root/nsfs/named"
ln "$root/nsfs/named" "$root/run/netns/blue"
ln "$root/nsfs/docker" "$root/run/netns/red"

"$ctguard" --root "$root" status --netns >"$root/out" 2>"$root/err" ||
        fail "status --netns: exit $?: $(cat "$root/err")"
# The rows without the header, inodes out: NAME PID POD/CONTAINER COUNT FILL DROPS.
got=$(awk 'NR == 1 { next } NF == 0 { exit } { $1 = ""; print substr($0, 2) }' "$root/out")
want="pid 640 (nginx) 640 $uid/${id:0:12} 9500 95.00% 14
red 900 ${id:0:12} 2500 25.00% 0
pid 1 (systemd) 1 - 120 1.20% 0 (host)
blue - - - - -"
[ "$got" = "$want" ] || fail "rows:
$got
want:
$want"
grep -q "^1 namespace(s) could not be read" "$root/out" || fail "no note about the unreadable row"

"$ctguard" --root "$root" status --netns --json >"$root/json" 2>"$root/err" ||
        fail "status --netns --json: exit $?: $(cat "$root/err")"
python3 - "$root/json" "$uid" "$id" <<'PY' || fail "JSON: $(cat "$root/json")"
import json, sys
doc = json.load(open(sys.argv[1]))
uid, cid = sys.argv[2], sys.argv[3]
assert doc["max"] == 10000
rows = doc["namespaces"]
assert [r["display_name"] for r in rows] == ["pid 640 (nginx)", "red", "pid 1 (systemd)", "blue"], rows
pod = rows[0]
assert (pod["pid"], pod["comm"], pod["pod_uid"], pod["container_id"]) == (640, "nginx", uid, cid), pod
assert (pod["count"], pod["percent"], pod["drop"], pod["early_drop"], pod["insert_failed"]) == (9500, 95.0, 14, 4, 2), pod
assert pod["name"] is None and pod["host"] is False and pod["error"] is None, pod
assert rows[1]["name"] == "red" and rows[1]["pid"] == 900 and rows[1]["pod_uid"] is None
assert rows[2]["host"] is True
blue = rows[3]
assert blue["pid"] is None and blue["count"] is None and blue["percent"] is None and blue["drop"] is None
assert blue["error"], blue
PY

# No nf_conntrack_max: the fill is unknown, the counts are still there.
rm "$root/proc/sys/net/netfilter/nf_conntrack_max"
"$ctguard" --root "$root" status --netns --json >"$root/json" 2>"$root/err" || fail "without max"
python3 - "$root/json" <<'PY' || fail "JSON without max: $(cat "$root/json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["max"] is None
assert doc["namespaces"][0]["count"] == 9500 and doc["namespaces"][0]["percent"] is None
PY
exit 0
