/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctguard-config.h"
#include "hold.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "metrics-textfile.h"
#include "metrics.h"
#include "module-guard.h"
#include "sysctl-guard.h"
#include "sysctl-key.h"
#include "sysctl.h"
#include "time-util.h"

struct MetricsTextfile {
        usec_t started;                 /* CLOCK_REALTIME */
        usec_t last_write;              /* CLOCK_MONOTONIC; 0: never */
        bool dirty;
        int last_error;                 /* a failing write is reported once */
        size_t last_size;
        MetricsEventCount events[METRICS_TEXTFILE_EVENTS_MAX];
        char *event_names[METRICS_TEXTFILE_EVENTS_MAX];
        size_t n_events;
        uint64_t counter[_METRICS_CT_MAX];      /* the kernel counters as last written */
        bool have_counter[_METRICS_CT_MAX];
};

int metrics_textfile_new(MetricsTextfile **ret) {
        MetricsTextfile *t = calloc(1, sizeof(MetricsTextfile));

        if (!t)
                return -ENOMEM;
        t->started = now_usec(CLOCK_REALTIME);
        t->dirty = true;
        *ret = t;
        return 0;
}

MetricsTextfile *metrics_textfile_free(MetricsTextfile *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_events; i++)
                free(t->event_names[i]);
        free(t);
        return NULL;
}

static uint64_t event_count(const MetricsTextfile *t, EventId id) {
        const char *name = event_to_string(id);

        for (size_t i = 0; name && i < t->n_events; i++)
                if (streq(t->events[i].name, name))
                        return t->events[i].count;
        return 0;
}

void metrics_textfile_on_event(MetricsTextfile *t, const char *event) {
        size_t i;

        if (!t || !event)
                return;
        t->dirty = true;
        for (i = 0; i < t->n_events; i++)
                if (streq(t->events[i].name, event))
                        break;
        if (i == t->n_events) {
                /* Event names are a fixed set (ctguard(8)); the bound only guards the table. */
                if (t->n_events >= METRICS_TEXTFILE_EVENTS_MAX)
                        return;
                t->event_names[i] = strdup(event);
                if (!t->event_names[i])
                        return;
                t->events[i] = (MetricsEventCount) { .name = t->event_names[i] };
                t->n_events++;
        }
        t->events[i].count++;
}

size_t metrics_textfile_last_size(const MetricsTextfile *t) {
        return t ? t->last_size : 0;
}

static int write_atomic(const char *dir, const char *text, size_t size) {
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int fd, r = 0;

        /* Only into a directory that exists: ctguard does not create node_exporter's. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, METRICS_TEXTFILE_NAME) < 0 ||
            asprintf(&path, "%s/%s", dir, METRICS_TEXTFILE_NAME) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0)
                r = -errno;
        for (size_t done = 0; r == 0 && done < size;) {
                ssize_t n = write(fd, text + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                else
                        done += (size_t) n;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static bool counters_changed(const MetricsTextfile *t, const Metrics *m) {
        for (size_t c = 0; c < _METRICS_CT_MAX; c++)
                if (m->have_counter[c] != t->have_counter[c] ||
                    (m->have_counter[c] && m->counter[c] != t->counter[c]))
                        return true;
        return false;
}

typedef struct SysctlCollect {
        const char *sysctl_root;
        MetricsSysctl *rows;
        char **actuals;
        size_t n, allocated;
} SysctlCollect;

static void collect_sysctl(const SysctlGuardView *v, void *userdata) {
        SysctlCollect *c = userdata;

        if (c->n >= c->allocated) {
                size_t k = MAX(c->allocated * 2, (size_t) 16);
                MetricsSysctl *r = reallocarray(c->rows, k, sizeof(MetricsSysctl));
                char **a;

                if (!r)
                        return;
                c->rows = r;
                a = reallocarray(c->actuals, k, sizeof(char *));
                if (!a)
                        return;
                c->actuals = a;
                c->allocated = k;
        }
        c->actuals[c->n] = NULL;
        (void) sysctl_read(c->sysctl_root, v->path, &c->actuals[c->n]);
        c->rows[c->n] = (MetricsSysctl) {
                .key = v->key,
                .owned = v->owned,
                .desired = v->value,
                .actual = c->actuals[c->n],
        };
        c->n++;
}

typedef struct NetnsCollect {
        MetricsNetns *rows;
        size_t n, allocated;
} NetnsCollect;

static void collect_netns(const NetnsGuardView *v, void *userdata) {
        NetnsCollect *c = userdata;

        if (!v->valid)
                return;
        if (c->n >= c->allocated) {
                size_t k = MAX(c->allocated * 2, (size_t) 16);
                MetricsNetns *n = reallocarray(c->rows, k, sizeof(MetricsNetns));

                if (!n)
                        return;
                c->rows = n;
                c->allocated = k;
        }
        c->rows[c->n++] = (MetricsNetns) {
                .inode = v->inode,
                .name = v->name,
                .entries = v->count,
                .have_drop = v->have_drop,
                .drop = v->drop,
        };
}

/* The guarded modules as the module guard last saw them, into modules[] and x. */
static void collect_modules(Manager *m, MetricsModule modules[static CONFIG_ENSURE_MAX], Metrics *x) {
        for (size_t i = 0; i < CONFIG_ENSURE_MAX; i++) {
                bool known;
                ModuleState st;
                const char *name = module_guard_module(m->module_guard, i, &known, &st);

                if (!name)
                        break;
                modules[i] = (MetricsModule) {
                        .name = name,
                        .known = known,
                        .state = st == MODULE_STATE_BUILTIN ? METRICS_MODULE_BUILTIN :
                                 st == MODULE_STATE_LIVE ? METRICS_MODULE_LIVE : METRICS_MODULE_MISSING,
                };
                x->n_modules++;
        }
        x->modules = modules;
}

/* The heals, restores and failures since start, the hold and the flap guard. */
static void collect_counts(const MetricsTextfile *t, Manager *m, Metrics *x) {
        _cleanup_(hold_done) Hold hold = {};
        SysctlGuardCounts sc = {};
        ModuleGuardCounts mc;

        if (m->sysctl_guard)
                sysctl_guard_counts(m->sysctl_guard, &sc);
        module_guard_counts(m->module_guard, &mc);
        x->have_heals = x->have_restores = x->have_failures = true;
        x->heals[METRICS_HEAL_MODULE_CHAIN] = mc.heals;
        x->restores = sc.restores;
        x->failures[METRICS_FAILURE_MODULE_LOAD] = mc.failures;
        x->failures[METRICS_FAILURE_SYSCTL_WRITE] = event_count(t, EVENT_SYSCTL_FAILED);
        x->failures[METRICS_FAILURE_CONFIG] = event_count(t, EVENT_CONFIG_REJECTED);
        x->events = t->events;
        x->n_events = t->n_events;

        x->have_hold = true;
        x->held = mc.held;
        if (mc.held && hold_load(m->root, &hold) >= 0)
                x->hold_until = hold.until;
        else
                x->hold_until = USEC_INFINITY;
        x->have_flapping = true;
        x->flapping = mc.flapping;
}

/* Writes the file; a failure other than a missing directory is reported once. */
static void textfile_write(MetricsTextfile *t, Manager *m, const Metrics *x, usec_t now) {
        const char *dir = m->config->textfile_directory;
        _cleanup_free_ char *text = NULL, *dirpath = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&text, &size);
        if (!f)
                return;
        r = metrics_write(x, f);
        if (fclose(f) != 0 && r == 0)
                r = -EIO;
        if (r >= 0) {
                if (asprintf(&dirpath, "%s%s", m->root, dir) < 0)
                        return;
                r = write_atomic(dirpath, text, size);
        }
        /* A missing directory is not an error: node_exporter is not installed. */
        if (r < 0 && r != -ENOENT && r != t->last_error)
                log_warning_errno(r, "Failed to write %s/%s for node_exporter, ignoring: %m",
                                  dir, METRICS_TEXTFILE_NAME);
        t->last_error = r < 0 ? r : 0;
        t->last_write = now;
        t->dirty = false;
        t->last_size = size;
        memcpy(t->counter, x->counter, sizeof(t->counter));
        memcpy(t->have_counter, x->have_counter, sizeof(t->have_counter));
}

void metrics_textfile_tick(MetricsTextfile *t, Manager *m, usec_t now) {
        const char *dir = m->config->textfile_directory;
        MetricsModule modules[CONFIG_ENSURE_MAX] = {};
        SysctlCollect rows = { .sysctl_root = m->sysctl_root };
        NetnsCollect netns = {};
        Metrics x = {};

        if (!t || !dir || !*dir)
                return;
        if (t->last_write > 0 && now < t->last_write + m->config->poll_interval)
                return;

        (void) metrics_read_table(m->root, m->sysctl_root, &x);
        if (!t->dirty && t->last_write > 0 && now < t->last_write + METRICS_TEXTFILE_REFRESH_USEC &&
            !counters_changed(t, &x))
                return;

        x.version = PACKAGE_VERSION;
        x.daemon_known = x.up = true;
        x.started = t->started;
        collect_modules(m, modules, &x);

        /* The sysctl guard's own rows: owned and followed, as the state file has them. */
        if (m->sysctl_guard)
                sysctl_guard_foreach(m->sysctl_guard, collect_sysctl, &rows);
        x.sysctls = rows.rows;
        x.n_sysctls = rows.n;

        collect_counts(t, m, &x);
        x.timestamp = now_usec(CLOCK_REALTIME);

        if (netns_guard_enabled(m->netns_guard)) {
                static const MetricsNetns none[1];

                netns_guard_foreach(m->netns_guard, collect_netns, &netns);
                x.netns = netns.rows ?: none;
                x.n_netns = netns.n;
                x.top_netns = m->config->top_namespaces;
        }

        textfile_write(t, m, &x, now);

        free(netns.rows);
        for (size_t i = 0; i < rows.n; i++)
                free(rows.actuals[i]);
        free(rows.actuals);
        free(rows.rows);
}
