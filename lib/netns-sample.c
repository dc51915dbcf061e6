/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include "macro.h"
#include "netns-sample.h"
#include "time-util.h"

/* About 160 bytes per CPU: the first buffer holds 50 CPUs, and it grows to this at most. */
#define READER_BUF_FIRST 8192u
#define READER_BUF_MAX (4u * 1024 * 1024)

struct NetnsReader {
        int fd;
        uint64_t inode;
        char *buf;
        size_t alloc;
};

static int ns_inode(const char *path, uint64_t *ret) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        *ret = st.st_ino;
        return 0;
}

static int open_stat(const char *path) {
        int fd;

        /* The file itself must not be a symlink; /proc/PID/net on the way is one. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        return fd < 0 ? negative_errno() : fd;
}

/* Through a process in the namespace: its ns/net names the namespace before and after the
 * open, so the descriptor is of this namespace even if the PID was reused meanwhile. */
static int open_by_pid(const char *root, const Netns *ns) {
        _cleanup_free_ char *ns_path = NULL, *stat_path = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t inode;
        int r;

        if (asprintf(&ns_path, "%s/proc/%d/ns/net", root, (int) ns->pid) < 0 ||
            asprintf(&stat_path, "%s/proc/%d/net/stat/nf_conntrack", root, (int) ns->pid) < 0)
                return -ENOMEM;

        r = ns_inode(ns_path, &inode);
        if (r < 0 || inode != ns->inode)
                return -ESRCH;
        fd = open_stat(stat_path);
        r = ns_inode(ns_path, &inode);
        if (r < 0 || inode != ns->inode)
                return -ESRCH;
        if (fd < 0)
                return fd;      /* -ENOENT: the process is there, its namespace tracks nothing */
        return TAKE_FD(fd);
}

/* A namespace known only by its run/netns name: entered for the open alone. setns(2) changes
 * the calling thread only, hence thread-self for both the way back and the file. */
static int open_by_name(const char *root, const Netns *ns) {
        _cleanup_close_ int target = -EBADF, self = -EBADF, fd = -EBADF;
        _cleanup_free_ char *p = NULL;
        struct stat st;
        int r = 0;

        if (asprintf(&p, "%s/run/netns/%s", root, ns->name) < 0)
                return -ENOMEM;
        target = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (target < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        if (fstat(target, &st) < 0)
                return negative_errno();
        if ((uint64_t) st.st_ino != ns->inode)
                return -ESRCH;          /* the name now stands for another namespace */

        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (self < 0)
                return negative_errno();
        if (setns(target, CLONE_NEWNET) < 0)
                return negative_errno();
        fd = open_stat("/proc/thread-self/net/stat/nf_conntrack");
        if (fd < 0)
                r = fd;
        /* Staying in the wrong namespace would make every later socket and sysctl of this
         * process silently the other namespace's: nothing after this could be trusted. */
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

int netns_reader_open(const char *root, const Netns *ns, NetnsReader **ret) {
        _cleanup_(netns_reader_closep) NetnsReader *r = NULL;
        _cleanup_close_ int fd = -EBADF;

        root = strempty(root);
        if (!ns || !ret)
                return -EINVAL;
        if (ns->pid > 0) {
                fd = open_by_pid(root, ns);
                /* The process left; a name may still lead there. */
                if (fd == -ESRCH && ns->name)
                        fd = open_by_name(root, ns);
        } else if (ns->name)
                fd = open_by_name(root, ns);
        else
                return -ESRCH;
        if (fd < 0)
                return fd;

        r = calloc(1, sizeof(NetnsReader));
        if (!r)
                return -ENOMEM;
        r->fd = TAKE_FD(fd);
        r->inode = ns->inode;
        *ret = TAKE_PTR(r);
        return 0;
}

NetnsReader *netns_reader_close(NetnsReader *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        free(r->buf);
        free(r);
        return NULL;
}

uint64_t netns_reader_inode(const NetnsReader *r) {
        return r ? r->inode : 0;
}

int netns_reader_sample(NetnsReader *r, CtSample *ret) {
        CtSample s = { .source = CTSTAT_SOURCE_PROC };
        size_t size = 0;
        int k;

        if (!r || !ret)
                return -EINVAL;

        s.timestamp = now_usec(CLOCK_MONOTONIC);
        for (;;) {
                ssize_t n;

                if (r->alloc - size < 4096) {
                        size_t alloc = r->alloc ? r->alloc * 2 : READER_BUF_FIRST;
                        char *b;

                        if (r->alloc >= READER_BUF_MAX)
                                return -EFBIG;
                        b = realloc(r->buf, alloc + 1);
                        if (!b)
                                return -ENOMEM;
                        r->buf = b;
                        r->alloc = alloc;
                }
                n = pread(r->fd, r->buf + size, r->alloc - size, (off_t) size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        r->buf[size] = '\0';
        if (size == 0 || strlen(r->buf) != size)
                return -EBADMSG;

        k = ctstat_parse_proc_stat_entries(r->buf, &s);
        if (k < 0)
                return k;
        *ret = s;
        return 0;
}
