/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <inttypes.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "daemon-state.h"
#include "macro.h"

static void event_done(DaemonEvent *e) {
        free(e->name);
        free(e->message);
        *e = (DaemonEvent) {};
}

void daemon_state_clear_desired(DaemonState *s) {
        for (size_t i = 0; i < s->n_desired; i++) {
                free(s->desired[i].path);
                free(s->desired[i].value);
        }
        free(s->desired);
        s->desired = NULL;
        s->n_desired = 0;
}

void daemon_state_done(DaemonState *s) {
        free(s->mode);
        daemon_state_clear_desired(s);
        for (size_t i = 0; i < DAEMON_STATE_EVENTS_MAX; i++)
                event_done(&s->events[i]);
        *s = (DaemonState) {};
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

int daemon_state_set_desired(DaemonState *s, const char *path, const char *value) {
        DaemonDesired *n;

        if (!*path || strchr(path, '=') || strpbrk(path, "\n") || strpbrk(value, "\n"))
                return -EINVAL;
        for (size_t i = 0; i < s->n_desired; i++)
                if (streq(s->desired[i].path, path)) {
                        char *v = strdup(value);

                        if (!v)
                                return -ENOMEM;
                        free(s->desired[i].value);
                        s->desired[i].value = v;
                        return 0;
                }

        n = reallocarray(s->desired, s->n_desired + 1, sizeof(DaemonDesired));
        if (!n)
                return -ENOMEM;
        s->desired = n;
        n[s->n_desired] = (DaemonDesired) { .path = strdup(path), .value = strdup(value) };
        if (!n[s->n_desired].path || !n[s->n_desired].value) {
                free(n[s->n_desired].path);
                free(n[s->n_desired].value);
                return -ENOMEM;
        }
        s->n_desired++;
        return 0;
}

int daemon_state_format(const DaemonState *s, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "Version=1\nPid=%u\nStarted=%" PRIu64 "\nMode=%s\nHeals=%u\nRestores=%u\n",
                s->pid, s->started, strempty(s->mode), s->heals, s->restores);
        for (size_t i = 0; i < s->n_desired; i++)
                fprintf(f, "Desired=%s=%s\n", s->desired[i].path, s->desired[i].value);
        for (size_t i = 0; i < s->n_events; i++) {
                const DaemonEvent *e = daemon_state_event(s, i);

                fprintf(f, "Event=%" PRIu64 " %s %s\n", e->time, e->name, e->message);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
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
                uint64_t u;
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

                if (streq(line, "Version")) {
                        if (!streq(v, "1"))
                                return -EPROTONOSUPPORT;
                        version = true;
                } else if (streq(line, "Pid") || streq(line, "Heals") || streq(line, "Restores")) {
                        if (parse_u64(v, &u) < 0 || u > UINT32_MAX)
                                return -EBADMSG;
                        *(streq(line, "Pid") ? &s.pid : streq(line, "Heals") ? &s.heals : &s.restores) =
                                (unsigned) u;
                } else if (streq(line, "Started")) {
                        if (parse_u64(v, &s.started) < 0)
                                return -EBADMSG;
                } else if (streq(line, "Mode")) {
                        free(s.mode);
                        s.mode = strdup(v);
                        if (!s.mode)
                                return -ENOMEM;
                } else if (streq(line, "Desired")) {
                        char *val = strchr(v, '=');

                        if (!val)
                                return -EBADMSG;
                        *val++ = '\0';
                        r = daemon_state_set_desired(&s, v, val);
                        if (r < 0)
                                return r == -ENOMEM ? r : -EBADMSG;
                } else if (streq(line, "Event")) {
                        char *name, *msg;

                        name = strchr(v, ' ');
                        if (!name)
                                return -EBADMSG;
                        *name++ = '\0';
                        msg = strchr(name, ' ');
                        if (msg)
                                *msg++ = '\0';
                        if (parse_u64(v, &u) < 0)
                                return -EBADMSG;
                        r = daemon_state_add_event(&s, u, name, msg);
                        if (r < 0)
                                return r == -ENOMEM ? r : -EBADMSG;
                }
                /* Unknown keys: ignored. */
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
        fd = open(dir, O_DIRECTORY | O_CLOEXEC | O_RDONLY);
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

        fd = openat(dfd, DAEMON_STATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
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
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;

        dfd = open_dir(root, false);
        if (dfd < 0)
                return dfd;
        fd = openat(dfd, DAEMON_STATE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();

        buf = malloc(DAEMON_STATE_SIZE_MAX);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, DAEMON_STATE_SIZE_MAX - n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n >= DAEMON_STATE_SIZE_MAX)
                        return -EFBIG;
        }
        return daemon_state_parse(buf, n, ret);
}

static int open_lock(const char *root, bool create) {
        _cleanup_close_ int dfd = -EBADF;
        int fd;

        dfd = open_dir(root, create);
        if (dfd < 0)
                return dfd;
        fd = openat(dfd, DAEMON_LOCK_FILE,
                    O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
        return fd < 0 ? negative_errno() : fd;
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
