#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Module heal benchmark, in the mini QEMU VM (Debian's kernel, loadable netfilter modules):
# time from the chain being unloaded to chain live and sysctls restored, ctguard against the
# same done by hand with kmod's modprobe and sysctl -w (the floor), and, for comparison, with
# busybox's modprobe applet. See module-bench-vm.sh for what is timed and why.
#
#   tests/bench/module-bench.sh BUILDDIR [TRIALS]
#
# TRIALS rounds of one trial of each kind. Needs root and QEMU (exit 77 without). Prints each
# trial and a summary: medians, "ratio" (ctguard's median over the floor's) and the median of
# the rounds' own ratios.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: module-bench.sh BUILDDIR [TRIALS]}
trials=${2:-15}
if ! [[ $trials =~ ^[0-9]+$ ]] || ((trials < 1 || trials > 200)); then
        echo "module-bench: TRIALS must be 1..200" >&2
        exit 2
fi

# The scenario reads its trial count from the VM's environment file, which the runner writes;
# a copy with the count filled in keeps the runner unchanged.
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
sed "s/^TRIALS=.*/TRIALS=$trials/" "$here/module-bench-vm.sh" > "$tmp/module-bench-vm.sh"
exec "$here/../vm/run-vm" --mode mini --build "$build" --timeout $((120 + trials * 20)) \
        "$tmp/module-bench-vm.sh"
