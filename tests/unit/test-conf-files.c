/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "conf-files.h"
#include "macro.h"

#define USR "/usr/lib/ctguard/ctguard.conf.d/"
#define LOCAL "/usr/local/lib/ctguard/ctguard.conf.d/"
#define RUN "/run/ctguard/ctguard.conf.d/"
#define ETC "/etc/ctguard/ctguard.conf.d/"
#define MAIN "/etc/ctguard/ctguard.conf"

/* What a case puts below the temporary root. */
typedef enum EntryKind {
        ENTRY_FILE,
        ENTRY_MASK,             /* a symlink to /dev/null */
        ENTRY_LINK,             /* a symlink to target */
        ENTRY_DIR,
} EntryKind;

typedef struct Entry {
        const char *path;
        EntryKind kind;
        const char *target;
} Entry;

#define F(p) { .path = (p) }
#define MASK(p) { .path = (p), .kind = ENTRY_MASK }
#define LINK(p, t) { .path = (p), .kind = ENTRY_LINK, .target = (t) }
#define DIR(p) { .path = (p), .kind = ENTRY_DIR }

static char *root;

static void make_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        ck_assert_ptr_nonnull(p);
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                ck_assert_msg(mkdir(p, 0755) >= 0 || errno == EEXIST, "mkdir %s: %m", p);
                *s = '/';
        }
}

static char *root_path(const char *path) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s%s", root, path), 0);
        return p;
}

static void make_entry(const Entry *e) {
        _cleanup_free_ char *p = root_path(e->path);

        make_parents(p);
        switch (e->kind) {
        case ENTRY_FILE: {
                FILE *f = fopen(p, "we");

                ck_assert_msg(f, "create %s: %m", p);
                fputs("[Guard]\n", f);
                ck_assert_int_eq(fclose(f), 0);
                break;
        }
        case ENTRY_MASK:
                ck_assert_int_eq(symlink("/dev/null", p), 0);
                break;
        case ENTRY_LINK:
                ck_assert_int_eq(symlink(e->target, p), 0);
                break;
        case ENTRY_DIR:
                ck_assert_int_eq(mkdir(p, 0755) >= 0 || errno == EEXIST, 1);
                break;
        }
}

static void setup(void) {
        char t[] = "/tmp/test-conf-files.XXXXXX";

        umask(022);
        ck_assert_ptr_nonnull(mkdtemp(t));
        root = strdup(t);
        ck_assert_ptr_nonnull(root);
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        /* The root holds only what the test made; rm copes with the odd modes it left. */
        if (root && asprintf(&cmd, "rm -rf '%s'", root) >= 0)
                (void) !system(cmd);
        free(root);
        root = NULL;
}

/* Each case: what is below the root, and the files conf_files_list() must return, relative to
 * the root, in order. */
static const struct {
        const char *name;
        Entry entries[8];
        const char *expect[8];
} list_cases[] = {
        { "nothing", {}, {} },
        { "main only", { F(MAIN) }, { MAIN } },
        { "empty drop-in directories",
          { DIR(USR), DIR(ETC) }, {} },
        { "one drop-in in each directory, applied by name not by directory",
          { F(USR "40-d.conf"), F(LOCAL "30-c.conf"), F(RUN "20-b.conf"), F(ETC "10-a.conf") },
          { ETC "10-a.conf", RUN "20-b.conf", LOCAL "30-c.conf", USR "40-d.conf" } },
        { "the same name in all four: /etc wins",
          { F(USR "50-x.conf"), F(LOCAL "50-x.conf"), F(RUN "50-x.conf"), F(ETC "50-x.conf") },
          { ETC "50-x.conf" } },
        { "the same name in /usr/lib and /usr/local: /usr/local wins",
          { F(USR "50-x.conf"), F(LOCAL "50-x.conf") }, { LOCAL "50-x.conf" } },
        { "the same name in /usr/local and /run: /run wins",
          { F(LOCAL "50-x.conf"), F(RUN "50-x.conf") }, { RUN "50-x.conf" } },
        { "the same name in /usr/lib and /etc: /etc wins",
          { F(USR "50-x.conf"), F(ETC "50-x.conf") }, { ETC "50-x.conf" } },
        { "the main file first, whatever the drop-in names",
          { F(ETC "00-first.conf"), F(MAIN), F(USR "a.conf") },
          { MAIN, ETC "00-first.conf", USR "a.conf" } },
        { "lexical, not numeric order",
          { F(USR "10-b.conf"), F(ETC "09-z.conf"), F(RUN "10-a.conf"), F(LOCAL "2.conf"),
            F(USR "100.conf") },
          /* strcmp() order: '-' sorts before '0'. */
          { ETC "09-z.conf", RUN "10-a.conf", USR "10-b.conf", USR "100.conf", LOCAL "2.conf" } },
        { "a symlink to /dev/null in /etc masks /usr/lib",
          { F(USR "50-x.conf"), MASK(ETC "50-x.conf"), F(USR "60-y.conf") },
          { USR "60-y.conf" } },
        { "a symlink to /dev/null in /run masks /usr/local and /usr/lib",
          { F(USR "50-x.conf"), F(LOCAL "50-x.conf"), MASK(RUN "50-x.conf") }, {} },
        { "a mask alone is not read",
          { MASK(ETC "50-x.conf") }, {} },
        { "a file in a higher directory overrides a mask in a lower one",
          { MASK(USR "50-x.conf"), F(ETC "50-x.conf") }, { ETC "50-x.conf" } },
        { "other symlinks are drop-ins like files",
          { F(USR "50-x.conf"), LINK(ETC "50-x.conf", "/nonexistent") },
          { ETC "50-x.conf" } },
        { "non-.conf files, dot files and directories are ignored",
          { F(ETC "x.conf~"), F(ETC "x.conf.bak"), F(ETC "README"), F(ETC ".hidden.conf"),
            F(ETC ".conf"), F(ETC "x.CONF"), DIR(ETC "d.conf"), F(ETC "ok.conf") },
          { ETC "ok.conf" } },
        { "a dot file does not mask",
          { F(USR "x.conf"), MASK(ETC ".x.conf") }, { USR "x.conf" } },
        { "a drop-in directory that is a file is ignored",
          { F("/run/ctguard/ctguard.conf.d"), F(ETC "a.conf") }, { ETC "a.conf" } },
};

START_TEST(test_list) {
        _cleanup_(conf_file_list_done) ConfFileList l = {};
        size_t n = 0;

        for (const Entry *e = list_cases[_i].entries; e->path; e++)
                make_entry(e);

        ck_assert_int_eq(conf_files_list(root, NULL, &l), 0);
        for (; list_cases[_i].expect[n]; n++) {
                _cleanup_free_ char *want = root_path(list_cases[_i].expect[n]);

                ck_assert_msg(n < l.n, "%s: only %zu files listed", list_cases[_i].name, l.n);
                ck_assert_str_eq(l.items[n].path, want);
                ck_assert_int_eq(l.items[n].error, 0);
        }
        ck_assert_msg(l.n == n, "%s: %zu files listed, want %zu", list_cases[_i].name, l.n, n);
}
END_TEST

START_TEST(test_override) {
        _cleanup_(conf_file_list_done) ConfFileList l = {};
        _cleanup_free_ char *dropin = NULL;

        make_entry(&(Entry) F(MAIN));
        make_entry(&(Entry) F(ETC "a.conf"));
        dropin = root_path(ETC "a.conf");

        /* The override replaces the main file and is listed even when it does not exist: it
         * was asked for, so reading it must fail loudly. */
        ck_assert_int_eq(conf_files_list(root, "/nonexistent/ctguard.conf", &l), 0);
        ck_assert_uint_eq(l.n, 2);
        ck_assert_str_eq(l.items[0].path, "/nonexistent/ctguard.conf");
        ck_assert_str_eq(l.items[1].path, dropin);
}
END_TEST

START_TEST(test_no_root) {
        _cleanup_(conf_file_list_done) ConfFileList a = {}, b = {};

        /* NULL and "" both mean the real root. */
        ck_assert_int_eq(conf_files_list(NULL, "/x.conf", &a), 0);
        ck_assert_int_eq(conf_files_list("", "/x.conf", &b), 0);
        ck_assert_uint_eq(a.n, b.n);
        for (size_t i = 0; i < a.n; i++)
                ck_assert_str_eq(a.items[i].path, b.items[i].path);
}
END_TEST

/* A drop-in directory that cannot be trusted is refused whole, with its path. */
static const struct {
        const char *dir;
        uid_t uid;
        mode_t mode;
        int error;
} untrusted_dir_cases[] = {
        { ETC, 65534, 0755, -EPERM },
        { USR, 65534, 0755, -EPERM },
        { RUN, 0,     0775, -EACCES },
        { LOCAL, 0,   0757, -EACCES },
        { ETC, 0,     01777, -EACCES },
        { ETC, 0,     0700, 0 },
        { ETC, 0,     0555, 0 },
};

START_TEST(test_untrusted_dir) {
        _cleanup_(conf_file_list_done) ConfFileList l = {};
        _cleanup_free_ char *dir = NULL, *file = NULL, *other = NULL;
        const char *d = untrusted_dir_cases[_i].dir;
        char name[PATH_MAX];

        if (untrusted_dir_cases[_i].uid != 0 && geteuid() != 0)
                return;         /* chown needs root; the mode cases still run */

        snprintf(name, sizeof(name), "%sa.conf", d);
        make_entry(&(Entry) F(name));
        make_entry(&(Entry) F(streq(d, ETC) ? USR "b.conf" : ETC "b.conf"));
        dir = root_path(d);
        dir[strlen(dir) - 1] = '\0';    /* the directory is named without its trailing slash */
        file = root_path(name);
        other = root_path(streq(d, ETC) ? USR "b.conf" : ETC "b.conf");

        ck_assert_int_eq(chown(dir, untrusted_dir_cases[_i].uid, 0), 0);
        ck_assert_int_eq(chmod(dir, untrusted_dir_cases[_i].mode), 0);

        ck_assert_int_eq(conf_files_list(root, NULL, &l), 0);
        if (untrusted_dir_cases[_i].error == 0) {
                ck_assert_uint_eq(l.n, 2);
                ck_assert_str_eq(l.items[0].path, file);
                ck_assert_int_eq(l.items[0].error, 0);
                ck_assert_str_eq(l.items[1].path, other);
                return;
        }
        /* The refused directory, then the other directory's file; a.conf is not listed. */
        ck_assert_uint_eq(l.n, 2);
        ck_assert_str_eq(l.items[0].path, dir);
        ck_assert_int_eq(l.items[0].error, untrusted_dir_cases[_i].error);
        ck_assert_str_eq(l.items[1].path, other);
        ck_assert_int_eq(l.items[1].error, 0);
}
END_TEST

static const struct {
        uid_t uid;
        mode_t mode;
        int ret;
} trust_cases[] = {
        { 0,     S_IFREG | 0644, 0 },
        { 0,     S_IFREG | 0600, 0 },
        { 0,     S_IFREG | 0444, 0 },
        { 0,     S_IFDIR | 0755, 0 },
        { 0,     S_IFREG | 0664, -EACCES },
        { 0,     S_IFREG | 0646, -EACCES },
        { 0,     S_IFREG | 0666, -EACCES },
        { 0,     S_IFDIR | 01777, -EACCES },
        { 65534, S_IFREG | 0644, -EPERM },
        { 65534, S_IFREG | 0666, -EPERM },
};

START_TEST(test_trust_check) {
        struct stat st = {
                .st_uid = trust_cases[_i].uid,
                .st_mode = trust_cases[_i].mode,
        };

        /* Running as nobody, a file of nobody's is trusted; the table is written for root. */
        if (geteuid() != 0)
                return;
        ck_assert_int_eq(conf_trust_check(&st), trust_cases[_i].ret);
}
END_TEST

START_TEST(test_trust_check_own_user) {
        struct stat st = { .st_uid = geteuid(), .st_mode = S_IFREG | 0644 };

        ck_assert_int_eq(conf_trust_check(&st), 0);
}
END_TEST

/* Every directory above a file is judged: ROOT/a/b/f.conf with the modes of a and b. The
 * temporary root itself sits in /tmp (sticky, accepted). */
static const struct {
        mode_t a, b;
        int ret;
        const char *bad;        /* the directory refused, relative to the root */
} parents_cases[] = {
        { 0755,  0755,  0,       NULL },
        { 0700,  0750,  0,       NULL },
        { 0775,  0755,  -EACCES, "/a" },
        { 0755,  0757,  -EACCES, "/a/b" },
        { 0777,  0777,  -EACCES, "/a/b" },      /* the nearest first */
        { 01777, 0755,  0,       NULL },        /* sticky, like /tmp */
        { 0755,  01777, 0,       NULL },
        { 01775, 0755,  0,       NULL },
};

START_TEST(test_parents_trust) {
        _cleanup_free_ char *a = root_path("/a"), *b = root_path("/a/b"),
                            *f = root_path("/a/b/f.conf"), *dir = NULL, *want = NULL;

        make_entry(&(Entry) F("/a/b/f.conf"));
        ck_assert_int_eq(chmod(a, parents_cases[_i].a), 0);
        ck_assert_int_eq(chmod(b, parents_cases[_i].b), 0);
        ck_assert_int_eq(conf_parents_trust_check(f, &dir), parents_cases[_i].ret);
        if (!parents_cases[_i].bad) {
                ck_assert_ptr_null(dir);
                return;
        }
        want = root_path(parents_cases[_i].bad);
        ck_assert_str_eq(dir, want);
}
END_TEST

START_TEST(test_parents_trust_owner) {
        _cleanup_free_ char *a = root_path("/a"), *f = root_path("/a/f.conf"), *dir = NULL;

        if (geteuid() != 0)
                return;         /* only root can hand a directory to someone else */
        make_entry(&(Entry) F("/a/f.conf"));
        ck_assert_int_eq(chown(a, 65534, 65534), 0);
        ck_assert_int_eq(conf_parents_trust_check(f, &dir), -EPERM);
        ck_assert_str_eq(dir, a);
}
END_TEST

START_TEST(test_parents_trust_symlink) {
        _cleanup_free_ char *a = root_path("/a"), *l = root_path("/l/f.conf"), *dir = NULL;

        /* A symlinked directory is judged where it leads. */
        make_entry(&(Entry) F("/a/f.conf"));
        make_entry(&(Entry) LINK("/l", "a"));
        ck_assert_int_eq(chmod(a, 0777), 0);
        ck_assert_int_eq(conf_parents_trust_check(l, &dir), -EACCES);
        ck_assert_str_eq(dir, a);
}
END_TEST

/* conf_file_read() over what may sit where a configuration file is expected. */
typedef enum ReadKind {
        READ_FILE,
        READ_DIR,
        READ_FIFO,
        READ_DEVNULL,
        READ_MISSING,
} ReadKind;

static const struct {
        const char *name;
        ReadKind kind;
        size_t size;
        size_t max;
        uid_t uid;
        mode_t mode;
        int ret;
} read_cases[] = {
        { "regular",          READ_FILE, 100, 1024, 0, 0644, 0 },
        { "empty",            READ_FILE, 0, 1024, 0, 0644, 0 },
        { "exactly max",      READ_FILE, 1024, 1024, 0, 0644, 0 },
        { "one over max",     READ_FILE, 1025, 1024, 0, 0644, -EFBIG },
        { "read-only",        READ_FILE, 10, 1024, 0, 0400, 0 },
        { "group-writable",   READ_FILE, 10, 1024, 0, 0664, -EACCES },
        { "world-writable",   READ_FILE, 10, 1024, 0, 0646, -EACCES },
        { "owned by nobody",  READ_FILE, 10, 1024, 65534, 0644, -EPERM },
        { "directory",        READ_DIR, 0, 1024, 0, 0755, -EISDIR },
        { "fifo",             READ_FIFO, 0, 1024, 0, 0644, -EBADFD },
        { "symlink to /dev/null", READ_DEVNULL, 0, 1024, 0, 0644, -EBADFD },
        { "missing",          READ_MISSING, 0, 1024, 0, 0644, -ENOENT },
};

START_TEST(test_read) {
        _cleanup_free_ char *p = root_path("/x.conf");
        char *data = (char *) "untouched";
        size_t size = 4242;
        int r;

        if (read_cases[_i].uid != 0 && geteuid() != 0)
                return;

        switch (read_cases[_i].kind) {
        case READ_FILE: {
                _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

                ck_assert_int_ge(fd, 0);
                for (size_t i = 0; i < read_cases[_i].size; i++)
                        ck_assert_int_eq(write(fd, i % 64 == 63 ? "\n" : "x", 1), 1);
                ck_assert_int_eq(fchown(fd, read_cases[_i].uid, 0), 0);
                ck_assert_int_eq(fchmod(fd, read_cases[_i].mode), 0);
                break;
        }
        case READ_DIR:
                ck_assert_int_eq(mkdir(p, read_cases[_i].mode), 0);
                break;
        case READ_FIFO:
                ck_assert_int_eq(mkfifo(p, read_cases[_i].mode), 0);
                break;
        case READ_DEVNULL:
                ck_assert_int_eq(symlink("/dev/null", p), 0);
                break;
        case READ_MISSING:
                break;
        }

        r = conf_file_read(p, read_cases[_i].max, &data, &size);
        ck_assert_msg(r == read_cases[_i].ret, "%s: got %d, want %d", read_cases[_i].name, r,
                      read_cases[_i].ret);
        if (r < 0) {
                ck_assert_str_eq(data, "untouched");
                ck_assert_uint_eq(size, 4242);
                return;
        }
        ck_assert_uint_eq(size, read_cases[_i].size);
        ck_assert_uint_eq(strlen(data), size);  /* NUL-terminated */
        free(data);
}
END_TEST

int main(void) {
        Suite *s = suite_create("conf-files");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, test_list, 0, ELEMENTSOF(list_cases));
        tcase_add_test(tc, test_override);
        tcase_add_test(tc, test_no_root);
        tcase_add_loop_test(tc, test_untrusted_dir, 0, ELEMENTSOF(untrusted_dir_cases));
        tcase_add_loop_test(tc, test_trust_check, 0, ELEMENTSOF(trust_cases));
        tcase_add_test(tc, test_trust_check_own_user);
        tcase_add_loop_test(tc, test_parents_trust, 0, ELEMENTSOF(parents_cases));
        tcase_add_test(tc, test_parents_trust_owner);
        tcase_add_test(tc, test_parents_trust_symlink);
        tcase_add_loop_test(tc, test_read, 0, ELEMENTSOF(read_cases));
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
