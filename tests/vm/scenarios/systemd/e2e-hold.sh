# SPDX-License-Identifier: GPL-2.0-or-later
# Under the shipped unit: "ctguard hold" stops the healing (an unloaded nf_nat and a drifted
# sysctl stay as they are, reported), "ctguard release" heals both.

# seen EVENT [FIELD=VALUE...]: ctguard.service logged EVENT with those fields.
seen() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -qx "CTGUARD_EVENT=$_ev"
}
# count EVENT [FIELD=VALUE...]: how often ctguard.service logged EVENT with those fields.
count() {
        _ev=$1
        shift
        journalctl -u ctguard.service -o export "CTGUARD_EVENT=$_ev" "$@" |
                grep -cx "CTGUARD_EVENT=$_ev"
}
# more N EVENT [FIELD=VALUE...]: logged more than N times.
more() {
        _n=$1
        shift
        [ "$(count "$@")" -gt "$_n" ]
}
sysctl_is() { [ "$(sysctl -n "$1" 2> /dev/null)" = "$2" ]; }
status_text_has() {
        case $(systemctl show -P StatusText ctguard.service) in
        *"$1"*) return 0 ;;
        esac
        return 1
}
key=net.netfilter.nf_conntrack_tcp_timeout_established

printf '[Sysctl]\n%s=7200\n' $key > /etc/ctguard/ctguard.conf.d/50-e2e.conf

step "running, chain up"
assert_ok systemctl start ctguard.service
wait_until 30 live nf_nat
wait_until 30 sysctl_is $key 7200

step "ctguard hold"
# The start loaded the chain: only events from here on count.
missing=$(count module-missing CTGUARD_MODULE=nf_nat)
reloads=$(count module-reloaded CTGUARD_MODULE=nf_nat)
assert_ok ctguard hold --for 10min --reason "e2e maintenance"
wait_until 10 seen held CTGUARD_REASON="e2e maintenance"
# nf_nat alone: ctguard no longer pins nf_conntrack (its statistics come from /proc), so
# "modprobe -r nf_nat" would take the unused nf_conntrack, and the key below, with it.
assert_ok rmmod nf_nat
wait_until 10 more "$missing" module-missing CTGUARD_MODULE=nf_nat
assert_ok sysctl -q -w $key=1234
wait_until 10 seen sysctl-drift CTGUARD_KEY=$key CTGUARD_OLD=1234
# Both were seen and reported; neither was healed.
assert_ok gone nf_nat
assert_ok sysctl_is $key 1234
assert_eq "$(count module-reloaded CTGUARD_MODULE=nf_nat)" "$reloads" \
        "nf_nat reloads (none during the hold)"
wait_until 10 status_text_has ", held"
ctguard status | grep -i hold

step "ctguard release"
assert_ok ctguard release
wait_until 10 seen released
wait_until 30 live nf_nat
wait_until 30 sysctl_is $key 7200
wait_until 10 more "$reloads" module-reloaded CTGUARD_MODULE=nf_nat
wait_until 10 seen sysctl-restored CTGUARD_KEY=$key CTGUARD_OLD=1234
wait_until 10 status_text_has ", not held"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
