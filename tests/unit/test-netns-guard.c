/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The namespace guard below a fake root: each namespace is a regular file, a process's
 * proc/PID/ns/net a hard link to it (equal namespaces, equal inodes, as on nsfs), and its
 * proc/PID/net/stat/nf_conntrack a text the test rewrites in place between ticks, which the
 * guard's open reader reads again. Each step sets the namespaces' counts and drop counters
 * and lists the events the tick must raise, in order, as "EVENT NAME" (with " +" if the message
 * gives a time to full, which needs three samples: a namespace sampled twice per tick would
 * show one too early). */

#include <check.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "netns-guard.h"

#define TABLE_MAX 1000u
#define STEPS_MAX 8
#define EVENTS_MAX 4

/* The namespaces of the tree: pid 1 is the host's, the others one namespace each; "b" also has
 * a /run/netns name. */
typedef struct Proc {
        int pid;
        const char *comm;
        const char *name;       /* run/netns name, or NULL */
} Proc;

static const Proc procs[] = {
        { 1, "systemd", NULL },
        { 10, "a", NULL },
        { 20, "b", "blue" },
        { 30, "c", NULL },
};

#define GONE UINT32_MAX         /* the namespace is gone before this step */

typedef struct Step {
        uint32_t count[ELEMENTSOF(procs)];
        uint32_t drop[ELEMENTSOF(procs)];
        uint64_t max;
        const char *events[EVENTS_MAX];
        size_t watched;         /* namespaces with a reader after the step */
} Step;

static const struct {
        const char *title;
        Step steps[STEPS_MAX];
} cases[] = {
        { "one namespace past WarnPercent is named, the others and the host raise nothing",
          { { { 990, 0, 10, 0 }, {}, TABLE_MAX, {}, 3 },
            { { 990, 0, 850, 0 }, {}, TABLE_MAX, { "table-warn blue" }, 3 },
            { { 990, 0, 860, 0 }, {}, TABLE_MAX, {}, 3 },
            { { 990, 0, 100, 0 }, {}, TABLE_MAX, { "table-ok blue" }, 3 } } },
        { "the time to full of a namespace, once three samples span its growth",
          { { { 0, 0, 100, 0 }, {}, TABLE_MAX, {}, 3 },
            { { 0, 0, 200, 0 }, {}, TABLE_MAX, {}, 3 },
            { { 0, 0, 810, 0 }, {}, TABLE_MAX, { "table-warn blue +" }, 3 } } },
        { "drops in a namespace: table-full names it by PID and command",
          { { { 0, 0, 0, 0 }, { 0, 7, 0, 0 }, TABLE_MAX, {}, 3 },
            { { 0, 1000, 0, 0 }, { 0, 19, 0, 0 }, TABLE_MAX,
              { "table-crit pid 10 (a)", "table-full pid 10 (a)" }, 3 } } },
        { "drops before the first sample are the baseline, not an alert",
          { { { 0, 0, 0, 5 }, { 0, 0, 0, 400 }, TABLE_MAX, {}, 3 },
            { { 0, 0, 0, 5 }, { 0, 0, 0, 400 }, TABLE_MAX, {}, 3 } } },
        { "a namespace that goes is dropped quietly",
          { { { 0, 900, 0, 0 }, {}, TABLE_MAX, { "table-warn pid 10 (a)" }, 3 },
            { { 0, GONE, 0, 0 }, {}, TABLE_MAX, {}, 2 },
            { { 0, GONE, 0, 900 }, {}, TABLE_MAX, { "table-warn pid 30 (c)" }, 2 } } },
        { "an unknown maximum raises nothing",
          { { { 0, 999, 999, 999 }, {}, 0, {}, 3 },
            { { 0, 999, 999, 999 }, {}, 0, {}, 3 } } },
};

static char *events[16];
static size_t n_events;

/* "Conntrack table of netns NAME ...": NAME is "pid PID (COMM)" or one word; " +" follows it
 * when the message gives a time to full. */
static void on_event(void *userdata, int level, const char *event, const char *message) {
        const char *p = strstr(message, "netns ");
        size_t l;
        char *s;

        ck_assert_msg(p, "no namespace in: %s", message);
        p += strlen("netns ");
        l = strncmp(p, "pid ", 4) == 0 ? (size_t) (strchr(p, ')') - p + 1) : strcspn(p, " ");
        /* " +": the message gives a time to full. */
        ck_assert_int_ge(asprintf(&s, "%s %.*s%s", event, (int) l, p,
                                  strstr(message, "full in about") ? " +" : ""), 0);
        ck_assert_uint_lt(n_events, ELEMENTSOF(events));
        events[n_events++] = s;
}

static void events_clear(void) {
        for (size_t i = 0; i < n_events; i++)
                free(events[i]);
        n_events = 0;
}

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");

        ck_assert_msg(f, "fopen %s: %m", path);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

static void run(const char *command) {
        ck_assert_msg(system(command) == 0, "%s", command);
}

/* Two CPUs: "entries" is the table's count on every row, drop is split over both. */
static void write_stat(const char *root, int pid, uint32_t count, uint32_t drop) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        ck_assert_int_ge(asprintf(&path, "%s/proc/%d/net/stat/nf_conntrack", root, pid), 0);
        ck_assert_int_ge(asprintf(&text,
                                  "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart\n"
                                  "%08x  00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 %08x 00000000 00000000  00000000 00000000 00000000 00000000\n"
                                  "%08x  00000000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 %08x 00000000 00000000  00000000 00000000 00000000 00000000\n",
                                  count, drop / 2, count, drop - drop / 2), 0);
        write_file(path, text);
}

static char *make_tree(void) {
        char tmpl[] = "/tmp/test-netns-guard.XXXXXX";
        _cleanup_free_ char *cmd = NULL;
        char *root;

        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        root = strdup(tmpl);
        ck_assert_int_ge(asprintf(&cmd, "mkdir -p %s/nsfs %s/run/netns %s/proc/self", root, root, root), 0);
        run(cmd);
        for (size_t i = 0; i < ELEMENTSOF(procs); i++) {
                _cleanup_free_ char *c = NULL, *ns = NULL, *link_path = NULL, *comm = NULL;

                ck_assert_int_ge(asprintf(&c, "mkdir -p %s/proc/%d/ns %s/proc/%d/net/stat", root,
                                          procs[i].pid, root, procs[i].pid), 0);
                run(c);
                ck_assert_int_ge(asprintf(&ns, "%s/nsfs/%d", root, procs[i].pid), 0);
                write_file(ns, "");
                ck_assert_int_ge(asprintf(&link_path, "%s/proc/%d/ns/net", root, procs[i].pid), 0);
                ck_assert_int_eq(link(ns, link_path), 0);
                ck_assert_int_ge(asprintf(&comm, "%s/proc/%d/comm", root, procs[i].pid), 0);
                write_file(comm, procs[i].comm);
                write_stat(root, procs[i].pid, 0, 0);
                if (procs[i].name) {
                        _cleanup_free_ char *n = NULL;

                        ck_assert_int_ge(asprintf(&n, "%s/run/netns/%s", root, procs[i].name), 0);
                        ck_assert_int_eq(link(ns, n), 0);
                }
        }
        return root;
}

static void count_watched(const NetnsGuardView *v, void *userdata) {
        (*(size_t *) userdata)++;
}

START_TEST(test_steps) {
        _cleanup_(config_freep) Config *c = config_new();
        _cleanup_(netns_guard_freep) NetnsGuard *g = NULL;
        _cleanup_free_ char *root = make_tree(), *cmd = NULL;
        bool gone[ELEMENTSOF(procs)] = {};

        ck_assert_ptr_nonnull(c);
        c->namespaces = NAMESPACE_SCOPE_ALL;
        ck_assert_int_eq(netns_guard_new(root, c, &g), 0);
        log_set_event_hook(on_event, NULL);

        for (size_t s = 0; s < STEPS_MAX && cases[_i].steps[s].max + cases[_i].steps[s].watched; s++) {
                const Step *st = &cases[_i].steps[s];
                size_t watched = 0, n = 0;

                for (size_t i = 0; i < ELEMENTSOF(procs); i++) {
                        if (st->count[i] == GONE && !gone[i]) {
                                _cleanup_free_ char *rm = NULL;

                                ck_assert_int_ge(asprintf(&rm, "rm -rf %s/proc/%d", root, procs[i].pid), 0);
                                run(rm);
                                gone[i] = true;
                        } else if (st->count[i] != GONE)
                                write_stat(root, procs[i].pid, st->count[i], st->drop[i]);
                }
                /* Ten seconds apart: every tick scans as well. */
                (void) netns_guard_tick(g, (s + 1) * 10 * USEC_PER_SEC, st->max);

                for (; n < EVENTS_MAX && st->events[n]; n++) {
                        ck_assert_msg(n < n_events, "%s, step %zu: missing %s", cases[_i].title, s,
                                      st->events[n]);
                        ck_assert_str_eq(events[n], st->events[n]);
                }
                ck_assert_msg(n_events == n, "%s, step %zu: %zu events, not %zu (first extra: %s)",
                              cases[_i].title, s, n_events, n, n_events > n ? events[n] : "");
                events_clear();
                netns_guard_foreach(g, count_watched, &watched);
                ck_assert_uint_eq(watched, st->watched);
        }
        log_set_event_hook(NULL, NULL);
        ck_assert_int_ge(asprintf(&cmd, "rm -rf %s", root), 0);
        run(cmd);
}
END_TEST

/* Namespaces=host: nothing is opened, nothing is asked for. */
START_TEST(test_host) {
        _cleanup_(config_freep) Config *c = config_new();
        _cleanup_(netns_guard_freep) NetnsGuard *g = NULL;
        _cleanup_free_ char *root = make_tree(), *cmd = NULL;
        size_t watched = 0;

        ck_assert_int_eq(netns_guard_new(root, c, &g), 0);
        ck_assert(!netns_guard_enabled(g));
        ck_assert_uint_eq(netns_guard_tick(g, USEC_PER_SEC, TABLE_MAX), USEC_INFINITY);
        netns_guard_foreach(g, count_watched, &watched);
        ck_assert_uint_eq(watched, 0);
        /* A reload to all opens them at the next tick; back to host closes them. */
        c->namespaces = NAMESPACE_SCOPE_ALL;
        netns_guard_set_config(g, c);
        ck_assert_uint_le(netns_guard_tick(g, 2 * USEC_PER_SEC, TABLE_MAX), c->poll_interval);
        netns_guard_foreach(g, count_watched, &watched);
        ck_assert_uint_eq(watched, 3);
        c->namespaces = NAMESPACE_SCOPE_HOST;
        netns_guard_set_config(g, c);
        watched = 0;
        netns_guard_foreach(g, count_watched, &watched);
        ck_assert_uint_eq(watched, 0);
        ck_assert_int_ge(asprintf(&cmd, "rm -rf %s", root), 0);
        run(cmd);
}
END_TEST

static Suite *netns_guard_suite(void) {
        Suite *s = suite_create("netns-guard");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_steps, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_host);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(netns_guard_suite());
        int failed;

        log_setup(LOG_TARGET_CONSOLE);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
