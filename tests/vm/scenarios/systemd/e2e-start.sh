# SPDX-License-Identifier: GPL-2.0-or-later
# The shipped ctguard.service, exactly as installed: systemd loads it, "enable --now" starts
# it, it reports READY=1 and a status line, and the conntrack chain is up.

step "systemctl enable --now"
assert_ok test -d /etc/ctguard/ctguard.conf.d
assert_eq "$(systemctl is-enabled ctguard.service)" disabled "before enable"
# enable reloads systemd itself: one daemon-reload, which costs seconds under TCG.
assert_ok systemctl enable --now ctguard.service
assert_eq "$(systemctl is-enabled ctguard.service)" enabled "after enable"
wait_until 30 systemctl is-active --quiet ctguard.service

step "it is the shipped unit, as installed"
assert_eq "$(systemctl show -P LoadState ctguard.service)" loaded "LoadState"
unit=$(systemctl show -P FragmentPath ctguard.service)
assert_ok cmp "$unit" "$VM_SHARE/destdir/lib/systemd/system/ctguard.service"
# The runner adds one drop-in for a sanitizer build, ASAN_OPTIONS=detect_leaks=0 (see run-vm);
# nothing else may change the unit.
dropins=$(systemctl show -P DropInPaths ctguard.service)
if [ -n "$dropins" ]; then
        assert_eq "$dropins" /etc/systemd/system/ctguard.service.d/sanitizer.conf "drop-ins"
        assert_eq "$(grep -v '^\[Service\]$' "$dropins")" "Environment=ASAN_OPTIONS=detect_leaks=0" \
                "the sanitizer drop-in"
fi
assert_eq "$(systemctl show -P NeedDaemonReload ctguard.service)" no "NeedDaemonReload"

step "READY=1 and a status line"
assert_eq "$(systemctl show -P SubState ctguard.service)" running "SubState"
status=$(systemctl show -P StatusText ctguard.service)
assert_ok test -n "$status"
echo "StatusText: $status"
assert_contains "$status" "enforce, " "StatusText"
systemctl status --no-pager ctguard.service | head -n 12

step "the daemon did its job at start"
for m in nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat; do
        wait_until 30 live "$m"
done
assert_ok test -e /run/ctguard/daemon.lock
status_has() {
        case $(systemctl show -P StatusText ctguard.service) in
        *"$1"*) return 0 ;;
        esac
        return 1
}
wait_until 30 status_has "modules ok 4/4"
wait_until 30 status_has "table 0/"
echo "StatusText: $(systemctl show -P StatusText ctguard.service)"
pid=$(systemctl show -P MainPID ctguard.service)
grep -E '^(VmRSS|VmHWM|RssAnon|RssFile):' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' '
echo
wait_until 30 sh -c 'journalctl -u ctguard.service -o cat CTGUARD_EVENT=config-loaded | grep -q .'
assert_eq "$(journalctl -u ctguard.service -p err -o cat)" "" "error entries"
assert_eq "$(journalctl -u ctguard.service -o cat | grep -c 'Sanitizer\|runtime error')" 0 \
        "sanitizer reports"
journalctl -u ctguard.service -o cat --no-pager | head -n 30
