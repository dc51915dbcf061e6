# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034 # CTG_STATUS and the like are lib.sh's, read by tests
#
# For the table tests, on top of lib.sh: runs the daemon in the namespace logging to a journal
# socket of the test's own, so that each event's fields (CTGUARD_COUNT=, MESSAGE_ID=, ...) can
# be checked, not just its message.
#
# The daemon gets a private /run (ip netns exec gives it its own mount namespace) in which
# /run/systemd/journal is a link to $TEST_TMP/journal; a small reader there takes the native
# journal protocol and appends every entry to $JOURNAL_OUT as one JSON object per line.

JOURNAL_OUT=
JOURNAL_PID=

_journal_reader() {
        exec python3 - "$1" "$2" <<'PY'
import array, json, os, socket, struct, sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(out + ".ready", "w").close()

def parse(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            break
        line = data[i:nl]
        eq = line.find(b"=")
        if eq >= 0:
            fields[line[:eq].decode()] = line[eq + 1:].decode("utf-8", "replace")
            i = nl + 1
        else:   # KEY\n<64-bit little-endian length><value>\n
            n = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            fields[line.decode()] = data[nl + 9:nl + 9 + n].decode("utf-8", "replace")
            i = nl + 9 + n + 1
    return fields

with open(out, "a") as f:
    while True:
        data, anc, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(16))
        for level, kind, cdata in anc:
            # Entries too large for a datagram come as a sealed memfd.
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(cdata[:len(cdata) - len(cdata) % 4])
                for fd in fds:
                    data = os.pread(fd, 1 << 24, 0)
                    os.close(fd)
        f.write(json.dumps(parse(data)) + "\n")
        f.flush()
PY
}

# journal_setup: starts the reader.
journal_setup() {
        require_cmd python3
        mkdir -p "$TEST_TMP/journal" || fail "mkdir journal"
        JOURNAL_OUT="$TEST_TMP/journal.jsonl"
        : >"$JOURNAL_OUT"
        _journal_reader "$TEST_TMP/journal/socket" "$JOURNAL_OUT" 2>"$TEST_TMP/journal.err" &
        JOURNAL_PID=$!
        wait_until 10 test -e "$JOURNAL_OUT.ready" ||
                fail "the journal reader did not start: $(cat "$TEST_TMP/journal.err")"
        trap '_journal_teardown; _teardown' EXIT
}

_journal_teardown() {
        local rc=$?
        if [ -n "$JOURNAL_PID" ]; then
                kill "$JOURNAL_PID" 2>/dev/null
                wait "$JOURNAL_PID" 2>/dev/null
        fi
        if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$JOURNAL_OUT" ]; then
                echo "---- journal ($JOURNAL_OUT) ----" >&2
                cat "$JOURNAL_OUT" >&2
                echo "----" >&2
        fi
        return "$rc"
}

# start_ctguard_journal [OPTIONS...]: like start_ctguard, logging to the test's journal.
start_ctguard_journal() {
        [ -z "$CTG_PID" ] || fail "ctguard is already running"
        [ -n "$JOURNAL_OUT" ] || fail "start_ctguard_journal before journal_setup"
        [ -n "$CTG_ROOT" ] || ctguard_root_setup
        : >"$CTG_LOG"
        # shellcheck disable=SC2016 # expanded by the inner shell
        ip netns exec "$NS_NAME" sh -c '
                mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/systemd &&
                        ln -s "$1" /run/systemd/journal || exit 99
                shift
                exec env -u JOURNAL_STREAM -u NOTIFY_SOCKET -u WATCHDOG_USEC -u WATCHDOG_PID \
                        INVOCATION_ID=0123456789abcdef0123456789abcdef "$@"' \
                sh "$TEST_TMP/journal" "$CTGUARD" --root="$CTG_ROOT" "$@" run \
                </dev/null >"$TEST_TMP/ctguard.out" 2>"$CTG_LOG" &
        CTG_PID=$!
        CTG_STATUS=
}

# journal_query EVENT [FIELD...]: one line per entry with CTGUARD_EVENT=EVENT, the fields'
# values separated by '|' (a missing field prints as '-').
journal_query() {
        python3 - "$JOURNAL_OUT" "$@" <<'PY'
import json, sys
out, event, fields = sys.argv[1], sys.argv[2], sys.argv[3:]
for line in open(out):
    e = json.loads(line)
    if e.get("CTGUARD_EVENT") == event:
        print("|".join(e.get(f, "-") for f in fields))
PY
}

# journal_count EVENT: how many entries have CTGUARD_EVENT=EVENT.
journal_count() {
        journal_query "$1" CTGUARD_EVENT | wc -l
}

_journal_has_or_exited() {
        [ "$(journal_count "$1")" -ge "$2" ] || ! ctguard_running
}

# wait_for_event TIMEOUT EVENT [N]: waits until the N-th (default first) EVENT is logged.
wait_for_event() {
        local n=${3:-1}
        wait_until "$1" _journal_has_or_exited "$2" "$n" &&
                [ "$(journal_count "$2")" -ge "$n" ] && return 0
        ctguard_running || fail "ctguard exited without logging $2 (#$n)"
        fail "ctguard did not log $2 (#$n) within $1 s"
}
