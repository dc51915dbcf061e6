/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <sys/stat.h>

#include "macro.h"
#include "run-file.h"

int run_file_open(int dir_fd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        return TAKE_FD(fd);
}

int read_fd_bounded(int fd, size_t size_max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        buf = malloc(size_max + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                /* One byte more than allowed: that is how a file that is too large (or one that
                 * grew since it was looked at) shows. */
                ssize_t k = read(fd, buf + n, size_max + 1 - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > size_max)
                        return -EFBIG;
        }
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = n;
        return 0;
}

int run_file_read(int dir_fd, const char *name, size_t size_max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        fd = run_file_open(dir_fd, name);
        if (fd < 0)
                return fd;
        return read_fd_bounded(fd, size_max, ret, ret_size);
}

const char *run_file_strerror(int r) {
        switch (r) {
        case -ELOOP:
                return "is a symbolic link, refused";
        case -EBADFD:
                return "is not a regular file, refused";
        case -EFBIG:
                return "is too large, refused";
        case -EBADMSG:
                return "is corrupt";
        default:
                return strerror(-r);
        }
}
