/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The kernel's share of any ctnetlink table dump: the same request "ctguard top" and
 * conntrack -L send, every reply received into one buffer and thrown away unread. No reader
 * of a dump can be faster than this, so (time of a pipeline) / (time of this) is the largest
 * speed-up over the pipeline that any program reading the table over ctnetlink can reach.
 *
 *   dump-floor        (in the network namespace to dump; needs CAP_NET_ADMIN)
 *
 * Prints the number of bytes received; exits 1 on failure. */

#include <libmnl/libmnl.h>
#include <sys/socket.h>

#include "cttable.h"
#include "macro.h"

int main(void) {
        _cleanup_(ct_dump_freep) CtDump *d = NULL;
        _cleanup_free_ char *buf = NULL;
        unsigned long long bytes = 0;
        size_t size = 64 * 1024;        /* as cttable.c: the kernel's buffers are 32 KiB at most */
        int r;

        buf = malloc(size);
        if (!buf)
                return 1;
        r = ct_dump_new(false, &d);
        if (r < 0) {
                fprintf(stderr, "dump-floor: %s\n", strerror(-r));
                return 1;
        }
        for (;;) {
                ssize_t n = recv(ct_dump_fd(d), buf, size, 0);
                int left;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        fprintf(stderr, "dump-floor: %s\n", n < 0 ? strerror(errno) : "end of file");
                        return 1;
                }
                bytes += (unsigned long long) n;
                /* Only the headers are looked at, for the end of the dump. */
                left = (int) n;
                for (const struct nlmsghdr *h = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(h, left);
                     h = mnl_nlmsg_next(h, &left))
                        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                                printf("%llu bytes\n", bytes);
                                return h->nlmsg_type == NLMSG_DONE ? 0 : 1;
                        }
        }
}
