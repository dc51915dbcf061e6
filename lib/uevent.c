/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <linux/netlink.h>
#include <sys/socket.h>

#include "macro.h"
#include "uevent.h"

/* The kernel's multicast group for uevents; udevd rebroadcasts on group 2. */
#define UEVENT_GROUP_KERNEL 1u

/* MODULE_NAME_LEN in the kernel, the NUL included. */
#define MODULE_NAME_MAX 55u

static const char * const action_table[_UEVENT_ACTION_MAX] = {
        [UEVENT_ACTION_ADD]     = "add",
        [UEVENT_ACTION_REMOVE]  = "remove",
        [UEVENT_ACTION_CHANGE]  = "change",
        [UEVENT_ACTION_MOVE]    = "move",
        [UEVENT_ACTION_ONLINE]  = "online",
        [UEVENT_ACTION_OFFLINE] = "offline",
        [UEVENT_ACTION_BIND]    = "bind",
        [UEVENT_ACTION_UNBIND]  = "unbind",
};

const char *uevent_action_to_string(UeventAction a) {
        if (a < 0 || a >= _UEVENT_ACTION_MAX)
                return NULL;
        return action_table[a];
}

UeventAction uevent_action_from_string(const char *s) {
        if (!s)
                return _UEVENT_ACTION_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(action_table); i++)
                if (streq(action_table[i], s))
                        return (UeventAction) i;
        return _UEVENT_ACTION_INVALID;
}

static bool key_valid(const char *k, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
                        return false;
        return true;
}

static int parse_seqnum(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* "/module/NAME" -> NAME, checked and folded; NULL if devpath is not a module's. */
static char *module_from_devpath(char *devpath) {
        static const char prefix[] = "/module/";
        char *name;
        size_t n;

        if (!strneq(devpath, prefix, sizeof(prefix) - 1))
                return NULL;
        name = devpath + sizeof(prefix) - 1;
        n = strlen(name);
        if (n == 0 || n > MODULE_NAME_MAX)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];

                if (c == '-')
                        name[i] = '_';
                else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_'))
                        return NULL;
        }
        return name;
}

int uevent_parse(char *buf, size_t len, Uevent *ret) {
        static const char libudev_magic[] = "libudev";  /* with its NUL: 8 bytes */
        char *action = NULL, *devpath = NULL, *subsystem = NULL, *seqnum = NULL;
        char *header, *at, *module = NULL;
        uint64_t seq = 0;
        UeventAction a;
        size_t pos;

        if (!buf || len == 0)
                return -EBADMSG;
        if (len >= sizeof(libudev_magic) && memcmp(buf, libudev_magic, sizeof(libudev_magic)) == 0)
                return -EPROTONOSUPPORT;

        /* Every field, the last one too, ends in a NUL: a message that does not is truncated. */
        if (buf[len - 1] != '\0')
                return -EBADMSG;

        header = buf;
        at = strchr(header, '@');
        if (!at || at == header || at[1] != '/')
                return -EBADMSG;

        for (pos = strlen(header) + 1; pos < len; ) {
                char *field = buf + pos, *eq;
                size_t n = strlen(field);
                char **slot = NULL;

                pos += n + 1;
                eq = memchr(field, '=', n);
                if (!eq || !key_valid(field, (size_t) (eq - field)))
                        return -EBADMSG;

#define KEY_IS(k) ((size_t) (eq - field) == sizeof(k) - 1 && strneq(field, k, sizeof(k) - 1))
                if (KEY_IS("ACTION"))
                        slot = &action;
                else if (KEY_IS("DEVPATH"))
                        slot = &devpath;
                else if (KEY_IS("SUBSYSTEM"))
                        slot = &subsystem;
                else if (KEY_IS("SEQNUM"))
                        slot = &seqnum;
#undef KEY_IS
                if (!slot)
                        continue;
                if (*slot)
                        return -EBADMSG;        /* a key given twice: which one to believe? */
                *slot = eq + 1;
        }

        if (!action || !devpath || !subsystem || !*subsystem)
                return -EBADMSG;

        /* The header repeats ACTION and DEVPATH; a message where they disagree is not the
         * kernel's. */
        if ((size_t) (at - header) != strlen(action) || !strneq(header, action, strlen(action)) ||
            !streq(at + 1, devpath))
                return -EBADMSG;

        a = uevent_action_from_string(action);
        if (a < 0)
                return -EBADMSG;
        if (seqnum && parse_seqnum(seqnum, &seq) < 0)
                return -EBADMSG;

        if (streq(subsystem, "module")) {
                module = module_from_devpath(devpath);
                if (!module)
                        return -EBADMSG;
        }

        *ret = (Uevent) {
                .action = a,
                .devpath = devpath,
                .subsystem = subsystem,
                .module = module,
                .seqnum = seq,
        };
        return 0;
}

int uevent_socket_open(size_t rcvbuf, int *ret_fd) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_nl sa = {
                .nl_family = AF_NETLINK,
                .nl_groups = UEVENT_GROUP_KERNEL,
        };
        int one = 1, size = (int) MIN(rcvbuf, (size_t) INT32_MAX);

        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (fd < 0)
                return negative_errno();

        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return negative_errno();

        /* FORCE goes past net.core.rmem_max but needs CAP_NET_ADMIN; without it, take what
         * rmem_max allows. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
                return negative_errno();

        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return negative_errno();

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int uevent_receive(int fd, char *buf, size_t size, size_t *ret_len) {
        struct sockaddr_nl sa = {};
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        union {
                struct cmsghdr header;
                uint8_t buf[CMSG_SPACE(sizeof(struct ucred))];
        } control = {};
        struct msghdr msg = {
                .msg_name = &sa,
                .msg_namelen = sizeof(sa),
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        const struct ucred *cred = NULL;
        ssize_t n;

        n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : negative_errno();

        if (msg.msg_flags & MSG_TRUNC)
                return -EMSGSIZE;

        /* Port 0 is the kernel; anything else is a process sending to our group. */
        if (msg.msg_namelen < sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
                return -EPERM;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
                        cred = (const struct ucred *) (const void *) CMSG_DATA(c);
        if (!cred || cred->uid != 0)
                return -EPERM;

        *ret_len = (size_t) n;
        return 0;
}
