/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "macro.h"
#include "netns-ident.h"
#include "netns-scan.h"

/* /proc/PID/comm is at most 16 bytes; a cgroup file of a v1 host with every controller is a
 * few hundred. What is longer is cut: a name is only for showing. */
#define COMM_MAX 64u
#define CGROUP_MAX 8192u

typedef struct PidEntry {
        uint64_t inode;
        pid_t pid;
} PidEntry;

typedef struct NameEntry {
        uint64_t inode;
        char *name;
} NameEntry;

static int pid_entry_compare(const void *a, const void *b) {
        const PidEntry *x = a, *y = b;

        if (x->inode != y->inode)
                return x->inode < y->inode ? -1 : 1;
        return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int name_entry_compare(const void *a, const void *b) {
        const NameEntry *x = a, *y = b;

        if (x->inode != y->inode)
                return x->inode < y->inode ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int parse_pid(const char *s, pid_t *ret) {
        unsigned long v = 0;

        if (*s == '\0' || *s == '0')
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long) (*s - '0');
                if (v > INT32_MAX)
                        return -EINVAL;
        }
        *ret = (pid_t) v;
        return 0;
}

/* The inode of the nsfs file at dir/name (the network namespace it is, or is bound to). */
static int ns_inode_at(int dir_fd, const char *path, struct stat *ret) {
        if (fstatat(dir_fd, path, ret, 0) < 0)
                return negative_errno();
        return 0;
}

/* Reads a small file whole into a NUL-terminated string; what is beyond max is cut. */
static int read_small(int dir_fd, const char *path, size_t max, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        while (size < max) {
                ssize_t n = read(fd, buf + size, max - size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* comm and the workload of one process, checking afterwards that it is still in the namespace:
 * a PID whose process exited meanwhile may already belong to another. -ESRCH if not. */
static int describe_process(int proc_fd, pid_t pid, uint64_t inode, Netns *ns) {
        _cleanup_free_ char *comm = NULL, *cgroup = NULL, *pod = NULL, *container = NULL;
        char path[64];
        struct stat st;
        int r;

        snprintf(path, sizeof(path), "%d/comm", (int) pid);
        r = read_small(proc_fd, path, COMM_MAX, &comm);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                comm[strcspn(comm, "\n")] = '\0';

        snprintf(path, sizeof(path), "%d/cgroup", (int) pid);
        r = read_small(proc_fd, path, CGROUP_MAX, &cgroup);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                r = netns_identify_cgroup(cgroup, &pod, &container);
                if (r < 0)
                        return r;
        }

        snprintf(path, sizeof(path), "%d/ns/net", (int) pid);
        if (ns_inode_at(proc_fd, path, &st) < 0 || (uint64_t) st.st_ino != inode)
                return -ESRCH;

        ns->pid = pid;
        free(ns->comm);
        ns->comm = TAKE_PTR(comm);
        free(ns->pod_uid);
        ns->pod_uid = TAKE_PTR(pod);
        free(ns->container_id);
        ns->container_id = TAKE_PTR(container);
        return 0;
}

static void pid_entries_free(PidEntry **p) {
        free(*p);
}

typedef struct Names {
        NameEntry *items;
        size_t n;
} Names;

static void names_done(Names *n) {
        for (size_t i = 0; i < n->n; i++)
                free(n->items[i].name);
        free(n->items);
}

static int collect_pids(int proc_fd, PidEntry **ret, size_t *ret_n, dev_t *ret_dev) {
        _cleanup_(pid_entries_free) PidEntry *items = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t n = 0, alloc = 0;
        struct dirent *de;
        dev_t dev = 0;
        int fd;

        fd = fcntl(proc_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }

        while ((errno = 0, de = readdir(d))) {
                char path[64];
                struct stat st;
                pid_t pid;

                if (parse_pid(de->d_name, &pid) < 0)
                        continue;
                snprintf(path, sizeof(path), "%d/ns/net", (int) pid);
                /* Gone already, or not ours to look at (a process of another user when we are
                 * not root): skipped. */
                if (ns_inode_at(proc_fd, path, &st) < 0)
                        continue;
                if (n == alloc) {
                        PidEntry *t;

                        alloc = alloc ? alloc * 2 : 256;
                        t = reallocarray(items, alloc, sizeof(PidEntry));
                        if (!t)
                                return -ENOMEM;
                        items = t;
                }
                items[n++] = (PidEntry) { .inode = st.st_ino, .pid = pid };
                dev = st.st_dev;
        }
        if (errno > 0)
                return -errno;

        if (n > 0)
                qsort(items, n, sizeof(PidEntry), pid_entry_compare);
        *ret = TAKE_PTR(items);
        *ret_n = n;
        *ret_dev = dev;
        return 0;
}

/* The names in run/netns. Only those on the file system the namespaces of the processes are on
 * (nsfs) count: a name whose bind mount is gone is a plain empty file, no namespace. */
static int collect_names(const char *root, bool check_dev, dev_t dev, Names *ret) {
        _cleanup_(names_done) Names names = {};
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_free_ char *p = NULL;
        size_t alloc = 0;
        struct dirent *de;

        if (asprintf(&p, "%s/run/netns", root) < 0)
                return -ENOMEM;
        d = opendir(p);
        if (!d) {
                *ret = (Names) {};
                return 0;               /* no names at all is no error */
        }

        while ((errno = 0, de = readdir(d))) {
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (ns_inode_at(dirfd(d), de->d_name, &st) < 0 || !S_ISREG(st.st_mode) ||
                    (check_dev && st.st_dev != dev))
                        continue;
                if (names.n == alloc) {
                        NameEntry *t;

                        alloc = alloc ? alloc * 2 : 16;
                        t = reallocarray(names.items, alloc, sizeof(NameEntry));
                        if (!t)
                                return -ENOMEM;
                        names.items = t;
                }
                names.items[names.n].name = strdup(de->d_name);
                if (!names.items[names.n].name)
                        return -ENOMEM;
                names.items[names.n++].inode = st.st_ino;
        }
        if (errno > 0)
                return -errno;

        if (names.n > 0)
                qsort(names.items, names.n, sizeof(NameEntry), name_entry_compare);
        *ret = names;
        names = (Names) {};
        return 0;
}

static void netns_done(Netns *ns) {
        free(ns->comm);
        free(ns->name);
        free(ns->pod_uid);
        free(ns->container_id);
}

void netns_list_done(NetnsList *l) {
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                netns_done(&l->items[i]);
        free(l->items);
        *l = (NetnsList) {};
}

int netns_scan(const char *root, NetnsList *ret) {
        _cleanup_(pid_entries_free) PidEntry *pids = NULL;
        _cleanup_(netns_list_done) NetnsList l = {};
        _cleanup_(names_done) Names names = {};
        _cleanup_close_ int proc_fd = -EBADF;
        _cleanup_free_ char *p = NULL;
        size_t n_pids = 0, i = 0, j = 0;
        uint64_t host = 0;
        bool have_host;
        struct stat st;
        dev_t dev;
        int r;

        root = strempty(root);
        if (asprintf(&p, "%s/proc", root) < 0)
                return -ENOMEM;
        proc_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return negative_errno();

        r = collect_pids(proc_fd, &pids, &n_pids, &dev);
        if (r < 0)
                return r;
        r = collect_names(root, n_pids > 0, dev, &names);
        if (r < 0)
                return r;
        have_host = ns_inode_at(proc_fd, "1/ns/net", &st) >= 0;
        if (have_host)
                host = st.st_ino;

        /* Both lists are sorted by inode: merge them, one entry per inode. */
        l.items = calloc(n_pids + names.n + 1, sizeof(Netns));
        if (!l.items)
                return -ENOMEM;
        while (i < n_pids || j < names.n) {
                uint64_t inode;
                Netns *ns;

                if (j >= names.n || (i < n_pids && pids[i].inode <= names.items[j].inode))
                        inode = pids[i].inode;
                else
                        inode = names.items[j].inode;

                ns = &l.items[l.n++];
                *ns = (Netns) { .inode = inode, .host = have_host && inode == host };

                /* The lowest PID still in it is its representative. */
                for (; i < n_pids && pids[i].inode == inode; i++) {
                        if (ns->pid > 0)
                                continue;
                        r = describe_process(proc_fd, pids[i].pid, inode, ns);
                        if (r == -ENOMEM)
                                return r;
                }
                /* The first of its names, sorted. */
                for (; j < names.n && names.items[j].inode == inode; j++)
                        if (!ns->name)
                                ns->name = TAKE_PTR(names.items[j].name);

                /* Every process of it exited during the scan, and it has no name: gone. */
                if (ns->pid == 0 && !ns->name) {
                        netns_done(ns);
                        l.n--;
                }
        }

        *ret = l;
        l = (NetnsList) {};
        return 0;
}

const Netns *netns_list_find(const NetnsList *l, uint64_t inode) {
        size_t lo = 0, hi;

        if (!l)
                return NULL;
        hi = l->n;
        while (lo < hi) {
                size_t m = lo + (hi - lo) / 2;

                if (l->items[m].inode == inode)
                        return &l->items[m];
                if (l->items[m].inode < inode)
                        lo = m + 1;
                else
                        hi = m;
        }
        return NULL;
}

const char *netns_display_name(const Netns *ns, char *buf, size_t size) {
        if (size == 0)
                return buf;
        if (ns->name)
                snprintf(buf, size, "%s", ns->name);
        else if (ns->pid > 0 && ns->comm)
                snprintf(buf, size, "pid %d (%s)", (int) ns->pid, ns->comm);
        else if (ns->pid > 0)
                snprintf(buf, size, "pid %d", (int) ns->pid);
        else
                snprintf(buf, size, "netns:[%" PRIu64 "]", ns->inode);
        return buf;
}
