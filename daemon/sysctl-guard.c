/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <time.h>

#include "time-util.h"
#include "log.h"
#include "sysctl-guard.h"
#include "sysctl-key.h"
#include "sysctl-policy.h"
#include "sysctl.h"

/* How often sysctl_guard_apply_all() looks for files that are not there yet. */
#define APPLY_CHECK_INTERVAL (10 * USEC_PER_MSEC)

typedef struct SysctlEntry {
        char *path;             /* normalised: "net/netfilter/nf_conntrack_max" */
        char *key;              /* as people write it: "net.netfilter.nf_conntrack_max" */
        char *desired;
        char *origin;
        SysctlKeyState state;
        int wd;                 /* inotify watch, or -1 */
        bool dirty;             /* the watch fired */
        bool pending;           /* sysctl_guard_apply_all() still waits for it */
        bool probed;            /* opened for writing once, to find a read-only key early */
} SysctlEntry;

struct SysctlGuard {
        char *sysctl_root;
        int root_fd;

        GuardMode mode;
        bool held;
        bool changed;           /* since the last tick */

        SysctlEntry *entries;
        size_t n_entries;
        /* Restores and fights of the entries a reload replaced: the counts are since start. */
        unsigned long restores_retired, fights_retired;

        int inotify_fd;
        sd_event_source *inotify_source;
};

static void entries_free(SysctlGuard *g, SysctlEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (entries[i].wd >= 0 && g->inotify_fd >= 0)
                        (void) inotify_rm_watch(g->inotify_fd, entries[i].wd);
                free(entries[i].path);
                free(entries[i].key);
                free(entries[i].desired);
                free(entries[i].origin);
        }
        free(entries);
}

SysctlGuard *sysctl_guard_free(SysctlGuard *g) {
        if (!g)
                return NULL;
        entries_free(g, g->entries, g->n_entries);
        sd_event_source_disable_unref(g->inotify_source);
        safe_close(g->inotify_fd);
        safe_close(g->root_fd);
        free(g->sysctl_root);
        free(g);
        return NULL;
}

/* ---- reporting ---- */

typedef struct Fields {
        char *s[8];
        size_t n;
} Fields;

static void fields_done(Fields *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->s[i]);
}

static _printf_(2, 3) void fields_add(Fields *f, const char *format, ...) {
        va_list ap;

        /* One slot stays NULL to end the list. */
        if (f->n >= ELEMENTSOF(f->s) - 1)
                return;
        va_start(ap, format);
        if (vasprintf(&f->s[f->n], format, ap) >= 0)
                f->n++;
        va_end(ap);
}

/* An event about one key: CTGUARD_KEY= and CTGUARD_NEW= always, CTGUARD_OLD= when something
 * was read, CTGUARD_ERRNO= for failures; the caller may add more before. */
static _printf_(7, 8) void report(int level, const char *event, const SysctlEntry *e,
                                  const char *old, int error, Fields *f, const char *format,
                                  ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        fields_add(f, "CTGUARD_KEY=%s", e->key);
        if (old)
                fields_add(f, "CTGUARD_OLD=%s", old);
        fields_add(f, "CTGUARD_NEW=%s", e->desired);
        if (error > 0)
                fields_add(f, "CTGUARD_ERRNO=%d", error);

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                message = NULL;

        log_event(level, event, (const char * const *) f->s, "%s",
                  message ?: "(out of memory formatting the message)");
}

static void report_decision(SysctlGuard *g, const SysctlEntry *e, SysctlAction a,
                            const char *old, const char *readback) {
        _cleanup_(fields_done) Fields f = {};
        char window[FORMAT_TIMESPAN_MAX], retry[FORMAT_TIMESPAN_MAX];
        int error = e->state.error;

        format_timespan(window, sizeof(window), SYSCTL_FIGHT_WINDOW);
        format_timespan(retry, sizeof(retry), SYSCTL_RETRY_INTERVAL);

        switch (a) {
        case SYSCTL_ACTION_REPORT_RESTORED:
                report(LOG_NOTICE, "sysctl-restored", e, old, 0, &f,
                       "Restored %s: %s -> %s (%s).", e->key, old, e->desired, e->origin);
                break;

        case SYSCTL_ACTION_REPORT_DRIFT:
                report(LOG_WARNING, "sysctl-drift", e, old, 0, &f,
                       "%s is %s, configured %s (%s); not restoring: %s.", e->key, old,
                       e->desired, e->origin,
                       g->mode == GUARD_MODE_MONITOR ? "Mode=monitor" : "held for maintenance");
                break;

        case SYSCTL_ACTION_REPORT_UNAVAILABLE:
                report(LOG_NOTICE, "sysctl-unavailable", e, NULL, 0, &f,
                       "%s does not exist on this kernel (its module may not be loaded); "
                       "it will be set to %s when it appears.", e->key, e->desired);
                break;

        case SYSCTL_ACTION_REPORT_READ_FAILED:
                fields_add(&f, "CTGUARD_OP=read");
                report(LOG_WARNING, "sysctl-failed", e, NULL, error, &f,
                       "Failed to read %s: %s; will keep looking.", e->key, strerror(error));
                break;

        case SYSCTL_ACTION_REPORT_FIGHT:
                fields_add(&f, "CTGUARD_RESTORES=%u", SYSCTL_FIGHT_BURST);
                fields_add(&f, "CTGUARD_WINDOW=%s", window);
                report(LOG_WARNING, "sysctl-fight", e, old, 0, &f,
                       "%s keeps changing: set to %s again after %u restores to %s within %s "
                       "(%lu restores in total). Something else sets it; leaving it alone for "
                       "%s or until the configuration is reloaded.", e->key, old,
                       SYSCTL_FIGHT_BURST, e->desired, window, e->state.restores_total, window);
                break;

        case SYSCTL_ACTION_REPORT_READONLY:
                fields_add(&f, "CTGUARD_REASON=%s", strerror(error));
                report(LOG_WARNING, "sysctl-readonly", e, old, error, &f,
                       "%s is read-only here (%s); it stays %s instead of %s (%s). Not "
                       "retrying until the configuration is reloaded.", e->key, strerror(error),
                       strempty(old), e->desired, e->origin);
                break;

        case SYSCTL_ACTION_REPORT_FAILED:
                fields_add(&f, "CTGUARD_OP=write");
                if (error == EBADMSG) {
                        fields_add(&f, "CTGUARD_READBACK=%s", strempty(readback));
                        report(LOG_WARNING, "sysctl-failed", e, old, error, &f,
                               "Wrote %s to %s, but it reads back as %s (the kernel clamps or "
                               "reinterprets this value); retrying every %s.", e->desired,
                               e->key, strempty(readback), retry);
                } else
                        report(LOG_WARNING, "sysctl-failed", e, old, error, &f,
                               "Failed to restore %s from %s to %s: %s; retrying every %s.",
                               e->key, strempty(old), e->desired, strerror(error), retry);
                break;

        default:
                break;
        }
}

/* ---- watches ---- */

static void watch_drop(SysctlGuard *g, SysctlEntry *e) {
        if (e->wd < 0)
                return;
        (void) inotify_rm_watch(g->inotify_fd, e->wd);
        e->wd = -1;
}

/* Watches the file behind fd, the very one that was opened beneath the root: going through
 * /proc/self/fd keeps inotify from resolving the path on its own, symlinks and all. Adding a
 * watch on an inode already watched returns the same descriptor, so rearm is cheap; it matters
 * after a module reload, when the key is a new inode and the old watch sits on a dead one. */
static void watch_arm(SysctlGuard *g, SysctlEntry *e, int fd, bool rearm) {
        char p[sizeof("/proc/self/fd/") + 12];
        int wd;

        if (g->inotify_fd < 0 || (e->wd >= 0 && !rearm))
                return;

        (void) snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        wd = inotify_add_watch(g->inotify_fd, p, IN_MODIFY);
        if (wd < 0) {
                /* Out of watches (fs.inotify.max_user_watches): the ticks still see changes. */
                log_debug_errno(errno, "Failed to watch %s, relying on polling: %m", e->key);
                return;
        }
        if (e->wd >= 0 && e->wd != wd)
                (void) inotify_rm_watch(g->inotify_fd, e->wd);
        e->wd = wd;
}

/* ---- one look at one key ---- */

static void entry_check(SysctlGuard *g, SysctlEntry *e, usec_t now, bool rearm) {
        _cleanup_free_ char *value = NULL, *readback = NULL;
        _cleanup_close_ int fd = -EBADF;
        SysctlPolicyInput in = { .mode = g->mode, .held = g->held };
        SysctlKeyStatus before = e->state.status;
        SysctlDecision d;
        SysctlAction a;
        int r;

        if (g->root_fd < 0)
                g->root_fd = sysctl_root_open(g->sysctl_root);
        r = g->root_fd < 0 ? g->root_fd : sysctl_open_at(g->root_fd, e->path, O_RDONLY);
        if (r >= 0) {
                fd = r;
                watch_arm(g, e, fd, rearm);
                r = sysctl_read_fd(fd, &value);
        } else if (r == -ENOENT || r == -ENOTDIR)
                watch_drop(g, e);

        d = sysctl_policy_observe(&in, &e->state, r, value, e->desired, now);
        if (d.appeared) {
                _cleanup_(fields_done) Fields f = {};

                report(LOG_INFO, "sysctl-available", e, value, 0, &f, "%s appeared.", e->key);
        }
        if (d.fight_over)
                log_info("The fight window for %s has passed; guarding it again.", e->key);

        a = d.action;
        if (a == SYSCTL_ACTION_NONE && r >= 0 && !e->probed && g->mode == GUARD_MODE_ENFORCE) {
                /* Opening for writing writes nothing, but fails as a write would: a sandbox
                 * that mounts the key read-only (ReadWritePaths= missing it) or a namespace's
                 * read-only nf_conntrack_max is reported now, not when it drifts one day. */
                int w = sysctl_open_at(g->root_fd, e->path, O_WRONLY);

                e->probed = true;
                if (w >= 0)
                        safe_close(w);
                else if (sysctl_error_is_readonly(w))
                        a = sysctl_policy_written(&e->state, w, now);
        }
        if (a == SYSCTL_ACTION_RESTORE) {
                r = sysctl_write_verified_at(g->root_fd, e->path, e->desired, &readback);
                a = sysctl_policy_written(&e->state, r, now);
        }
        if (a != SYSCTL_ACTION_NONE) {
                report_decision(g, e, a, value, readback);
                g->changed = true;
        }
        if (e->state.status != before)
                g->changed = true;
}

int sysctl_guard_tick(SysctlGuard *g, usec_t now) {
        bool changed;

        if (!g)
                return 0;

        for (size_t i = 0; i < g->n_entries; i++)
                entry_check(g, &g->entries[i], now, false);

        changed = g->changed;
        g->changed = false;
        return changed;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        SysctlGuard *g = userdata;
        bool any = false;

        for (;;) {
                union {
                        struct inotify_event ev;
                        char buf[4096];
                } u;
                ssize_t n;

                n = read(fd, &u, sizeof(u));
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        /* Returning the error turns this source off; the ticks carry on. */
                        return log_warning_errno(errno, "Failed to read sysctl watch events, "
                                                 "relying on polling from now on: %m");
                }
                if (n == 0)
                        break;

                for (char *p = u.buf; p < u.buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        p += sizeof(struct inotify_event) + ev->len;
                        for (size_t i = 0; i < g->n_entries; i++) {
                                SysctlEntry *e = &g->entries[i];

                                /* A lost event could be any key's. */
                                if (ev->mask & IN_Q_OVERFLOW)
                                        e->dirty = any = true;
                                else if (e->wd == ev->wd) {
                                        if (ev->mask & IN_IGNORED)
                                                e->wd = -1;
                                        else
                                                e->dirty = any = true;
                                }
                        }
                }
        }

        if (!any)
                return 0;

        /* Our own restores fire the watch too; the look that follows finds the value right and
         * does nothing. */
        usec_t now = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < g->n_entries; i++)
                if (g->entries[i].dirty) {
                        g->entries[i].dirty = false;
                        entry_check(g, &g->entries[i], now, false);
                }
        return 0;
}

/* ---- configuration ---- */

static int entries_build(const Config *c, SysctlEntry **ret, size_t *ret_n) {
        SysctlEntry *entries;
        size_t n = 0;
        int r;

        entries = calloc(MAX(c->n_sysctls, 1u), sizeof(SysctlEntry));
        if (!entries)
                return -ENOMEM;

        for (size_t i = 0; i < c->n_sysctls; i++) {
                const SysctlSetting *s = &c->sysctls[i];
                SysctlEntry *e = &entries[n];

                /* The configuration checked this already; the guard does not rely on it. */
                r = sysctl_path_check(s->path);
                if (r < 0) {
                        log_error_errno(r, "Refusing to guard sysctl '%s' (%s): %m", s->path,
                                        strempty(s->origin));
                        continue;
                }

                *e = (SysctlEntry) {
                        .path = strdup(s->path),
                        .key = sysctl_path_to_key(s->path),
                        .desired = strdup(s->value),
                        .origin = strdup(strempty(s->origin)),
                        .wd = -1,
                };
                sysctl_key_state_init(&e->state);
                n++;
                if (!e->path || !e->key || !e->desired || !e->origin) {
                        for (size_t j = 0; j < n; j++) {
                                free(entries[j].path);
                                free(entries[j].key);
                                free(entries[j].desired);
                                free(entries[j].origin);
                        }
                        free(entries);
                        return -ENOMEM;
                }
        }

        *ret = entries;
        *ret_n = n;
        return 0;
}

int sysctl_guard_set_config(SysctlGuard *g, const Config *c) {
        SysctlEntry *entries;
        size_t n;
        int r;

        r = entries_build(c, &entries, &n);
        if (r < 0)
                return r;

        /* A key guarded before and after keeps its watch: without it, a change right after a
         * reload would wait for the next tick. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < g->n_entries; j++)
                        if (g->entries[j].wd >= 0 && streq(entries[i].path, g->entries[j].path)) {
                                entries[i].wd = g->entries[j].wd;
                                g->entries[j].wd = -1;
                                break;
                        }

        for (size_t j = 0; j < g->n_entries; j++) {
                g->restores_retired += g->entries[j].state.restores_total;
                g->fights_retired += g->entries[j].state.fights_total;
        }
        entries_free(g, g->entries, g->n_entries);
        g->entries = entries;
        g->n_entries = n;
        g->mode = c->mode;
        g->changed = true;
        return 0;
}

int sysctl_guard_new(const char *sysctl_root, sd_event *event, const Config *c,
                     SysctlGuard **ret) {
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        const char *w;
        int r;

        g = calloc(1, sizeof(SysctlGuard));
        if (!g)
                return -ENOMEM;
        g->root_fd = -EBADF;
        g->inotify_fd = -EBADF;
        g->sysctl_root = strdup(sysctl_root);
        if (!g->sysctl_root)
                return -ENOMEM;

        r = sysctl_guard_set_config(g, c);
        if (r < 0)
                return r;

        /* Opened now and kept: the root does not move, and the tick saves a lookup per key. A
         * root missing now is looked for again at each tick. */
        g->root_fd = sysctl_root_open(g->sysctl_root);

        w = getenv("CTGUARD_SYSCTL_WATCH");
        if (event && !(w && parse_boolean(w) == 0)) {
                g->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (g->inotify_fd < 0)
                        log_warning_errno(errno, "Failed to set up sysctl watches, relying on "
                                          "polling alone: %m");
                else {
                        r = sd_event_add_io(event, &g->inotify_source, g->inotify_fd, EPOLLIN,
                                            on_inotify, g);
                        if (r < 0)
                                return r;
                }
        }

        *ret = TAKE_PTR(g);
        return 0;
}

void sysctl_guard_set_held(SysctlGuard *g, bool held) {
        g->held = held;
}

int sysctl_guard_apply_all(SysctlGuard *g, usec_t deadline) {
        size_t waiting, missed = 0;

        for (size_t i = 0; i < g->n_entries; i++) {
                sysctl_key_state_module_reloaded(&g->entries[i].state);
                g->entries[i].pending = true;
        }

        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                bool last = now >= deadline;

                if (g->root_fd < 0)
                        g->root_fd = sysctl_root_open(g->sysctl_root);

                waiting = 0;
                for (size_t i = 0; i < g->n_entries; i++) {
                        SysctlEntry *e = &g->entries[i];
                        _cleanup_close_ int fd = -EBADF;

                        if (!e->pending)
                                continue;

                        if (g->root_fd >= 0)
                                fd = sysctl_open_at(g->root_fd, e->path, O_PATH);
                        if (fd < 0 && e->state.seen) {
                                if (!last) {
                                        waiting++;
                                        continue;
                                }
                                missed++;
                        }

                        /* Here, never seen, or out of time: one look settles it, reporting it
                         * unavailable if need be. */
                        e->pending = false;
                        entry_check(g, e, now, true);
                }

                if (waiting == 0)
                        return missed > 0 ? -ETIMEDOUT : 0;

                /* procfs offers nothing to wait on for a file to appear: look again shortly. */
                usec_t t = now_usec(CLOCK_MONOTONIC);
                if (t < deadline) {
                        usec_t nap = MIN(deadline - t, APPLY_CHECK_INTERVAL);
                        struct timespec ts = {
                                .tv_sec = (time_t) (nap / USEC_PER_SEC),
                                .tv_nsec = (long) (nap % USEC_PER_SEC) * 1000,
                        };
                        (void) nanosleep(&ts, NULL);
                }
        }
}

int sysctl_guard_desired_hashsize(const SysctlGuard *g, unsigned *ret) {
        for (size_t i = 0; i < g->n_entries; i++)
                if (streq(g->entries[i].path, "net/netfilter/nf_conntrack_buckets"))
                        return sysctl_policy_parse_hashsize(g->entries[i].desired, ret);
        return -ENOENT;
}

void sysctl_guard_counts(const SysctlGuard *g, SysctlGuardCounts *ret) {
        SysctlGuardCounts c = {
                .guarded = g->n_entries,
                .restores = g->restores_retired,
                .fights = g->fights_retired,
        };

        for (size_t i = 0; i < g->n_entries; i++) {
                const SysctlKeyState *s = &g->entries[i].state;

                switch (s->status) {
                case SYSCTL_KEY_OK:
                        c.ok++;
                        break;
                case SYSCTL_KEY_DRIFTED:
                        c.drifted++;
                        break;
                case SYSCTL_KEY_UNAVAILABLE:
                        c.unavailable++;
                        break;
                case SYSCTL_KEY_READONLY:
                        c.readonly++;
                        break;
                case SYSCTL_KEY_READ_FAILED:
                case SYSCTL_KEY_FAILED:
                        c.failed++;
                        break;
                case SYSCTL_KEY_FIGHT:
                        c.fighting++;
                        break;
                default:
                        break;
                }
                c.restores += s->restores_total;
                c.fights += s->fights_total;
        }
        *ret = c;
}
