/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "daemon-state.h"
#include "macro.h"

static const struct {
        const char *text;
        int ret;
} parse_cases[] = {
        { "Version=1\n",                                                 0 },
        { "Version=1\nPid=12\nStarted=34\nMode=monitor\nHeals=2\n",     0 },
        { "Version=1\nSysctl=net/ipv4/ip_forward\t1\tc.conf:3\towned\tok\n", 0 },
        { "Version=1\nSysctl=net/netfilter/x\ta=b\tfollowed\tfollowed\t\n", 0 },
        { "Version=1\nSysctl=x\t\\x01\\t\\\\\t\towned\t\n",               0 },
        { "Version=1\nReload=5 rejected\nReloadError=a.conf:1: bad\n", 0 },
        { "Version=1\nWarnPercent=1\nCritPercent=2\nFingerprint=00ff\n", 0 },
        { "Version=1\nEvent=5 table-warn 80% full\n",                    0 },
        { "Version=1\nEvent=5 held\n",                                   0 },  /* no message */
        { "Version=1\nFuture=whatever\n",                                0 },  /* unknown: ignored */
        { "Version=1",                                                   0 },  /* no trailing newline */
        { "Version=1\nAutoRaise=yes\nMemoryBudget=5%\n",                 0 },
        { "Version=1\nBudget=1000 256 3 1 776 224 0\n",                   0 },
        { "Version=1\nRaised=9 256 384 512 1024\n",                       0 },
        { "Version=1\nCountersError=2\n",                                0 },
        { "Version=1\nCountersError=0\n",                                -EBADMSG },
        { "Version=1\nCountersError=x\n",                                -EBADMSG },
        { "Version=1\nAutoRaise=maybe\n",                                -EBADMSG },
        { "Version=1\nBudget=1000 256 3 1 776 224\n",                    -EBADMSG },
        { "Version=1\nBudget=1000 256 3 1 776 224 0 9\n",                -EBADMSG },
        { "Version=1\nBudget=1000  256 3 1 776 224 0\n",                 -EBADMSG },
        { "Version=1\nRaised=0 256 384 512 1024\n",                      -EBADMSG },
        { "Version=1\nRaised=9 256 x 512 1024\n",                        -EBADMSG },
        { "",                                                            -EBADMSG },
        { "Pid=1\n",                                                     -EBADMSG },
        { "Version=2\n",                                                 -EPROTONOSUPPORT },
        { "Version=1\nPid=x\n",                                          -EBADMSG },
        { "Version=1\nPid=-1\n",                                         -EBADMSG },
        { "Version=1\nPid=99999999999\n",                                -EBADMSG },
        { "Version=1\nno equals sign\n",                                 -EBADMSG },
        { "Version=1\nSysctl=nopath\n",                                  -EBADMSG },
        { "Version=1\nSysctl=x\t1\to\tmine\tok\n",                        -EBADMSG },
        { "Version=1\nSysctl=x\t1\to\towned\tok\textra\n",               -EBADMSG },
        { "Version=1\nSysctl=x\t\\q\to\towned\tok\n",                   -EBADMSG },
        { "Version=1\nSysctl=x\t\\x00\to\towned\tok\n",                 -EBADMSG },
        { "Version=1\nReload=5 maybe\n",                                -EBADMSG },
        { "Version=1\nMode=a\rb\n",                                     -EBADMSG },
        { "Version=1\nEvent=5\n",                                        -EBADMSG },
        { "Version=1\nEvent=x table-ok back\n",                          -EBADMSG },
        { "Version=1\nEvent=5 Bad_Name msg\n",                           -EBADMSG },
};

START_TEST(test_parse) {
        DaemonState s = {};
        int r = daemon_state_parse(parse_cases[_i].text, strlen(parse_cases[_i].text), &s);

        ck_assert_msg(r == parse_cases[_i].ret, "case %d: got %d, want %d", _i, r, parse_cases[_i].ret);
        daemon_state_done(&s);
}
END_TEST

START_TEST(test_round_trip) {
        _cleanup_free_ char *text = NULL, *again = NULL;
        DaemonState s = { .pid = 42, .started = 1000, .heals = 3, .restores = 7, .warn_percent = 1,
                          .crit_percent = 2, .reload = DAEMON_RELOAD_REJECTED, .reload_time = 99 },
                    t = {};
        /* Values with spaces, tabs, newlines, backslashes, control and 8-bit bytes. */
        const DaemonSysctl rows[] = {
                { "net/netfilter/nf_conntrack_max", "262144", "/etc/ctguard/ctguard.conf:12", true, "ok" },
                { "net/ipv4/ip_local_port_range", "1024\t65535", "followed", false, "followed" },
                { "net/x/odd", " a\\b\nc\x01\x7f\xc3\xa4 ", "/etc/my dir/a\tb.conf:1", true, "drifted" },
                { "net/x/empty", "", "followed", false, NULL },
        };

        s.have_auto_raise = s.auto_raise = true;
        s.memory_budget = strdup("5%");
        s.budget = (DaemonBudget) { true, 52428800, 256, 384, 512, 102400, 52326400, 204000 };
        s.raise = (DaemonRaise) { 1700000000000000, 256, 384, 512, 1024 };
        s.mode = strdup("enforce");
        s.fingerprint = strdup("0123456789abcdef");
        s.config_main = strdup("/tmp/with space/c.conf");
        s.reload_error = strdup("/etc/ctguard/ctguard.conf:3: bad value\tx");
        s.counters_error = ENOENT;
        ck_assert_int_eq(daemon_state_set_sysctls(&s, rows, ELEMENTSOF(rows)), 0);
        ck_assert_int_eq(daemon_state_add_event(&s, 5, "table-warn", "line one\nline two \\ x"), 0);
        ck_assert_int_eq(daemon_state_add_event(&s, 6, "Bad Name", "x"), -EINVAL);

        ck_assert_int_eq(daemon_state_format(&s, &text), 0);
        ck_assert_int_eq(daemon_state_parse(text, strlen(text), &t), 0);
        ck_assert_int_eq(daemon_state_format(&t, &again), 0);
        ck_assert_str_eq(text, again);

        ck_assert_uint_eq(t.pid, 42);
        ck_assert_uint_eq(t.started, 1000);
        ck_assert_uint_eq(t.heals, 3);
        ck_assert_uint_eq(t.restores, 7);
        ck_assert_uint_eq(t.warn_percent, 1);
        ck_assert_uint_eq(t.crit_percent, 2);
        ck_assert_str_eq(t.mode, "enforce");
        ck_assert_str_eq(t.fingerprint, "0123456789abcdef");
        ck_assert_str_eq(t.config_main, "/tmp/with space/c.conf");
        ck_assert_int_eq(t.reload, DAEMON_RELOAD_REJECTED);
        ck_assert_uint_eq(t.reload_time, 99);
        ck_assert_str_eq(t.reload_error, "/etc/ctguard/ctguard.conf:3: bad value\tx");
        ck_assert(t.have_auto_raise && t.auto_raise);
        ck_assert_str_eq(t.memory_budget, "5%");
        ck_assert(t.budget.known);
        ck_assert_uint_eq(t.budget.bytes, 52428800);
        ck_assert_uint_eq(t.budget.entry_bytes, 256);
        ck_assert_uint_eq(t.budget.max, 384);
        ck_assert_uint_eq(t.budget.buckets, 512);
        ck_assert_uint_eq(t.budget.used, 102400);
        ck_assert_uint_eq(t.budget.headroom, 52326400);
        ck_assert_uint_eq(t.budget.headroom_entries, 204000);
        ck_assert_uint_eq(t.raise.time, 1700000000000000);
        ck_assert_uint_eq(t.raise.from_max, 256);
        ck_assert_uint_eq(t.raise.to_max, 384);
        ck_assert_uint_eq(t.raise.from_buckets, 512);
        ck_assert_uint_eq(t.raise.to_buckets, 1024);
        ck_assert_int_eq(t.counters_error, ENOENT);
        ck_assert_uint_eq(t.n_sysctls, ELEMENTSOF(rows));
        for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                ck_assert_str_eq(t.sysctls[i].path, rows[i].path);
                ck_assert_str_eq(t.sysctls[i].value, rows[i].value);
                ck_assert_str_eq(t.sysctls[i].origin, rows[i].origin);
                ck_assert(t.sysctls[i].owned == rows[i].owned);
                ck_assert_str_eq(t.sysctls[i].status, strempty(rows[i].status));
        }
        ck_assert_ptr_nonnull(daemon_state_find_sysctl(&t, "net/x/odd"));
        ck_assert_ptr_null(daemon_state_find_sysctl(&t, "net/x"));
        ck_assert_uint_eq(t.n_events, 1);
        ck_assert_str_eq(daemon_state_event(&t, 0)->message, "line one line two \\ x");
        daemon_state_done(&s);
        daemon_state_done(&t);
}
END_TEST

/* The budget as priced for status: entries at the slab object size, buckets at 8 bytes. */
static const struct {
        TableRaiseInput in;
        uint64_t used, headroom;
} price_cases[] = {
        { { .max = 384, .buckets = 512, .object_size = 256, .budget = 52428800 }, 102400, 52326400 },
        { { .max = 1024, .buckets = 1024, .object_size = 256, .budget = 266240 }, 270336, 0 },
        { { .max = 0, .buckets = 0, .object_size = 320, .budget = 0 }, 0, 0 },
};

START_TEST(test_budget_price) {
        const TableRaiseInput *in = &price_cases[_i].in;
        DaemonBudget b;

        daemon_budget_price(in, &b);
        ck_assert(b.known);
        ck_assert_uint_eq(b.bytes, in->budget);
        ck_assert_uint_eq(b.entry_bytes, in->object_size);
        ck_assert_uint_eq(b.max, in->max);
        ck_assert_uint_eq(b.buckets, in->buckets);
        ck_assert_uint_eq(b.used, price_cases[_i].used);
        ck_assert_uint_eq(b.headroom, price_cases[_i].headroom);
        ck_assert_uint_eq(b.headroom_entries, table_raise_headroom(in));
}
END_TEST

START_TEST(test_event_ring) {
        DaemonState s = {};
        char name[32];

        for (unsigned i = 0; i < DAEMON_STATE_EVENTS_MAX + 5; i++) {
                snprintf(name, sizeof(name), "e%u", i);
                ck_assert_int_eq(daemon_state_add_event(&s, i, name, "m"), 0);
        }
        ck_assert_uint_eq(s.n_events, DAEMON_STATE_EVENTS_MAX);
        /* The oldest five were dropped, the order is kept. */
        ck_assert_str_eq(daemon_state_event(&s, 0)->name, "e5");
        snprintf(name, sizeof(name), "e%u", DAEMON_STATE_EVENTS_MAX + 4);
        ck_assert_str_eq(daemon_state_event(&s, DAEMON_STATE_EVENTS_MAX - 1)->name, name);
        ck_assert_ptr_null(daemon_state_event(&s, DAEMON_STATE_EVENTS_MAX));
        daemon_state_done(&s);
}
END_TEST

START_TEST(test_save_load_lock) {
        char root[] = "/tmp/ctguard-state-XXXXXX";
        DaemonState s = { .pid = 7 }, t = {};
        _cleanup_free_ char *rundir = NULL, *cmd = NULL;
        int fd, status;
        pid_t pid;

        ck_assert_ptr_nonnull(mkdtemp(root));
        ck_assert_int_eq(asprintf(&rundir, "%s/run", root) > 0, 1);
        ck_assert_int_eq(mkdir(rundir, 0755), 0);

        ck_assert_int_eq(daemon_state_load(root, &t), -ENOENT);
        ck_assert_int_eq(daemon_lock_probe(root), 0);

        ck_assert_int_eq(daemon_state_save(root, &s), 0);
        ck_assert_int_eq(daemon_state_load(root, &t), 0);
        ck_assert_uint_eq(t.pid, 7);
        daemon_state_done(&t);

        fd = daemon_lock_take(root);
        ck_assert_int_ge(fd, 0);
        /* Another process sees the lock held, and cannot take it. */
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(daemon_lock_probe(root) == 1 && daemon_lock_take(root) == -EBUSY ? 0 : 1);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        close(fd);
        ck_assert_int_eq(daemon_lock_probe(root), 0);   /* released with the fd */

        ck_assert_int_eq(asprintf(&cmd, "rm -rf '%s'", root) > 0, 1);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Under the unit's UMask=0077 the files still are readable by everyone; and whatever else sits
 * at their names (a FIFO, a symlink, garbage) is refused at once, never waited on. */
START_TEST(test_modes_and_refusals) {
        char root[] = "/tmp/ctguard-state-XXXXXX";
        _cleanup_free_ char *dir = NULL, *state = NULL, *lock = NULL, *cmd = NULL;
        DaemonState s = { .pid = 7 }, t = {};
        struct stat st;
        mode_t old;
        int fd;

        ck_assert_ptr_nonnull(mkdtemp(root));
        ck_assert_int_ge(asprintf(&dir, "%s/run/ctguard", root), 0);
        ck_assert_int_ge(asprintf(&state, "%s/state", dir), 0);
        ck_assert_int_ge(asprintf(&lock, "%s/daemon.lock", dir), 0);

        old = umask(0077);
        ck_assert_int_eq(daemon_state_save(root, &s), 0);
        fd = daemon_lock_take(root);
        umask(old);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        ck_assert_int_eq(stat(state, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(stat(lock, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        close(fd);

        /* A FIFO: refused without blocking (the test would hang here otherwise). */
        ck_assert_int_eq(unlink(state), 0);
        ck_assert_int_eq(mkfifo(state, 0644), 0);
        ck_assert_int_eq(daemon_state_load(root, &t), -EBADFD);
        ck_assert_int_eq(unlink(lock), 0);
        ck_assert_int_eq(mkfifo(lock, 0644), 0);
        ck_assert_int_eq(daemon_lock_probe(root), -EBADFD);
        ck_assert_int_eq(daemon_lock_take(root), -EBADFD);

        /* A symlink. */
        ck_assert_int_eq(unlink(state), 0);
        ck_assert_int_eq(symlink("/etc/passwd", state), 0);
        ck_assert_int_eq(daemon_state_load(root, &t), -ELOOP);
        ck_assert_int_eq(unlink(lock), 0);
        ck_assert_int_eq(symlink("/etc/passwd", lock), 0);
        ck_assert_int_eq(daemon_lock_probe(root), -ELOOP);

        /* Garbage, and a file too large. */
        ck_assert_int_eq(unlink(state), 0);
        ck_assert_int_eq(asprintf(&cmd, "printf 'Version=1\\nPid=x\\n' > '%s'", state) > 0, 1);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(daemon_state_load(root, &t), -EBADMSG);
        free(cmd);
        ck_assert_int_eq(asprintf(&cmd, "head -c %u /dev/zero > '%s'", DAEMON_STATE_SIZE_MAX + 1, state) > 0, 1);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(daemon_state_load(root, &t), -EFBIG);

        /* Saving replaces whatever sits at the name. */
        ck_assert_int_eq(unlink(state), 0);
        ck_assert_int_eq(mkfifo(state, 0644), 0);
        ck_assert_int_eq(daemon_state_save(root, &s), 0);
        ck_assert_int_eq(daemon_state_load(root, &t), 0);
        ck_assert_uint_eq(t.pid, 7);
        daemon_state_done(&t);

        free(cmd);
        ck_assert_int_eq(asprintf(&cmd, "rm -rf '%s'", root) > 0, 1);
        ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("daemon-state");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_parse, 0, ELEMENTSOF(parse_cases));
        tcase_add_test(tc, test_round_trip);
        tcase_add_loop_test(tc, test_budget_price, 0, ELEMENTSOF(price_cases));
        tcase_add_test(tc, test_event_ring);
        tcase_add_test(tc, test_save_load_lock);
        tcase_add_test(tc, test_modes_and_refusals);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
