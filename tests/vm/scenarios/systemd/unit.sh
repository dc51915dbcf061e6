# SPDX-License-Identifier: GPL-2.0-or-later
# The install tree is in place under a real systemd, and a unit running ctguard logs to the
# journal.

step "the installed ctguard"
bin=$(command -v ctguard)
assert_ok test -n "$bin"
assert_ok cmp "$bin" "$VM_SHARE/destdir$bin"
assert_eq "$(ctguard --version)" "ctguard $CTGUARD_VERSION" "ctguard --version"

step "a unit running ctguard"
# Transient: no daemon-reload, which re-runs every generator (seconds under TCG).
assert_ok systemd-run --unit=ctguard-vmtest -p Type=oneshot -p RemainAfterExit=yes \
        "$bin" check-config
assert_eq "$(systemctl is-active ctguard-vmtest.service)" active "ctguard-vmtest.service"
assert_ok systemctl restart ctguard-vmtest.service
ok_lines() {
        [ "$(journalctl -b -u ctguard-vmtest.service -o cat | grep -cx 'configuration OK')" = 2 ]
}
wait_until 10 ok_lines

step "the host's /tmp survived the boot"
# The run directory lives in the host's /tmp, which the VM sees through the overlay; Debian's
# "D /tmp" tmpfiles rule would have emptied it.
case $VM_HOST_RUN in
/tmp/*) assert_ok test -f "$VM_HOST_RUN/share/scenario.sh" ;;
esac
