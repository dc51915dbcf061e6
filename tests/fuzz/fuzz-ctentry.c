/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Arbitrary bytes as one ctnetlink dump message (IPCTNL_MSG_CT_NEW), parsed by the hand-written
 * attribute walk of lib/cttable.c. Beyond sanitizer reports it checks: only the documented
 * errors; an entry is of the message's family, with no port for a protocol without ports and
 * no TCP state for a protocol other than TCP; the output is written only on success; and the
 * entry counts into an aggregate whose every dimension sums to the entries counted. */

#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cttable.h"
#include "fuzz.h"
#include "macro.h"

#define MSG_MAX 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_free_ CtTopItem *items = NULL;
        CtLimits l = { .max_entries = 8, .max_keys = 4 };
        struct nlmsghdr *nlh;
        CtEntry e, untouched;
        uint32_t *buf;
        int r;

        if (size < sizeof(struct nlmsghdr) || size > MSG_MAX)
                return -1;
        /* A netlink buffer is aligned, and the header's length is what the walk trusts: it is
         * the input's, clamped to the bytes there are (the dump loop checks that first). */
        buf = malloc(size);
        require(buf);
        memcpy(buf, data, size);
        nlh = (struct nlmsghdr *) buf;
        if (nlh->nlmsg_len > size)
                nlh->nlmsg_len = (uint32_t) size;
        if (nlh->nlmsg_len < sizeof(struct nlmsghdr)) {
                free(buf);
                return -1;
        }

        memset(&e, 0xa5, sizeof(e));
        untouched = e;
        r = ct_entry_from_nlmsg(nlh, &e);
        require(r == 0 || r == -EBADMSG || r == -EAFNOSUPPORT);
        if (r < 0) {
                require(memcmp(&e, &untouched, sizeof(e)) == 0);
                free(buf);
                return 0;
        }
        free(buf);

        require(e.family == AF_INET || e.family == AF_INET6);
        if (!e.has_dport)
                require(e.dport == 0);
        require(e.tcp_state >= -1 && e.tcp_state <= 255);
        if (e.proto != IPPROTO_TCP)
                require(e.tcp_state == -1);

        require(ct_aggregate_new(&l, &a) == 0);
        require(ct_aggregate_add(a, &e) == 0);
        require(ct_aggregate_add(a, &e) == 0);
        for (CtBy by = 0; by < _CT_BY_MAX; by++) {
                _cleanup_free_ char *s = NULL;
                size_t n;

                free(items);
                items = NULL;
                require(ct_aggregate_top(a, by, SIZE_MAX, &items, &n) == 0);
                require(n == 1 && items[0].count == 2);
                require(ct_aggregate_format_top(a, by, 1, &s) == 0);
                /* "KEY=2": one key, no space, the count after the only '='. */
                require(!strchr(s, ' ') && strchr(s, '=') == strrchr(s, '=') &&
                        streq(strchr(s, '='), "=2"));
        }
        return 0;
}
