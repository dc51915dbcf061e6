#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# AutoRaise benchmark, in the systemd QEMU VM (Debian's 6.1 kernel, the shipped unit): drops of
# a burst into a table of 256 with AutoRaise off and on, the time from crossing CritPercent to
# the raised maximum, and the stall of a hash resize at 10k, 100k and 250k entries. See
# raise-bench-vm.sh for what is measured and how.
#
#   tests/bench/raise-bench.sh BUILDDIR
#
# Needs root and QEMU (exit 77 without). Takes several minutes under TCG.

set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: raise-bench.sh BUILDDIR}
exec "$here/../vm/run-vm" --mode systemd --build "$build" --timeout 1500 "$here/raise-bench-vm.sh"
