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
        { "Version=1\nDesired=net/ipv4/ip_forward=1\n",                  0 },
        { "Version=1\nDesired=net/netfilter/x=a=b\n",                    0 },  /* value may hold '=' */
        { "Version=1\nEvent=5 table-warn 80% full\n",                    0 },
        { "Version=1\nEvent=5 held\n",                                   0 },  /* no message */
        { "Version=1\nFuture=whatever\n",                                0 },  /* unknown: ignored */
        { "Version=1",                                                   0 },  /* no trailing newline */
        { "",                                                            -EBADMSG },
        { "Pid=1\n",                                                     -EBADMSG },
        { "Version=2\n",                                                 -EPROTONOSUPPORT },
        { "Version=1\nPid=x\n",                                          -EBADMSG },
        { "Version=1\nPid=-1\n",                                         -EBADMSG },
        { "Version=1\nPid=99999999999\n",                                -EBADMSG },
        { "Version=1\nno equals sign\n",                                 -EBADMSG },
        { "Version=1\nDesired=nopath\n",                                 -EBADMSG },
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
        DaemonState s = { .pid = 42, .started = 1000, .heals = 3, .restores = 7 }, t = {};

        s.mode = strdup("enforce");
        ck_assert_int_eq(daemon_state_set_desired(&s, "net/netfilter/nf_conntrack_max", "262144"), 0);
        ck_assert_int_eq(daemon_state_set_desired(&s, "net/ipv4/ip_local_port_range", "1024\t65535"), 0);
        ck_assert_int_eq(daemon_state_set_desired(&s, "net/netfilter/nf_conntrack_max", "1000"), 0);
        ck_assert_int_eq(daemon_state_add_event(&s, 5, "table-warn", "line one\nline two"), 0);
        ck_assert_int_eq(daemon_state_add_event(&s, 6, "Bad Name", "x"), -EINVAL);

        ck_assert_int_eq(daemon_state_format(&s, &text), 0);
        ck_assert_int_eq(daemon_state_parse(text, strlen(text), &t), 0);
        ck_assert_int_eq(daemon_state_format(&t, &again), 0);
        ck_assert_str_eq(text, again);

        ck_assert_uint_eq(t.pid, 42);
        ck_assert_uint_eq(t.heals, 3);
        ck_assert_uint_eq(t.restores, 7);
        ck_assert_str_eq(t.mode, "enforce");
        ck_assert_uint_eq(t.n_desired, 2);
        ck_assert_str_eq(t.desired[0].value, "1000");           /* replaced, not added */
        ck_assert_str_eq(t.desired[1].value, "1024\t65535");
        ck_assert_uint_eq(t.n_events, 1);
        ck_assert_str_eq(daemon_state_event(&t, 0)->message, "line one line two");
        daemon_state_done(&s);
        daemon_state_done(&t);
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

int main(void) {
        Suite *s = suite_create("daemon-state");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_parse, 0, ELEMENTSOF(parse_cases));
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_event_ring);
        tcase_add_test(tc, test_save_load_lock);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
