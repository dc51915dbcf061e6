/* SPDX-License-Identifier: GPL-2.0-or-later */

/* nl-capture: saves the kernel's raw ctnetlink replies in the current network namespace as seed
 * inputs of the fuzz targets (tests/fuzz/capture-seeds runs it in a namespace of its own):
 *
 *   DIR/ctstat/netns-global      0x00, then the IPCTNL_MSG_CT_GET_STATS reply
 *   DIR/ctstat/netns-cpu         0x01, then every IPCTNL_MSG_CT_GET_STATS_CPU reply buffer
 *   DIR/ctentry/netns-dump-NN    one IPCTNL_MSG_CT_NEW message of a table dump each (at most
 *                                ENTRIES_MAX, the first of each distinct length first)
 *
 * The formats are the fuzz targets' inputs (see fuzz-ctstat.c and fuzz-ctentry.c). */

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"

#define BUF_SIZE (64u * 1024u)
#define ENTRIES_MAX 12u

static int write_file(const char *dir, const char *name, uint8_t prefix, bool with_prefix,
                      const void *data, size_t n) {
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        if ((with_prefix && write(fd, &prefix, 1) != 1) || write(fd, data, n) != (ssize_t) n)
                return -EIO;
        return 0;
}

static int request(struct mnl_socket *nl, uint16_t type, uint16_t flags, uint32_t seq) {
        char req[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
        struct nfgenmsg *nfg;

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = AF_UNSPEC;
        nfg->version = NFNETLINK_V0;
        return mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0 ? negative_errno() : 0;
}

/* Receives until NLMSG_DONE (or one buffer, for a request that has no DONE), appending every
 * buffer to out; for a dump of entries, also saves each message on its own. */
static int receive(struct mnl_socket *nl, bool dump, const char *entry_dir, char *out,
                   size_t *out_n) {
        static char buf[BUF_SIZE];
        size_t lengths[ENTRIES_MAX] = {}, saved = 0;
        bool done = false;

        *out_n = 0;
        while (!done) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                size_t left;

                if (n < 0)
                        return negative_errno();
                if (*out_n + (size_t) n <= BUF_SIZE) {
                        memcpy(out + *out_n, buf, (size_t) n);
                        *out_n += (size_t) n;
                }
                if (!dump)
                        break;
                left = (size_t) n;
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; mnl_nlmsg_ok(h, (int) left);
                     h = mnl_nlmsg_next(h, (int *) &left)) {
                        char name[32];
                        bool seen = false;

                        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                                done = true;
                                break;
                        }
                        if (!entry_dir || saved >= ENTRIES_MAX)
                                continue;
                        for (size_t i = 0; i < saved; i++)
                                seen = seen || lengths[i] == h->nlmsg_len;
                        if (seen && saved >= ENTRIES_MAX / 2)
                                continue;
                        snprintf(name, sizeof(name), "netns-dump-%02zu", saved);
                        if (write_file(entry_dir, name, 0, false, h, h->nlmsg_len) < 0)
                                return -EIO;
                        lengths[saved++] = h->nlmsg_len;
                }
        }
        return 0;
}

int main(int argc, char *argv[]) {
        static char out[BUF_SIZE];
        _cleanup_free_ char *stat_dir = NULL, *entry_dir = NULL;
        struct mnl_socket *nl;
        size_t n;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: nl-capture DIR\n");
                return 64;
        }
        if (asprintf(&stat_dir, "%s/ctstat", argv[1]) < 0 ||
            asprintf(&entry_dir, "%s/ctentry", argv[1]) < 0)
                return 1;
        nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                perror("ctnetlink socket");
                return 1;
        }

        r = request(nl, IPCTNL_MSG_CT_GET_STATS, 0, 1);
        if (r >= 0)
                r = receive(nl, false, NULL, out, &n);
        if (r >= 0)
                r = write_file(stat_dir, "netns-global", 0, true, out, n);
        if (r >= 0)
                r = request(nl, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP, 2);
        if (r >= 0)
                r = receive(nl, true, NULL, out, &n);
        if (r >= 0)
                r = write_file(stat_dir, "netns-cpu", 1, true, out, n);
        if (r >= 0)
                r = request(nl, IPCTNL_MSG_CT_GET, NLM_F_DUMP, 3);
        if (r >= 0)
                r = receive(nl, true, entry_dir, out, &n);
        mnl_socket_close(nl);
        if (r < 0) {
                fprintf(stderr, "nl-capture: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
