/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The verbs' view of every network namespace: "ctguard status --netns" lists each one that
 * tracks connections, fullest first, read from outside through its /proc/net/stat file; "ctguard
 * top --netns ID" enters one for its table dump alone. */

#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "ctstat.h"
#include "json.h"
#include "log.h"
#include "netns-sample.h"
#include "netns-scan.h"
#include "parse-util.h"
#include "sysctl.h"
#include "verbs.h"

/* The text column shows this much of a container id, as docker ps does. */
#define CONTAINER_ID_SHORT 12

typedef struct NetnsRow {
        const Netns *ns;
        CtSample sample;
        int error;              /* < 0: could not be read (the sample is empty) */
} NetnsRow;

static int row_compare(const void *a, const void *b) {
        const NetnsRow *x = a, *y = b;

        /* Read before unreadable; fuller first (one max for all: the count decides); then by
         * inode, so that equal rows keep one order. */
        if ((x->error < 0) != (y->error < 0))
                return x->error < 0 ? 1 : -1;
        if (x->sample.count != y->sample.count)
                return x->sample.count > y->sample.count ? -1 : 1;
        if (x->ns->inode != y->ns->inode)
                return x->ns->inode < y->ns->inode ? -1 : 1;
        return 0;
}

/* Hundredths of a percent, rounded. */
static uint64_t fill_basis_points(uint32_t count, uint32_t max) {
        return max == 0 ? 0 : ((uint64_t) count * 10000 + max / 2) / max;
}

static const char *workload(const Netns *ns, char *buf, size_t size) {
        if (ns->pod_uid && ns->container_id)
                snprintf(buf, size, "%s/%.*s", ns->pod_uid, CONTAINER_ID_SHORT, ns->container_id);
        else if (ns->pod_uid)
                snprintf(buf, size, "%s", ns->pod_uid);
        else if (ns->container_id)
                snprintf(buf, size, "%.*s", CONTAINER_ID_SHORT, ns->container_id);
        else
                snprintf(buf, size, "-");
        return buf;
}

static void print_rows_text(const NetnsRow *rows, size_t n, uint32_t max) {
        size_t unreadable = 0;

        printf("%-11s  %-28s  %8s  %-49s  %10s  %7s  %10s\n", "NETNS", "NAME", "PID",
               "POD/CONTAINER", "COUNT", "FILL", "DROPS");
        for (size_t i = 0; i < n; i++) {
                const NetnsRow *row = &rows[i];
                char name[256], wl[128], pid[16], fill[32], count[16], drops[24];

                netns_display_name(row->ns, name, sizeof(name));
                workload(row->ns, wl, sizeof(wl));
                if (row->ns->pid > 0)
                        snprintf(pid, sizeof(pid), "%d", (int) row->ns->pid);
                else
                        snprintf(pid, sizeof(pid), "-");
                if (row->error < 0) {
                        unreadable++;
                        snprintf(count, sizeof(count), "-");
                        snprintf(fill, sizeof(fill), "-");
                        snprintf(drops, sizeof(drops), "-");
                } else {
                        uint64_t bp = fill_basis_points(row->sample.count, max);

                        snprintf(count, sizeof(count), "%" PRIu32, row->sample.count);
                        if (max > 0)
                                snprintf(fill, sizeof(fill), "%" PRIu64 ".%02" PRIu64 "%%", bp / 100, bp % 100);
                        else
                                snprintf(fill, sizeof(fill), "-");
                        snprintf(drops, sizeof(drops), "%" PRIu64, row->sample.drop);
                }
                printf("%-11" PRIu64 "  %-28s  %8s  %-49s  %10s  %7s  %10s%s\n", row->ns->inode,
                       name, pid, wl, count, fill, drops, row->ns->host ? "  (host)" : "");
        }
        if (unreadable > 0)
                printf("\n%zu namespace(s) could not be read (a name alone is entered to be read, which needs CAP_SYS_ADMIN).\n",
                       unreadable);
}

static void json_string_or_null(JsonWriter *w, const char *key, const char *s) {
        json_key(w, key);
        if (s)
                json_string(w, s);
        else
                json_null(w);
}

static void json_counter_or_null(JsonWriter *w, const char *key, const NetnsRow *row, uint64_t v) {
        json_key(w, key);
        if (row->error < 0 || !row->sample.has_cpu_stats)
                json_null(w);
        else
                json_unsigned(w, v);
}

static int print_rows_json(const NetnsRow *rows, size_t n, uint32_t max) {
        JsonWriter w;

        json_init(&w, stdout);
        json_begin_object(&w);
        json_key(&w, "max");
        if (max > 0)
                json_unsigned(&w, max);
        else
                json_null(&w);
        json_key(&w, "namespaces");
        json_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
                const NetnsRow *row = &rows[i];
                char name[256];

                json_begin_object(&w);
                json_key(&w, "inode");
                json_unsigned(&w, row->ns->inode);
                json_key(&w, "display_name");
                json_string(&w, netns_display_name(row->ns, name, sizeof(name)));
                json_string_or_null(&w, "name", row->ns->name);
                json_key(&w, "host");
                json_bool(&w, row->ns->host);
                json_key(&w, "pid");
                if (row->ns->pid > 0)
                        json_unsigned(&w, (uint64_t) row->ns->pid);
                else
                        json_null(&w);
                json_string_or_null(&w, "comm", row->ns->comm);
                json_string_or_null(&w, "pod_uid", row->ns->pod_uid);
                json_string_or_null(&w, "container_id", row->ns->container_id);
                json_key(&w, "count");
                if (row->error < 0)
                        json_null(&w);
                else
                        json_unsigned(&w, row->sample.count);
                json_key(&w, "percent");
                if (row->error < 0 || max == 0)
                        json_null(&w);
                else
                        json_decimal(&w, fill_basis_points(row->sample.count, max), 2);
                json_counter_or_null(&w, "drop", row, row->sample.drop);
                json_counter_or_null(&w, "early_drop", row, row->sample.early_drop);
                json_counter_or_null(&w, "insert_failed", row, row->sample.insert_failed);
                json_key(&w, "error");
                if (row->error < 0)
                        json_string(&w, strerror(-row->error));
                else
                        json_null(&w);
                json_end_object(&w);
        }
        json_end_array(&w);
        json_end_object(&w);
        return json_finish(&w);
}

int verb_status_netns(bool json) {
        _cleanup_(netns_list_done) NetnsList l = {};
        _cleanup_free_ char *sysctl_root = NULL, *v = NULL;
        _cleanup_free_ NetnsRow *rows = NULL;
        uint32_t max = 0;
        size_t n = 0;
        unsigned u;
        int r;

        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), EXIT_FAILURE;
        /* One global limit every namespace fills on its own: the host's (any namespace shows
         * the same value, read-only outside the host's). */
        r = sysctl_read(sysctl_root, "net/netfilter/nf_conntrack_max", &v);
        if (r >= 0 && parse_unsigned(v, &u) >= 0)
                max = u;
        else
                log_debug_errno(r < 0 ? r : -EINVAL, "No nf_conntrack_max, the fill is unknown: %m");

        r = netns_scan(arg_root, &l);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAILURE;
        if (r < 0) {
                log_error_errno(r, "Failed to list the network namespaces below %s/proc: %m", arg_root);
                return EXIT_FAILURE;
        }

        rows = calloc(l.n + 1, sizeof(NetnsRow));
        if (!rows)
                return log_oom(), EXIT_FAILURE;
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_(netns_reader_closep) NetnsReader *reader = NULL;
                NetnsRow *row = &rows[n];

                *row = (NetnsRow) { .ns = &l.items[i] };
                r = netns_reader_open(arg_root, row->ns, &reader);
                if (r >= 0)
                        r = netns_reader_sample(reader, &row->sample);
                /* Tracks nothing (no nf_conntrack there), or gone since the scan: not listed. */
                if (r == -ENOENT || r == -ESRCH)
                        continue;
                if (r == -ENOMEM)
                        return log_oom(), EXIT_FAILURE;
                if (r < 0) {
                        char name[256];

                        log_debug_errno(r, "Cannot read the conntrack statistics of %s: %m",
                                        netns_display_name(row->ns, name, sizeof(name)));
                        row->error = r;
                        row->sample = (CtSample) {};
                }
                n++;
        }
        if (n > 0)
                qsort(rows, n, sizeof(NetnsRow), row_compare);

        if (json)
                r = print_rows_json(rows, n, max);
        else {
                print_rows_text(rows, n, max);
                r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to write the list: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* The nsfs file of ID: a /run/netns name, "netns:[INODE]", an inode a scan finds, or a PID. */
static int netns_open_id(const char *id, int *ret_fd, uint64_t *ret_inode) {
        _cleanup_(netns_list_done) NetnsList l = {};
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t want = 0;
        struct stat st;
        unsigned long long v;
        char *end;
        int r;

        if (sscanf(id, "netns:[%llu]", &v) == 1)
                want = v;
        else if (id[0] >= '0' && id[0] <= '9') {
                errno = 0;
                v = strtoull(id, &end, 10);
                if (errno != 0 || *end != '\0')
                        return -EINVAL;
                want = v;
        } else {
                /* A name: it must be one entry of run/netns, not a path. */
                if (strchr(id, '/') || streq(id, ".") || streq(id, ".."))
                        return -EINVAL;
                if (asprintf(&path, "%s/run/netns/%s", arg_root, id) < 0)
                        return -ENOMEM;
        }

        if (!path) {
                const Netns *ns;

                r = netns_scan(arg_root, &l);
                if (r < 0)
                        return r;
                ns = netns_list_find(&l, want);
                if (ns && ns->name)
                        r = asprintf(&path, "%s/run/netns/%s", arg_root, ns->name);
                else if (ns && ns->pid > 0)
                        r = asprintf(&path, "%s/proc/%d/ns/net", arg_root, (int) ns->pid);
                else if (!ns && want > 0 && want <= INT32_MAX) {
                        /* Not an inode: a PID. */
                        r = asprintf(&path, "%s/proc/%llu/ns/net", arg_root, (unsigned long long) want);
                        want = 0;
                } else
                        return -ENOENT;
                if (r < 0)
                        return -ENOMEM;
        }

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT || errno == ESRCH ? -ENOENT : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* The process behind the inode exited and its PID was taken since the scan. */
        if (want > 0 && (uint64_t) st.st_ino != want)
                return -ESRCH;
        *ret_inode = st.st_ino;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int verb_netns_enter(const char *id, int *ret_saved) {
        _cleanup_close_ int target = -EBADF, self = -EBADF;
        uint64_t inode = 0;
        int r;

        r = netns_open_id(id, &target, &inode);
        if (r == -EINVAL) {
                log_error("Invalid --netns '%s': expected a /run/netns name, a namespace inode or a PID.", id);
                return r;
        }
        if (r == -ENOENT || r == -ESRCH)
                return log_error_errno(r, "No network namespace '%s' found: %m", id);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Failed to open the network namespace '%s': %m", id);

        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (self < 0)
                return log_error_errno(negative_errno(), "Failed to open /proc/thread-self/ns/net: %m");
        if (setns(target, CLONE_NEWNET) < 0) {
                r = negative_errno();
                if (r == -EPERM)
                        return log_error_errno(r, "Entering network namespace %" PRIu64 " needs CAP_SYS_ADMIN: %m", inode);
                return log_error_errno(r, "Failed to enter network namespace %" PRIu64 ": %m", inode);
        }
        log_debug("Entered network namespace %" PRIu64 " ('%s') for the dump.", inode, id);
        *ret_saved = TAKE_FD(self);
        return 0;
}

void verb_netns_leavep(int *saved) {
        if (*saved < 0)
                return;
        /* The process is about to exit, but nothing it does after the dump may happen in the
         * other namespace unnoticed. */
        if (setns(*saved, CLONE_NEWNET) < 0) {
                log_error_errno(negative_errno(), "Failed to return to the original network namespace: %m");
                abort();
        }
        *saved = safe_close(*saved);
}
