/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "conf-files.h"
#include "daemon-state.h"
#include "macro.h"
#include "run-file.h"

static void event_done(DaemonEvent *e) {
        free(e->name);
        free(e->message);
        *e = (DaemonEvent) {};
}

static void sysctl_done(DaemonSysctl *r) {
        free(r->path);
        free(r->value);
        free(r->origin);
        free(r->status);
}

void daemon_state_clear_sysctls(DaemonState *s) {
        for (size_t i = 0; i < s->n_sysctls; i++)
                sysctl_done(&s->sysctls[i]);
        free(s->sysctls);
        s->sysctls = NULL;
        s->n_sysctls = 0;
}

void daemon_budget_price(const TableRaiseInput *in, DaemonBudget *ret) {
        uint64_t used = table_raise_cost(in->max, in->buckets, in->object_size);

        *ret = (DaemonBudget) {
                .known = true,
                .bytes = in->budget,
                .entry_bytes = in->object_size,
                .max = in->max,
                .buckets = in->buckets,
                .used = used,
                .headroom = in->budget > used ? in->budget - used : 0,
                .headroom_entries = table_raise_headroom(in),
        };
}

void daemon_state_done(DaemonState *s) {
        free(s->mode);
        free(s->fingerprint);
        free(s->config_main);
        free(s->reload_error);
        free(s->memory_budget);
        daemon_state_clear_sysctls(s);
        for (size_t i = 0; i < DAEMON_STATE_EVENTS_MAX; i++)
                event_done(&s->events[i]);
        *s = (DaemonState) {};
}

const char *daemon_reload_to_string(DaemonReload r) {
        static const char * const t[_DAEMON_RELOAD_MAX] = {
                [DAEMON_RELOAD_NONE] = "none",
                [DAEMON_RELOAD_OK] = "ok",
                [DAEMON_RELOAD_REJECTED] = "rejected",
        };
        return r >= 0 && r < _DAEMON_RELOAD_MAX ? t[r] : NULL;
}

static bool valid_name(const char *n) {
        if (!n || !*n)
                return false;
        for (const char *p = n; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

int daemon_state_add_event(DaemonState *s, usec_t time, const char *name, const char *message) {
        DaemonEvent *e;
        char *n, *m;

        if (!valid_name(name))
                return -EINVAL;
        n = strdup(name);
        m = strdup(strempty(message));
        if (!n || !m) {
                free(n);
                free(m);
                return -ENOMEM;
        }
        for (char *p = m; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = ' ';

        if (s->n_events < DAEMON_STATE_EVENTS_MAX)
                e = &s->events[(s->events_first + s->n_events++) % DAEMON_STATE_EVENTS_MAX];
        else {
                e = &s->events[s->events_first];
                s->events_first = (s->events_first + 1) % DAEMON_STATE_EVENTS_MAX;
                event_done(e);
        }
        *e = (DaemonEvent) { .time = time, .name = n, .message = m };
        return 0;
}

const DaemonEvent *daemon_state_event(const DaemonState *s, size_t i) {
        if (i >= s->n_events)
                return NULL;
        return &s->events[(s->events_first + i) % DAEMON_STATE_EVENTS_MAX];
}

static int dup_or_null(const char *v, char **ret) {
        *ret = NULL;
        if (!v)
                return 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int daemon_state_set_sysctls(DaemonState *s, const DaemonSysctl *rows, size_t n) {
        DaemonSysctl *copy;

        for (size_t i = 0; i < n; i++)
                if (!rows[i].path || !*rows[i].path || !rows[i].value)
                        return -EINVAL;
        copy = calloc(n ?: 1, sizeof(DaemonSysctl));
        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                copy[i].owned = rows[i].owned;
                if (dup_or_null(rows[i].path, &copy[i].path) < 0 ||
                    dup_or_null(rows[i].value, &copy[i].value) < 0 ||
                    dup_or_null(rows[i].origin, &copy[i].origin) < 0 ||
                    dup_or_null(rows[i].status, &copy[i].status) < 0) {
                        for (size_t j = 0; j <= i; j++)
                                sysctl_done(&copy[j]);
                        free(copy);
                        return -ENOMEM;
                }
        }
        daemon_state_clear_sysctls(s);
        s->sysctls = copy;
        s->n_sysctls = n;
        return 0;
}

const DaemonSysctl *daemon_state_find_sysctl(const DaemonState *s, const char *path) {
        for (size_t i = 0; i < s->n_sysctls; i++)
                if (streq(s->sysctls[i].path, path))
                        return &s->sysctls[i];
        return NULL;
}

static void put_escaped(FILE *f, const char *v) {
        for (const unsigned char *p = (const unsigned char *) strempty(v); *p; p++)
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p < ' ' || *p == 0x7f)
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* In place: the result is never longer. A bad escape or a raw control byte: -EBADMSG. */
static int unescape(char *v) {
        char *o = v;

        for (char *p = v; *p; p++) {
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return -EBADMSG;
                if (*p != '\\') {
                        *o++ = *p;
                        continue;
                }
                p++;
                if (*p == '\\')
                        *o++ = '\\';
                else if (*p == 't')
                        *o++ = '\t';
                else if (*p == 'n')
                        *o++ = '\n';
                else if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                        int c = hexval(p[1]) * 16 + hexval(p[2]);

                        if (c == 0)
                                return -EBADMSG;
                        *o++ = (char) c;
                        p += 2;
                } else
                        return -EBADMSG;
        }
        *o = '\0';
        return 0;
}

int daemon_state_format(const DaemonState *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "Version=1\nPid=%u\nStarted=%" PRIu64 "\nMode=", s->pid, s->started);
        put_escaped(f, s->mode);
        fprintf(f, "\nWarnPercent=%u\nCritPercent=%u\nHeals=%u\nRestores=%u\n",
                s->warn_percent, s->crit_percent, s->heals, s->restores);
        if (s->fingerprint) {
                fputs("Fingerprint=", f);
                put_escaped(f, s->fingerprint);
                fputc('\n', f);
        }
        if (s->config_main) {
                fputs("ConfigMain=", f);
                put_escaped(f, s->config_main);
                fputc('\n', f);
        }
        if (s->reload != DAEMON_RELOAD_NONE) {
                fprintf(f, "Reload=%" PRIu64 " %s\n", s->reload_time, daemon_reload_to_string(s->reload));
                if (s->reload_error) {
                        fputs("ReloadError=", f);
                        put_escaped(f, s->reload_error);
                        fputc('\n', f);
                }
        }
        for (size_t i = 0; i < s->n_sysctls; i++) {
                const DaemonSysctl *r = &s->sysctls[i];

                fputs("Sysctl=", f);
                put_escaped(f, r->path);
                fputc('\t', f);
                put_escaped(f, r->value);
                fputc('\t', f);
                put_escaped(f, r->origin);
                fprintf(f, "\t%s\t", r->owned ? "owned" : "followed");
                put_escaped(f, r->status);
                fputc('\n', f);
        }
        if (s->have_auto_raise)
                fprintf(f, "AutoRaise=%s\n", s->auto_raise ? "yes" : "no");
        if (s->memory_budget) {
                fputs("MemoryBudget=", f);
                put_escaped(f, s->memory_budget);
                fputc('\n', f);
        }
        if (s->budget.known)
                fprintf(f, "Budget=%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                        s->budget.bytes, s->budget.entry_bytes, s->budget.max, s->budget.buckets,
                        s->budget.used, s->budget.headroom, s->budget.headroom_entries);
        if (s->raise.time > 0)
                fprintf(f, "Raised=%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                        s->raise.time, s->raise.from_max, s->raise.to_max, s->raise.from_buckets,
                        s->raise.to_buckets);
        if (s->counters_error > 0)
                fprintf(f, "CountersError=%d\n", s->counters_error);
        for (size_t i = 0; i < s->n_events; i++) {
                const DaemonEvent *e = daemon_state_event(s, i);

                fprintf(f, "Event=%" PRIu64 " %s ", e->time, e->name);
                put_escaped(f, e->message);
                fputc('\n', f);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int take_string(char **dst, const char *v) {
        char *n = strdup(v);

        if (!n)
                return -ENOMEM;
        if (unescape(n) < 0) {
                free(n);
                return -EBADMSG;
        }
        free(*dst);
        *dst = n;
        return 0;
}

/* "PATH\tVALUE\tORIGIN\towned|followed\tSTATUS", appended to s. */
static int parse_sysctl(DaemonState *s, char *v) {
        char *f[5];
        DaemonSysctl *n;

        for (size_t i = 0; i < 5; i++) {
                f[i] = v;
                v = strchr(v, '\t');
                if ((i < 4) != !!v)
                        return -EBADMSG;
                if (v)
                        *v++ = '\0';
        }
        for (size_t i = 0; i < 5; i++)
                if (unescape(f[i]) < 0)
                        return -EBADMSG;
        if (!*f[0] || (!streq(f[3], "owned") && !streq(f[3], "followed")))
                return -EBADMSG;

        n = reallocarray(s->sysctls, s->n_sysctls + 1, sizeof(DaemonSysctl));
        if (!n)
                return -ENOMEM;
        s->sysctls = n;
        n = &n[s->n_sysctls];
        *n = (DaemonSysctl) { .owned = streq(f[3], "owned") };
        if (dup_or_null(f[0], &n->path) < 0 || dup_or_null(f[1], &n->value) < 0 ||
            dup_or_null(f[2], &n->origin) < 0 || dup_or_null(f[4], &n->status) < 0) {
                sysctl_done(n);
                return -ENOMEM;
        }
        s->n_sysctls++;
        return 0;
}

static int parse_u64(const char *v, uint64_t *ret) {
        char *end;

        if (*v < '0' || *v > '9')
                return -EBADMSG;
        errno = 0;
        unsigned long long u = strtoull(v, &end, 10);
        if (errno != 0 || *end)
                return -EBADMSG;
        *ret = u;
        return 0;
}

/* n numbers separated by one space each, nothing else. */
static int parse_u64_list(char *v, uint64_t *ret[], size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *sp = strchr(v, ' ');

                if ((i + 1 < n) != !!sp)
                        return -EBADMSG;
                if (sp)
                        *sp++ = '\0';
                if (parse_u64(v, ret[i]) < 0)
                        return -EBADMSG;
                v = sp;
        }
        return 0;
}

/* "Reload=TIME ok|rejected" */
static int parse_reload(DaemonState *s, char *v) {
        char *result = strchr(v, ' ');

        if (!result)
                return -EBADMSG;
        *result++ = '\0';
        if (parse_u64(v, &s->reload_time) < 0)
                return -EBADMSG;
        if (streq(result, "ok"))
                s->reload = DAEMON_RELOAD_OK;
        else if (streq(result, "rejected"))
                s->reload = DAEMON_RELOAD_REJECTED;
        else
                return -EBADMSG;
        return 0;
}

/* "Event=TIME NAME [MESSAGE]", the message escaped. */
static int parse_event(DaemonState *s, char *v) {
        char *name, *msg;
        uint64_t u;
        int r;

        name = strchr(v, ' ');
        if (!name)
                return -EBADMSG;
        *name++ = '\0';
        msg = strchr(name, ' ');
        if (msg)
                *msg++ = '\0';
        if (parse_u64(v, &u) < 0 || (msg && unescape(msg) < 0))
                return -EBADMSG;
        r = daemon_state_add_event(s, u, name, msg);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        return 0;
}

/* One "Key=value" line; unknown keys are ignored. */
static int parse_assignment(DaemonState *s, const char *key, char *v, bool *version) {
        uint64_t u;

        if (streq(key, "Version")) {
                if (!streq(v, "1"))
                        return -EPROTONOSUPPORT;
                *version = true;
        } else if (streq(key, "Pid") || streq(key, "Heals") || streq(key, "Restores") ||
                   streq(key, "WarnPercent") || streq(key, "CritPercent")) {
                if (parse_u64(v, &u) < 0 || u > UINT32_MAX)
                        return -EBADMSG;
                *(streq(key, "Pid") ? &s->pid : streq(key, "Heals") ? &s->heals :
                  streq(key, "Restores") ? &s->restores :
                  streq(key, "WarnPercent") ? &s->warn_percent : &s->crit_percent) = (unsigned) u;
        } else if (streq(key, "Started")) {
                if (parse_u64(v, &s->started) < 0)
                        return -EBADMSG;
        } else if (streq(key, "Mode") || streq(key, "Fingerprint") ||
                   streq(key, "ConfigMain") || streq(key, "ReloadError"))
                return take_string(streq(key, "Mode") ? &s->mode :
                                   streq(key, "Fingerprint") ? &s->fingerprint :
                                   streq(key, "ConfigMain") ? &s->config_main : &s->reload_error, v);
        else if (streq(key, "Reload"))
                return parse_reload(s, v);
        else if (streq(key, "AutoRaise")) {
                if (!streq(v, "yes") && !streq(v, "no"))
                        return -EBADMSG;
                s->have_auto_raise = true;
                s->auto_raise = streq(v, "yes");
        } else if (streq(key, "MemoryBudget"))
                return take_string(&s->memory_budget, v);
        else if (streq(key, "Budget")) {
                DaemonBudget *b = &s->budget;
                uint64_t *f[] = { &b->bytes, &b->entry_bytes, &b->max, &b->buckets,
                                  &b->used, &b->headroom, &b->headroom_entries };

                if (parse_u64_list(v, f, ELEMENTSOF(f)) < 0)
                        return -EBADMSG;
                b->known = true;
        } else if (streq(key, "CountersError")) {
                if (parse_u64(v, &u) < 0 || u == 0 || u > 4095)
                        return -EBADMSG;
                s->counters_error = (int) u;
        } else if (streq(key, "Raised")) {
                DaemonRaise *d = &s->raise;
                uint64_t *f[] = { &d->time, &d->from_max, &d->to_max, &d->from_buckets,
                                  &d->to_buckets };

                if (parse_u64_list(v, f, ELEMENTSOF(f)) < 0 || d->time == 0)
                        return -EBADMSG;
        }
        else if (streq(key, "Sysctl"))
                return parse_sysctl(s, v);
        else if (streq(key, "Event"))
                return parse_event(s, v);
        return 0;
}

int daemon_state_parse(const char *text, size_t size, DaemonState *ret) {
        _cleanup_(daemon_state_done) DaemonState s = {};
        const char *p = text, *end = text + size;
        bool version = false;
        int r;

        if (memchr(text, '\0', size))
                return -EBADMSG;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                _cleanup_free_ char *line = strndup(p, nl ? (size_t) (nl - p) : (size_t) (end - p));
                char *v;

                if (!line)
                        return -ENOMEM;
                p = nl ? nl + 1 : end;
                if (!*line)
                        continue;
                v = strchr(line, '=');
                if (!v)
                        return -EBADMSG;
                *v++ = '\0';

                r = parse_assignment(&s, line, v, &version);
                if (r < 0)
                        return r;
        }
        if (!version)
                return -EBADMSG;

        *ret = s;
        s = (DaemonState) {};
        return 0;
}

static int open_dir(const char *root, bool create) {
        _cleanup_free_ char *dir = NULL;
        int fd;

        /* Created with its parents: <root>/run may not exist below a --root that is not a
         * whole system. */
        if (create) {
                int r = hold_dir_create(root, &dir);

                if (r < 0)
                        return r;
        } else if (asprintf(&dir, "%s%s", strempty(root), DAEMON_STATE_DIR) < 0)
                return -ENOMEM;
        fd = open(dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY | O_NOFOLLOW);
        return fd < 0 ? negative_errno() : fd;
}

int daemon_state_save(const char *root, const DaemonState *s) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        size_t n, done = 0;
        int r;

        r = daemon_state_format(s, &text);
        if (r < 0)
                return r;
        dfd = open_dir(root, true);
        if (dfd < 0)
                return dfd;

        /* Whatever sits at the temporary name (a FIFO would block an open for writing) is
         * removed, and the file is created anew. */
        (void) unlinkat(dfd, DAEMON_STATE_FILE ".tmp", 0);
        fd = openat(dfd, DAEMON_STATE_FILE ".tmp",
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
        if (fd < 0)
                return negative_errno();
        /* 0644 whatever the umask (the unit's is 0077): every reader may read it. */
        if (fchmod(fd, 0644) < 0) {
                r = negative_errno();
                (void) unlinkat(dfd, DAEMON_STATE_FILE ".tmp", 0);
                return r;
        }
        n = strlen(text);
        while (done < n) {
                ssize_t k = write(fd, text + done, n - done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        (void) unlinkat(dfd, DAEMON_STATE_FILE ".tmp", 0);
                        return r;
                }
                done += (size_t) k;
        }
        /* /run is a tmpfs: no fsync; the rename alone makes the update atomic for readers. */
        if (renameat(dfd, DAEMON_STATE_FILE ".tmp", dfd, DAEMON_STATE_FILE) < 0) {
                r = negative_errno();
                (void) unlinkat(dfd, DAEMON_STATE_FILE ".tmp", 0);
                return r;
        }
        return 0;
}

int daemon_state_load(const char *root, DaemonState *ret) {
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n;
        int r;

        dfd = open_dir(root, false);
        if (dfd < 0)
                return dfd;
        r = run_file_read(dfd, DAEMON_STATE_FILE, DAEMON_STATE_SIZE_MAX, &buf, &n);
        if (r < 0)
                return r;
        return daemon_state_parse(buf, n, ret);
}

static int open_lock(const char *root, bool create) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        struct stat st;

        dfd = open_dir(root, create);
        if (dfd < 0)
                return dfd;
        /* Readers open it read-only: flock(2) needs no write access, and anyone may probe. */
        if (!create)
                return run_file_open(dfd, DAEMON_LOCK_FILE);

        fd = openat(dfd, DAEMON_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((st.st_mode & 07777) != 0644 && fchmod(fd, 0644) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

int daemon_lock_take(const char *root) {
        _cleanup_close_ int fd = -EBADF;

        fd = open_lock(root, true);
        if (fd < 0)
                return fd;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        return TAKE_FD(fd);
}

int daemon_lock_probe(const char *root) {
        _cleanup_close_ int fd = -EBADF;

        fd = open_lock(root, false);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? 1 : negative_errno();
        return 0;
}

/* FNV-1a, 64 bits: enough to tell that files changed, which is all it is for. */
static void fnv(uint64_t *h, const void *data, size_t n) {
        for (const unsigned char *p = data; n > 0; n--, p++) {
                *h ^= *p;
                *h *= UINT64_C(0x100000001b3);
        }
}

int daemon_config_fingerprint(const char *root, const char *main_override, char **ret) {
        _cleanup_(conf_file_list_done) ConfFileList l = {};
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        int r;

        r = conf_files_list(root, main_override, &l);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_free_ char *data = NULL;
                size_t size = 0;
                int k = l.items[i].error;

                fnv(&h, l.items[i].path, strlen(l.items[i].path) + 1);
                if (k == 0)
                        k = conf_file_read(l.items[i].path, DAEMON_STATE_SIZE_MAX, &data, &size);
                if (k == -ENOMEM)
                        return k;
                /* A file that cannot be read counts by why not: fixing it changes the hash. */
                if (k < 0)
                        fnv(&h, &k, sizeof(k));
                else
                        fnv(&h, data, size);
                fnv(&h, "", 1);
        }
        return asprintf(ret, "%016" PRIx64, h) < 0 ? -ENOMEM : 0;
}
