/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <sys/stat.h>

#include "hold.h"
#include "macro.h"
#include "run-file.h"

void hold_done(Hold *h) {
        if (!h)
                return;
        free(h->reason);
        *h = (Hold) {};
}

bool hold_reason_valid(const char *reason) {
        size_t n;

        if (!reason)
                return true;
        n = strlen(reason);
        if (n > HOLD_REASON_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) reason[i];

                /* Bytes >= 0x80 are let through: a reason may be written in any language. */
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

static int parse_usec(const char *s, usec_t *ret) {
        usec_t v = 0;

        if (streq(s, "infinity")) {
                *ret = USEC_INFINITY;
                return 0;
        }
        if (!*s)
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                if (v > (USEC_INFINITY - 1 - (usec_t) (*s - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (usec_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

int hold_parse(const char *text, size_t size, Hold *ret) {
        _cleanup_free_ char *copy = NULL, *reason = NULL;
        bool have_state = false, have_since = false, have_until = false, held = false;
        clockid_t clock = CLOCK_REALTIME;       /* no Clock=: an older ctguard's file */
        usec_t since = 0, until = 0;
        char *line, *next;

        if (size > HOLD_FILE_SIZE_MAX || memchr(text, '\0', size))
                return -EBADMSG;
        copy = strndup(text, size);
        if (!copy)
                return -ENOMEM;

        for (line = copy; line && *line; line = next) {
                char *eq;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (*line == '#' || *line == '\0')
                        continue;
                eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = '\0';

                if (streq(line, "State")) {
                        if (streq(eq + 1, "held"))
                                held = true;
                        else if (streq(eq + 1, "released"))
                                held = false;
                        else
                                return -EBADMSG;
                        have_state = true;
                } else if (streq(line, "Clock")) {
                        if (streq(eq + 1, "boottime"))
                                clock = CLOCK_BOOTTIME;
                        else if (streq(eq + 1, "realtime"))
                                clock = CLOCK_REALTIME;
                        else
                                return -EBADMSG;
                } else if (streq(line, "Since")) {
                        if (parse_usec(eq + 1, &since) < 0 || since == USEC_INFINITY)
                                return -EBADMSG;
                        have_since = true;
                } else if (streq(line, "Until")) {
                        if (parse_usec(eq + 1, &until) < 0)
                                return -EBADMSG;
                        have_until = true;
                } else if (streq(line, "Reason")) {
                        if (!hold_reason_valid(eq + 1))
                                return -EBADMSG;
                        free(reason);
                        reason = strdup(eq + 1);
                        if (!reason)
                                return -ENOMEM;
                }
        }

        if (!have_state || !have_since || (held && !have_until))
                return -EBADMSG;

        *ret = (Hold) {
                .held = held,
                .clock = clock,
                .since = since,
                .until = held ? until : 0,
                .reason = held && reason && *reason ? TAKE_PTR(reason) : NULL,
        };
        return 0;
}

int hold_format(const Hold *h, char **ret) {
        const char *clock;
        char until[32];
        int n;

        if (!hold_reason_valid(h->reason) || h->since == USEC_INFINITY)
                return -EINVAL;
        if (h->clock == CLOCK_BOOTTIME)
                clock = "Clock=boottime\n";
        else if (h->clock == CLOCK_REALTIME)
                clock = "";
        else
                return -EINVAL;

        if (!h->held) {
                n = asprintf(ret, "# ctguard maintenance hold, see ctguard(8)\n"
                             "State=released\n%sSince=%llu\n", clock, (unsigned long long) h->since);
                return n < 0 ? -ENOMEM : 0;
        }

        if (h->until == USEC_INFINITY)
                snprintf(until, sizeof(until), "infinity");
        else
                snprintf(until, sizeof(until), "%llu", (unsigned long long) h->until);
        n = asprintf(ret, "# ctguard maintenance hold, see ctguard(8)\n"
                     "State=held\n%sSince=%llu\nUntil=%s\n%s%s%s",
                     clock, (unsigned long long) h->since, until,
                     h->reason ? "Reason=" : "", strempty(h->reason), h->reason ? "\n" : "");
        return n < 0 ? -ENOMEM : 0;
}

char *hold_path(const char *root) {
        char *p;

        if (asprintf(&p, "%s/" HOLD_DIR "/" HOLD_FILE, strempty(root)) < 0)
                return NULL;
        return p;
}

int hold_load(const char *root, Hold *ret) {
        _cleanup_free_ char *path = hold_path(root), *buf = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = run_file_read(AT_FDCWD, path, HOLD_FILE_SIZE_MAX, &buf, &size);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        return hold_parse(buf, size, ret);
}

Hold hold_make(bool held, usec_t duration, const char *reason, ClockFunc now) {
        usec_t t = now(HOLD_CLOCK);

        if (!held)
                return (Hold) { .clock = HOLD_CLOCK, .since = t };
        return (Hold) {
                .held = true,
                .clock = HOLD_CLOCK,
                .since = t,
                .until = duration == USEC_INFINITY || duration >= USEC_INFINITY - t ?
                         USEC_INFINITY : t + duration,
                .reason = (char *) reason,
        };
}

usec_t hold_clock_now(const Hold *h, ClockFunc now) {
        return now(h ? h->clock : HOLD_CLOCK);
}

bool hold_in_force(const Hold *h, ClockFunc now) {
        return h && h->held && hold_clock_now(h, now) < h->until;
}

usec_t hold_wallclock(const Hold *h, usec_t t, ClockFunc now) {
        usec_t n, wall;

        if (t == USEC_INFINITY || h->clock == CLOCK_REALTIME)
                return t;
        n = now(h->clock);
        wall = now(CLOCK_REALTIME);
        return t >= n ? wall + (t - n) : (n - t > wall ? 0 : wall - (n - t));
}

static int mkdir_p(const char *root, const char *rel) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", strempty(root), rel) < 0)
                return -ENOMEM;
        for (char *p = path + strlen(strempty(root)) + 1; ; p++) {
                bool end = *p == '\0';

                if (*p != '/' && !end)
                        continue;
                *p = '\0';
                if (mkdir(path, 0755) >= 0) {
                        /* The unit's UMask=0077 would make it 0700: readers are anyone. */
                        if (chmod(path, 0755) < 0)
                                return negative_errno();
                } else if (errno != EEXIST)
                        return negative_errno();
                if (end)
                        return 0;
                *p = '/';
        }
}

int hold_dir_create(const char *root, char **ret_path) {
        char *p;
        int r;

        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        r = mkdir_p(root, HOLD_DIR);
        if (r < 0)
                return r;
        if (asprintf(&p, "%s/" HOLD_DIR, strempty(root)) < 0)
                return -ENOMEM;
        /* Not a symlink to elsewhere; and one an older ctguard made 0700 under the unit's umask
         * is opened up, so that "ctguard status" works for anyone. */
        fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = negative_errno();
                free(p);
                return r;
        }
        if (st.st_uid == geteuid() && (st.st_mode & 07777) != 0755)
                (void) fchmod(fd, 0755);
        *ret_path = p;
        return 0;
}

int hold_save(const char *root, const Hold *h) {
        _cleanup_free_ char *text = NULL, *path = NULL, *tmp = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len, done = 0;
        int r;

        r = hold_format(h, &text);
        if (r < 0)
                return r;
        path = hold_path(root);
        if (!path || asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;

        r = hold_dir_create(root, &dir);
        if (r < 0)
                return r;

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        len = strlen(text);
        while (done < len) {
                ssize_t n = write(fd, text + done, len - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                done += (size_t) n;
        }
        /* Readable by everyone: "ctguard status" and monitoring may show the reason. */
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        return 0;

fail:
        (void) unlink(tmp);
        return r;
}
