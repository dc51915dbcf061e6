/* SPDX-License-Identifier: GPL-2.0-or-later */

/* lib/sysctl.c against a temporary tree standing in for /proc/sys. */

#include <check.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "macro.h"
#include "sysctl-key.h"
#include "sysctl.h"

#define BASE_TEMPLATE "/tmp/test-sysctl-XXXXXX"
static char base[sizeof(BASE_TEMPLATE)];                /* holds root/ and outside */
static char root[sizeof(base) + 16];
static char outside[sizeof(base) + 16];

static void put(const char *rel, const char *content, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        int fd;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t) strlen(content));
        close(fd);
        ck_assert_int_eq(chmod(p, mode), 0);
}

static char *get_abs(const char *p) {
        char buf[256] = {};
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        ck_assert_int_ge(fd, 0);
        n = read(fd, buf, sizeof(buf) - 1);
        ck_assert_int_ge(n, 0);
        close(fd);
        return strdup(buf);
}

static char *get(const char *rel) {
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        return get_abs(p);
}

static void mkdir_rel(const char *rel) {
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void symlink_rel(const char *target, const char *rel) {
        _cleanup_free_ char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", root, rel), 0);
        ck_assert_int_eq(symlink(target, p), 0);
}

/* The tree:
 *   root/kernel/sysrq                          "1": outside the allow-list
 *   root/kernel/bridge-nf-call-x               "1": reachable only through a symlinked dir
 *   root/net/netfilter/nf_conntrack_max        "262144"
 *   root/net/netfilter/nf_conntrack_buckets    "262144", 0444
 *   root/net/netfilter/nf_conntrack_tcp_timeout_{established,close}
 *   root/net/netfilter/nf_conntrack_udp_timeout
 *   root/net/netfilter/range                   "32768\t60999"
 *   root/net/netfilter/evil -> ../../kernel/sysrq
 *   root/net/netfilter/abs -> <base>/outside   (absolute, out of the tree)
 *   root/net/netfilter/dir/                    a directory where a file is expected
 *   root/net/bridge -> ../kernel
 *   root/net/ipv4/ip_forward                   "0"
 *   outside                                    "secret" */
static void setup(void) {
        memcpy(base, BASE_TEMPLATE, sizeof(BASE_TEMPLATE));
        ck_assert_ptr_nonnull(mkdtemp(base));
        ck_assert_int_eq(chmod(base, 0755), 0);     /* the unprivileged child must get in */
        snprintf(root, sizeof(root), "%s/root", base);
        snprintf(outside, sizeof(outside), "%s/outside", base);
        ck_assert_int_eq(mkdir(root, 0755), 0);

        mkdir_rel("kernel");
        mkdir_rel("net");
        mkdir_rel("net/netfilter");
        mkdir_rel("net/netfilter/dir");
        mkdir_rel("net/ipv4");
        put("kernel/sysrq", "1\n", 0644);
        put("kernel/bridge-nf-call-x", "1\n", 0644);
        put("net/netfilter/nf_conntrack_max", "262144\n", 0644);
        put("net/netfilter/nf_conntrack_buckets", "262144\n", 0444);
        put("net/netfilter/nf_conntrack_tcp_timeout_established", "432000\n", 0644);
        put("net/netfilter/nf_conntrack_tcp_timeout_close", "10\n", 0644);
        put("net/netfilter/nf_conntrack_udp_timeout", "30\n", 0644);
        put("net/netfilter/range", "32768\t60999\n", 0644);
        put("net/ipv4/ip_forward", "0\n", 0644);
        symlink_rel("../../kernel/sysrq", "net/netfilter/evil");
        symlink_rel(outside, "net/netfilter/abs");
        symlink_rel("../kernel", "net/bridge");

        int fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "secret\n", 7), 7);
        close(fd);
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf '%s'", base), 0);
        ck_assert_int_eq(system(cmd), 0);
}

/* Nothing outside the key that was written may change, whatever the path said. */
static void assert_bystanders_untouched(void) {
        _cleanup_free_ char *sysrq = get("kernel/sysrq"), *bridge = get("kernel/bridge-nf-call-x"),
                            *out = get_abs(outside);

        ck_assert_str_eq(sysrq, "1\n");
        ck_assert_str_eq(bridge, "1\n");
        ck_assert_str_eq(out, "secret\n");
}

static const struct {
        const char *path;
        const char *value;
        int ret;
        bool read_fails;        /* the path itself is refused, or missing */
} write_cases[] = {
        { "net/netfilter/nf_conntrack_max",             "131072",       0,       false },
        { "net/netfilter/range",                        "1024\t65000",  0,       false },
        { "net/ipv4/ip_forward",                        "1",            0,       false },
        /* Not normalised: refused inside the write path, before anything is opened. */
        { "net/../kernel/sysrq",                        "0",            -EINVAL, true },
        { "net/netfilter/../../kernel/sysrq",           "0",            -EINVAL, true },
        { "net.//../kernel.sysrq",                      "0",            -EINVAL, true },
        { "net/netfilter/./nf_conntrack_max",           "0",            -EINVAL, true },
        { "net/netfilter//nf_conntrack_max",            "0",            -EINVAL, true },
        { "/net/netfilter/nf_conntrack_max",            "0",            -EINVAL, true },
        { "net/netfilter/nf_conntrack_max/",            "0",            -EINVAL, true },
        { "net.netfilter.nf_conntrack_max",             "0",            -EINVAL, true },
        { "net/netfilter/NF_CONNTRACK_MAX",             "0",            -EINVAL, true },
        { "",                                           "0",            -EINVAL, true },
        /* Normalised, but not ctguard's to touch. */
        { "kernel/sysrq",                               "0",            -EPERM,  true },
        { "net/ipv4/tcp_syncookies",                    "0",            -EPERM,  true },
        /* Symlinks are never followed, wherever they point. */
        { "net/netfilter/evil",                         "0",            -ELOOP,  true },
        { "net/netfilter/abs",                          "0",            -ELOOP,  true },
        { "net/bridge/bridge-nf-call-x",                "0",            -ELOOP,  true },
        /* The kernel's own answers. */
        { "net/netfilter/nf_conntrack_enable",          "1",            -ENOENT, true },
        { "net/netfilter/dir",                          "1",            -EISDIR, true },
        /* Values that could smuggle a second assignment, or nothing at all. */
        { "net/netfilter/nf_conntrack_max",             "1\n2",         -EINVAL, false },
        { "net/netfilter/nf_conntrack_max",             "1\r",          -EINVAL, false },
        { "net/netfilter/nf_conntrack_max",             "",             -EINVAL, false },
};

/* Where openat2() is refused (systemd's RestrictSUIDSGID=), the per-component fallback must
 * give the same answer for every path the check lets through. */
START_TEST(test_open_compat) {
        const char *path = write_cases[_i].path;
        int rfd, a, b;

        if (sysctl_path_check(path) < 0)
                return;
        rfd = sysctl_root_open(root);
        ck_assert_int_ge(rfd, 0);
        a = sysctl_open_at(rfd, path, O_RDONLY);
        b = sysctl_open_at_compat(rfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        ck_assert_msg((a >= 0) == (b >= 0) && (a >= 0 || a == b),
                      "'%s': openat2 gave %d, the fallback %d", path, a, b);
        if (a >= 0)
                close(a);
        if (b >= 0)
                close(b);
        b = sysctl_open_at_compat(rfd, path, O_PATH | O_CLOEXEC);
        a = sysctl_open_at(rfd, path, O_PATH);
        ck_assert_msg((a >= 0) == (b >= 0) && (a >= 0 || a == b),
                      "'%s' O_PATH: openat2 gave %d, the fallback %d", path, a, b);
        if (a >= 0)
                close(a);
        if (b >= 0)
                close(b);
        close(rfd);
}
END_TEST

START_TEST(test_write) {
        _cleanup_free_ char *after = NULL, *back = NULL;
        const char *path = write_cases[_i].path;
        int r;

        r = sysctl_write(root, path, write_cases[_i].value);
        ck_assert_msg(r == write_cases[_i].ret, "'%s': got %d, want %d", path, r,
                      write_cases[_i].ret);
        assert_bystanders_untouched();

        if (r == 0) {
                /* Written with exactly one trailing newline, and read back without it. */
                after = get(path);
                ck_assert_int_eq(strlen(after), strlen(write_cases[_i].value) + 1);
                ck_assert_int_eq(after[strlen(after) - 1], '\n');
                ck_assert_int_eq(sysctl_read(root, path, &back), 0);
                ck_assert_str_eq(back, write_cases[_i].value);
        } else if (write_cases[_i].read_fails) {
                /* A refused path is refused for reading too. */
                ck_assert_int_ne(sysctl_read(root, path, &back), 0);
                ck_assert_ptr_null(back);
        }
}
END_TEST

START_TEST(test_key_normalize_then_write) {
        /* The hostile spellings are refused already as configuration keys... */
        static const char * const hostile[] = {
                "net.//../kernel.sysrq", "net/../kernel/sysrq", "net.netfilter...kernel.sysrq",
                "net/netfilter/../../kernel/sysrq", "kernel.sysrq",
        };
        _cleanup_free_ char *p = NULL;

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                ck_assert_int_lt(sysctl_key_normalize(hostile[i], &p), 0);
                ck_assert_ptr_null(p);
                /* ...and again by the write path when handed in raw. */
                ck_assert_int_lt(sysctl_write(root, hostile[i], "0"), 0);
        }
        assert_bystanders_untouched();

        /* A dotted key goes through normalisation, then the write path. */
        ck_assert_int_eq(sysctl_key_normalize("net.netfilter.nf_conntrack_tcp_timeout_established",
                                              &p), 0);
        ck_assert_int_eq(sysctl_write(root, p, "7200"), 0);
        free(p);
        p = get("net/netfilter/nf_conntrack_tcp_timeout_established");
        ck_assert_str_eq(p, "7200\n");
}
END_TEST

START_TEST(test_write_verified) {
        _cleanup_free_ char *back = NULL, *dev = NULL;

        ck_assert_int_eq(sysctl_write_verified(root, "net/netfilter/range", "1024 65000", &back),
                         0);
        ck_assert_str_eq(back, "1024 65000");
        free(back);
        back = NULL;

        /* A key that accepts the write and then holds something else, as the kernel does when
         * it clamps: a character device like /dev/null takes the write and reads back empty. */
        ck_assert_int_ge(asprintf(&dev, "%s/net/netfilter/clamped", root), 0);
        if (mknod(dev, S_IFCHR | 0644, makedev(1, 3)) < 0) {
                fprintf(stderr, "test_write_verified: mknod: %m; skipping the mismatch case\n");
                return;
        }
        ck_assert_int_eq(sysctl_write_verified(root, "net/netfilter/clamped", "7200", &back),
                         -EBADMSG);
        ck_assert_str_eq(back, "");
}
END_TEST

/* Read-only keys, made read-only the way the kernel does it rather than by a test switch. Root
 * ignores file modes on a regular file, so a child process drops to nobody first: a 0444 file
 * then refuses the open with EACCES, as nf_conntrack_max does inside a network namespace even
 * for root. A read-only bind mount gives EROFS. Both return the errno as the exit status. */
static int child_status(pid_t pid) {
        int status;

        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

START_TEST(test_readonly_mode) {
        int dfd = sysctl_root_open(root);
        pid_t pid;

        if (geteuid() != 0) {
                fprintf(stderr, "test_readonly_mode: not root, skipping\n");
                return;
        }
        ck_assert_int_ge(dfd, 0);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(255);
                _exit(-sysctl_write_at(dfd, "net/netfilter/nf_conntrack_buckets", "1024"));
        }
        int e = child_status(pid);
        close(dfd);
        ck_assert_int_eq(e, EACCES);
        ck_assert(sysctl_error_is_readonly(-e));

        _cleanup_free_ char *v = get("net/netfilter/nf_conntrack_buckets");
        ck_assert_str_eq(v, "262144\n");
}
END_TEST

START_TEST(test_readonly_mount) {
        _cleanup_free_ char *p = NULL, *v = NULL;
        pid_t pid;

        if (geteuid() != 0) {
                fprintf(stderr, "test_readonly_mount: not root, skipping\n");
                return;
        }
        ck_assert_int_ge(asprintf(&p, "%s/net/netfilter/nf_conntrack_max", root), 0);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                /* A private mount namespace: the read-only mount dies with the child. */
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount(p, p, NULL, MS_BIND, NULL) < 0 ||
                    mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
                        _exit(254);
                _exit(-sysctl_write(root, "net/netfilter/nf_conntrack_max", "1024"));
        }
        int e = child_status(pid);
        if (e == 254) {
                fprintf(stderr, "test_readonly_mount: no mount namespace here, skipping\n");
                return;
        }
        ck_assert_int_eq(e, EROFS);
        ck_assert(sysctl_error_is_readonly(-e));
        v = get("net/netfilter/nf_conntrack_max");
        ck_assert_str_eq(v, "262144\n");
}
END_TEST

static const struct {
        int error;
        bool readonly;
} readonly_cases[] = {
        { -EACCES, true }, { -EPERM, true }, { -EROFS, true }, { EACCES, true },
        { -EINVAL, false }, { -ENOENT, false }, { -EBADMSG, false }, { -EIO, false },
        { 0, false },
};

START_TEST(test_error_is_readonly) {
        ck_assert(sysctl_error_is_readonly(readonly_cases[_i].error) ==
                  readonly_cases[_i].readonly);
}
END_TEST

START_TEST(test_read) {
        _cleanup_free_ char *v = NULL;

        ck_assert_int_eq(sysctl_read(root, "net/netfilter/nf_conntrack_max", &v), 0);
        ck_assert_str_eq(v, "262144");
        free(v);
        ck_assert_int_eq(sysctl_read(root, "net/netfilter/range", &v), 0);
        ck_assert_str_eq(v, "32768\t60999");
        free(v);
        v = NULL;
        ck_assert_int_eq(sysctl_read(root, "net/netfilter/nf_conntrack_enable", &v), -ENOENT);
        ck_assert_int_eq(sysctl_read(root, "net/netfilter/evil", &v), -ELOOP);
        ck_assert_int_eq(sysctl_read(root, "kernel/sysrq", &v), -EPERM);
        ck_assert_int_eq(sysctl_read("/nonexistent-root", "net/ipv4/ip_forward", &v), -ENOENT);
        ck_assert_ptr_null(v);
}
END_TEST

START_TEST(test_followed_paths) {
        /* ip_forward exists in the tree, but belongs to whoever routes: never followed. */
        static const char * const want[] = {
                "net/netfilter/nf_conntrack_max",
                "net/netfilter/nf_conntrack_buckets",
                "net/netfilter/nf_conntrack_tcp_timeout_close",
                "net/netfilter/nf_conntrack_tcp_timeout_established",
                "net/netfilter/nf_conntrack_udp_timeout",
        };
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(sysctl_followed_paths(root, &l), 0);
        ck_assert_uint_eq(strv_length(l), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                ck_assert_str_eq(l[i], want[i]);
}
END_TEST

static const struct {
        const char *path;
        bool followable;
} followable_cases[] = {
        { "net/netfilter/nf_conntrack_max", true },
        { "net/netfilter/nf_conntrack_buckets", true },
        { "net/netfilter/nf_conntrack_tcp_timeout_established", true },
        { "net/netfilter/nf_conntrack_udp_timeout_stream", true },
        { "net/netfilter/nf_conntrack_udp_timeout", true },
        { "net/netfilter/nf_conntrack_expect_max", false },
        { "net/netfilter/nf_conntrack_count", false },
        { "net/ipv4/ip_forward", false },
        { "net/ipv6/conf/all/forwarding", false },
        { "net/netfilter/../netfilter/nf_conntrack_max", false },
        { "net.netfilter.nf_conntrack_max", false },
        { "net/netfilter/nf_conntrack_tcp_timeout_x/y", false },
        { "", false },
};

START_TEST(test_followable) {
        ck_assert_msg(sysctl_path_followable(followable_cases[_i].path) ==
                      followable_cases[_i].followable, "%s", followable_cases[_i].path);
}
END_TEST

static const struct {
        const char *a;
        const char *b;
        bool equal;
} compare_cases[] = {
        { "7200",               "7200",                 true },
        { "7200",               "7200\n",               true },
        { " 7200 ",             "7200",                 true },
        { "32768\t60999",       "32768 60999",          true },
        { "32768\t60999",       "32768   \t 60999\n",   true },
        { "1 2 3",              "1\t2\t3",              true },
        { "",                   "",                     true },
        { "",                   " \t\n",                true },
        { "7200",               "720",                  false },
        { "720",                "7200",                 false },
        { "01",                 "1",                    true },         /* numeric */
        { "0017",               "15",                   true },         /* octal, as the kernel */
        { "0007200",            "7200",                 false },
        { "010",                "8",                    true },
        { "0x10",               "16",                   true },
        { "08",                 "8",                    false },        /* not a number: text */
        { "00",                 "0",                    true },
        { "-0",                 "0",                    true },
        { "-01",                "-1",                   true },
        { "32768  060",         "32768\t48\n",          true },
        { "-1",                 "1",                    false },
        { "10",                 "1",                    false },
        { "1a",                 "01a",                  false },        /* text, not numeric */
        { "-",                  "-0",                   false },
        { "99999999999999999999", "99999999999999999999", true },      /* too long: text */
        { "99999999999999999999", "099999999999999999999", false },
        { "32768 60999",        "32768",                false },
        { "32768",              "32768 60999",          false },
        { "32768 60999",        "60999 32768",          false },
        { "327 6860999",        "32768 60999",          false },
        { "3276860999",         "32768 60999",          false },
        { "a",                  "A",                    false },
        { "",                   "0",                    false },
};

START_TEST(test_value_equal) {
        bool e = sysctl_value_equal(compare_cases[_i].a, compare_cases[_i].b);

        ck_assert_msg(e == compare_cases[_i].equal, "'%s' vs '%s': got %d", compare_cases[_i].a,
                      compare_cases[_i].b, e);
        /* The relation is symmetric. */
        ck_assert(sysctl_value_equal(compare_cases[_i].b, compare_cases[_i].a) == e);
}
END_TEST

int main(void) {
        Suite *s = suite_create("sysctl");
        TCase *tc = tcase_create("tree"), *pure = tcase_create("pure");
        SRunner *sr;
        int failed;

        /* Each test gets a fresh tree (checked fixtures run inside the forked test). */
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_write, 0, ELEMENTSOF(write_cases));
        tcase_add_loop_test(tc, test_open_compat, 0, ELEMENTSOF(write_cases));
        tcase_add_test(tc, test_key_normalize_then_write);
        tcase_add_test(tc, test_write_verified);
        tcase_add_test(tc, test_readonly_mode);
        tcase_add_test(tc, test_readonly_mount);
        tcase_add_test(tc, test_read);
        tcase_add_test(tc, test_followed_paths);
        tcase_add_loop_test(tc, test_followable, 0, ELEMENTSOF(followable_cases));
        suite_add_tcase(s, tc);

        tcase_add_loop_test(pure, test_error_is_readonly, 0, ELEMENTSOF(readonly_cases));
        tcase_add_loop_test(pure, test_value_equal, 0, ELEMENTSOF(compare_cases));
        suite_add_tcase(s, pure);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
