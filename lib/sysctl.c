/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <stdint.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "macro.h"
#include "sysctl-key.h"
#include "sysctl.h"

static int open_beneath(const char *sysctl_root, const char *path, int flags) {
        _cleanup_close_ int dfd = -EBADF;
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC | O_NOCTTY),
                /* No symlinks and no escape above the root, whatever the path says. */
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        if (!sysctl_path_allowed(path))
                return -EPERM;

        dfd = open(sysctl_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();

        fd = (int) syscall(SYS_openat2, dfd, path, &how, sizeof(how));
        if (fd < 0)
                return negative_errno();
        return fd;
}

int sysctl_read(const char *sysctl_root, const char *path, char **ret_value) {
        _cleanup_close_ int fd = -EBADF;
        char buf[4096];
        ssize_t n;

        fd = open_beneath(sysctl_root, path, O_RDONLY);
        if (fd < 0)
                return fd;

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

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int sysctl_snapshot_paths(const char *sysctl_root, char ***ret_paths) {
        static const char * const fixed[] = {
                "net/netfilter/nf_conntrack_max",
                "net/netfilter/nf_conntrack_buckets",
                "net/ipv4/ip_forward",
        };
        _cleanup_strv_free_ char **l = NULL, **timeouts = NULL;
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        r = strv_split_whitespace("", &l);
        if (r < 0)
                return r;
        r = strv_split_whitespace("", &timeouts);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                _cleanup_close_ int fd = open_beneath(sysctl_root, fixed[i], O_RDONLY);

                if (fd < 0)
                        continue;
                r = strv_extend(&l, fixed[i]);
                if (r < 0)
                        return r;
        }

        if (asprintf(&dir, "%s/net/netfilter", sysctl_root) < 0)
                return -ENOMEM;
        d = opendir(dir);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (fnmatch("nf_conntrack_tcp_timeout_*", de->d_name, 0) != 0 &&
                    fnmatch("nf_conntrack_udp_timeout*", de->d_name, 0) != 0)
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
