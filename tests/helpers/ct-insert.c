/* SPDX-License-Identifier: GPL-2.0-or-later */

/* ct-insert: fills the conntrack table of the current network namespace through ctnetlink, for
 * the integration tests. Entries are packed many to a netlink message buffer; the kernel handles
 * a whole buffer inside one sendmsg(), so a quarter of a million entries take seconds.
 *
 * Every entry gets its own source address/port pair, so the number inserted is exact: an entry
 * the kernel refuses is counted and makes the exit status non-zero. */

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <time.h>

#include "macro.h"
#include "parse-util.h"
#include "time-util.h"

#define SPORT_FIRST 1024u
#define SPORT_SPAN (65536u - SPORT_FIRST)
#define COUNT_MAX 16000000u
#define BUF_SIZE (256u * 1024u)
#define MSG_MAX 512u            /* an entry takes about 180 bytes; keep room for one more */
#define SOCK_BUF (16 * 1024 * 1024)

typedef struct Group {
        unsigned count;
        uint32_t src;           /* host order, masked to the prefix */
        unsigned src_plen;
        uint32_t dst;           /* host order */
        uint16_t dport;
        uint8_t proto;
        int tcp_state;          /* -1: none sent */
        uint32_t status;        /* IPS_* bits */
        char where[64];         /* for messages: "FILE:LINE" or "command line" */
} Group;

typedef struct Inserter {
        struct mnl_socket *nl;
        unsigned portid;
        uint32_t seq;
        char *buf;
        size_t len;
        size_t last;            /* offset of the last message in buf */
        unsigned n_in_buf;
        uint64_t sent;
        uint64_t failed;
        int first_error;
        unsigned timeout;
        uint64_t serial;        /* entries built so far: picks the source port */
} Inserter;

static const struct {
        const char *name;
        int state;
        uint32_t status;
} tcp_states[] = {
        { "NONE",        TCP_CONNTRACK_NONE,        0 },
        { "SYN_SENT",    TCP_CONNTRACK_SYN_SENT,    0 },
        { "SYN_RECV",    TCP_CONNTRACK_SYN_RECV,    IPS_SEEN_REPLY },
        { "ESTABLISHED", TCP_CONNTRACK_ESTABLISHED, IPS_SEEN_REPLY | IPS_ASSURED },
        { "FIN_WAIT",    TCP_CONNTRACK_FIN_WAIT,    IPS_SEEN_REPLY | IPS_ASSURED },
        { "CLOSE_WAIT",  TCP_CONNTRACK_CLOSE_WAIT,  IPS_SEEN_REPLY | IPS_ASSURED },
        { "LAST_ACK",    TCP_CONNTRACK_LAST_ACK,    IPS_SEEN_REPLY | IPS_ASSURED },
        { "TIME_WAIT",   TCP_CONNTRACK_TIME_WAIT,   IPS_SEEN_REPLY | IPS_ASSURED },
        { "CLOSE",       TCP_CONNTRACK_CLOSE,       IPS_SEEN_REPLY | IPS_ASSURED },
        { "SYN_SENT2",   TCP_CONNTRACK_SYN_SENT2,   0 },
};

/* UDP has no protocol state; what matters to early drop is whether the entry is assured. */
static const struct {
        const char *name;
        uint32_t status;
} udp_states[] = {
        { "-",         0 },
        { "UNREPLIED", 0 },
        { "REPLIED",   IPS_SEEN_REPLY },
        { "ASSURED",   IPS_SEEN_REPLY | IPS_ASSURED },
};

static int set_state(Group *g, const char *name) {
        if (g->proto == IPPROTO_TCP) {
                for (size_t i = 0; i < ELEMENTSOF(tcp_states); i++)
                        if (strcasecmp(tcp_states[i].name, name) == 0) {
                                g->tcp_state = tcp_states[i].state;
                                g->status = tcp_states[i].status;
                                return 0;
                        }
                return -EINVAL;
        }
        for (size_t i = 0; i < ELEMENTSOF(udp_states); i++)
                if (strcasecmp(udp_states[i].name, name) == 0) {
                        g->tcp_state = -1;
                        g->status = udp_states[i].status;
                        return 0;
                }
        return -EINVAL;
}

static int parse_proto(const char *s, uint8_t *ret) {
        if (strcasecmp(s, "tcp") == 0)
                *ret = IPPROTO_TCP;
        else if (strcasecmp(s, "udp") == 0)
                *ret = IPPROTO_UDP;
        else
                return -EINVAL;
        return 0;
}

/* "10.0.0.0/16" or "10.0.0.7" (a /32). Prefixes shorter than /8 would be 16M sources and more. */
static int parse_prefix(const char *s, uint32_t *ret_addr, unsigned *ret_plen) {
        char a[INET_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        unsigned plen = 32;
        struct in_addr in;
        size_t n = slash ? (size_t) (slash - s) : strlen(s);

        if (n == 0 || n >= sizeof(a))
                return -EINVAL;
        memcpy(a, s, n);
        a[n] = '\0';
        if (inet_pton(AF_INET, a, &in) != 1)
                return -EINVAL;
        if (slash && (parse_unsigned(slash + 1, &plen) < 0 || plen < 8 || plen > 32))
                return -EINVAL;

        uint32_t h = ntohl(in.s_addr);
        *ret_addr = plen == 32 ? h : h & ~(UINT32_MAX >> plen);
        *ret_plen = plen;
        return 0;
}

static int parse_port(const char *s, uint16_t *ret) {
        unsigned v;

        if (parse_unsigned(s, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static uint64_t gcd(uint64_t a, uint64_t b) {
        while (b) {
                uint64_t t = a % b;
                a = b;
                b = t;
        }
        return a;
}

/* Entry i of a group uses source host (i mod hosts) and source port (serial mod SPORT_SPAN),
 * serial counting every entry built; two entries of a group share both only when they are a
 * multiple of lcm(hosts, SPORT_SPAN) apart. */
static int group_check(const Group *g) {
        uint64_t hosts = 1ull << (32 - g->src_plen);
        uint64_t cap = hosts / gcd(hosts, SPORT_SPAN) * SPORT_SPAN;

        if (g->count > cap) {
                fprintf(stderr, "ct-insert: %s: %u entries do not fit in /%u sources x %u source "
                        "ports (at most %" PRIu64 "); use a shorter prefix\n",
                        g->where, g->count, g->src_plen, SPORT_SPAN, cap);
                return -ERANGE;
        }
        return 0;
}

static void put_tuple(struct nlmsghdr *nlh, int type, uint32_t src, uint32_t dst, uint8_t proto,
                      uint16_t sport, uint16_t dport) {
        struct nlattr *tuple, *ip, *pr;

        tuple = mnl_attr_nest_start(nlh, type);
        ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
        mnl_attr_put_u32(nlh, CTA_IP_V4_SRC, htonl(src));
        mnl_attr_put_u32(nlh, CTA_IP_V4_DST, htonl(dst));
        mnl_attr_nest_end(nlh, ip);
        pr = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
        mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
        mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(sport));
        mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(dport));
        mnl_attr_nest_end(nlh, pr);
        mnl_attr_nest_end(nlh, tuple);
}

static struct nlmsghdr *put_header(Inserter *ins, uint16_t type, uint16_t flags, uint8_t family) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(ins->buf + ins->len);
        struct nfgenmsg *nfg;

        nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = ++ins->seq;
        ins->last = ins->len;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = family;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        return nlh;
}

static void put_entry(Inserter *ins, const Group *g, unsigned i) {
        uint64_t hosts = 1ull << (32 - g->src_plen);
        uint32_t src = g->src + (uint32_t) (i % hosts);
        uint16_t sport = (uint16_t) (SPORT_FIRST + ins->serial++ % SPORT_SPAN);
        struct nlmsghdr *nlh;

        nlh = put_header(ins, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, AF_INET);
        put_tuple(nlh, CTA_TUPLE_ORIG, src, g->dst, g->proto, sport, g->dport);
        put_tuple(nlh, CTA_TUPLE_REPLY, g->dst, src, g->proto, g->dport, sport);
        mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(ins->timeout));
        /* The kernel sets CONFIRMED on a created entry before it applies CTA_STATUS, and
         * refuses (EBUSY) a status that would clear it. */
        mnl_attr_put_u32(nlh, CTA_STATUS, htonl(g->status | IPS_CONFIRMED));
        if (g->tcp_state >= 0) {
                struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
                struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);

                mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, (uint8_t) g->tcp_state);
                mnl_attr_nest_end(nlh, tcp);
                mnl_attr_nest_end(nlh, pi);
        }

        ins->len += nlh->nlmsg_len;
        ins->n_in_buf++;
}

/* Sends the buffer with an ACK asked for on its last message only. The kernel runs every
 * message of the buffer inside sendmsg() and queues an error for each one it refuses, then the
 * final ACK, so reading up to that ACK accounts for every entry. */
static int flush(Inserter *ins) {
        char rbuf[16384];      /* one report per read: each is its own datagram */
        struct nlmsghdr *last;
        uint32_t last_seq;
        bool done = false;

        if (ins->n_in_buf == 0)
                return 0;

        last = (struct nlmsghdr *) (ins->buf + ins->last);
        last->nlmsg_flags |= NLM_F_ACK;
        last_seq = last->nlmsg_seq;

        if (mnl_socket_sendto(ins->nl, ins->buf, ins->len) < 0)
                return negative_errno();

        while (!done) {
                ssize_t n = mnl_socket_recvfrom(ins->nl, rbuf, sizeof(rbuf));
                int left;

                if (n < 0) {
                        /* ENOBUFS: error reports were lost, the count is no longer known. */
                        return negative_errno();
                }
                left = (int) n;
                for (struct nlmsghdr *h = (struct nlmsghdr *) rbuf; mnl_nlmsg_ok(h, left);
                     h = mnl_nlmsg_next(h, &left)) {
                        const struct nlmsgerr *e;

                        if (h->nlmsg_type != NLMSG_ERROR ||
                            h->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
                                continue;
                        e = mnl_nlmsg_get_payload(h);
                        if (e->error != 0) {
                                ins->failed++;
                                if (ins->first_error == 0)
                                        ins->first_error = e->error;
                        }
                        if (h->nlmsg_seq == last_seq)
                                done = true;
                }
        }

        ins->sent += ins->n_in_buf;
        ins->len = 0;
        ins->n_in_buf = 0;
        return 0;
}

static void sleep_until(usec_t t) {
        struct timespec ts = {
                .tv_sec = (time_t) (t / USEC_PER_SEC),
                .tv_nsec = (long) (t % USEC_PER_SEC) * 1000,
        };

        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                ;
}

static int insert_all(Inserter *ins, const Group *groups, size_t n_groups, unsigned rate) {
        /* At a fixed rate, send about fifty buffers a second so the pace is smooth. */
        unsigned per_buf = rate > 0 ? MAX(1u, rate / 50) : UINT_MAX;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        uint64_t built = 0;
        int r;

        for (size_t k = 0; k < n_groups; k++)
                for (unsigned i = 0; i < groups[k].count; i++) {
                        if (ins->len + MSG_MAX > BUF_SIZE || ins->n_in_buf >= per_buf) {
                                if (rate > 0)
                                        sleep_until(start + (ins->sent + ins->n_in_buf) *
                                                    USEC_PER_SEC / rate);
                                r = flush(ins);
                                if (r < 0)
                                        return r;
                        }
                        put_entry(ins, &groups[k], i);
                        built++;
                }
        if (rate > 0)
                sleep_until(start + built * USEC_PER_SEC / rate);
        return flush(ins);
}

static int delete_all(Inserter *ins) {
        int r;

        /* A delete without a tuple flushes the table; AF_UNSPEC takes every family. */
        ins->len += put_header(ins, IPCTNL_MSG_CT_DELETE, 0, AF_UNSPEC)->nlmsg_len;
        ins->n_in_buf = 1;
        r = flush(ins);
        ins->sent = 0;
        if (r < 0)
                return r;
        if (ins->failed > 0)
                return ins->first_error;
        return 0;
}

static int read_spec(const char *path, Group **groups, size_t *n_groups) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t sz = 0;
        unsigned lineno = 0;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();

        while (getline(&line, &sz, f) >= 0) {
                char count[32], src[64], dst[64], dport[16], proto[16], state[32], junk[2];
                Group g = { .tcp_state = -1 };
                unsigned src_plen;
                Group *n;
                int k;

                lineno++;
                char *s = line + strspn(line, " \t");
                if (*s == '#' || *s == '\n' || *s == '\0')
                        continue;
                snprintf(g.where, sizeof(g.where), "%s:%u", path, lineno);
                k = sscanf(s, "%31s %63s %63s %15s %15s %31s %1s", count, src, dst, dport, proto,
                           state, junk);
                if (k != 6) {
                        fprintf(stderr, "ct-insert: %s: expected COUNT SRC DST DPORT PROTO STATE\n",
                                g.where);
                        return -EINVAL;
                }
                if (parse_unsigned(count, &g.count) < 0 || g.count > COUNT_MAX ||
                    parse_prefix(src, &g.src, &g.src_plen) < 0 ||
                    parse_prefix(dst, &g.dst, &src_plen) < 0 || src_plen != 32 ||
                    parse_port(dport, &g.dport) < 0 || parse_proto(proto, &g.proto) < 0 ||
                    set_state(&g, state) < 0) {
                        fprintf(stderr, "ct-insert: %s: bad value in '%s'\n", g.where,
                                strtok(s, "\n"));
                        return -EINVAL;
                }
                if (group_check(&g) < 0)
                        return -ERANGE;

                n = reallocarray(*groups, *n_groups + 1, sizeof(Group));
                if (!n)
                        return -ENOMEM;
                *groups = n;
                (*groups)[(*n_groups)++] = g;
        }
        return ferror(f) ? -EIO : 0;
}

static void help(void) {
        printf("Usage: ct-insert [OPTIONS...]\n"
               "\n"
               "Inserts conntrack entries into the current network namespace through ctnetlink.\n"
               "\n"
               "  -n --count=N        Insert N entries (default 0)\n"
               "     --rate=N[/s]     At most N entries per second (default: as fast as possible)\n"
               "     --proto=tcp|udp  Protocol (default tcp)\n"
               "     --src=PREFIX     Source addresses, e.g. 10.0.0.0/16 (default)\n"
               "     --dst=ADDR       Destination address (default 10.1.0.1)\n"
               "     --dport=PORT     Destination port (default 80)\n"
               "     --state=STATE    TCP: NONE SYN_SENT SYN_RECV ESTABLISHED (default) FIN_WAIT\n"
               "                      CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE SYN_SENT2;\n"
               "                      UDP: - UNREPLIED REPLIED ASSURED\n"
               "     --timeout=SEC    Entry timeout in seconds (default 600)\n"
               "     --spec=FILE      Insert the distribution in FILE: lines of\n"
               "                      COUNT SRC DST DPORT PROTO STATE ('#' starts a comment);\n"
               "                      lines whose sources overlap may collide past 64512 entries\n"
               "     --delete-all     Flush the table first (alone: flush only)\n"
               "  -q --quiet          Print nothing on success\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_RATE = 0x100, ARG_PROTO, ARG_SRC, ARG_DST, ARG_DPORT, ARG_STATE, ARG_TIMEOUT,
               ARG_SPEC, ARG_DELETE_ALL };
        static const struct option options[] = {
                { "help",       no_argument,       NULL, 'h' },
                { "count",      required_argument, NULL, 'n' },
                { "rate",       required_argument, NULL, ARG_RATE },
                { "proto",      required_argument, NULL, ARG_PROTO },
                { "src",        required_argument, NULL, ARG_SRC },
                { "dst",        required_argument, NULL, ARG_DST },
                { "dport",      required_argument, NULL, ARG_DPORT },
                { "state",      required_argument, NULL, ARG_STATE },
                { "timeout",    required_argument, NULL, ARG_TIMEOUT },
                { "spec",       required_argument, NULL, ARG_SPEC },
                { "delete-all", no_argument,       NULL, ARG_DELETE_ALL },
                { "quiet",      no_argument,       NULL, 'q' },
                {}
        };
        Group cmd = { .src = 0x0a000000, .src_plen = 16, .dst = 0x0a010001, .dport = 80,
                      .proto = IPPROTO_TCP, .where = "command line" };
        const char *state = "ESTABLISHED", *spec = NULL;
        _cleanup_free_ Group *groups = NULL;
        _cleanup_free_ char *buf = NULL;
        unsigned rate = 0, timeout = 600, plen;
        bool delete = false, quiet = false, have_count = false;
        size_t n_groups = 0;
        uint64_t total = 0;
        Inserter ins = {};
        int c, r, one = 1, sock_buf = SOCK_BUF;
        char *slash;

        while ((c = getopt_long(argc, argv, "hn:q", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'n':
                        if (parse_unsigned(optarg, &cmd.count) < 0 || cmd.count > COUNT_MAX)
                                goto bad;
                        have_count = true;
                        break;
                case ARG_RATE:
                        slash = strchr(optarg, '/');
                        if (slash && !streq(slash, "/s"))
                                goto bad;
                        if (slash)
                                *slash = '\0';
                        if (parse_unsigned(optarg, &rate) < 0 || rate == 0)
                                goto bad;
                        break;
                case ARG_PROTO:
                        if (parse_proto(optarg, &cmd.proto) < 0)
                                goto bad;
                        break;
                case ARG_SRC:
                        if (parse_prefix(optarg, &cmd.src, &cmd.src_plen) < 0)
                                goto bad;
                        break;
                case ARG_DST:
                        if (parse_prefix(optarg, &cmd.dst, &plen) < 0 || plen != 32)
                                goto bad;
                        break;
                case ARG_DPORT:
                        if (parse_port(optarg, &cmd.dport) < 0)
                                goto bad;
                        break;
                case ARG_STATE:
                        state = optarg;
                        break;
                case ARG_TIMEOUT:
                        if (parse_unsigned(optarg, &timeout) < 0 || timeout == 0 ||
                            timeout > 7u * 24 * 3600)
                                goto bad;
                        break;
                case ARG_SPEC:
                        spec = optarg;
                        break;
                case ARG_DELETE_ALL:
                        delete = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "ct-insert: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        if (cmd.proto == IPPROTO_UDP && streq(state, "ESTABLISHED"))
                state = "ASSURED";      /* the default state, in UDP's terms */
        if (set_state(&cmd, state) < 0) {
                fprintf(stderr, "ct-insert: unknown state '%s' for this protocol\n", state);
                return 2;
        }
        if (spec && have_count) {
                fprintf(stderr, "ct-insert: --spec and --count exclude each other\n");
                return 2;
        }
        if (spec) {
                r = read_spec(spec, &groups, &n_groups);
                if (r < 0) {
                        if (r != -EINVAL && r != -ERANGE)
                                fprintf(stderr, "ct-insert: %s: %s\n", spec, strerror(-r));
                        return 2;
                }
        } else if (cmd.count > 0) {
                if (group_check(&cmd) < 0)
                        return 2;
                groups = malloc(sizeof(Group));
                if (!groups)
                        return 1;
                groups[0] = cmd;
                n_groups = 1;
        }
        for (size_t k = 0; k < n_groups; k++)
                total += groups[k].count;
        if (!delete && total == 0) {
                fprintf(stderr, "ct-insert: nothing to do; see --help\n");
                return 2;
        }

        buf = malloc(BUF_SIZE);
        if (!buf)
                return 1;
        ins = (Inserter) { .buf = buf, .timeout = timeout };

        ins.nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!ins.nl) {
                fprintf(stderr, "ct-insert: netlink socket: %m\n");
                return 1;
        }
        /* Only refusals are reported, and without the refused message copied back. A large
         * receive buffer holds the reports of one whole buffer of refusals. */
        (void) mnl_socket_setsockopt(ins.nl, NETLINK_CAP_ACK, &one, sizeof(one));
        (void) setsockopt(mnl_socket_get_fd(ins.nl), SOL_SOCKET, SO_RCVBUFFORCE, &sock_buf,
                          sizeof(sock_buf));
        (void) setsockopt(mnl_socket_get_fd(ins.nl), SOL_SOCKET, SO_SNDBUFFORCE, &sock_buf,
                          sizeof(sock_buf));
        if (mnl_socket_bind(ins.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = negative_errno();
                fprintf(stderr, "ct-insert: netlink bind: %s\n", strerror(-r));
                goto finish;
        }
        ins.portid = mnl_socket_get_portid(ins.nl);

        if (delete) {
                r = delete_all(&ins);
                if (r < 0) {
                        fprintf(stderr, "ct-insert: flushing the table: %s\n", strerror(-r));
                        goto finish;
                }
        }

        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        r = insert_all(&ins, groups, n_groups, rate);
        usec_t t1 = now_usec(CLOCK_MONOTONIC);
        if (r < 0) {
                fprintf(stderr, "ct-insert: after %" PRIu64 " entries: %s\n", ins.sent,
                        strerror(-r));
                goto finish;
        }
        if (ins.failed > 0) {
                fprintf(stderr, "ct-insert: %" PRIu64 " of %" PRIu64 " entries refused, "
                        "first: %s\n", ins.failed, ins.sent, strerror(-ins.first_error));
                r = -EIO;
                goto finish;
        }
        if (!quiet && total > 0)
                printf("inserted %" PRIu64 " entries in %.3f s\n", ins.sent,
                       (double) (t1 - t0) / USEC_PER_SEC);
        r = 0;

finish:
        mnl_socket_close(ins.nl);
        return r < 0 ? 1 : 0;

bad:
        for (size_t i = 0; options[i].name; i++)
                if (options[i].val == c)
                        fprintf(stderr, "ct-insert: invalid value '%s' for --%s\n", optarg,
                                options[i].name);
        return 2;
}
