/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's uevent netlink socket (NETLINK_KOBJECT_UEVENT, multicast group 1).
 *
 * ctguard listens to the kernel itself, not to udevd's rebroadcast (group 2, the one libudev
 * and sd_device_monitor use), so that module add/remove events arrive whether or not udevd
 * runs. Only messages the kernel sent are accepted: netlink sender port 0 and credentials of
 * uid 0; anything carrying libudev's "libudev" header is refused. */

typedef enum UeventAction {
        UEVENT_ACTION_ADD,
        UEVENT_ACTION_REMOVE,
        UEVENT_ACTION_CHANGE,
        UEVENT_ACTION_MOVE,
        UEVENT_ACTION_ONLINE,
        UEVENT_ACTION_OFFLINE,
        UEVENT_ACTION_BIND,
        UEVENT_ACTION_UNBIND,
        _UEVENT_ACTION_MAX,
        _UEVENT_ACTION_INVALID = -EINVAL,
} UeventAction;

const char *uevent_action_to_string(UeventAction a);
UeventAction uevent_action_from_string(const char *s);

/* The largest message the kernel sends (UEVENT_BUFFER_SIZE), with room for the header. */
#define UEVENT_MESSAGE_MAX 8192u

/* The receive buffer asked for: module storms at boot send hundreds of messages at once. */
#define UEVENT_RCVBUF_SIZE (8u * 1024u * 1024u)

/* One parsed message. The strings point into the buffer that was parsed, which must outlive
 * the Uevent. */
typedef struct Uevent {
        UeventAction action;
        const char *devpath;            /* "/module/nf_conntrack" */
        const char *subsystem;          /* "module" */
        const char *module;             /* SUBSYSTEM=module: the name, e.g. "nf_conntrack";
                                         * NULL for other subsystems */
        uint64_t seqnum;                /* 0 if the message has none */
} Uevent;

/* Parses a kernel uevent: "ACTION@DEVPATH\0KEY=VALUE\0...". The buffer must hold complete
 * NUL-terminated fields; ACTION, DEVPATH and SUBSYSTEM must be present and agree with the
 * header. Returns 0, -EPROTONOSUPPORT for a message from libudev, -EBADMSG for anything
 * malformed (truncated, unknown action, bad module name, conflicting keys). A module name
 * with '-' is folded to '_' in place, as the kernel and ctguard's configuration spell it. */
int uevent_parse(char *buf, size_t len, Uevent *ret);

/* Opens a non-blocking socket bound to the kernel's uevent group, with SO_PASSCRED and a
 * receive buffer of rcvbuf bytes (SO_RCVBUFFORCE where permitted, else SO_RCVBUF). */
int uevent_socket_open(size_t rcvbuf, int *ret_fd);

/* Receives one message into buf (at least UEVENT_MESSAGE_MAX bytes) and checks who sent it.
 * Returns 0 and its length; -EAGAIN when nothing is queued; -ENOBUFS when the kernel dropped
 * messages because the socket buffer was full (the caller must resynchronise from a full scan);
 * -EPERM for a message not sent by the kernel; -EMSGSIZE for a truncated one; other negative
 * errno from recvmsg(). -EPERM and -EMSGSIZE messages are consumed: just read on. */
int uevent_receive(int fd, char *buf, size_t size, size_t *ret_len);
