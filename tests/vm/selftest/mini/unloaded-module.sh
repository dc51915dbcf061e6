# SPDX-License-Identifier: GPL-2.0-or-later
# Meant to FAIL (registered with should_fail): nothing loads nf_nat, yet this asserts that it
# is live. It proves that a failed assertion fails the run and shows where.

assert_ok test -d /sys/module
assert_eq "$(cat /sys/module/nf_nat/initstate 2>/dev/null)" live "nf_nat initstate"
