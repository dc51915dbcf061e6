/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The state of a module read from a temporary sysfs, procfs and module tree: loaded, loading,
 * unloading, built in with and without a module tree, absent. */

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "macro.h"
#include "modules.h"

typedef struct Tree {
        char root[64];
        char sysfs[128], proc[128], moddir[128];
} Tree;

static void write_file(const char *path, const char *text) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        ck_assert_msg(f != NULL, "%s: %m", path);
        fputs(text, f);
}

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

static void put(const Tree *t, const char *base, const char *rel, const char *text) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", base, rel);
        if (text) {
                char dir[512];

                snprintf(dir, sizeof(dir), "%s", path);
                *strrchr(dir, '/') = '\0';
                mkdirs(dir);
                write_file(path, text);
        } else
                mkdirs(path);
}

static void tree_init(Tree *t, bool with_tree) {
        snprintf(t->root, sizeof(t->root), "/tmp/ctguard-test-modules.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->root));
        snprintf(t->sysfs, sizeof(t->sysfs), "%s/sys", t->root);
        snprintf(t->proc, sizeof(t->proc), "%s/proc", t->root);
        snprintf(t->moddir, sizeof(t->moddir), "%s/lib/modules/9.9.9", t->root);
        mkdirs(t->sysfs);
        put(t, t->sysfs, "module", NULL);
        put(t, t->proc, "sys/net/netfilter", NULL);

        /* Loaded modules, in every state. */
        put(t, t->sysfs, "module/nf_conntrack/initstate", "live\n");
        put(t, t->sysfs, "module/nf_conntrack/parameters/hashsize", "65536\n");
        put(t, t->sysfs, "module/nf_defrag_ipv4/initstate", "coming\n");
        put(t, t->sysfs, "module/nf_defrag_ipv6/initstate", "going\n");
        put(t, t->sysfs, "module/weird/initstate", "sleeping\n");
        /* Built in with parameters: a directory, no initstate. */
        put(t, t->sysfs, "module/bridge/parameters/x", "1\n");
        /* A module being torn down (or set up): the kernel removes its initstate before the
         * remove event and the directory after it, so for a moment its directory has none. A
         * module tree that does not list it as built in says which it is. */
        put(t, t->sysfs, "module/nft_going/refcnt", "0\n");
        /* Built in without parameters, known from its sysctl. */
        put(t, t->proc, "sys/net/netfilter/nf_conntrack_frag6_timeout", "60\n");
        /* ...or from the symbol table: nf_nat's is the kernel's, nf_defrag_ipv4's a module's. */
        put(t, t->proc, "kallsyms",
            "ffffffff81000000 T _stext\n"
            "ffffffff81f58340 T nf_nat_setup_info\n"
            "ffffffffc0a01000 T nf_defrag_ipv4_enable\t[nf_defrag_ipv4]\n"
            "0000000000000000 t nf_conntrack_init_start\t[nf_conntrack]\n");

        if (with_tree) {
                put(t, t->moddir, "modules.dep", "kernel/net/netfilter/xt_foo.ko:\n");
                put(t, t->moddir, "modules.builtin",
                    "kernel/net/netfilter/nf_tables.ko\n"
                    "kernel/net/bridge/bridge.ko\n"
                    "kernel/net/ipv4/netfilter/nf-reject-ipv4.ko\n"
                    "\n"
                    "garbage\n");
        } else
                mkdirs(t->moddir);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void tree_done(Tree *t) {
        (void) nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static ModuleContext *context(const Tree *t) {
        ModulePaths p = { .sysfs = t->sysfs, .proc = t->proc, .module_dir = t->moddir };
        ModuleContext *c = NULL;

        ck_assert_int_eq(module_context_new(&p, &c), 0);
        return c;
}

static const struct {
        const char *name;
        int ret;
        ModuleState state;
        ModuleEvidence evidence_tree;   /* with a module tree */
        ModuleEvidence evidence_none;   /* without */
        ModuleState state_none;
} state_cases[] = {
        { "nf_conntrack",   0, MODULE_STATE_LIVE,    MODULE_EVIDENCE_INITSTATE, MODULE_EVIDENCE_INITSTATE, MODULE_STATE_LIVE },
        { "nf-conntrack",   0, MODULE_STATE_LIVE,    MODULE_EVIDENCE_INITSTATE, MODULE_EVIDENCE_INITSTATE, MODULE_STATE_LIVE },
        { "nf_defrag_ipv4", 0, MODULE_STATE_COMING,  MODULE_EVIDENCE_INITSTATE, MODULE_EVIDENCE_INITSTATE, MODULE_STATE_COMING },
        { "nf_defrag_ipv6", 0, MODULE_STATE_GOING,   MODULE_EVIDENCE_INITSTATE, MODULE_EVIDENCE_INITSTATE, MODULE_STATE_GOING },
        { "bridge",         0, MODULE_STATE_BUILTIN, MODULE_EVIDENCE_SYSFS,     MODULE_EVIDENCE_SYSFS,     MODULE_STATE_BUILTIN },
        { "nf_tables",      0, MODULE_STATE_BUILTIN, MODULE_EVIDENCE_MODULES_BUILTIN, MODULE_EVIDENCE_NONE, MODULE_STATE_ABSENT },
        { "nf_reject_ipv4", 0, MODULE_STATE_BUILTIN, MODULE_EVIDENCE_MODULES_BUILTIN, MODULE_EVIDENCE_NONE, MODULE_STATE_ABSENT },
        /* The symbol table speaks only where there is no modules.builtin to ask. */
        { "nf_nat",         0, MODULE_STATE_ABSENT,  MODULE_EVIDENCE_NONE,      MODULE_EVIDENCE_KALLSYMS,  MODULE_STATE_BUILTIN },
        { "xt_foo",         0, MODULE_STATE_ABSENT,  MODULE_EVIDENCE_NONE,      MODULE_EVIDENCE_NONE,      MODULE_STATE_ABSENT },
        { "nft_going",      0, MODULE_STATE_GOING,   MODULE_EVIDENCE_SYSFS,     MODULE_EVIDENCE_SYSFS,     MODULE_STATE_BUILTIN },
        { "nf_conntrack_ipv4", 0, MODULE_STATE_ABSENT, MODULE_EVIDENCE_NONE,    MODULE_EVIDENCE_NONE,      MODULE_STATE_ABSENT },
        { "weird",          -EBADMSG, 0, 0, 0, 0 },
        { "",               -EINVAL, 0, 0, 0, 0 },
        { "..",             -EINVAL, 0, 0, 0, 0 },
        { "nf_nat/../x",    -EINVAL, 0, 0, 0, 0 },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -EINVAL, 0, 0, 0, 0 },
};

START_TEST(test_state) {
        for (int with_tree = 0; with_tree <= 1; with_tree++) {
                _cleanup_(module_context_freep) ModuleContext *c = NULL;
                ModuleStatus st = { .state = 42 };
                Tree t;
                int r;

                tree_init(&t, with_tree);
                c = context(&t);
                ck_assert(module_tree_present(c) == with_tree);

                r = module_get_status(c, state_cases[_i].name, &st);
                ck_assert_msg(r == state_cases[_i].ret, "%s (tree %d): got %d",
                              state_cases[_i].name, with_tree, r);
                if (r < 0) {
                        ck_assert_int_eq(st.state, 42);
                        tree_done(&t);
                        continue;
                }
                ck_assert_msg(st.state == (with_tree ? state_cases[_i].state : state_cases[_i].state_none),
                              "%s (tree %d): state %s", state_cases[_i].name, with_tree,
                              module_state_to_string(st.state));
                ck_assert_msg(st.evidence == (with_tree ? state_cases[_i].evidence_tree :
                                                          state_cases[_i].evidence_none),
                              "%s (tree %d): evidence %s", state_cases[_i].name, with_tree,
                              module_evidence_to_string(st.evidence));
                ck_assert(module_state_present(st.state) ==
                          (st.state == MODULE_STATE_LIVE || st.state == MODULE_STATE_BUILTIN));
                tree_done(&t);
        }
}
END_TEST

/* The host this was written on: conntrack built in, no module tree at all. nf_conntrack has a
 * /sys/module directory for its parameters, the others have none, and each must still be
 * found present. */
START_TEST(test_builtin_stack_without_tree) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        static const struct {
                const char *name;
                ModuleEvidence evidence;
        } chain[] = {
                { "nf_defrag_ipv4", MODULE_EVIDENCE_KALLSYMS },
                { "nf_defrag_ipv6", MODULE_EVIDENCE_SYSCTL },
                { "nf_conntrack",   MODULE_EVIDENCE_SYSFS },
                { "nf_nat",         MODULE_EVIDENCE_KALLSYMS },
        };
        char path[512];
        Tree t;

        snprintf(t.root, sizeof(t.root), "/tmp/ctguard-test-modules.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t.root));
        snprintf(t.sysfs, sizeof(t.sysfs), "%s/sys", t.root);
        snprintf(t.proc, sizeof(t.proc), "%s/proc", t.root);
        snprintf(t.moddir, sizeof(t.moddir), "%s/lib/modules/9.9.9", t.root);
        put(&t, t.sysfs, "module/nf_conntrack/parameters/hashsize", "65536\n");
        put(&t, t.proc, "sys/net/netfilter/nf_conntrack_max", "262144\n");
        put(&t, t.proc, "sys/net/netfilter/nf_conntrack_frag6_timeout", "60\n");
        put(&t, t.proc, "kallsyms",
            "ffffffff81f381d0 T nf_conntrack_init_start\n"
            "ffffffff81f58340 T nf_nat_setup_info\n"
            "ffffffff8208a410 T nf_defrag_ipv4_enable\n"
            "ffffffff8213da70 T nf_defrag_ipv6_enable\n");

        c = context(&t);
        ck_assert(!module_tree_present(c));
        for (size_t i = 0; i < ELEMENTSOF(chain); i++) {
                ModuleStatus st;

                ck_assert_int_eq(module_get_status(c, chain[i].name, &st), 0);
                ck_assert_msg(st.state == MODULE_STATE_BUILTIN, "%s: %s", chain[i].name,
                              module_state_to_string(st.state));
                ck_assert_msg(st.evidence == chain[i].evidence, "%s: %s", chain[i].name,
                              module_evidence_to_string(st.evidence));
        }

        /* Without /sys/module/nf_conntrack, its sysctl alone tells. */
        snprintf(path, sizeof(path), "%s/module/nf_conntrack/parameters/hashsize", t.sysfs);
        ck_assert_int_eq(unlink(path), 0);
        *strrchr(path, '/') = '\0';
        ck_assert_int_eq(rmdir(path), 0);
        *strrchr(path, '/') = '\0';
        ck_assert_int_eq(rmdir(path), 0);
        {
                ModuleStatus st;

                ck_assert_int_eq(module_get_status(c, "nf_conntrack", &st), 0);
                ck_assert_int_eq(st.state, MODULE_STATE_BUILTIN);
                ck_assert_int_eq(st.evidence, MODULE_EVIDENCE_SYSCTL);
        }

        tree_done(&t);
}
END_TEST

/* A symbol that a loaded module defines ("\t[nf_nat]") says nothing about the kernel proper:
 * without /sys/module/nf_nat (it is going away, say), nf_nat is absent, not built in. */
START_TEST(test_kallsyms_module_symbol) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        ModuleStatus st;
        Tree t;

        snprintf(t.root, sizeof(t.root), "/tmp/ctguard-test-modules.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t.root));
        snprintf(t.sysfs, sizeof(t.sysfs), "%s/sys", t.root);
        snprintf(t.proc, sizeof(t.proc), "%s/proc", t.root);
        snprintf(t.moddir, sizeof(t.moddir), "%s/lib/modules/9.9.9", t.root);
        put(&t, t.sysfs, "module", NULL);
        put(&t, t.proc, "kallsyms",
            "ffffffffc0a01000 T nf_nat_setup_info\t[nf_nat]\n"
            "ffffffffc0a02000 T nf_defrag_ipv4_enable  [nf_defrag_ipv4]\n"
            "ffffffff81000000 T nf_nat_setup_info_x\n");

        c = context(&t);
        ck_assert_int_eq(module_get_status(c, "nf_nat", &st), 0);
        ck_assert_int_eq(st.state, MODULE_STATE_ABSENT);
        ck_assert_int_eq(module_get_status(c, "nf_defrag_ipv4", &st), 0);
        ck_assert_int_eq(st.state, MODULE_STATE_ABSENT);
        tree_done(&t);
}
END_TEST

/* A module that comes and goes is seen as it is now, nothing cached. */
START_TEST(test_state_follows_sysfs) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        ModuleStatus st;
        char dir[512], file[600];
        Tree t;

        tree_init(&t, true);
        c = context(&t);
        snprintf(dir, sizeof(dir), "%s/module/nf_nat", t.sysfs);
        snprintf(file, sizeof(file), "%s/initstate", dir);

        ck_assert_int_eq(module_get_status(c, "nf_nat", &st), 0);
        ck_assert_int_eq(st.state, MODULE_STATE_ABSENT);
        mkdirs(dir);
        write_file(file, "coming\n");
        ck_assert_int_eq(module_get_status(c, "nf_nat", &st), 0);
        ck_assert_int_eq(st.state, MODULE_STATE_COMING);
        write_file(file, "live\n");
        ck_assert_int_eq(module_get_status(c, "nf_nat", &st), 0);
        ck_assert_int_eq(st.state, MODULE_STATE_LIVE);
        ck_assert_int_eq(unlink(file), 0);
        ck_assert_int_eq(rmdir(dir), 0);
        ck_assert_int_eq(module_get_status(c, "nf_nat", &st), 0);
        ck_assert_int_eq(st.state, MODULE_STATE_ABSENT);

        tree_done(&t);
}
END_TEST

static const struct {
        const char *name, *successor;
} legacy_cases[] = {
        { "nf_conntrack_ipv4", "nf_conntrack" },
        { "nf_conntrack_ipv6", "nf_conntrack" },
        { "nf_nat_ipv4",       "nf_nat" },
        { "nf_nat_ipv6",       "nf_nat" },
        { "nf_conntrack",      NULL },
        { "nf_defrag_ipv4",    NULL },
};

START_TEST(test_legacy_successor) {
        const char *s = module_legacy_successor(legacy_cases[_i].name);

        if (legacy_cases[_i].successor)
                ck_assert_str_eq(s, legacy_cases[_i].successor);
        else
                ck_assert_ptr_null(s);
}
END_TEST

/* Without a module tree, names are decided from what the kernel has. */
static const struct {
        const char *name;
        ModuleResolution res;
        const char *target;
} notree_cases[] = {
        { "nf_conntrack",      MODULE_RESOLUTION_MODULE,  NULL },       /* live */
        { "bridge",            MODULE_RESOLUTION_MODULE,  NULL },       /* built in */
        { "nf_conntrack_ipv4", MODULE_RESOLUTION_MERGED,  "nf_conntrack" },
        { "nf_conntrack_ipv6", MODULE_RESOLUTION_MERGED,  "nf_conntrack" },
        { "nf_nat_ipv4",       MODULE_RESOLUTION_MERGED,  "nf_nat" },   /* nf_nat: kallsyms */
        { "xt_foo",            MODULE_RESOLUTION_UNKNOWN, NULL },
};

START_TEST(test_resolve_without_tree) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_free_ char *target = NULL;
        ModuleResolution res;
        Tree t;

        tree_init(&t, false);
        c = context(&t);
        ck_assert_int_eq(module_resolve(c, notree_cases[_i].name, &res, &target), 0);
        ck_assert_msg(res == notree_cases[_i].res, "%s: %s", notree_cases[_i].name,
                      module_resolution_to_string(res));
        if (notree_cases[_i].target)
                ck_assert_str_eq(target, notree_cases[_i].target);
        else
                ck_assert_ptr_null(target);
        tree_done(&t);
}
END_TEST

START_TEST(test_strings) {
        for (ModuleState s = 0; s < _MODULE_STATE_MAX; s++)
                ck_assert_ptr_nonnull(module_state_to_string(s));
        for (ModuleEvidence e = 0; e < _MODULE_EVIDENCE_MAX; e++)
                ck_assert_ptr_nonnull(module_evidence_to_string(e));
        for (ModuleResolution r = 0; r < _MODULE_RESOLUTION_MAX; r++)
                ck_assert_ptr_nonnull(module_resolution_to_string(r));
        for (ModuleBlock b = 0; b < _MODULE_BLOCK_MAX; b++)
                ck_assert_ptr_nonnull(module_block_to_string(b));
        ck_assert_ptr_null(module_state_to_string(_MODULE_STATE_MAX));
        ck_assert_str_eq(module_status_describe(&(ModuleStatus) { MODULE_STATE_LIVE,
                                                                  MODULE_EVIDENCE_INITSTATE }), "live");
}
END_TEST

int main(void) {
        Suite *s = suite_create("modules-state");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_state, 0, ELEMENTSOF(state_cases));
        tcase_add_test(tc, test_builtin_stack_without_tree);
        tcase_add_test(tc, test_state_follows_sysfs);
        tcase_add_test(tc, test_kallsyms_module_symbol);
        tcase_add_loop_test(tc, test_legacy_successor, 0, ELEMENTSOF(legacy_cases));
        tcase_add_loop_test(tc, test_resolve_without_tree, 0, ELEMENTSOF(notree_cases));
        tcase_add_test(tc, test_strings);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
