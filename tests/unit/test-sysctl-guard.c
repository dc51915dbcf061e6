/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The sysctl guard (daemon/sysctl-guard.c) against a temporary tree: ticks with a fake clock,
 * the file watches driven by a real sd-event loop, the maintenance hold, reloads, and
 * sysctl_guard_apply_all() waiting for files that appear late. */

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "sysctl-guard.h"
#include "sysctl-policy.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
#define KEY "net/netfilter/nf_conntrack_tcp_timeout_established"

#define BASE_TEMPLATE "/tmp/test-sysctl-guard-XXXXXX"
static char root[sizeof(BASE_TEMPLATE)];

static void put(const char *rel, const char *content) {
        _cleanup_free_ char *p = NULL;
        int fd;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
}

static char *get(const char *rel) {
        _cleanup_free_ char *p = NULL;
        char buf[256] = {};
        int fd;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_ge(read(fd, buf, sizeof(buf) - 1), 0);
        close(fd);
        return strdup(buf);
}

static void assert_value(const char *rel, const char *want) {
        _cleanup_free_ char *v = get(rel);

        ck_assert_str_eq(v, want);
}

static void setup(void) {
        _cleanup_free_ char *d = NULL;

        memcpy(root, BASE_TEMPLATE, sizeof(BASE_TEMPLATE));
        ck_assert_ptr_nonnull(mkdtemp(root));
        ck_assert_int_ge(asprintf(&d, "%s/net", root), 0);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        free(d);
        ck_assert_int_ge(asprintf(&d, "%s/net/netfilter", root), 0);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        free(d);
        ck_assert_int_ge(asprintf(&d, "%s/net/ipv4", root), 0);
        ck_assert_int_eq(mkdir(d, 0755), 0);
        put(KEY, "432000\n");
        put("net/netfilter/nf_conntrack_buckets", "262144\n");
        log_set_max_level(LOG_DEBUG);
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", root), 0);
        ck_assert_int_eq(system(cmd), 0);
}

static Config *config_with(const char *path, const char *value) {
        Config *c = config_new();

        ck_assert_ptr_nonnull(c);
        if (path)
                ck_assert_int_eq(config_set_sysctl(c, path, value, "test:1"), 0);
        c->sysctl_snapshot = false;
        return c;
}

static usec_t now_monotonic(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static SysctlGuardCounts counts(const SysctlGuard *g) {
        SysctlGuardCounts c;

        sysctl_guard_counts(g, &c);
        return c;
}

START_TEST(test_tick_restores) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;

        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        /* Nothing happens before the first tick. */
        assert_value(KEY, "432000\n");

        ck_assert_int_eq(sysctl_guard_tick(g, S(0)), 1);
        assert_value(KEY, "7200\n");
        ck_assert_int_eq(sysctl_guard_tick(g, S(1)), 0);

        put(KEY, "100\n");
        ck_assert_int_eq(sysctl_guard_tick(g, S(2)), 1);
        assert_value(KEY, "7200\n");
        ck_assert_uint_eq(counts(g).restores, 2);
        /* The assigned key, and nf_conntrack_buckets, followed. */
        ck_assert_uint_eq(counts(g).ok, 2);
        ck_assert_uint_eq(counts(g).followed, 1);
}
END_TEST

typedef struct Seen {
        char text[512];
} Seen;

static void view_add(const SysctlGuardView *v, void *userdata) {
        Seen *seen = userdata;
        size_t n = strlen(seen->text);

        snprintf(seen->text + n, sizeof(seen->text) - n, "%s=%s %s %s;", v->key, v->value,
                 v->origin, v->owned ? "owned" : "followed");
}

static const char *views(const SysctlGuard *g, Seen *seen) {
        seen->text[0] = '\0';
        sysctl_guard_foreach(g, view_add, seen);
        return seen->text;
}

#define BUCKETS "net/netfilter/nf_conntrack_buckets"

START_TEST(test_follow) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        _cleanup_free_ char *p = NULL;
        Seen seen;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, BUCKETS), 0);
        put("net/ipv4/ip_forward", "0\n");
        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        (void) sysctl_guard_tick(g, S(0));
        ck_assert_str_eq(views(g, &seen), "net.netfilter.nf_conntrack_tcp_timeout_established=7200 "
                         "test:1 owned;net.netfilter.nf_conntrack_buckets=262144 followed followed;");

        /* Someone else writes both: the followed key keeps the new value, the owned one is
         * restored, ip_forward is nobody's business. */
        put(BUCKETS, "65536\n");
        put(KEY, "100\n");
        put("net/ipv4/ip_forward", "1\n");
        (void) sysctl_guard_tick(g, S(1));
        assert_value(BUCKETS, "65536\n");
        assert_value(KEY, "7200\n");
        assert_value("net/ipv4/ip_forward", "1\n");
        (void) sysctl_guard_tick(g, S(2));
        assert_value(BUCKETS, "65536\n");
        ck_assert_str_eq(views(g, &seen), "net.netfilter.nf_conntrack_tcp_timeout_established=7200 "
                         "test:1 owned;net.netfilter.nf_conntrack_buckets=65536 followed followed;");

        /* The module is reloaded between two ticks with its default: put back. */
        ck_assert_int_eq(unlink(p), 0);
        (void) sysctl_guard_tick(g, S(3));
        put(BUCKETS, "262144\n");
        (void) sysctl_guard_tick(g, S(4));
        assert_value(BUCKETS, "65536\n");

        /* Reloaded without a tick seeing it go, as the module guard reports it. */
        ck_assert_int_eq(unlink(p), 0);
        put(BUCKETS, "262144\n");
        ck_assert_int_eq(sysctl_guard_apply_all(g, now_monotonic() + S(1)), 0);
        assert_value(BUCKETS, "65536\n");

        /* A reload forgets nothing it follows; assigning the key makes it owned. */
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        ck_assert_str_eq(views(g, &seen), "net.netfilter.nf_conntrack_tcp_timeout_established=7200 "
                         "test:1 owned;net.netfilter.nf_conntrack_buckets=65536 followed followed;");
        ck_assert_int_eq(config_set_sysctl(c, BUCKETS, "16384", "test:2"), 0);
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        (void) sysctl_guard_tick(g, S(5));
        assert_value(BUCKETS, "16384\n");
        ck_assert_uint_eq(counts(g).followed, 0);
}
END_TEST

/* AutoRaise writes a larger nf_conntrack_buckets over an assignment and hands it over: the
 * guard keeps the raise instead of restoring the assignment, puts it back after a module
 * reload, and keeps it across a configuration reload while it is above the assignment. */
START_TEST(test_raise) {
        _cleanup_(config_freep) Config *c = config_with(BUCKETS, "16384");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, BUCKETS), 0);
        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert(sysctl_guard_may_write(g));
        (void) sysctl_guard_tick(g, S(0));
        assert_value(BUCKETS, "16384\n");
        ck_assert_int_eq(sysctl_guard_raise(g, "net/netfilter/nf_conntrack_nope", "1"), -ENOENT);

        put(BUCKETS, "65536\n");
        ck_assert_int_eq(sysctl_guard_raise(g, BUCKETS, "65536"), 0);
        (void) sysctl_guard_tick(g, S(1));
        assert_value(BUCKETS, "65536\n");
        ck_assert_uint_eq(counts(g).restores, 1);

        /* The module is reloaded with its default: the raise comes back. */
        ck_assert_int_eq(unlink(p), 0);
        (void) sysctl_guard_tick(g, S(2));
        put(BUCKETS, "262144\n");
        (void) sysctl_guard_tick(g, S(3));
        assert_value(BUCKETS, "65536\n");

        /* A reload keeps it over a smaller assignment, not over a larger one. */
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        put(BUCKETS, "100\n");
        (void) sysctl_guard_tick(g, S(4));
        assert_value(BUCKETS, "65536\n");
        ck_assert_int_eq(config_set_sysctl(c, BUCKETS, "131072", "test:2"), 0);
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        (void) sysctl_guard_tick(g, S(5));
        assert_value(BUCKETS, "131072\n");

        /* Monitor mode and hold write nothing, AutoRaise neither. */
        sysctl_guard_set_held(g, true);
        ck_assert(!sysctl_guard_may_write(g));
        sysctl_guard_set_held(g, false);
        c->mode = GUARD_MODE_MONITOR;
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        ck_assert(!sysctl_guard_may_write(g));
}
END_TEST

/* A followed key raised by AutoRaise: the raise is what a module reload gets back. */
START_TEST(test_raise_followed) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        _cleanup_free_ char *p = NULL;
        Seen seen;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, BUCKETS), 0);
        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        (void) sysctl_guard_tick(g, S(0));
        put(BUCKETS, "524288\n");
        ck_assert_int_eq(sysctl_guard_raise(g, BUCKETS, "524288"), 0);
        (void) sysctl_guard_tick(g, S(1));
        ck_assert_str_eq(views(g, &seen), "net.netfilter.nf_conntrack_tcp_timeout_established=7200 "
                         "test:1 owned;net.netfilter.nf_conntrack_buckets=524288 followed followed;");
        ck_assert_int_eq(unlink(p), 0);
        (void) sysctl_guard_tick(g, S(2));
        put(BUCKETS, "262144\n");
        (void) sysctl_guard_tick(g, S(3));
        assert_value(BUCKETS, "524288\n");
}
END_TEST

START_TEST(test_seed) {
        _cleanup_(config_freep) Config *c = config_with(NULL, NULL);
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        _cleanup_free_ char *p = NULL;
        unsigned v = 0;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, BUCKETS), 0);
        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_seed_followed(g, "net/ipv4/ip_forward", "1"), -EPERM);
        ck_assert_int_eq(sysctl_guard_seed_followed(g, BUCKETS, ""), -EINVAL);
        ck_assert_int_eq(sysctl_guard_seed_followed(g, BUCKETS, "65536"), 0);
        /* The module loader starts the table at the size it had. */
        ck_assert_int_eq(sysctl_guard_desired_hashsize(g, &v), 0);
        ck_assert_uint_eq(v, 65536);

        /* Missing at first, back with the default: the previous run's value returns. */
        (void) sysctl_guard_tick(g, S(0));
        put(BUCKETS, "262144\n");
        (void) sysctl_guard_tick(g, S(1));
        assert_value(BUCKETS, "65536\n");
}
END_TEST

START_TEST(test_seed_found_changed) {
        _cleanup_(config_freep) Config *c = config_with(NULL, NULL);
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        Seen seen;

        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_seed_followed(g, BUCKETS, "65536"), 0);
        (void) sysctl_guard_tick(g, S(0));
        /* Changed while no daemon looked: adopted, not written. */
        assert_value(BUCKETS, "262144\n");
        ck_assert_str_eq(views(g, &seen), "net.netfilter.nf_conntrack_buckets=262144 followed followed;"
                         "net.netfilter.nf_conntrack_tcp_timeout_established=432000 followed followed;");
}
END_TEST

START_TEST(test_fight) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;

        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_tick(g, S(0)), 1);

        for (unsigned t = 1; t <= SYSCTL_FIGHT_BURST; t++) {
                put(KEY, "100\n");
                (void) sysctl_guard_tick(g, S(t));
                assert_value(KEY, "7200\n");
        }
        /* The sixth change within the minute is left in place. */
        put(KEY, "100\n");
        (void) sysctl_guard_tick(g, S(6));
        assert_value(KEY, "100\n");
        ck_assert_uint_eq(counts(g).fighting, 1);
        ck_assert_uint_eq(counts(g).fights, 1);
        (void) sysctl_guard_tick(g, S(30));
        assert_value(KEY, "100\n");

        /* A reload guards it again at once. */
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        (void) sysctl_guard_tick(g, S(31));
        assert_value(KEY, "7200\n");
        ck_assert_uint_eq(counts(g).fighting, 0);
}
END_TEST

START_TEST(test_monitor_and_hold) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;

        c->mode = GUARD_MODE_MONITOR;
        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_tick(g, S(0)), 1);
        assert_value(KEY, "432000\n");
        ck_assert_uint_eq(counts(g).drifted, 1);
        /* Reported once: nothing new at the next tick. */
        ck_assert_int_eq(sysctl_guard_tick(g, S(1)), 0);

        c->mode = GUARD_MODE_ENFORCE;
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        sysctl_guard_set_held(g, true);
        (void) sysctl_guard_tick(g, S(2));
        assert_value(KEY, "432000\n");
        ck_assert_uint_eq(counts(g).drifted, 1);

        sysctl_guard_set_held(g, false);
        (void) sysctl_guard_tick(g, S(3));
        assert_value(KEY, "7200\n");
        ck_assert_uint_eq(counts(g).drifted, 0);
}
END_TEST

START_TEST(test_missing_then_appears) {
        _cleanup_(config_freep) Config *c = config_with("net/netfilter/nf_conntrack_udp_timeout",
                                                         "60");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;

        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_tick(g, S(0)), 1);
        ck_assert_uint_eq(counts(g).unavailable, 1);
        ck_assert_int_eq(sysctl_guard_tick(g, S(1)), 0);

        put("net/netfilter/nf_conntrack_udp_timeout", "30\n");
        ck_assert_int_eq(sysctl_guard_tick(g, S(2)), 1);
        assert_value("net/netfilter/nf_conntrack_udp_timeout", "60\n");
        ck_assert_uint_eq(counts(g).unavailable, 0);
}
END_TEST

/* Drives the loop until the file holds want or a second passes. */
static void run_until_value(sd_event *e, const char *rel, const char *want) {
        usec_t deadline = now_monotonic() + S(1);

        for (;;) {
                _cleanup_free_ char *v = get(rel);

                if (streq(v, want))
                        return;
                ck_assert_msg(now_monotonic() < deadline, "%s is '%s', want '%s'", rel, v, want);
                ck_assert_int_ge(sd_event_run(e, 100 * USEC_PER_MSEC), 0);
        }
}

START_TEST(test_watch) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        sd_event *e = NULL;

        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(sysctl_guard_new(root, e, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_tick(g, S(0)), 1);       /* arms the watches */
        assert_value(KEY, "7200\n");

        /* No tick from here on: only the watch can notice. */
        put(KEY, "100\n");
        run_until_value(e, KEY, "7200\n");
        ck_assert_uint_eq(counts(g).restores, 2);

        /* A reload keeps the watch. */
        ck_assert_int_eq(sysctl_guard_set_config(g, c), 0);
        put(KEY, "101\n");
        run_until_value(e, KEY, "7200\n");

        g = sysctl_guard_free(g);
        sd_event_unref(e);
}
END_TEST

/* Stands in for the sleep of sysctl_guard_apply_all(): the module's file appears at the
 * appear_at-th time the guard waits, so it is certain to appear while the guard waits. */
typedef struct Nap {
        const char *path;
        unsigned naps;
        unsigned appear_at;     /* 0: never */
        usec_t slept;
} Nap;

static void nap(usec_t usec, void *userdata) {
        Nap *n = userdata;
        int fd;

        n->naps++;
        n->slept += usec;
        (void) nanosleep(&(struct timespec) { .tv_nsec = (long) usec * 1000 }, NULL);
        if (n->naps != n->appear_at)
                return;
        fd = open(n->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "432000\n", 7), 7);
        close(fd);
}

START_TEST(test_apply_all_waits) {
        _cleanup_(config_freep) Config *c = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        _cleanup_free_ char *p = NULL;
        Nap n = {};
        usec_t start;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, KEY), 0);
        ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/nf_conntrack_enable", "1", "t"), 0);
        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        sysctl_guard_set_nap(g, nap, &n);
        (void) sysctl_guard_tick(g, now_monotonic());
        assert_value(KEY, "7200\n");

        /* The module goes away and comes back with its default while apply_all() waits. */
        ck_assert_int_eq(unlink(p), 0);
        n = (Nap) { .path = p, .appear_at = 3 };
        start = now_monotonic();
        ck_assert_int_eq(sysctl_guard_apply_all(g, start + S(5)), 0);
        /* Applied when it appeared, without waiting for the key no kernel has. */
        ck_assert_uint_eq(n.naps, 3);
        ck_assert_uint_lt(now_monotonic() - start, S(4));
        assert_value(KEY, "7200\n");

        /* A key that was there and does not come back: waited for until the deadline. */
        ck_assert_int_eq(unlink(p), 0);
        n = (Nap) { .path = p };
        start = now_monotonic();
        ck_assert_int_eq(sysctl_guard_apply_all(g, start + 200 * USEC_PER_MSEC), -ETIMEDOUT);
        ck_assert_uint_ge(now_monotonic() - start, 200 * USEC_PER_MSEC);
        ck_assert_uint_ge(n.naps, 2);
        ck_assert_uint_ge(counts(g).unavailable, 1);
}
END_TEST

START_TEST(test_hashsize) {
        _cleanup_(config_freep) Config *c = config_with("net/netfilter/nf_conntrack_buckets",
                                                         "65536");
        _cleanup_(config_freep) Config *none = config_with(KEY, "7200");
        _cleanup_(sysctl_guard_freep) SysctlGuard *g = NULL;
        unsigned v = 0;

        ck_assert_int_eq(sysctl_guard_new(root, NULL, c, &g), 0);
        ck_assert_int_eq(sysctl_guard_desired_hashsize(g, &v), 0);
        ck_assert_uint_eq(v, 65536);
        ck_assert_int_eq(sysctl_guard_set_config(g, none), 0);
        /* No longer assigned: followed, and known once it was looked at (the guard never
         * wrote 65536: no tick ran while it was assigned). */
        ck_assert_int_eq(sysctl_guard_desired_hashsize(g, &v), -ENOENT);
        (void) sysctl_guard_tick(g, S(0));
        ck_assert_int_eq(sysctl_guard_desired_hashsize(g, &v), 0);
        ck_assert_uint_eq(v, 262144);
}
END_TEST

int main(void) {
        Suite *s = suite_create("sysctl-guard");
        TCase *tc = tcase_create("tree");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_tick_restores);
        tcase_add_test(tc, test_follow);
        tcase_add_test(tc, test_seed);
        tcase_add_test(tc, test_seed_found_changed);
        tcase_add_test(tc, test_fight);
        tcase_add_test(tc, test_monitor_and_hold);
        tcase_add_test(tc, test_missing_then_appears);
        tcase_add_test(tc, test_watch);
        tcase_add_test(tc, test_apply_all_waits);
        tcase_add_test(tc, test_hashsize);
        tcase_add_test(tc, test_raise);
        tcase_add_test(tc, test_raise_followed);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
