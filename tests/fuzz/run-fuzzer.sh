#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs a libFuzzer target for a bounded time on a copy of its seed corpus (the source tree is
# never written) and fails on any crash, timeout, leak or sanitizer report.
#
# run-fuzzer.sh FUZZER CORPUS_DIR DICT ARTIFACT_DIR
# DICT may be '' (none). CTGUARD_FUZZ_SECONDS overrides the budget (the suite's per-target
# CTGUARD_FUZZ_SECONDS_DEFAULT, else 60 s).
set -eu -o pipefail

fuzzer=$1 corpus=$2 dict=$3 artifacts=$4
seconds=${CTGUARD_FUZZ_SECONDS:-${CTGUARD_FUZZ_SECONDS_DEFAULT:-60}}
dict_arg=()
[ -z "$dict" ] || dict_arg=(-dict="$dict")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -R "$corpus"/. "$work/corpus/"

# libFuzzer's default exit codes for a crash (77) and a timeout (70) would read as "skipped"
# to meson; UBSan must stop at its first report rather than print and go on.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=5 -error_exitcode=1 -timeout_exitcode=1 \
        "${dict_arg[@]}" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        "$work/corpus" 2>&1 | tee "$work/log" || status=$?

# A report that did not stop the run still fails it.
if grep -qE 'runtime error:|ERROR: (Address|Leak|Undefined)Sanitizer|SUMMARY: ' "$work/log"; then
        echo "sanitizer report found" >&2
        exit 1
fi
exit "$status"
