/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Finding the namespaces below a fake root: each namespace is a regular file in the tree, and a
 * process's proc/PID/ns/net or a run/netns name in it is a hard link to that file, so that equal
 * namespaces have equal inodes as they do on nsfs. */

#include <check.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "macro.h"
#include "netns-scan.h"

#define UID "8d1c4f7e-2b3a-4c5d-9e6f-0a1b2c3d4e5f"
#define ID "3f5a9c2e7b1d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f4a"
#define KUBE_CGROUP "0::/kubepods/burstable/pod" UID "/" ID "\n"
#define DOCKER_CGROUP "0::/system.slice/docker-" ID ".scope\n"

#define GONE NULL               /* no ns/net: the process exited while the scan ran */

typedef struct Proc {
        int pid;
        const char *ns;         /* the namespace's file name in the tree, or GONE */
        const char *comm;       /* NULL: no comm file */
        const char *cgroup;     /* NULL: no cgroup file */
} Proc;

typedef struct Name {
        const char *name;
        const char *ns;
} Name;

typedef struct Want {
        const char *ns;
        bool host;
        int pid;
        const char *comm, *name, *pod, *container;
        const char *display;
} Want;

#define N_MAX 8

static const struct {
        const char *title;
        Proc procs[N_MAX];
        Name names[N_MAX];
        Want want[N_MAX];         /* in any order: the test sorts by inode */
} cases[] = {
        { "the host alone",
          { { 1, "host", "systemd", "0::/init.scope\n" }, { 2, "host", "kthreadd", "0::/\n" } },
          {},
          { { "host", true, 1, "systemd", NULL, NULL, NULL, "pid 1 (systemd)" } } },
        { "a pod, a docker container and a named namespace with nobody in it",
          { { 1, "host", "systemd", "0::/init.scope\n" },
            { 812, "pod", "pause", KUBE_CGROUP },
            { 640, "pod", "nginx", KUBE_CGROUP },
            { 900, "docker", "redis-server", DOCKER_CGROUP } },
          { { "blue", "named" } },
          { { "host", true, 1, "systemd", NULL, NULL, NULL, "pid 1 (systemd)" },
            { "pod", false, 640, "nginx", NULL, UID, ID, "pid 640 (nginx)" },
            { "docker", false, 900, "redis-server", NULL, NULL, ID, "pid 900 (redis-server)" },
            { "named", false, 0, NULL, "blue", NULL, NULL, "blue" } } },
        { "a name and processes in one namespace: one entry, the first name sorted",
          { { 1, "host", "init", NULL }, { 77, "red", "sleep", "0::/user.slice\n" } },
          { { "red-b", "red" }, { "red-a", "red" } },
          { { "host", true, 1, "init", NULL, NULL, NULL, "pid 1 (init)" },
            { "red", false, 77, "sleep", "red-a", NULL, NULL, "red-a" } } },
        { "a process gone during the scan is skipped; the next lowest represents",
          { { 1, "host", "init", NULL }, { 5, GONE, "ghost", NULL }, { 30, "ns1", NULL, NULL },
            { 31, "ns1", "worker", NULL } },
          {},
          { { "host", true, 1, "init", NULL, NULL, NULL, "pid 1 (init)" },
            { "ns1", false, 30, NULL, NULL, NULL, NULL, "pid 30" } } },
        { "no pid 1 to look at: no host",
          { { 400, "a", "a", NULL }, { 401, "b", "b", NULL } },
          {},
          { { "a", false, 400, "a", NULL, NULL, NULL, "pid 400 (a)" },
            { "b", false, 401, "b", NULL, NULL, NULL, "pid 401 (b)" } } },
        { "the host has a name too",
          { { 1, "host", "systemd", NULL } },
          { { "default", "host" } },
          { { "host", true, 1, "systemd", "default", NULL, NULL, "default" } } },
        { "nothing at all", {}, {}, {} },
};

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");

        ck_assert_msg(f, "fopen %s: %m", path);
        fputs(content, f);
        ck_assert_int_eq(fclose(f), 0);
}

static void mkdir_p(const char *root, const char *rel) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "mkdir -p -- '%s/%s'", root, rel), 0);
        ck_assert_int_eq(system(cmd), 0);
}

/* The namespace file of a name, created on first use. */
static char *ns_file(const char *root, const char *ns) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/nsfs/%s", root, ns), 0);
        if (access(p, F_OK) < 0)
                write_file(p, "");
        return p;
}

static uint64_t inode_of(const char *path) {
        struct stat st;

        ck_assert_int_eq(stat(path, &st), 0);
        return st.st_ino;
}

static char *make_tree(unsigned i) {
        char tmpl[] = "/tmp/test-netns-scan.XXXXXX";
        char *root = mkdtemp(tmpl);

        ck_assert_ptr_nonnull(root);
        root = strdup(root);
        mkdir_p(root, "nsfs");
        mkdir_p(root, "proc");
        for (const Proc *p = cases[i].procs; p->pid > 0; p++) {
                _cleanup_free_ char *path = NULL, *target = NULL;

                char dir[64];

                snprintf(dir, sizeof(dir), "proc/%d/ns", p->pid);
                mkdir_p(root, dir);
                if (p->ns) {
                        target = ns_file(root, p->ns);
                        ck_assert_int_ge(asprintf(&path, "%s/proc/%d/ns/net", root, p->pid), 0);
                        ck_assert_int_eq(link(target, path), 0);
                }
                if (p->comm) {
                        free(path);
                        ck_assert_int_ge(asprintf(&path, "%s/proc/%d/comm", root, p->pid), 0);
                        _cleanup_free_ char *c = NULL;
                        ck_assert_int_ge(asprintf(&c, "%s\n", p->comm), 0);
                        write_file(path, c);
                }
                if (p->cgroup) {
                        free(path);
                        ck_assert_int_ge(asprintf(&path, "%s/proc/%d/cgroup", root, p->pid), 0);
                        write_file(path, p->cgroup);
                }
        }
        /* Not processes: skipped. */
        mkdir_p(root, "proc/sys/net");
        mkdir_p(root, "proc/self");
        if (cases[i].names[0].name)
                mkdir_p(root, "run/netns");
        for (const Name *n = cases[i].names; n->name; n++) {
                _cleanup_free_ char *path = NULL, *target = ns_file(root, n->ns);

                ck_assert_int_ge(asprintf(&path, "%s/run/netns/%s", root, n->name), 0);
                ck_assert_int_eq(link(target, path), 0);
        }
        return root;
}

static void remove_tree(const char *root) {
        _cleanup_free_ char *cmd = NULL;

        ck_assert_int_ge(asprintf(&cmd, "rm -rf -- '%s'", root), 0);
        ck_assert_int_eq(system(cmd), 0);
}

static bool str_eq_null(const char *a, const char *b) {
        return a ? b && streq(a, b) : !b;
}

START_TEST(test_scan) {
        _cleanup_free_ char *root = make_tree(_i);
        _cleanup_(netns_list_done) NetnsList l = {};
        size_t n_want = 0;

        ck_assert_int_eq(netns_scan(root, &l), 0);
        for (const Want *w = cases[_i].want; w->ns; w++)
                n_want++;
        ck_assert_msg(l.n == n_want, "%s: %zu namespaces, want %zu", cases[_i].title, l.n, n_want);
        for (size_t k = 1; k < l.n; k++)
                ck_assert_uint_lt(l.items[k - 1].inode, l.items[k].inode);

        for (const Want *w = cases[_i].want; w->ns; w++) {
                _cleanup_free_ char *f = ns_file(root, w->ns);
                const Netns *ns = netns_list_find(&l, inode_of(f));
                char buf[128];

                ck_assert_msg(ns, "%s: namespace %s not found", cases[_i].title, w->ns);
                ck_assert_msg(ns->host == w->host, "%s: %s host %d", cases[_i].title, w->ns, ns->host);
                ck_assert_int_eq(ns->pid, w->pid);
                ck_assert_msg(str_eq_null(ns->comm, w->comm), "%s: comm '%s'", cases[_i].title,
                              strempty(ns->comm));
                ck_assert_msg(str_eq_null(ns->name, w->name), "%s: name '%s'", cases[_i].title,
                              strempty(ns->name));
                ck_assert_msg(str_eq_null(ns->pod_uid, w->pod), "%s: pod '%s'", cases[_i].title,
                              strempty(ns->pod_uid));
                ck_assert_msg(str_eq_null(ns->container_id, w->container), "%s: container '%s'",
                              cases[_i].title, strempty(ns->container_id));
                ck_assert_str_eq(netns_display_name(ns, buf, sizeof(buf)), w->display);
        }
        ck_assert_ptr_null(netns_list_find(&l, 1));
        remove_tree(root);
}
END_TEST

START_TEST(test_scan_no_proc) {
        NetnsList l = { .n = 42 };

        ck_assert_int_eq(netns_scan("/nonexistent-root", &l), -ENOENT);
        ck_assert_uint_eq(l.n, 42);
}
END_TEST

/* Without a name or a process: the inode. A name longer than the buffer is cut, not overrun. */
START_TEST(test_display_name) {
        Netns ns = { .inode = 4026531840 };
        char buf[16];

        ck_assert_str_eq(netns_display_name(&ns, buf, sizeof(buf)), "netns:[40265318");
        ck_assert_str_eq(netns_display_name(&ns, (char[32]) {}, 32), "netns:[4026531840]");
        ns.pid = 7;
        ck_assert_str_eq(netns_display_name(&ns, (char[32]) {}, 32), "pid 7");
        ns.comm = (char *) "sleep";
        ck_assert_str_eq(netns_display_name(&ns, (char[32]) {}, 32), "pid 7 (sleep)");
        ns.name = (char *) "a-very-long-namespace-name";
        ck_assert_str_eq(netns_display_name(&ns, buf, sizeof(buf)), "a-very-long-nam");
}
END_TEST

/* The real /proc: at least our own namespace, with us or a lower PID in it. */
START_TEST(test_scan_real) {
        _cleanup_(netns_list_done) NetnsList l = {};
        const Netns *ns;
        struct stat st;

        ck_assert_int_eq(stat("/proc/self/ns/net", &st), 0);
        ck_assert_int_eq(netns_scan(NULL, &l), 0);
        ns = netns_list_find(&l, st.st_ino);
        ck_assert_ptr_nonnull(ns);
        ck_assert_int_gt(ns->pid, 0);
        ck_assert_int_le(ns->pid, getpid());
}
END_TEST

int main(void) {
        Suite *s = suite_create("netns-scan");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_scan, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_scan_no_proc);
        tcase_add_test(tc, test_display_name);
        tcase_add_test(tc, test_scan_real);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
