# SPDX-License-Identifier: GPL-2.0-or-later
# Assertions for VM scenarios. POSIX sh, sourced by dash in both VMs; the one external command
# is sleep (busybox's in the mini VM, coreutils' under systemd).
#
# Every helper prints one "ok - ..." line on success. The first failed assertion prints
# "FAIL: ..." and ends the scenario with status 1, so the log ends at the line that broke.
# `skip REASON` ends it with 77, which the runner and meson report as a skipped test.

_vm_asserts=0

# Seconds since boot in hundredths: monotonic, unlike the wall clock a VM may step.
_vm_now() {
        read -r _vm_up _vm_idle < /proc/uptime
        _vm_s=${_vm_up%.*}
        _vm_c=${_vm_up#*.}
        echo $((_vm_s * 100 + ${_vm_c#0}))
}

# A heading, with the time since boot: slow steps show up in the log.
step() {
        _vm_t=$(_vm_now)
        printf '== %s (%d.%02ds)\n' "$*" $((_vm_t / 100)) $((_vm_t % 100))
}

ok() {
        _vm_asserts=$((_vm_asserts + 1))
        echo "ok - $*"
}

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

skip() {
        echo "SKIP: $*"
        exit 77
}

# assert_ok CMD [ARG...]: CMD must exit 0.
assert_ok() {
        "$@"
        _vm_rc=$?
        [ "$_vm_rc" -eq 0 ] || fail "expected success, got exit $_vm_rc: $*"
        ok "$*"
}

# assert_fail CMD [ARG...]: CMD must exit non-zero.
assert_fail() {
        "$@"
        _vm_rc=$?
        [ "$_vm_rc" -ne 0 ] || fail "expected failure, got exit 0: $*"
        ok "fails ($_vm_rc): $*"
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
        [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
        ok "${3:-value} = '$2'"
}

# assert_contains HAYSTACK NEEDLE [WHAT]: NEEDLE must occur in HAYSTACK.
assert_contains() {
        case "$1" in
        *"$2"*) ok "${3:-output} contains '$2'" ;;
        *) fail "${3:-output} does not contain '$2'; it was:
$1" ;;
        esac
}

# wait_until TIMEOUT CMD [ARG...]: poll CMD (quietly) until it exits 0; fail after TIMEOUT
# seconds. The only sleep is the poll interval.
wait_until() {
        _vm_timeout=$1
        _vm_deadline=$(($(_vm_now) + _vm_timeout * 100))
        shift
        until "$@" > /dev/null 2>&1; do
                if [ "$(_vm_now)" -ge "$_vm_deadline" ]; then
                        # One last try with its output shown, so the log says why.
                        "$@" && { ok "reached at the deadline: $*"; return 0; }
                        fail "timed out after ${_vm_timeout}s waiting for: $*"
                fi
                sleep 0.1
        done
        ok "reached: $*"
}

# Predicates on kernel modules, for assert_ok and wait_until.
# live NAME: the module is loaded and initialised.
live() { [ "$(cat "/sys/module/$1/initstate" 2> /dev/null)" = live ]; }
# gone NAME: nothing of the module is left (not loaded, not built in).
gone() { [ ! -e "/sys/module/$1" ]; }
