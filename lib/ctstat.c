/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>
#include <time.h>

#include "time-util.h"
#include "ctstat.h"
#include "ctstat-msg.h"
#include "macro.h"
#include "parse-util.h"
#include "sysctl.h"

/* Large enough for any single datagram of a dump; a smaller buffer truncates (ENOSPC). */
#define CTSTAT_BUF_SIZE 32768u

struct CtStat {
        struct mnl_socket *nl;  /* NULL: closed after an error, reopened by the next sample */
        uint32_t portid;
        uint32_t seq;
        char *sysctl_root;
        char *buf;
};

static const char * const ctstat_source_table[_CTSTAT_SOURCE_MAX] = {
        [CTSTAT_SOURCE_NETLINK] = "netlink",
        [CTSTAT_SOURCE_PROC]    = "proc",
};

const char *ctstat_source_to_string(CtStatSource s) {
        if (s < 0 || s >= _CTSTAT_SOURCE_MAX)
                return NULL;
        return ctstat_source_table[s];
}

static int read_u32(const char *sysctl_root, const char *path, uint32_t *ret) {
        _cleanup_free_ char *v = NULL;
        unsigned u;
        int r;

        r = sysctl_read(sysctl_root, path, &v);
        if (r < 0)
                return r;
        r = parse_unsigned(v, &u);
        if (r < 0)
                return r;
        *ret = u;
        return 0;
}

int ctstat_sample_proc(const char *sysctl_root, CtSample *ret) {
        uint32_t count, max;
        int r;

        r = read_u32(sysctl_root, "net/netfilter/nf_conntrack_count", &count);
        if (r < 0)
                return r;
        r = read_u32(sysctl_root, "net/netfilter/nf_conntrack_max", &max);
        if (r < 0)
                return r;

        *ret = (CtSample) {
                .source = CTSTAT_SOURCE_PROC,
                .timestamp = now_usec(CLOCK_MONOTONIC),
                .count = count,
                .max = max,
        };
        return 0;
}

static void socket_drop(CtStat *s) {
        if (s->nl)
                mnl_socket_close(s->nl);
        s->nl = NULL;
}

static int socket_ensure(CtStat *s) {
        /* A reply never takes long (the kernel answers inside sendmsg or recvmsg), so a read
         * that waits this long means something is wrong: give up rather than stall the caller. */
        struct timeval tv = { .tv_sec = 1 };

        if (s->nl)
                return 0;

        s->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!s->nl)
                return negative_errno();
        if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = negative_errno();

                socket_drop(s);
                return r;
        }
        s->portid = mnl_socket_get_portid(s->nl);
        return 0;
}

static int send_request(CtStat *s, uint16_t type, uint16_t flags) {
        char req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))];
        struct nlmsghdr *nlh;
        struct nfgenmsg *nfg;

        nlh = mnl_nlmsg_put_header(req);
        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        /* A counter, so that a late reply to an earlier request can never pass for this one. */
        nlh->nlmsg_seq = ++s->seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = AF_UNSPEC;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;

        if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();
        return 0;
}

typedef struct AttrTable {
        const struct nlattr **tb;
        uint16_t max;
} AttrTable;

/* Every attribute we know is a u32; unknown ones (from a newer kernel) are skipped. */
static int attr_cb(const struct nlattr *attr, void *data) {
        AttrTable *t = data;
        uint16_t type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, t->max) < 0)
                return MNL_CB_OK;
        if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                return MNL_CB_ERROR;
        t->tb[type] = attr;
        return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, uint16_t msg_type, const struct nlattr **tb,
                       uint16_t max) {
        AttrTable t = { .tb = tb, .max = max };

        if (nlh->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | msg_type) ||
            nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg))) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }
        return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &t);
}

static uint32_t get_u32(const struct nlattr *a) {
        return a ? ntohl(mnl_attr_get_u32(a)) : 0;
}

typedef struct GlobalReply {
        bool seen;
        bool have_max;
        uint32_t count;
        uint32_t max;
} GlobalReply;

static int global_cb(const struct nlmsghdr *nlh, void *data) {
        const struct nlattr *tb[CTA_STATS_GLOBAL_MAX + 1] = {};
        GlobalReply *g = data;

        if (parse_attrs(nlh, IPCTNL_MSG_CT_GET_STATS, tb, CTA_STATS_GLOBAL_MAX) < 0)
                return MNL_CB_ERROR;
        if (!tb[CTA_STATS_GLOBAL_ENTRIES]) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }
        g->seen = true;
        g->count = get_u32(tb[CTA_STATS_GLOBAL_ENTRIES]);
        /* Older kernels do not report the limit; the caller reads the sysctl then. */
        g->have_max = tb[CTA_STATS_GLOBAL_MAX_ENTRIES];
        g->max = get_u32(tb[CTA_STATS_GLOBAL_MAX_ENTRIES]);
        return MNL_CB_OK;
}

static int cpu_cb(const struct nlmsghdr *nlh, void *data) {
        const struct nlattr *tb[CTA_STATS_MAX + 1] = {};
        CtSample *c = data;

        if (parse_attrs(nlh, IPCTNL_MSG_CT_GET_STATS_CPU, tb, CTA_STATS_MAX) < 0)
                return MNL_CB_ERROR;
        c->n_cpus++;
        c->found += get_u32(tb[CTA_STATS_FOUND]);
        c->invalid += get_u32(tb[CTA_STATS_INVALID]);
        c->insert += get_u32(tb[CTA_STATS_INSERT]);
        c->insert_failed += get_u32(tb[CTA_STATS_INSERT_FAILED]);
        c->drop += get_u32(tb[CTA_STATS_DROP]);
        c->early_drop += get_u32(tb[CTA_STATS_EARLY_DROP]);
        c->error += get_u32(tb[CTA_STATS_ERROR]);
        c->search_restart += get_u32(tb[CTA_STATS_SEARCH_RESTART]);
        return MNL_CB_OK;
}

/* libmnl's mnl_nlmsg_ok() compares the header's length as an int: a message claiming 2 GiB or
 * more passes, and mnl_cb_run() steps far past the buffer. Every header must fit in what is
 * left of the buffer before libmnl walks it. */
static int reply_check(const void *buf, size_t len) {
        const char *p = buf, *end = p + len;

        while ((size_t) (end - p) >= sizeof(struct nlmsghdr)) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) p;

                if (nlh->nlmsg_len < sizeof(struct nlmsghdr) || nlh->nlmsg_len > (size_t) (end - p))
                        return -EBADMSG;
                if (MNL_ALIGN(nlh->nlmsg_len) >= (size_t) (end - p))
                        break;
                p += MNL_ALIGN(nlh->nlmsg_len);
        }
        return 0;
}

static int query_global(CtStat *s, GlobalReply *ret) {
        GlobalReply g = {};
        ssize_t n;
        int r;

        r = send_request(s, IPCTNL_MSG_CT_GET_STATS, 0);
        if (r < 0)
                return r;

        /* One reply and no NLMSG_DONE after it: reading again would wait for nothing. */
        n = mnl_socket_recvfrom(s->nl, s->buf, CTSTAT_BUF_SIZE);
        if (n < 0)
                return negative_errno();
        r = reply_check(s->buf, (size_t) n);
        if (r < 0)
                return r;
        r = mnl_cb_run(s->buf, (size_t) n, s->seq, s->portid, global_cb, &g);
        if (r < 0)
                return negative_errno();
        if (!g.seen)
                return -EBADMSG;

        *ret = g;
        return 0;
}

static int query_cpus(CtStat *s, CtSample *sample) {
        CtSample c = {};
        int r;

        r = send_request(s, IPCTNL_MSG_CT_GET_STATS_CPU, NLM_F_DUMP);
        if (r < 0)
                return r;

        /* A dump: one message per CPU, spread over as many reads as the kernel likes, ended
         * by NLMSG_DONE (MNL_CB_STOP). */
        do {
                ssize_t n = mnl_socket_recvfrom(s->nl, s->buf, CTSTAT_BUF_SIZE);

                if (n < 0)
                        return negative_errno();
                r = reply_check(s->buf, (size_t) n);
                if (r < 0)
                        return r;
                r = mnl_cb_run(s->buf, (size_t) n, s->seq, s->portid, cpu_cb, &c);
                if (r < 0)
                        return negative_errno();
        } while (r > MNL_CB_STOP);

        if (c.n_cpus == 0)
                return -EBADMSG;

        sample->has_cpu_stats = true;
        sample->n_cpus = c.n_cpus;
        sample->found = c.found;
        sample->invalid = c.invalid;
        sample->insert = c.insert;
        sample->insert_failed = c.insert_failed;
        sample->drop = c.drop;
        sample->early_drop = c.early_drop;
        sample->error = c.error;
        sample->search_restart = c.search_restart;
        return 0;
}

static int sample_netlink(CtStat *s, CtSample *ret) {
        CtSample sample = { .source = CTSTAT_SOURCE_NETLINK };
        GlobalReply g;
        int r;

        r = socket_ensure(s);
        if (r < 0)
                return r;

        sample.timestamp = now_usec(CLOCK_MONOTONIC);
        r = query_global(s, &g);
        if (r < 0) {
                /* Whatever is still queued on the socket belongs to this request: start over
                 * with a clean socket next time. */
                socket_drop(s);
                return r;
        }
        sample.count = g.count;
        sample.max = g.max;
        if (!g.have_max) {
                r = read_u32(s->sysctl_root, "net/netfilter/nf_conntrack_max", &sample.max);
                if (r < 0)
                        return r;
        }

        /* The counters are a bonus: without them the sample still has what matters most. */
        r = query_cpus(s, &sample);
        if (r < 0) {
                socket_drop(s);
                sample.netlink_error = r;
        }

        *ret = sample;
        return 0;
}

bool ctstat_conntrack_loaded(const char *sysctl_root) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/net/netfilter/nf_conntrack_count", sysctl_root ?: SYSCTL_ROOT_DEFAULT) < 0)
                return true;    /* cannot tell: let the caller try */
        return access(p, F_OK) >= 0 || errno != ENOENT;
}

int ctstat_sample(CtStat *s, CtSample *ret) {
        CtSample sample;
        int r, k;

        /* A ctnetlink request while conntrack is not loaded makes the kernel load it
         * (nfnetlink requests nf_conntrack_netlink, which pulls in nf_conntrack): a statistics
         * poll must not heal the chain behind the module guard, in monitor mode or on hold. */
        if (!ctstat_conntrack_loaded(s->sysctl_root))
                return -ENOENT;

        r = sample_netlink(s, &sample);
        if (r >= 0) {
                *ret = sample;
                return 0;
        }

        k = ctstat_sample_proc(s->sysctl_root, &sample);
        if (k < 0)
                return k;
        sample.netlink_error = r;
        *ret = sample;
        return 0;
}

CtStat *ctstat_close(CtStat *s) {
        if (!s)
                return NULL;
        socket_drop(s);
        free(s->sysctl_root);
        free(s->buf);
        free(s);
        return NULL;
}

int ctstat_open(const char *sysctl_root, CtStat **ret) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;

        s = calloc(1, sizeof(CtStat));
        if (!s)
                return -ENOMEM;
        s->sysctl_root = strdup(sysctl_root ?: SYSCTL_ROOT_DEFAULT);
        s->buf = malloc(CTSTAT_BUF_SIZE);
        if (!s->sysctl_root || !s->buf)
                return -ENOMEM;

        /* Failure is remembered by the socket staying closed; ctstat_sample() retries. */
        (void) socket_ensure(s);

        *ret = TAKE_PTR(s);
        return 0;
}

/* One buffer of replies as the sampler reads it, for the fuzz target (see ctstat-msg.h). */
int ctstat_parse_reply(const void *buf, size_t len, bool per_cpu, CtSample *ret) {
        CtSample c = {};
        GlobalReply g = {};
        int r;

        r = reply_check(buf, len);
        if (r < 0)
                return r;
        errno = 0;
        r = mnl_cb_run(buf, len, 0, 0, per_cpu ? cpu_cb : global_cb, per_cpu ? (void *) &c : (void *) &g);
        if (r < 0)
                return errno > 0 ? -errno : -EBADMSG;
        if (per_cpu)
                c.has_cpu_stats = true;
        else {
                if (!g.seen)
                        return -ENODATA;
                c.count = g.count;
                c.max = g.have_max ? g.max : 0;
        }
        *ret = c;
        return 0;
}
