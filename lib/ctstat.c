/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>

#include "time-util.h"
#include "ctstat.h"
#include "ctstat-msg.h"
#include "macro.h"
#include "parse-util.h"
#include "sysctl.h"

/* Large enough for any single datagram of a dump; a smaller buffer truncates (ENOSPC). */
#define CTSTAT_BUF_SIZE 32768u

/* /proc/net/stat/nf_conntrack is about 160 bytes per CPU: this holds thousands of CPUs. */
#define CTSTAT_PROC_STAT_MAX (4u * 1024 * 1024)
#define CTSTAT_PROC_STAT_COLUMNS 64u

struct CtStat {
        struct mnl_socket *nl;  /* NULL: closed after an error, reopened by the next sample */
        uint32_t portid;
        uint32_t seq;
        char *root;             /* "" for / */
        char *sysctl_root;      /* root + /proc/sys */
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

/* The header names of the columns we keep. Kernels have renamed columns ("searched" became
 * "clashres", "delete_list" became "chainlength" when 5.15 put chaintoolong there), so only a
 * name says what a column holds. */
static const struct {
        const char *name;
        size_t offset;
        size_t has_offset;      /* (size_t) -1: always present once the name is */
} proc_stat_columns[] = {
#define COLUMN(n, f) { n, offsetof(CtSample, f), (size_t) -1 }
#define OPTIONAL(n, f) { n, offsetof(CtSample, f), offsetof(CtSample, has_##f) }
        COLUMN("found", found),
        COLUMN("invalid", invalid),
        COLUMN("insert", insert),
        COLUMN("insert_failed", insert_failed),
        COLUMN("drop", drop),
        COLUMN("early_drop", early_drop),
        COLUMN("icmp_error", error),
        COLUMN("search_restart", search_restart),
        OPTIONAL("clashres", clash_resolve),
        OPTIONAL("chainlength", chaintoolong),
        OPTIONAL("chaintoolong", chaintoolong),
#undef COLUMN
#undef OPTIONAL
};

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* The next blank-separated word of the line at *p, or false at its end. */
static bool next_word(const char **p, const char **ret_word, size_t *ret_len) {
        const char *s = *p, *e;

        while (is_blank(*s))
                s++;
        /* The blanks are consumed either way: a line of blanks must not stop the caller. */
        *p = s;
        if (*s == '\0' || *s == '\n')
                return false;
        for (e = s; *e && *e != '\n' && !is_blank(*e); e++)
                ;
        *ret_word = s;
        *ret_len = (size_t) (e - s);
        *p = e;
        return true;
}

static int parse_hex(const char *w, size_t len, uint64_t *ret) {
        uint64_t v = 0;

        /* The kernel prints each as %08x of an unsigned int. */
        if (len == 0 || len > 8)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                char c = w[i];
                unsigned d;

                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EBADMSG;
                v = v * 16 + d;
        }
        *ret = v;
        return 0;
}

static int parse_proc_stat(const char *text, bool want_entries, CtSample *ret) {
        /* For each column of the header: the index in proc_stat_columns, or -1 to skip it. */
        int map[CTSTAT_PROC_STAT_COLUMNS];
        size_t entries_column = SIZE_MAX;
        uint64_t entries = 0;
        uint64_t sums[ELEMENTSOF(proc_stat_columns)] = {};
        bool seen[ELEMENTSOF(proc_stat_columns)] = {};
        size_t n_columns = 0, len;
        const char *p = text, *w;
        unsigned n_cpus = 0;
        bool have_drop = false;
        CtSample c;

        if (!text)
                return -EBADMSG;

        while (next_word(&p, &w, &len)) {
                if (n_columns >= ELEMENTSOF(map))
                        return -EBADMSG;
                map[n_columns] = -1;
                if (len == strlen("entries") && memcmp(w, "entries", len) == 0) {
                        if (entries_column != SIZE_MAX)
                                return -EBADMSG;
                        entries_column = n_columns;
                }
                for (size_t k = 0; k < ELEMENTSOF(proc_stat_columns); k++)
                        if (strlen(proc_stat_columns[k].name) == len &&
                            memcmp(proc_stat_columns[k].name, w, len) == 0) {
                                /* The same name twice: not a header we understand. */
                                if (seen[k])
                                        return -EBADMSG;
                                seen[k] = true;
                                map[n_columns] = (int) k;
                                have_drop = have_drop || streq(proc_stat_columns[k].name, "drop");
                        }
                n_columns++;
        }
        /* drop is what the table guard needs: without it this is not the file we know. */
        if (!have_drop)
                return -EBADMSG;
        if (want_entries && entries_column == SIZE_MAX)
                return -EBADMSG;

        for (;;) {
                size_t col = 0;

                if (*p == '\n')
                        p++;
                if (*p == '\0')
                        break;
                while (next_word(&p, &w, &len)) {
                        uint64_t v;

                        if (col >= n_columns || parse_hex(w, len, &v) < 0)
                                return -EBADMSG;
                        if (map[col] >= 0)
                                sums[map[col]] += v;
                        /* Every row repeats the namespace's one count, read as the row is
                         * printed: the first row's is as good as any. */
                        if (col == entries_column && n_cpus == 0)
                                entries = v;
                        col++;
                }
                if (col == 0)
                        continue;       /* a blank line */
                if (col != n_columns)
                        return -EBADMSG;
                n_cpus++;
        }
        if (n_cpus == 0)
                return -EBADMSG;

        c = *ret;
        c.has_cpu_stats = true;
        c.n_cpus = n_cpus;
        c.found = c.invalid = c.insert = c.insert_failed = c.drop = c.early_drop = c.error =
                c.search_restart = c.clash_resolve = c.chaintoolong = 0;
        c.has_clash_resolve = c.has_chaintoolong = false;
        for (size_t k = 0; k < ELEMENTSOF(proc_stat_columns); k++) {
                if (!seen[k])
                        continue;
                *(uint64_t *) ((char *) &c + proc_stat_columns[k].offset) += sums[k];
                if (proc_stat_columns[k].has_offset != (size_t) -1)
                        *(bool *) ((char *) &c + proc_stat_columns[k].has_offset) = true;
        }
        c.counters_error = 0;
        if (want_entries)
                c.count = (uint32_t) entries;
        *ret = c;
        return 0;
}

int ctstat_parse_proc_stat(const char *text, CtSample *ret) {
        return parse_proc_stat(text, false, ret);
}

int ctstat_parse_proc_stat_entries(const char *text, CtSample *ret) {
        return parse_proc_stat(text, true, ret);
}

static int read_proc_stat(const char *root, char **ret) {
        _cleanup_free_ char *p = NULL, *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, alloc = 0;

        if (asprintf(&p, "%s/proc/net/stat/nf_conntrack", root) < 0)
                return -ENOMEM;
        /* /proc/net is a symlink to self/net; only the file itself must not be one. */
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();

        for (;;) {
                ssize_t n;

                if (alloc - size < 4096) {
                        char *b;

                        if (alloc >= CTSTAT_PROC_STAT_MAX)
                                return -EFBIG;
                        alloc = alloc ? alloc * 2 : 8192;
                        b = realloc(buf, alloc + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = read(fd, buf + size, alloc - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (!buf)
                return -EBADMSG;
        buf[size] = '\0';
        if (strlen(buf) != size)
                return -EBADMSG;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int sample_proc(const char *root, const char *sysctl_root, CtSample *ret) {
        _cleanup_free_ char *text = NULL;
        CtSample s = { .source = CTSTAT_SOURCE_PROC };
        int r;

        s.timestamp = now_usec(CLOCK_MONOTONIC);
        r = read_u32(sysctl_root, "net/netfilter/nf_conntrack_count", &s.count);
        if (r < 0)
                return r;
        r = read_u32(sysctl_root, "net/netfilter/nf_conntrack_max", &s.max);
        if (r < 0)
                return r;

        /* The counters are a bonus: without them the sample still has what matters most. */
        r = read_proc_stat(root, &text);
        if (r >= 0)
                r = ctstat_parse_proc_stat(text, &s);
        if (r < 0)
                s.counters_error = r;

        *ret = s;
        return 0;
}

int ctstat_sample_proc(const char *root, CtSample *ret) {
        _cleanup_free_ char *sysctl_root = NULL;

        if (asprintf(&sysctl_root, "%s/proc/sys", strempty(root)) < 0)
                return -ENOMEM;
        return sample_proc(strempty(root), sysctl_root, ret);
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

int ctstat_sample_netlink(CtStat *s, CtSample *ret) {
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
                sample.counters_error = r;
        }

        *ret = sample;
        return 0;
}

static bool exists(const char *root, const char *path) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s%s", strempty(root), path) < 0)
                return false;   /* cannot tell: the caller asks nothing then */
        return access(p, F_OK) >= 0;
}

bool ctstat_conntrack_loaded(const char *root) {
        return exists(root, "/proc/sys/net/netfilter/nf_conntrack_count");
}

static bool builtin(const char *root, const char *module) {
        _cleanup_free_ char *p = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        struct utsname u;
        size_t size = 0;
        ssize_t n;

        if (uname(&u) < 0 ||
            asprintf(&p, "%s/lib/modules/%s/modules.builtin", strempty(root), u.release) < 0)
                return false;
        f = fopen(p, "re");
        if (!f)
                return false;
        while ((n = getline(&line, &size, f)) > 0) {
                const char *base = strrchr(line, '/');

                if (n > 0 && line[n - 1] == '\n')
                        line[n - 1] = '\0';
                base = base ? base + 1 : line;
                if (strneq(base, module, strlen(module)) && streq(base + strlen(module), ".ko"))
                        return true;
        }
        return false;
}

bool ctstat_netlink_loaded(const char *root) {
        /* Loaded, built in (a built-in module without parameters has no /sys/module entry), or
         * a kernel without module support: in each case a request loads nothing. */
        return exists(root, "/sys/module/nf_conntrack_netlink") ||
               !exists(root, "/proc/modules") ||
               builtin(root, "nf_conntrack_netlink");
}

int ctstat_sample(CtStat *s, CtSample *ret) {
        CtSample sample;
        int r;

        /* Nothing at all without nf_conntrack (no nf_conntrack_count: -ENOENT): its absence is
         * the module guard's business, and no request may load it behind the guard's back, in
         * monitor mode or on hold. */
        r = sample_proc(s->root, s->sysctl_root, &sample);
        if (r < 0)
                return r;
        if (sample.has_cpu_stats || sample.counters_error != -ENOENT)
                goto done;

        /* No /proc/net/stat (CONFIG_NF_CONNTRACK_PROCFS off): ctnetlink has the same
         * counters, but a request loads nf_conntrack_netlink unless it is there already. */
        if (!ctstat_netlink_loaded(s->root))
                goto done;
        r = socket_ensure(s);
        if (r >= 0)
                r = query_cpus(s, &sample);
        if (r < 0) {
                socket_drop(s);
                sample.counters_error = r;
        } else
                sample.source = CTSTAT_SOURCE_NETLINK;

done:
        *ret = sample;
        return 0;
}

CtStat *ctstat_close(CtStat *s) {
        if (!s)
                return NULL;
        socket_drop(s);
        free(s->root);
        free(s->sysctl_root);
        free(s->buf);
        free(s);
        return NULL;
}

int ctstat_open(const char *root, CtStat **ret) {
        _cleanup_(ctstat_closep) CtStat *s = NULL;

        s = calloc(1, sizeof(CtStat));
        if (!s)
                return -ENOMEM;
        s->root = strdup(strempty(root));
        s->buf = malloc(CTSTAT_BUF_SIZE);
        if (!s->root || !s->buf || asprintf(&s->sysctl_root, "%s/proc/sys", s->root) < 0)
                return -ENOMEM;

        /* No socket yet: opening one loads nothing, but it is only wanted where /proc lacks the
         * counters (ctstat_sample()) or a caller asks for ctnetlink explicitly. */
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
