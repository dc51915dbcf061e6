/* SPDX-License-Identifier: GPL-2.0-or-later */

/* What the module guard watches while an unload settles: how many references hold a loaded
 * module, read from a temporary sysfs, and which modules come and go with a guarded one (its
 * dependencies, and apart the modules its soft dependencies name), read through libkmod from
 * the Debian kernel's own tree in /lib/modules when one is installed; those cases are left
 * out, and said so, when none is. */

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <sys/stat.h>

#include "macro.h"
#include "modules.h"
#include "strv.h"

static char real_tree[512];

typedef struct Root {
        char dir[64];
        char sysfs[128], proc[128], moddir[128], confdir[128];
} Root;

static void mkdirs(const char *path) {
        char buf[512];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        (void) mkdir(buf, 0755);
                        *p = '/';
                }
        ck_assert(mkdir(buf, 0755) == 0 || errno == EEXIST);
}

/* path below the root; text NULL makes a directory. */
static void put(const Root *r, const char *path, const char *text) {
        char full[512];
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(full, sizeof(full), "%s/%s", r->dir, path);
        if (!text) {
                mkdirs(full);
                return;
        }
        *strrchr(full, '/') = '\0';
        mkdirs(full);
        snprintf(full, sizeof(full), "%s/%s", r->dir, path);
        f = fopen(full, "we");
        ck_assert_msg(f != NULL, "%s: %m", full);
        fputs(text, f);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void root_init(Root *r) {
        snprintf(r->dir, sizeof(r->dir), "/tmp/ctguard-test-related.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(r->dir));
        snprintf(r->sysfs, sizeof(r->sysfs), "%s/sys", r->dir);
        snprintf(r->proc, sizeof(r->proc), "%s/proc", r->dir);
        snprintf(r->moddir, sizeof(r->moddir), "%s/lib/modules/9.9.9-test", r->dir);
        snprintf(r->confdir, sizeof(r->confdir), "%s/modprobe.d", r->dir);
        put(r, "sys/module", NULL);
        put(r, "proc", NULL);
        put(r, "lib/modules/9.9.9-test", NULL);
        put(r, "modprobe.d", NULL);
}

static void root_done(Root *r) {
        (void) nftw(r->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static ModuleContext *context(const Root *r, const char *moddir) {
        const char *confs[] = { r->confdir, NULL };
        ModulePaths p = {
                .sysfs = r->sysfs,
                .proc = r->proc,
                .module_dir = moddir ?: r->moddir,
                .config_paths = confs,
        };
        ModuleContext *c = NULL;

        ck_assert_int_eq(module_context_new(&p, &c), 0);
        return c;
}

static const struct {
        const char *dir;        /* below /sys/module; NULL: not loaded */
        const char *refcnt;
        const char *name;
        int ret;
        unsigned refs;
} refcount_cases[] = {
        { "libcrc32c",      "0\n",          "libcrc32c",      0, 0 },
        { "libcrc32c",      "3\n",          "libcrc32c",      0, 3 },
        { "libcrc32c",      "3",            "libcrc32c",      0, 3 },
        { "libcrc32c",      "4294967295\n", "libcrc32c",      0, 4294967295u },
        { "crc32c_generic", "3\n",          "crc32c-generic", 0, 3 },      /* dashes fold */
        { NULL,             NULL,           "libcrc32c",      -ENOENT, 0 },
        { "libcrc32c",      "",             "libcrc32c",      -EBADMSG, 0 },
        { "libcrc32c",      "-1\n",         "libcrc32c",      -EBADMSG, 0 },
        { "libcrc32c",      "3 \n",         "libcrc32c",      -EBADMSG, 0 },
        { "libcrc32c",      "lots\n",       "libcrc32c",      -EBADMSG, 0 },
        { "libcrc32c",      "4294967296\n", "libcrc32c",      -EBADMSG, 0 },
        { "libcrc32c",      "0\n",          "../libcrc32c",   -EINVAL, 0 },
        { "libcrc32c",      "0\n",          "",               -EINVAL, 0 },
};

START_TEST(test_refcount) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        unsigned refs = 12345;
        char path[128];
        Root r;

        root_init(&r);
        if (refcount_cases[_i].dir) {
                snprintf(path, sizeof(path), "sys/module/%s/refcnt", refcount_cases[_i].dir);
                put(&r, path, refcount_cases[_i].refcnt);
        }
        c = context(&r, NULL);

        ck_assert_int_eq(module_get_refcount(c, refcount_cases[_i].name, &refs),
                         refcount_cases[_i].ret);
        if (refcount_cases[_i].ret == 0)
                ck_assert_uint_eq(refs, refcount_cases[_i].refs);
        else
                ck_assert_uint_eq(refs, 12345);         /* untouched on failure */
        root_done(&r);
}
END_TEST

/* Without a module tree, or for a name the tree does not know: nothing to watch, and empty
 * lists rather than NULL. */
START_TEST(test_related_nothing) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_strv_free_ char **d = NULL, **s = NULL;
        Root r;

        root_init(&r);
        c = context(&r, NULL);
        ck_assert_int_eq(module_get_related(c, "nf_nat", &d, &s), 0);
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(strv_length(d), 0);
        ck_assert_int_eq(strv_length(s), 0);
        ck_assert_int_eq(module_get_related(c, "a/b", NULL, NULL), -EINVAL);
        root_done(&r);
}
END_TEST

static void assert_sorted_unique(char **l) {
        for (size_t i = 1; l && l[i]; i++)
                ck_assert_msg(strcmp(l[i - 1], l[i]) < 0, "%s before %s", l[i - 1], l[i]);
}

static void assert_disjoint(char **a, char **b) {
        for (char **m = a; m && *m; m++)
                ck_assert_msg(!strv_contains(b, *m), "%s in both lists", *m);
}

/* The Debian kernel's tree: nf_nat needs nf_conntrack and the defrag modules. Soft
 * dependencies from modprobe.d add the modules they name, apart, and not what those depend
 * on; one that names a dependency leaves it a dependency. */
START_TEST(test_related_real_tree) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_strv_free_ char **d = NULL, **s = NULL, **d2 = NULL, **s2 = NULL;
        _cleanup_strv_free_ char **none = NULL, **none_soft = NULL;
        Root r;

        root_init(&r);
        c = context(&r, real_tree);
        ck_assert_int_eq(module_get_related(c, "nf_nat", &d, &s), 0);
        assert_sorted_unique(d);
        assert_sorted_unique(s);
        assert_disjoint(d, s);
        ck_assert(strv_contains(d, "nf_conntrack"));
        ck_assert(strv_contains(d, "nf_defrag_ipv4"));
        ck_assert(strv_contains(d, "nf_defrag_ipv6"));
        ck_assert(!strv_contains(d, "nf_nat"));
        ck_assert(!strv_contains(s, "nf_nat"));
        ck_assert(!strv_contains(s, "veth"));

        ck_assert_int_eq(module_get_related(c, "no_such_module", &none, &none_soft), 0);
        ck_assert_int_eq(strv_length(none), 0);
        ck_assert_int_eq(strv_length(none_soft), 0);

        put(&r, "modprobe.d/soft.conf",
            "softdep nf_nat pre: veth nf_defrag_ipv4 post: nf_tables\n");
        ck_assert_int_eq(module_context_refresh(c), 1);
        ck_assert_int_eq(module_get_related(c, "nf_nat", &d2, &s2), 0);
        assert_sorted_unique(s2);
        assert_disjoint(d2, s2);
        ck_assert(strv_contains(s2, "veth"));
        ck_assert(strv_contains(s2, "nf_tables"));
        ck_assert(!strv_contains(s2, "nfnetlink"));     /* nf_tables needs it; nf_nat does not */
        ck_assert(!strv_contains(s2, "nf_defrag_ipv4"));
        ck_assert_int_eq(strv_length(d2), strv_length(d));
        ck_assert_int_eq(strv_length(s2), strv_length(s) + 2);
        root_done(&r);
}
END_TEST

/* A tree in /lib/modules that has nf_nat, depending on nf_conntrack, and veth and nf_tables
 * as modules. */
static bool find_real_tree(char *buf, size_t size) {
        glob_t g = {};
        bool found = false;

        if (glob("/lib/modules/*/modules.dep.bin", 0, NULL, &g) != 0)
                return false;
        for (size_t i = 0; i < g.gl_pathc && !found; i++) {
                _cleanup_free_ char *line = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                bool nat = false, veth = false, tables = false;
                char dep[600];
                size_t n = 0;

                snprintf(buf, size, "%s", g.gl_pathv[i]);
                *strrchr(buf, '/') = '\0';
                snprintf(dep, sizeof(dep), "%s/modules.dep", buf);
                f = fopen(dep, "re");
                while (f && getline(&line, &n, f) > 0) {
                        if (strneq(line, "kernel/net/netfilter/nf_nat.ko:", 31) &&
                            strstr(line, "nf_conntrack.ko"))
                                nat = true;
                        if (strneq(line, "kernel/drivers/net/veth.ko:", 27))
                                veth = true;
                        if (strneq(line, "kernel/net/netfilter/nf_tables.ko:", 34))
                                tables = true;
                }
                found = nat && veth && tables;
        }
        globfree(&g);
        return found;
}

int main(void) {
        Suite *s = suite_create("modules-related");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_refcount, 0, ELEMENTSOF(refcount_cases));
        tcase_add_test(tc, test_related_nothing);
        if (find_real_tree(real_tree, sizeof(real_tree)))
                tcase_add_test(tc, test_related_real_tree);
        else
                printf("No kernel module tree with nf_nat, veth and nf_tables in /lib/modules: the dependency cases are left out.\n");
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
