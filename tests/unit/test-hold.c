/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <ftw.h>
#include <sys/stat.h>

#include "hold.h"
#include "macro.h"

#define BAD(text) { text, -EBADMSG, false, 0, 0, NULL }

static const struct {
        const char *text;
        int ret;
        bool held;
        usec_t since, until;
        const char *reason;
} parse_cases[] = {
        { "State=held\nSince=10\nUntil=20\nReason=kernel upgrade\n", 0, true, 10, 20, "kernel upgrade" },
        { "# comment\n\nState=held\nSince=10\nUntil=infinity\n",     0, true, 10, USEC_INFINITY, NULL },
        { "State=held\nSince=10\nUntil=20\nReason=\n",               0, true, 10, 20, NULL },
        { "State=held\nSince=10\nUntil=20",                          0, true, 10, 20, NULL },  /* no final newline */
        { "Until=20\nReason=x\nSince=10\nState=held\n",              0, true, 10, 20, "x" },   /* any order */
        { "State=held\nSince=10\nUntil=20\nFuture=1\n",              0, true, 10, 20, NULL },  /* unknown key */
        { "State=released\nSince=30\n",                              0, false, 30, 0, NULL },
        { "State=released\nSince=30\nUntil=99\nReason=x\n",          0, false, 30, 0, NULL },  /* ignored */
        { "State=held\nSince=10\nUntil=20\nReason=Wartung über Nacht\n", 0, true, 10, 20, "Wartung über Nacht" },

        BAD(""),
        BAD("State=held\nSince=10\n"),  /* no Until */
        BAD("State=held\nUntil=20\n"),  /* no Since */
        BAD("Since=10\nUntil=20\n"),  /* no State */
        BAD("State=maybe\nSince=10\nUntil=20\n"),
        BAD("State=held\nSince=-1\nUntil=20\n"),
        BAD("State=held\nSince=infinity\nUntil=20\n"),
        BAD("State=held\nSince=10\nUntil=2O\n"),
        BAD("State=held\nSince=10\nUntil=\n"),
        BAD("State=held\nSince=10\nUntil=99999999999999999999\n"),
        BAD("State=held\nSince=10\nUntil=20\nReason=a\tb\n"),
        BAD("State=held\nSince=10\nUntil=20\ngarbage\n"),
};

START_TEST(test_parse) {
        Hold h = { .since = 4242 };
        int r;

        r = hold_parse(parse_cases[_i].text, strlen(parse_cases[_i].text), &h);
        ck_assert_msg(r == parse_cases[_i].ret, "case %d: got %d", _i, r);
        if (r < 0) {
                ck_assert_uint_eq(h.since, 4242);       /* untouched */
                return;
        }
        ck_assert(h.held == parse_cases[_i].held);
        ck_assert_uint_eq(h.since, parse_cases[_i].since);
        ck_assert_uint_eq(h.until, parse_cases[_i].until);
        if (parse_cases[_i].reason)
                ck_assert_str_eq(h.reason, parse_cases[_i].reason);
        else
                ck_assert_ptr_null(h.reason);
        hold_done(&h);
}
END_TEST

START_TEST(test_parse_limits) {
        char text[HOLD_FILE_SIZE_MAX + 64], reason[HOLD_REASON_MAX + 2];
        Hold h = {};

        /* A NUL inside the text. */
        ck_assert_int_eq(hold_parse("State=held\0\nSince=1\nUntil=2\n", 28, &h), -EBADMSG);

        /* The longest reason passes, one byte more does not. */
        memset(reason, 'r', sizeof(reason));
        reason[HOLD_REASON_MAX] = '\0';
        ck_assert(hold_reason_valid(reason));
        snprintf(text, sizeof(text), "State=held\nSince=1\nUntil=2\nReason=%s\n", reason);
        ck_assert_int_eq(hold_parse(text, strlen(text), &h), 0);
        ck_assert_uint_eq(strlen(h.reason), HOLD_REASON_MAX);
        hold_done(&h);
        reason[HOLD_REASON_MAX] = 'r';
        reason[HOLD_REASON_MAX + 1] = '\0';
        ck_assert(!hold_reason_valid(reason));
        snprintf(text, sizeof(text), "State=held\nSince=1\nUntil=2\nReason=%s\n", reason);
        ck_assert_int_eq(hold_parse(text, strlen(text), &h), -EBADMSG);

        /* Oversized files are refused whole. */
        memset(text, '#', sizeof(text));
        ck_assert_int_eq(hold_parse(text, HOLD_FILE_SIZE_MAX + 1, &h), -EBADMSG);

        ck_assert(hold_reason_valid(NULL));
        ck_assert(!hold_reason_valid("line\nbreak"));
        ck_assert(!hold_reason_valid("del\x7f"));
}
END_TEST

static const Hold format_cases[] = {
        { .held = true,  .since = 1700000000000000, .until = 1700000360000000, .reason = (char *) "upgrade to 6.1" },
        { .held = true,  .since = 1, .until = USEC_INFINITY },
        { .held = false, .since = 1700000000000001 },
        { .held = true,  .since = 0, .until = 0, .reason = (char *) "" },
};

/* What is written reads back the same. */
START_TEST(test_format_roundtrip) {
        _cleanup_free_ char *text = NULL;
        const Hold *in = &format_cases[_i];
        Hold out = {};

        ck_assert_int_eq(hold_format(in, &text), 0);
        ck_assert_int_eq(hold_parse(text, strlen(text), &out), 0);
        ck_assert(out.held == in->held);
        ck_assert_uint_eq(out.since, in->since);
        ck_assert_uint_eq(out.until, in->held ? in->until : 0);
        if (in->reason && *in->reason)
                ck_assert_str_eq(out.reason, in->reason);
        else
                ck_assert_ptr_null(out.reason);
        hold_done(&out);
}
END_TEST

START_TEST(test_format_invalid) {
        Hold h = { .held = true, .since = 1, .until = 2, .reason = (char *) "two\nlines" };
        char *text = NULL;

        ck_assert_int_eq(hold_format(&h, &text), -EINVAL);
        ck_assert_ptr_null(text);
}
END_TEST

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void rm_rf(const char *dir) {
        (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int count_entries(const char *dir) {
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        return n;
}

START_TEST(test_save_load) {
        char root[] = "/tmp/ctguard-test-hold.XXXXXX";
        _cleanup_free_ char *path = NULL, *dir = NULL;
        Hold h = { .held = true, .since = 100, .until = 200, .reason = (char *) "maintenance" };
        Hold back = {};
        struct stat st;

        ck_assert_ptr_nonnull(mkdtemp(root));
        path = hold_path(root);
        ck_assert(asprintf(&dir, "%s/run/ctguard", root) > 0);
        ck_assert_str_eq(path + strlen(root), "/run/ctguard/hold");

        /* Never held. */
        ck_assert_int_eq(hold_load(root, &back), -ENOENT);

        /* The directory is created; the file is readable by all; no temporary file is left. */
        ck_assert_int_eq(hold_save(root, &h), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(count_entries(dir), 1);
        ck_assert_int_eq(hold_load(root, &back), 0);
        ck_assert(back.held);
        ck_assert_uint_eq(back.until, 200);
        ck_assert_str_eq(back.reason, "maintenance");
        hold_done(&back);

        /* A release replaces it, in place. */
        h = (Hold) { .held = false, .since = 300 };
        ck_assert_int_eq(hold_save(root, &h), 0);
        ck_assert_int_eq(count_entries(dir), 1);
        ck_assert_int_eq(hold_load(root, &back), 0);
        ck_assert(!back.held);
        ck_assert_uint_eq(back.since, 300);
        hold_done(&back);

        /* A damaged file is reported as such, and a symlink is not followed. */
        {
                _cleanup_fclose_ FILE *f = fopen(path, "we");

                ck_assert_ptr_nonnull(f);
                fputs("State=held\nSince=1\n", f);
        }
        ck_assert_int_eq(hold_load(root, &back), -EBADMSG);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(symlink("/etc/hostname", path), 0);
        ck_assert_int_eq(hold_load(root, &back), -ELOOP);

        /* Saving replaces the symlink itself, it does not write through it. */
        h = (Hold) { .held = true, .since = 1, .until = USEC_INFINITY };
        ck_assert_int_eq(hold_save(root, &h), 0);
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        rm_rf(root);
}
END_TEST

/* A fake clock: boot time runs on steadily, the wall clock is stepped (as NTP or an RTC does at
 * boot) by step_usec. */
static usec_t fake_boot = 10 * USEC_PER_SEC;
static int64_t fake_step;

static usec_t fake_now(clockid_t clock) {
        usec_t wall = 1700000000 * USEC_PER_SEC + fake_boot;

        if (clock == CLOCK_BOOTTIME)
                return fake_boot;
        ck_assert_int_eq(clock, CLOCK_REALTIME);
        return (usec_t) ((int64_t) wall + fake_step);
}

static const struct {
        int64_t step;           /* of the wall clock, after the hold was taken */
        usec_t elapsed;         /* real time passed since */
        bool in_force;
} step_cases[] = {
        {                               0,  30 * USEC_PER_MINUTE, true  },
        {  (int64_t) (2 * USEC_PER_HOUR),   1 * USEC_PER_MINUTE, true  },  /* forward: not ended */
        { -(int64_t) (2 * USEC_PER_HOUR),  61 * USEC_PER_MINUTE, false },  /* back: not prolonged */
        {  (int64_t) (30 * USEC_PER_DAY),  59 * USEC_PER_MINUTE, true  },
        {                               0,  61 * USEC_PER_MINUTE, false },
};

START_TEST(test_clock_step) {
        _cleanup_free_ char *text = NULL;
        Hold h, back = {};

        fake_boot = 10 * USEC_PER_SEC;
        fake_step = 0;
        h = hold_make(true, USEC_PER_HOUR, "upgrade", fake_now);
        ck_assert(hold_in_force(&h, fake_now));

        /* Through the file, as the daemon reads what "ctguard hold" wrote. */
        ck_assert_int_eq(hold_format(&h, &text), 0);
        ck_assert_ptr_nonnull(strstr(text, "Clock=boottime\n"));
        ck_assert_int_eq(hold_parse(text, strlen(text), &back), 0);

        fake_step = step_cases[_i].step;
        fake_boot += step_cases[_i].elapsed;
        ck_assert_msg(hold_in_force(&back, fake_now) == step_cases[_i].in_force, "case %d", _i);
        hold_done(&back);
}
END_TEST

START_TEST(test_legacy_realtime) {
        Hold h = {};
        const char *old = "State=held\nSince=100\nUntil=200\n";

        /* A file from before Clock= counts in wall-clock time, and ends when that says so. */
        ck_assert_int_eq(hold_parse(old, strlen(old), &h), 0);
        ck_assert_int_eq(h.clock, CLOCK_REALTIME);
        ck_assert(!hold_in_force(&h, fake_now));
        ck_assert_int_eq(hold_parse("State=held\nClock=tai\nSince=1\nUntil=2\n", 37, &h), -EBADMSG);
}
END_TEST

START_TEST(test_fifo_refused) {
        char root[] = "/tmp/ctguard-test-hold.XXXXXX";
        _cleanup_free_ char *path = NULL, *dir = NULL;
        Hold back = {};

        ck_assert_ptr_nonnull(mkdtemp(root));
        ck_assert(asprintf(&dir, "%s/run/ctguard", root) > 0);
        ck_assert_int_eq(hold_dir_create(root, &path), 0);
        free(path);
        path = hold_path(root);
        /* open(2) of a FIFO for reading blocks until a writer comes: it must not be waited on. */
        ck_assert_int_eq(mkfifo(path, 0644), 0);
        ck_assert_int_eq(hold_load(root, &back), -EBADFD);
        rm_rf(root);
}
END_TEST

START_TEST(test_save_unwritable) {
        Hold h = { .held = true, .since = 1, .until = 2 };

        /* A root that does not exist: the error comes back, nothing is created elsewhere. */
        ck_assert_int_eq(hold_save("/nonexistent/ctguard-test", &h), -ENOENT);
}
END_TEST

int main(void) {
        Suite *s = suite_create("hold");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_parse, 0, ELEMENTSOF(parse_cases));
        tcase_add_test(tc, test_parse_limits);
        tcase_add_loop_test(tc, test_format_roundtrip, 0, ELEMENTSOF(format_cases));
        tcase_add_test(tc, test_format_invalid);
        tcase_add_test(tc, test_save_load);
        tcase_add_test(tc, test_save_unwritable);
        tcase_add_loop_test(tc, test_clock_step, 0, ELEMENTSOF(step_cases));
        tcase_add_test(tc, test_legacy_realtime);
        tcase_add_test(tc, test_fifo_refused);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
