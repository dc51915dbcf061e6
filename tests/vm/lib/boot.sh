# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by both /init scripts: bring up virtio 9p from the modules in the initramfs.

# The runner resolved the dependencies on the host and wrote the insmod order.
boot_modules() {
        while read -r ko; do
                insmod "$ko" || echo "vmtest: insmod $ko failed" >&2
        done < /etc/vmtest/boot-modules
}

# mount_share TAG DIR OPTIONS: the virtio device may still be probing when insmod returns, so
# retry the mount until a deadline (10 s of uptime from now) instead of trusting it is ready.
mount_share() {
        mkdir -p "$2"
        _deadline=$(($(cut -d. -f1 /proc/uptime) + 10))
        until mount -t 9p -o "trans=virtio,version=9p2000.L,msize=262144,$3" "$1" "$2" \
                        2> /tmp/mount.err; do
                if [ "$(cut -d. -f1 /proc/uptime)" -ge "$_deadline" ]; then
                        cat /tmp/mount.err >&2
                        echo "vmtest: cannot mount 9p share '$1'" >&2
                        return 1
                fi
                sleep 0.1
        done
}
