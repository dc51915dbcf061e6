/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <stdint.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "macro.h"
#include "sysctl-key.h"
#include "sysctl.h"

int sysctl_path_check(const char *path) {
        _cleanup_free_ char *n = NULL;
        int r;

        if (!path)
                return -EINVAL;

        /* A path is normalised if normalising it as a key changes nothing; a dotted key or one
         * with "..", "." or empty components either fails or comes out different. */
        r = sysctl_key_normalize(path, &n);
        if (r < 0)
                return r;
        if (!streq(n, path))
                return -EINVAL;
        return 0;
}

int sysctl_root_open(const char *sysctl_root) {
        int fd = open(sysctl_root, O_PATH | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? negative_errno() : fd;
}

/* The same guarantee without openat2(): the path is normalised (no "..", no empty component,
 * checked by the caller), and every component is opened with O_NOFOLLOW relative to the
 * previous one, so nothing can lead outside the root or through a symlink. */
int sysctl_open_at_compat(int root_fd, const char *path, int flags) {
        _cleanup_close_ int dir = -EBADF;
        const char *p = path;
        int cur = root_fd;

        for (;;) {
                size_t n = strcspn(p, "/");
                char name[256];
                int fd;

                if (n == 0 || n >= sizeof(name))
                        return -EINVAL;
                memcpy(name, p, n);
                name[n] = '\0';

                if (p[n] == '\0') {
                        fd = openat(cur, name, flags | O_NOFOLLOW);
                        /* A symlink opened with O_NOFOLLOW|O_PATH is the link itself: refuse it
                         * as openat2() with RESOLVE_NO_SYMLINKS would. */
                        if (fd >= 0 && (flags & O_PATH)) {
                                struct stat st;

                                if (fstat(fd, &st) < 0 || S_ISLNK(st.st_mode)) {
                                        safe_close(fd);
                                        return -ELOOP;
                                }
                        }
                        return fd < 0 ? negative_errno() : fd;
                }

                fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        struct stat st;

                        if (errno == ENOTDIR && fstatat(cur, name, &st, AT_SYMLINK_NOFOLLOW) >= 0 &&
                            S_ISLNK(st.st_mode))
                                return -ELOOP;
                        return negative_errno();
                }
                safe_close(dir);
                dir = cur = fd;
                p += n + 1;
        }
}

int sysctl_open_at(int root_fd, const char *path, int flags) {
        struct open_how how = {
                /* No symlinks and no escape above the root, whatever the path says. */
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd, r;

        /* openat2() refuses O_PATH combined with flags that only mean something for I/O.
         * O_NONBLOCK: a FIFO planted in a test tree must not hang the daemon. */
        if (flags & O_PATH)
                how.flags = (uint64_t) (flags | O_CLOEXEC);
        else
                how.flags = (uint64_t) (flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

        /* Checked here rather than trusted from the caller: RESOLVE_BENEATH alone would let
         * "net/netfilter/../../kernel/sysrq" through, since it stays below the root. */
        r = sysctl_path_check(path);
        if (r < 0)
                return r;

        fd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd >= 0)
                return fd;
        /* systemd's RestrictSUIDSGID= (and kernels before 5.6) answer ENOSYS, so that callers
         * fall back to openat(). */
        if (errno != ENOSYS && errno != EPERM)
                return negative_errno();
        return sysctl_open_at_compat(root_fd, path, (int) how.flags);
}

int sysctl_read_fd(int fd, char **ret_value) {
        char buf[SYSCTL_VALUE_MAX + 2];
        ssize_t n;

        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                n--;
        buf[n] = '\0';

        char *v = strdup(buf);
        if (!v)
                return -ENOMEM;
        *ret_value = v;
        return 0;
}

int sysctl_read_at(int root_fd, const char *path, char **ret_value) {
        _cleanup_close_ int fd = -EBADF;

        fd = sysctl_open_at(root_fd, path, O_RDONLY);
        if (fd < 0)
                return fd;
        return sysctl_read_fd(fd, ret_value);
}

int sysctl_read(const char *sysctl_root, const char *path, char **ret_value) {
        _cleanup_close_ int dfd = -EBADF;

        dfd = sysctl_root_open(sysctl_root);
        if (dfd < 0)
                return dfd;
        return sysctl_read_at(dfd, path, ret_value);
}

static int value_check(const char *value) {
        size_t n;

        if (!value)
                return -EINVAL;
        n = strlen(value);
        if (n == 0 || n > SYSCTL_VALUE_MAX)
                return -EINVAL;
        /* A newline would let one assignment smuggle a second line to the handler. */
        for (const char *c = value; *c; c++)
                if ((unsigned char) *c < ' ' && *c != '\t')
                        return -EINVAL;
        return 0;
}

int sysctl_write_at(int root_fd, const char *path, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        char buf[SYSCTL_VALUE_MAX + 2];
        size_t n;
        ssize_t k;
        int r;

        r = value_check(value);
        if (r < 0)
                return r;

        /* O_TRUNC is a no-op on procfs, and keeps a regular file in a test tree honest. */
        fd = sysctl_open_at(root_fd, path, O_WRONLY | O_TRUNC);
        if (fd < 0)
                return fd;

        /* One write(2): procfs handlers parse each write on its own. */
        n = strlen(value);
        memcpy(buf, value, n);
        buf[n++] = '\n';
        k = write(fd, buf, n);
        if (k < 0)
                return negative_errno();
        if ((size_t) k != n)
                return -EIO;
        return 0;
}

int sysctl_write(const char *sysctl_root, const char *path, const char *value) {
        _cleanup_close_ int dfd = -EBADF;

        dfd = sysctl_root_open(sysctl_root);
        if (dfd < 0)
                return dfd;
        return sysctl_write_at(dfd, path, value);
}

int sysctl_write_verified_at(int root_fd, const char *path, const char *value,
                             char **ret_readback) {
        _cleanup_free_ char *back = NULL;
        int r;

        r = sysctl_write_at(root_fd, path, value);
        if (r < 0)
                return r;

        r = sysctl_read_at(root_fd, path, &back);
        if (r < 0)
                return r;

        r = sysctl_value_equal(back, value) ? 0 : -EBADMSG;
        if (ret_readback)
                *ret_readback = TAKE_PTR(back);
        return r;
}

int sysctl_write_verified(const char *sysctl_root, const char *path, const char *value,
                          char **ret_readback) {
        _cleanup_close_ int dfd = -EBADF;

        dfd = sysctl_root_open(sysctl_root);
        if (dfd < 0)
                return dfd;
        return sysctl_write_verified_at(dfd, path, value, ret_readback);
}

int sysctl_probe_writable(const char *sysctl_root, const char *path) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;

        dfd = sysctl_root_open(sysctl_root);
        if (dfd < 0)
                return dfd;
        /* /proc/sys checks the mode (0444 for keys a network namespace may not change) and a
         * read-only mount at open(); nothing is written, so nothing changes. */
        fd = sysctl_open_at(dfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return fd;
        return 0;
}

bool sysctl_error_is_readonly(int error) {
        error = error < 0 ? -error : error;
        return error == EACCES || error == EPERM || error == EROFS;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\n';
}

/* An integer field as the kernel's proc_dointvec()/proc_doulongvec_minmax() read it: an
 * optional '-', then a number in C notation (base 0: "0x10" is 16, "010" is 8, "01" is 1). The
 * kernel prints it back in decimal, so a configured "01" must equal a read "1". */
static bool field_integer(const char *s, size_t n, bool *ret_negative,
                          unsigned long long *ret_value) {
        char buf[32], *end;
        bool negative = false;
        unsigned long long v;

        if (n > 0 && s[0] == '-') {
                negative = true;
                s++;
                n--;
        }
        if (n == 0 || n >= sizeof buf || s[0] < '0' || s[0] > '9')
                return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        errno = 0;
        v = strtoull(buf, &end, 0);
        if (errno != 0 || *end != '\0')
                return false;
        *ret_negative = negative && v != 0;     /* "-0" is 0 */
        *ret_value = v;
        return true;
}

/* Two integer fields compare by value; anything else (or a number too long to read) as text. */
static bool field_equal(const char *a, size_t la, const char *b, size_t lb) {
        unsigned long long va, vb;
        bool sa, sb;

        if (field_integer(a, la, &sa, &va) && field_integer(b, lb, &sb, &vb))
                return sa == sb && va == vb;
        return la == lb && memcmp(a, b, la) == 0;
}

bool sysctl_value_equal(const char *a, const char *b) {
        for (;;) {
                size_t la, lb;

                while (is_blank(*a))
                        a++;
                while (is_blank(*b))
                        b++;
                if (*a == '\0' || *b == '\0')
                        return *a == *b;

                la = strcspn(a, " \t\n");
                lb = strcspn(b, " \t\n");
                if (!field_equal(a, la, b, lb))
                        return false;
                a += la;
                b += lb;
        }
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static const char * const followed_fixed[] = {
        "net/netfilter/nf_conntrack_max",
        "net/netfilter/nf_conntrack_buckets",
};

static bool followed_timeout_name(const char *name) {
        return fnmatch("nf_conntrack_tcp_timeout_*", name, 0) == 0 ||
               fnmatch("nf_conntrack_udp_timeout*", name, 0) == 0;
}

bool sysctl_path_followable(const char *path) {
        const char *name;

        if (!path || sysctl_path_check(path) < 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(followed_fixed); i++)
                if (streq(path, followed_fixed[i]))
                        return true;
        if (strncmp(path, "net/netfilter/", strlen("net/netfilter/")) != 0)
                return false;
        name = path + strlen("net/netfilter/");
        return !strchr(name, '/') && followed_timeout_name(name);
}

int sysctl_followed_paths(const char *sysctl_root, char ***ret_paths) {
        _cleanup_strv_free_ char **l = NULL, **timeouts = NULL;
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct dirent *de;
        int r;

        r = strv_split_whitespace("", &l);
        if (r < 0)
                return r;
        r = strv_split_whitespace("", &timeouts);
        if (r < 0)
                return r;

        dfd = sysctl_root_open(sysctl_root);
        for (size_t i = 0; dfd >= 0 && i < ELEMENTSOF(followed_fixed); i++) {
                _cleanup_close_ int fd = sysctl_open_at(dfd, followed_fixed[i], O_PATH);

                if (fd < 0)
                        continue;
                r = strv_extend(&l, followed_fixed[i]);
                if (r < 0)
                        return r;
        }

        if (asprintf(&dir, "%s/net/netfilter", sysctl_root) < 0)
                return -ENOMEM;
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (!followed_timeout_name(de->d_name))
                        continue;
                if (asprintf(&p, "net/netfilter/%s", de->d_name) < 0)
                        return -ENOMEM;
                r = strv_push(&timeouts, TAKE_PTR(p));
                if (r < 0)
                        return r;
        }
        qsort(timeouts, strv_length(timeouts), sizeof(char *), name_cmp);
        STRV_FOREACH(t, timeouts) {
                r = strv_extend(&l, *t);
                if (r < 0)
                        return r;
        }

        *ret_paths = TAKE_PTR(l);
        return 0;
}
