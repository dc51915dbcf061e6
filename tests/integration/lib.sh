# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034 # the tests read CTG_STATUS, NS_INODE, ...
#
# Helpers for the integration tests: each test runs against the real kernel, inside a network
# namespace of its own, so that its conntrack table and net.netfilter.* sysctls are private.
#
#   . "$(dirname "$0")/lib.sh"
#   ns_setup
#   ns_exec "$CT_INSERT" --count 100
#   assert_eq 100 "$(ns_count)" "entries after insert"
#
# The environment gives CTGUARD (the daemon) and CT_INSERT (tests/helpers/ct-insert). A test
# exits 0 on success, 1 on failure, 77 when it cannot run here (not root, no namespaces).
# Everything set up is torn down when the test exits, whichever way it exits.

set -u

NS_NAME=
NS_INODE=
HOST_NS_INODES=
TEST_TMP=
CTG_ROOT=
CTG_LOG=
CTG_PID=
CTG_STATUS=
_TEST_NAME=$(basename "$0")

skip() {
        echo "SKIP: $_TEST_NAME: $*" >&2
        exit 77
}

fail() {
        echo "FAIL: $_TEST_NAME: $*" >&2
        exit 1
}

info() {
        echo "$_TEST_NAME: $*" >&2
}

assert_eq() {
        # assert_eq EXPECTED ACTUAL WHAT
        [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}

assert_ne() {
        [ "$1" != "$2" ] || fail "${3:-value}: expected anything but '$1'"
}

assert_file_contains() {
        # assert_file_contains FILE FIXED-STRING [WHAT]
        grep -qF -- "$2" "$1" || fail "${3:-$1}: no line contains '$2'"
}

assert_file_lacks() {
        ! grep -qF -- "$2" "$1" || fail "${3:-$1}: unexpected line containing '$2'"
}

require_root() {
        [ "$(id -u)" = 0 ] || skip "needs root"
}

require_cmd() {
        local c
        for c in "$@"; do
                command -v "$c" >/dev/null 2>&1 || skip "needs $c"
        done
}

# The monotonic clock in microseconds, for deadlines that a changed wall clock cannot stretch.
_now_us() {
        local up
        read -r up _ </proc/uptime
        echo $(( ${up%.*} * 1000000 + 10#${up#*.} * 10000 ))
}

# wait_until TIMEOUT-SECONDS CMD [ARGS...]
# Runs CMD until it succeeds or the deadline passes; returns 1 on timeout. The short pause
# between attempts only spaces the polls: the deadline decides.
wait_until() {
        local timeout=$1 deadline
        shift
        deadline=$(( $(_now_us) + timeout * 1000000 ))
        while :; do
                "$@" && return 0
                [ "$(_now_us)" -lt "$deadline" ] || return 1
                sleep 0.02
        done
}

# ---- the namespace ----

_ns_inode_of() {
        stat -L -c '%d:%i' "$1" 2>/dev/null
}

_teardown() {
        local rc=$? pid
        trap - EXIT INT TERM HUP
        if [ -n "$CTG_PID" ] && kill -0 "$CTG_PID" 2>/dev/null; then
                kill -KILL "$CTG_PID" 2>/dev/null
                wait "$CTG_PID" 2>/dev/null
        fi
        if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$CTG_LOG" ] && [ -s "$CTG_LOG" ]; then
                echo "---- ctguard stderr ($CTG_LOG) ----" >&2
                cat "$CTG_LOG" >&2
                echo "----" >&2
        fi
        if [ -n "$NS_NAME" ]; then
                # Whatever this test started in the namespace and left running.
                for pid in $(ip netns pids "$NS_NAME" 2>/dev/null); do
                        kill -KILL "$pid" 2>/dev/null
                done
                ip netns delete "$NS_NAME" 2>/dev/null ||
                        echo "warning: could not delete netns $NS_NAME" >&2
        fi
        if [ -n "$TEST_TMP" ] && [ -d "$TEST_TMP" ]; then
                rm -rf -- "$TEST_TMP"
        fi
        exit "$rc"
}

# ns_setup: creates a uniquely named network namespace with lo up, and TEST_TMP, a private
# temporary directory. Skips the test (77) without root or namespaces.
ns_setup() {
        require_root
        require_cmd ip stat
        trap _teardown EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP

        TEST_TMP=$(mktemp -d /tmp/ctguard-test.XXXXXX) || fail "mktemp"

        # The namespaces the writes must never reach: the one pid 1 lives in (when it may be
        # looked at) and the one this test was started in.
        HOST_NS_INODES="$(_ns_inode_of /proc/self/ns/net)"
        if _ns_inode_of /proc/1/ns/net >/dev/null; then
                HOST_NS_INODES="$HOST_NS_INODES $(_ns_inode_of /proc/1/ns/net)"
        fi
        [ -n "${HOST_NS_INODES// /}" ] || skip "cannot read /proc/self/ns/net"

        NS_NAME="ctguard-test-$$-$RANDOM"
        ip netns add "$NS_NAME" 2>"$TEST_TMP/netns.err" ||
                { local e; e=$(cat "$TEST_TMP/netns.err"); NS_NAME=; skip "ip netns add: $e"; }
        ns_exec ip link set lo up || fail "cannot bring lo up in $NS_NAME"

        NS_INODE=$(ns_exec stat -L -c '%d:%i' /proc/self/ns/net) || fail "cannot stat the namespace"
        _ns_is_private "$NS_INODE" || fail "namespace $NS_NAME is the host's ($NS_INODE)"
        [ -e "/proc/sys/net/netfilter/nf_conntrack_count" ] ||
                skip "the kernel has no conntrack (no /proc/sys/net/netfilter/nf_conntrack_count)"
}

_ns_is_private() {
        local h
        [ -n "$1" ] || return 1
        for h in $HOST_NS_INODES; do
                [ "$1" != "$h" ] || return 1
        done
        return 0
}

# ns_exec CMD [ARGS...]: runs CMD inside the namespace.
ns_exec() {
        [ -n "$NS_NAME" ] || fail "ns_exec before ns_setup"
        ip netns exec "$NS_NAME" "$@"
}

_sysctl_path() {
        # net.netfilter.x or net/netfilter/x -> /proc/sys/net/netfilter/x
        case "$1" in
        */*) echo "/proc/sys/${1#/}" ;;
        *) echo "/proc/sys/${1//./\/}" ;;
        esac
}

# ns_sysctl_read KEY: prints the value as seen inside the namespace.
ns_sysctl_read() {
        ns_exec cat "$(_sysctl_path "$1")"
}

# ns_sysctl_write KEY VALUE: writes a sysctl inside the namespace. The process that writes checks
# first that it is not in the host's namespace: a mistake here must not touch the host.
ns_sysctl_write() {
        local path
        path=$(_sysctl_path "$1")
        # shellcheck disable=SC2016
        ns_exec sh -c '
                self=$(stat -L -c "%d:%i" /proc/self/ns/net) || exit 3
                [ -n "$self" ] || exit 3
                for h in $3; do
                        [ "$self" != "$h" ] || exit 3
                done
                printf "%s\n" "$2" > "$1"' sh "$path" "$2" "$HOST_NS_INODES"
        case $? in
        0) return 0 ;;
        3) fail "refusing to write $1: the writer is not in a private network namespace" ;;
        *) return 1 ;;
        esac
}

# ns_count: the number of conntrack entries in the namespace.
ns_count() {
        ns_sysctl_read net.netfilter.nf_conntrack_count
}

# ---- ctguard ----

# ctguard_root_setup: a configuration tree for --root in $CTG_ROOT, with etc/ctguard and its
# drop-in directory. Its proc points at the real /proc, so the daemon run in the namespace reads
# and writes the namespace's sysctls.
ctguard_root_setup() {
        [ -n "$TEST_TMP" ] || fail "ctguard_root_setup before ns_setup"
        CTG_ROOT="$TEST_TMP/root"
        mkdir -p "$CTG_ROOT/etc/ctguard/ctguard.conf.d" || fail "mkdir $CTG_ROOT"
        chmod 0755 "$CTG_ROOT" "$CTG_ROOT/etc" "$CTG_ROOT/etc/ctguard" \
                "$CTG_ROOT/etc/ctguard/ctguard.conf.d"
        ln -s /proc "$CTG_ROOT/proc" || fail "ln -s /proc"
        CTG_LOG="$TEST_TMP/ctguard.log"
}

# ctguard_write_config PATH-BELOW-ROOT < CONTENT: writes a configuration file as ctguard wants
# it (owned by root, not writable by others).
ctguard_write_config() {
        local f="$CTG_ROOT/$1"
        if ! { mkdir -p "$(dirname "$f")" && cat >"$f" && chmod 0644 "$f"; }; then
                fail "cannot write $f"
        fi
}

# ctguard_cmd ARGS...: runs ctguard in the namespace against $CTG_ROOT, logging to stderr.
ctguard_cmd() {
        [ -n "${CTGUARD:-}" ] || fail "CTGUARD is not set"
        [ -n "$CTG_ROOT" ] || fail "ctguard_cmd before ctguard_root_setup"
        ns_exec env -u JOURNAL_STREAM -u INVOCATION_ID -u NOTIFY_SOCKET -u WATCHDOG_USEC \
                -u WATCHDOG_PID "$CTGUARD" --root="$CTG_ROOT" "$@"
}

# ctguard_cmd_nobody ARGS...: as ctguard_cmd, as the unprivileged user nobody (a monitoring
# agent). The test directory is opened for traversal so that nobody can reach the root.
ctguard_cmd_nobody() {
        require_cmd setpriv
        chmod o+x "$TEST_TMP" || fail "chmod $TEST_TMP"
        ns_exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
                env -u JOURNAL_STREAM -u INVOCATION_ID -u NOTIFY_SOCKET -u WATCHDOG_USEC \
                -u WATCHDOG_PID "$CTGUARD" --root="$CTG_ROOT" "$@"
}

# start_ctguard [OPTIONS...]: starts "ctguard OPTIONS... run" in the background in the
# namespace; its stderr goes to $CTG_LOG, its pid is $CTG_PID.
start_ctguard() {
        [ -z "$CTG_PID" ] || fail "ctguard is already running"
        [ -n "$CTG_ROOT" ] || ctguard_root_setup
        [ -n "${CTGUARD:-}" ] || fail "CTGUARD is not set"
        : >"$CTG_LOG"
        # One simple command, so that every step execs the next and $! is the daemon itself
        # (a function run in the background would leave a shell in between to take signals).
        ip netns exec "$NS_NAME" env -u JOURNAL_STREAM -u INVOCATION_ID -u NOTIFY_SOCKET \
                -u WATCHDOG_USEC -u WATCHDOG_PID "$CTGUARD" --root="$CTG_ROOT" "$@" run \
                </dev/null >"$TEST_TMP/ctguard.out" 2>"$CTG_LOG" &
        CTG_PID=$!
        CTG_STATUS=
}

# ctguard_running: true while the daemon has not exited (a zombie counts as exited).
ctguard_running() {
        local state
        [ -n "$CTG_PID" ] || return 1
        state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$CTG_PID/stat" 2>/dev/null)
        [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# ctguard_log_has FIXED-STRING: true if the daemon's stderr has a line containing it.
ctguard_log_has() {
        grep -qF -- "$1" "$CTG_LOG"
}

_log_has_or_exited() {
        ctguard_log_has "$1" || ! ctguard_running
}

# wait_for_log TIMEOUT FIXED-STRING: waits until the daemon logged it; fails the test if it does
# not within TIMEOUT seconds, or exits without it.
wait_for_log() {
        wait_until "$1" _log_has_or_exited "$2" && ctguard_log_has "$2" && return 0
        ctguard_running || fail "ctguard exited without logging '$2'"
        fail "ctguard did not log '$2' within $1 s"
}

# ctguard_signal SIGNAL: sends SIGNAL (HUP, TERM, ...) to the daemon.
ctguard_signal() {
        ctguard_running || fail "ctguard is not running (to send SIG$1)"
        kill -s "$1" "$CTG_PID" || fail "kill -$1 $CTG_PID"
}

# stop_ctguard [SIGNAL [TIMEOUT]]: stops the daemon (SIGTERM by default), waits for it and
# leaves its exit status in CTG_STATUS. Fails the test if it does not exit in time.
stop_ctguard() {
        local sig=${1:-TERM} timeout=${2:-10}
        [ -n "$CTG_PID" ] || fail "stop_ctguard: ctguard was not started"
        if ctguard_running; then
                kill -s "$sig" "$CTG_PID" 2>/dev/null
                wait_until "$timeout" eval '! ctguard_running' ||
                        fail "ctguard did not exit within $timeout s of SIG$sig"
        fi
        wait "$CTG_PID"
        CTG_STATUS=$?
        CTG_PID=
}
