/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <time.h>

#include "time-util.h"
#include "log.h"
#include "log-fields.h"
#include "sysctl-guard.h"
#include "sysctl-key.h"
#include "sysctl-policy.h"
#include "strv.h"
#include "sysctl.h"

/* How often sysctl_guard_apply_all() looks for files that are not there yet. */
#define APPLY_CHECK_INTERVAL (10 * USEC_PER_MSEC)

typedef struct SysctlEntry {
        char *path;             /* normalised: "net/netfilter/nf_conntrack_max" */
        char *key;              /* as people write it: "net.netfilter.nf_conntrack_max" */
        char *desired;          /* owned: the configured value; followed: the value kept, NULL
                                 * until the key was seen */
        char *origin;           /* owned: "FILE:LINE"; followed: "followed" */
        SysctlKeyState state;
        int wd;                 /* inotify watch, or -1 */
        bool dirty;             /* the watch fired */
        bool pending;           /* sysctl_guard_apply_all() still waits for it */
        bool probed;            /* opened for writing once, to find a read-only key early */
        bool raised;            /* desired is AutoRaise's value (sysctl_guard_raise()) */
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

        void (*nap)(usec_t usec, void *userdata);
        void *nap_userdata;
};

static void entry_done(SysctlEntry *e);
static int followed_refresh(SysctlGuard *g);
static bool followed_any(const SysctlGuard *g);

static void entries_free(SysctlGuard *g, SysctlEntry *entries, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (entries[i].wd >= 0 && g->inotify_fd >= 0)
                        (void) inotify_rm_watch(g->inotify_fd, entries[i].wd);
                entry_done(&entries[i]);
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

/* An event about one key: CTGUARD_KEY= and CTGUARD_NEW= always, CTGUARD_OLD= when something
 * was read, CTGUARD_ERRNO= for failures; the caller may add more before. */
static _printf_(6, 7) void report(EventId event, const SysctlEntry *e, const char *old,
                                  int error, Fields *f, const char *format, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        fields_add(f, "CTGUARD_KEY=%s", e->key);
        if (old)
                fields_add(f, "CTGUARD_OLD=%s", old);
        fields_add(f, "CTGUARD_NEW=%s", strempty(e->desired));
        if (error > 0)
                fields_add(f, "CTGUARD_ERRNO=%d", error);

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0)
                message = NULL;

        log_event(event, (const char * const *) f->s, "%s",
                  message ?: "(out of memory formatting the message)");
}

static const char *not_restoring_why(const SysctlGuard *g) {
        return g->mode == GUARD_MODE_MONITOR ? "Mode=monitor" : "held for maintenance";
}

static void report_restored(const SysctlEntry *e, const char *old, Fields *f) {
        if (e->state.followed) {
                fields_add(f, "CTGUARD_REASON=module-reload");
                report(EVENT_SYSCTL_RESTORED, e, old, 0, f,
                       "Restored %s: %s -> %s (followed; its module was reloaded and "
                       "reset it).", e->key, old, e->desired);
        } else
                report(EVENT_SYSCTL_RESTORED, e, old, 0, f,
                       "Restored %s: %s -> %s (%s).", e->key, old, e->desired,
                       e->origin);
}

static void report_drift(const SysctlGuard *g, const SysctlEntry *e, const char *old, Fields *f) {
        if (e->state.followed)
                report(EVENT_SYSCTL_DRIFT, e, old, 0, f,
                       "%s is %s after its module was reloaded, followed %s; not "
                       "restoring: %s.", e->key, old, e->desired, not_restoring_why(g));
        else
                report(EVENT_SYSCTL_DRIFT, e, old, 0, f,
                       "%s is %s, configured %s (%s); not restoring: %s.", e->key, old,
                       e->desired, e->origin, not_restoring_why(g));
}

static void report_readonly(const SysctlEntry *e, const char *old, Fields *f) {
        int error = e->state.error;

        fields_add(f, "CTGUARD_REASON=%s", strerror(error));
        if (old && e->desired && sysctl_value_equal(old, e->desired))
                /* Found by the probe at start: right for now, but not for ctguard to keep
                 * right. */
                report(EVENT_SYSCTL_READONLY, e, old, error, f,
                       "%s is read-only here (%s); it holds %s as configured (%s), "
                       "but ctguard could not put it back if it changed.", e->key,
                       strerror(error), e->desired, e->origin);
        else
                report(EVENT_SYSCTL_READONLY, e, old, error, f,
                       "%s is read-only here (%s); it stays %s instead of %s (%s). Not "
                       "retrying until the configuration is reloaded.", e->key,
                       strerror(error), strempty(old), strempty(e->desired), e->origin);
}

static void report_write_failed(const SysctlEntry *e, const char *old, const char *readback,
                                Fields *f) {
        char retry[FORMAT_TIMESPAN_MAX], next[FORMAT_TIMESPAN_MAX];
        int error = e->state.error;

        format_timespan(retry, sizeof(retry), SYSCTL_RETRY_INTERVAL);
        format_timespan(next, sizeof(next), sysctl_retry_delay(MAX(e->state.failures, 1u)));
        fields_add(f, "CTGUARD_OP=write");
        if (e->state.followed)
                report(EVENT_SYSCTL_FAILED, e, old, error, f,
                       "Failed to restore %s from %s to %s after its module was "
                       "reloaded: %s; following the value it has now.", e->key,
                       strempty(old), strempty(e->desired), strerror(error));
        else if (error == EBADMSG) {
                fields_add(f, "CTGUARD_READBACK=%s", strempty(readback));
                report(EVENT_SYSCTL_FAILED, e, old, error, f,
                       "Wrote %s to %s, but it reads back as %s (the kernel clamps or "
                       "reinterprets this value); retrying in %s, then less often, "
                       "at most %s apart.", e->desired, e->key, strempty(readback),
                       next, retry);
        } else
                report(EVENT_SYSCTL_FAILED, e, old, error, f,
                       "Failed to restore %s from %s to %s: %s; retrying in %s, then "
                       "less often, at most %s apart.", e->key, strempty(old),
                       e->desired, strerror(error), next, retry);
}

static void report_decision(SysctlGuard *g, const SysctlEntry *e, SysctlAction a,
                            const char *old, const char *readback) {
        _cleanup_(fields_done) Fields f = {};
        char window[FORMAT_TIMESPAN_MAX];
        int error = e->state.error;

        switch (a) {
        case SYSCTL_ACTION_REPORT_RESTORED:
                report_restored(e, old, &f);
                break;

        case SYSCTL_ACTION_REPORT_ADOPTED:
                /* old is the value kept before, e->desired already the one adopted. */
                report(EVENT_SYSCTL_ADOPTED, e, old, 0, &f,
                       "%s was set to %s (was %s); not assigned in [Sysctl], so ctguard keeps "
                       "the new value.", e->key, e->desired, strempty(old));
                break;

        case SYSCTL_ACTION_REPORT_DRIFT:
                report_drift(g, e, old, &f);
                break;

        case SYSCTL_ACTION_REPORT_UNAVAILABLE:
                report(EVENT_SYSCTL_UNAVAILABLE, e, NULL, 0, &f,
                       "%s does not exist on this kernel (its module may not be loaded); "
                       "it will be set to %s when it appears.", e->key, e->desired);
                break;

        case SYSCTL_ACTION_REPORT_READ_FAILED:
                fields_add(&f, "CTGUARD_OP=read");
                report(EVENT_SYSCTL_FAILED, e, NULL, error, &f,
                       "Failed to read %s: %s; will keep looking.", e->key, strerror(error));
                break;

        case SYSCTL_ACTION_REPORT_FIGHT:
                format_timespan(window, sizeof(window), SYSCTL_FIGHT_WINDOW);
                fields_add(&f, "CTGUARD_RESTORES=%u", SYSCTL_FIGHT_BURST);
                fields_add(&f, "CTGUARD_WINDOW=%s", window);
                report(EVENT_SYSCTL_FIGHT, e, old, 0, &f,
                       "%s keeps changing: set to %s again after %u restores to %s within %s "
                       "(%lu restores in total). Something else sets it; leaving it alone for "
                       "%s or until the configuration is reloaded.", e->key, old,
                       SYSCTL_FIGHT_BURST, e->desired, window, e->state.restores_total, window);
                break;

        case SYSCTL_ACTION_REPORT_READONLY:
                report_readonly(e, old, &f);
                break;

        case SYSCTL_ACTION_REPORT_FAILED:
                report_write_failed(e, old, readback, &f);
                break;

        /* Acted on by entry_check(), nothing to report. */
        case SYSCTL_ACTION_NONE:
        case SYSCTL_ACTION_RESTORE:
        case SYSCTL_ACTION_FOLLOW:
        case _SYSCTL_ACTION_MAX:
        case _SYSCTL_ACTION_INVALID:
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

static int entry_set_desired(SysctlEntry *e, const char *value) {
        char *v = NULL;

        if (value) {
                size_t n = strlen(value);

                /* Kept as the kernel prints it, without the trailing newline. */
                while (n > 0 && (value[n - 1] == '\n' || value[n - 1] == ' '))
                        n--;
                v = strndup(value, n);
                if (!v)
                        return -ENOMEM;
        }
        free(e->desired);
        e->desired = v;
        return 0;
}

/* Opens the key beneath the root, (re)arms its watch and reads it: the value in *ret_value, or
 * the error of the open or the read. */
static int entry_read(SysctlGuard *g, SysctlEntry *e, bool rearm, char **ret_value) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (g->root_fd < 0)
                g->root_fd = sysctl_root_open(g->sysctl_root);
        r = g->root_fd < 0 ? g->root_fd : sysctl_open_at(g->root_fd, e->path, O_RDONLY);
        if (r >= 0) {
                fd = r;
                watch_arm(g, e, fd, rearm);
                return sysctl_read_fd(fd, ret_value);
        }
        if (r == -ENOENT || r == -ENOTDIR) {
                watch_drop(g, e);
                /* A key that comes back is a new one: probe it again. */
                if (e->state.followed)
                        e->probed = false;
        }
        return r;
}

/* Opening for writing writes nothing but fails as a write would: 0 if the key could be
 * written, or the error. Done once per key (until it comes back). */
static int entry_probe(SysctlGuard *g, SysctlEntry *e) {
        int w = sysctl_open_at(g->root_fd, e->path, O_WRONLY);

        e->probed = true;
        if (w < 0)
                return w;
        safe_close(w);
        return 0;
}

/* What the policy makes of what was read (r, value). */
static SysctlDecision entry_decide(SysctlGuard *g, SysctlEntry *e, int r, const char *value,
                                   usec_t now) {
        SysctlPolicyInput in = { .mode = g->mode, .held = g->held };
        int probe = 0;

        if (!e->state.followed)
                return sysctl_policy_observe(&in, &e->state, r, value, e->desired, now);

        /* A key nobody can write here is not followed. */
        if (r >= 0 && !e->probed)
                probe = entry_probe(g, e);
        return sysctl_policy_follow(&in, &e->state, r, value, e->desired, probe, now);
}

/* A followed key takes the value read as the one kept; the one kept before in *ret_previous. */
static int entry_keep_value(SysctlEntry *e, const char *value, char **ret_previous) {
        char *previous = TAKE_PTR(e->desired);

        if (entry_set_desired(e, value) < 0) {
                /* Keep the old value: the next look tries again. */
                e->desired = previous;
                return log_oom();
        }
        *ret_previous = previous;
        return 0;
}

static void entry_check(SysctlGuard *g, SysctlEntry *e, usec_t now, bool rearm) {
        _cleanup_free_ char *value = NULL, *readback = NULL, *previous = NULL;
        SysctlKeyStatus before = e->state.status;
        SysctlDecision d;
        SysctlAction a;
        int r;

        r = entry_read(g, e, rearm, &value);
        d = entry_decide(g, e, r, value, now);
        if (d.appeared) {
                _cleanup_(fields_done) Fields f = {};

                report(EVENT_SYSCTL_AVAILABLE, e, value, 0, &f, "%s appeared.", e->key);
        }
        if (d.fight_over)
                log_info("The fight window for %s has passed; guarding it again.", e->key);

        a = d.action;
        if (a == SYSCTL_ACTION_FOLLOW || a == SYSCTL_ACTION_REPORT_ADOPTED) {
                if (entry_keep_value(e, value, &previous) < 0)
                        return;
                if (a == SYSCTL_ACTION_FOLLOW) {
                        log_debug("Following %s, now %s.", e->key, e->desired);
                        a = SYSCTL_ACTION_NONE;
                        g->changed = true;
                }
        }
        if (a == SYSCTL_ACTION_NONE && r >= 0 && !e->probed && !e->state.followed &&
            g->mode == GUARD_MODE_ENFORCE) {
                /* A sandbox that mounts the key read-only (ReadWritePaths= missing it) or a
                 * namespace's read-only nf_conntrack_max is reported now, not when it drifts
                 * one day. */
                int w = entry_probe(g, e);

                if (w < 0 && sysctl_error_is_readonly(w))
                        a = sysctl_policy_written(&e->state, w, now);
        }
        if (a == SYSCTL_ACTION_RESTORE) {
                r = sysctl_write_verified_at(g->root_fd, e->path, e->desired, &readback);
                a = sysctl_policy_written(&e->state, r, now);
        }
        if (a == SYSCTL_ACTION_REPORT_ADOPTED)
                report_decision(g, e, a, previous, NULL);
        else if (a != SYSCTL_ACTION_NONE)
                report_decision(g, e, a, value, readback);
        if (a != SYSCTL_ACTION_NONE)
                g->changed = true;
        /* A followed key whose restore failed, or that turned out read-only, keeps nothing:
         * the next look follows what is there. */
        if (e->state.followed && (e->state.status == SYSCTL_KEY_UNKNOWN ||
                                  e->state.status == SYSCTL_KEY_READONLY))
        {
                free(e->desired);
                e->desired = NULL;
        }
        if (e->state.status != before)
                g->changed = true;
}

int sysctl_guard_tick(SysctlGuard *g, usec_t now) {
        bool changed;

        if (!g)
                return 0;

        /* The conntrack sysctls come with the module: until one is seen, look for them. */
        if (!followed_any(g))
                (void) followed_refresh(g);

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

static void entry_done(SysctlEntry *e) {
        free(e->path);
        free(e->key);
        free(e->desired);
        free(e->origin);
}

static SysctlEntry *entry_find(SysctlEntry *entries, size_t n, const char *path) {
        for (size_t i = 0; i < n; i++)
                if (entries[i].path && streq(entries[i].path, path))
                        return &entries[i];
        return NULL;
}

/* Fills e for path; value and origin are copied, value may be NULL (followed, not seen). */
static int entry_init(SysctlEntry *e, const char *path, const char *value, const char *origin,
                      bool followed) {
        *e = (SysctlEntry) {
                .path = strdup(path),
                .key = sysctl_path_to_key(path),
                .desired = value ? strdup(value) : NULL,
                .origin = strdup(strempty(origin)),
                .wd = -1,
        };
        if (followed)
                sysctl_key_state_init_followed(&e->state);
        else
                sysctl_key_state_init(&e->state);
        if (!e->path || !e->key || (value && !e->desired) || !e->origin) {
                entry_done(e);
                return -ENOMEM;
        }
        return 0;
}

static int entries_append(SysctlGuard *g, const char *path, const char *value) {
        SysctlEntry *n;
        int r;

        n = reallocarray(g->entries, g->n_entries + 1, sizeof(SysctlEntry));
        if (!n)
                return -ENOMEM;
        g->entries = n;
        r = entry_init(&g->entries[g->n_entries], path, value, "followed", true);
        if (r < 0)
                return r;
        g->n_entries++;
        g->changed = true;
        return 0;
}

/* Adds a followed entry for every followable key that exists now and is not guarded yet. Keys
 * come with their module: called at start, after a reload, after the module guard loaded
 * modules, and at each tick while no followed key is known. Entries stay when their key goes:
 * it is what comes back after a module reload. */
static int followed_refresh(SysctlGuard *g) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        r = sysctl_followed_paths(g->sysctl_root, &paths);
        if (r < 0)
                return r;
        STRV_FOREACH(p, paths) {
                if (entry_find(g->entries, g->n_entries, *p))
                        continue;
                r = entries_append(g, *p, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool followed_any(const SysctlGuard *g) {
        for (size_t i = 0; i < g->n_entries; i++)
                if (g->entries[i].state.followed)
                        return true;
        return false;
}

static int entries_build(const Config *c, SysctlEntry **ret, size_t *ret_n) {
        SysctlEntry *entries;
        size_t n = 0;
        int r;

        entries = calloc(MAX(c->n_sysctls, 1u), sizeof(SysctlEntry));
        if (!entries)
                return -ENOMEM;

        for (size_t i = 0; i < c->n_sysctls; i++) {
                const SysctlSetting *s = &c->sysctls[i];

                /* Values a caller recorded for display are not assignments. */
                if (s->origin && streq(s->origin, CONFIG_ORIGIN_FOLLOWED))
                        continue;
                /* The configuration checked this already; the guard does not rely on it. */
                r = sysctl_path_check(s->path);
                if (r < 0) {
                        log_error_errno(r, "Refusing to guard sysctl '%s' (%s): %m", s->path,
                                        strempty(s->origin));
                        continue;
                }

                r = entry_init(&entries[n], s->path, s->value, s->origin, false);
                if (r < 0) {
                        for (size_t j = 0; j < n; j++)
                                entry_done(&entries[j]);
                        free(entries);
                        return r;
                }
                n++;
        }

        *ret = entries;
        *ret_n = n;
        return 0;
}

static int decimal_u64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Whether raised is a larger number than assigned (both as the kernel prints a number). */
static bool raised_above(const char *raised, const char *assigned) {
        uint64_t a, b;

        if (!assigned)
                return true;
        if (decimal_u64(raised, &a) < 0 || decimal_u64(assigned, &b) < 0)
                return false;
        return a > b;
}

int sysctl_guard_raise(SysctlGuard *g, const char *path, const char *value) {
        SysctlEntry *e = entry_find(g->entries, g->n_entries, path);
        int r;

        if (!e)
                return -ENOENT;
        r = entry_set_desired(e, value);
        if (r < 0)
                return r;
        e->raised = true;
        g->changed = true;
        return 0;
}

bool sysctl_guard_may_write(const SysctlGuard *g) {
        return g->mode == GUARD_MODE_ENFORCE && !g->held;
}

int sysctl_guard_set_config(SysctlGuard *g, const Config *c) {
        SysctlEntry *entries, *all;
        size_t n, n_all;
        int r;

        r = entries_build(c, &entries, &n);
        if (r < 0)
                return r;

        /* Followed keys that stay unassigned keep what they follow (a reload in the middle of
         * a module reload must not forget the value to put back) and their state. */
        n_all = n;
        for (size_t j = 0; j < g->n_entries; j++)
                if (g->entries[j].state.followed && !entry_find(entries, n, g->entries[j].path))
                        n_all++;
        all = reallocarray(entries, MAX(n_all, 1u), sizeof(SysctlEntry));
        if (!all) {
                for (size_t i = 0; i < n; i++)
                        entry_done(&entries[i]);
                free(entries);
                return -ENOMEM;
        }
        entries = all;
        for (size_t j = 0; j < g->n_entries; j++) {
                SysctlEntry *o = &g->entries[j];

                if (!o->state.followed || entry_find(entries, n, o->path))
                        continue;
                entries[n++] = *o;
                /* Moved: the old slot no longer owns its strings or its watch. */
                *o = (SysctlEntry) { .wd = -1 };
        }

        /* A value AutoRaise raised stays across a reload while it is above what is assigned now:
         * the table never shrinks by itself. */
        for (size_t i = 0; i < n; i++) {
                SysctlEntry *o = entry_find(g->entries, g->n_entries, entries[i].path);

                if (!o || !o->raised || !o->desired || entries[i].state.followed ||
                    !raised_above(o->desired, entries[i].desired))
                        continue;
                r = entry_set_desired(&entries[i], o->desired);
                if (r < 0)
                        log_debug_errno(r, "Failed to keep the raised %s: %m", o->key);
                else
                        entries[i].raised = true;
        }

        /* A key guarded before and after keeps its watch: without it, a change right after a
         * reload would wait for the next tick. */
        for (size_t i = 0; i < n; i++) {
                SysctlEntry *o;

                if (entries[i].wd >= 0)
                        continue;
                o = entry_find(g->entries, g->n_entries, entries[i].path);
                if (o && o->wd >= 0) {
                        entries[i].wd = o->wd;
                        o->wd = -1;
                }
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

        /* Keys that were assigned and no longer are, and keys that exist now: followed from
         * what they hold. */
        r = followed_refresh(g);
        if (r < 0)
                log_debug_errno(r, "Failed to list the followed sysctls, trying again later: %m");
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

int sysctl_guard_seed_followed(SysctlGuard *g, const char *path, const char *value) {
        SysctlEntry *e;
        int r;

        if (!sysctl_path_followable(path))
                return -EPERM;
        if (!value || *value == '\0' || strlen(value) > SYSCTL_VALUE_MAX)
                return -EINVAL;
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < ' ' && *p != '\t')
                        return -EINVAL;

        e = entry_find(g->entries, g->n_entries, path);
        if (e && !e->state.followed)
                return 0;       /* assigned now: the configuration wins */
        if (!e) {
                r = entries_append(g, path, NULL);
                if (r < 0)
                        return r;
                e = &g->entries[g->n_entries - 1];
        }
        return entry_set_desired(e, value);
}

void sysctl_guard_foreach(const SysctlGuard *g, void (*cb)(const SysctlGuardView *v, void *userdata),
                          void *userdata) {
        for (size_t i = 0; i < g->n_entries; i++) {
                const SysctlEntry *e = &g->entries[i];
                SysctlGuardView v = {
                        .path = e->path,
                        .key = e->key,
                        .value = e->desired,
                        .origin = e->origin,
                        .owned = !e->state.followed,
                        .status = e->state.status,
                };

                /* Followed keys that hold nothing yet, or cannot be written here, are not
                 * followed. */
                if (e->state.followed && (!e->desired || e->state.status == SYSCTL_KEY_READONLY))
                        continue;
                cb(&v, userdata);
        }
}

void sysctl_guard_set_nap(SysctlGuard *g, void (*nap)(usec_t usec, void *userdata),
                          void *userdata) {
        g->nap = nap;
        g->nap_userdata = userdata;
}

void sysctl_guard_set_held(SysctlGuard *g, bool held) {
        g->held = held;
}

int sysctl_guard_apply_all(SysctlGuard *g, usec_t deadline) {
        size_t waiting, missed = 0;

        /* A module just loaded may bring keys never seen before. */
        (void) followed_refresh(g);
        for (size_t i = 0; i < g->n_entries; i++) {
                sysctl_key_state_module_reloaded(&g->entries[i].state);
                g->entries[i].pending = true;
                if (g->entries[i].state.followed)
                        g->entries[i].probed = false;
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
                if (t < deadline && g->nap)
                        g->nap(MIN(deadline - t, APPLY_CHECK_INTERVAL), g->nap_userdata);
                else if (t < deadline) {
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
        const SysctlEntry *e;

        /* Assigned, or followed: a module loaded again starts with the size it had. */
        e = entry_find(g->entries, g->n_entries, "net/netfilter/nf_conntrack_buckets");
        if (!e || !e->desired || e->state.status == SYSCTL_KEY_READONLY)
                return -ENOENT;
        return sysctl_policy_parse_hashsize(e->desired, ret);
}

void sysctl_guard_counts(const SysctlGuard *g, SysctlGuardCounts *ret) {
        SysctlGuardCounts c = {
                .restores = g->restores_retired,
                .fights = g->fights_retired,
        };

        for (size_t i = 0; i < g->n_entries; i++) {
                const SysctlKeyState *s = &g->entries[i].state;

                c.restores += s->restores_total;
                c.fights += s->fights_total;
                if (s->followed) {
                        /* Only what is followed counts: not what is missing or read-only. */
                        if (!g->entries[i].desired || s->status == SYSCTL_KEY_READONLY ||
                            s->status == SYSCTL_KEY_UNAVAILABLE)
                                continue;
                        c.followed++;
                }
                c.guarded++;

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
                case SYSCTL_KEY_UNKNOWN:
                case _SYSCTL_KEY_STATUS_MAX:
                case _SYSCTL_KEY_STATUS_INVALID:
                        break;
                }
        }
        *ret = c;
}
