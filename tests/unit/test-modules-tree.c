/* SPDX-License-Identifier: GPL-2.0-or-later */

/* How configured names map onto a module tree, and what modprobe.d blocks, through libkmod.
 *
 * The trees are real: depmod(8) indexes them. The module files are copies of this test program
 * (depmod only needs ELF files; it finds no dependencies in them). Dependencies come from the
 * Debian kernel's own tree in /lib/modules when one is installed; those cases are left out, and
 * said so, when none is. Without depmod the whole test is skipped (77). Nothing is ever loaded:
 * the sysfs is a temporary one where every module is absent, and loads are dry runs or
 * blocked before they reach the kernel. */

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "macro.h"
#include "modules.h"
#include "strv.h"

static const char *depmod;
static char real_tree[512];

typedef struct Tree {
        char root[64];
        char sysfs[128], proc[128], moddir[160], confdir[128];
} Tree;

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

static void write_file(const char *path, const char *text) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        ck_assert_msg(f != NULL, "%s: %m", path);
        fputs(text, f);
}

static void copy_self(const char *to) {
        _cleanup_close_ int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char buf[65536];
        ssize_t n;

        ck_assert_int_ge(in, 0);
        ck_assert_int_ge(out, 0);
        while ((n = read(in, buf, sizeof(buf))) > 0)
                ck_assert_int_eq(write(out, buf, (size_t) n), n);
        ck_assert_int_eq(n, 0);
}

static void run_depmod(const char *base, const char *version) {
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);

                if (null >= 0) {
                        dup2(null, STDOUT_FILENO);
                        dup2(null, STDERR_FILENO);
                }
                execl(depmod, "depmod", "-b", base, version, (char *) NULL);
                _exit(127);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "depmod failed: %d", status);
}

/* A tree with the given module files (paths below kernel/), modules.builtin and modprobe.d
 * text, indexed by depmod. */
static void tree_init(Tree *t, const char * const *files, const char *builtin, const char *conf) {
        char path[512];

        snprintf(t->root, sizeof(t->root), "/tmp/ctguard-test-tree.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(t->root));
        snprintf(t->sysfs, sizeof(t->sysfs), "%s/sys", t->root);
        snprintf(t->proc, sizeof(t->proc), "%s/proc", t->root);
        snprintf(t->moddir, sizeof(t->moddir), "%s/lib/modules/9.9.9-test", t->root);
        snprintf(t->confdir, sizeof(t->confdir), "%s/modprobe.d", t->root);
        snprintf(path, sizeof(path), "%s/module", t->sysfs);
        mkdirs(path);
        mkdirs(t->proc);
        mkdirs(t->moddir);
        mkdirs(t->confdir);

        for (const char * const *f = files; f && *f; f++) {
                snprintf(path, sizeof(path), "%s/kernel/%s", t->moddir, *f);
                *strrchr(path, '/') = '\0';
                mkdirs(path);
                snprintf(path, sizeof(path), "%s/kernel/%s", t->moddir, *f);
                copy_self(path);
        }
        snprintf(path, sizeof(path), "%s/modules.builtin", t->moddir);
        write_file(path, strempty(builtin));
        snprintf(path, sizeof(path), "%s/ctguard-test.conf", t->confdir);
        write_file(path, strempty(conf));

        run_depmod(t->root, "9.9.9-test");
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void tree_done(Tree *t) {
        (void) nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static ModuleContext *context(const Tree *t, const char *moddir) {
        const char *confs[] = { t->confdir, NULL };
        ModulePaths p = {
                .sysfs = t->sysfs,
                .proc = t->proc,
                .module_dir = moddir ?: t->moddir,
                .config_paths = confs,
        };
        ModuleContext *c = NULL;

        ck_assert_int_eq(module_context_new(&p, &c), 0);
        return c;
}

/* Kernels since 5.1: the chain under its current names, nothing else. */
static const char * const modern[] = {
        "net/ipv4/netfilter/nf_defrag_ipv4.ko",
        "net/ipv6/netfilter/nf_defrag_ipv6.ko",
        "net/netfilter/nf_conntrack.ko",
        "net/netfilter/nf_nat.ko",
        NULL
};

/* Kernels before 4.19: the per-family modules exist. */
static const char * const legacy[] = {
        "net/ipv4/netfilter/nf_defrag_ipv4.ko",
        "net/ipv4/netfilter/nf_conntrack_ipv4.ko",
        "net/ipv4/netfilter/nf_nat_ipv4.ko",
        "net/ipv6/netfilter/nf_conntrack_ipv6.ko",
        "net/netfilter/nf_conntrack.ko",
        "net/netfilter/nf_nat.ko",
        NULL
};

static const struct {
        const char * const *files;
        const char *builtin;
        const char *conf;
        const char *name;
        ModuleResolution res;
        const char *target;
} resolve_cases[] = {
        { modern, NULL, NULL, "nf_conntrack",      MODULE_RESOLUTION_MODULE, NULL },
        { modern, NULL, NULL, "nf_nat",            MODULE_RESOLUTION_MODULE, NULL },
        { modern, NULL, NULL, "nf_conntrack_ipv4", MODULE_RESOLUTION_GONE, NULL },
        { modern, NULL, NULL, "nf_conntrack_ipv6", MODULE_RESOLUTION_GONE, NULL },
        { modern, NULL, NULL, "nf_nat_ipv4",       MODULE_RESOLUTION_GONE, NULL },
        { modern, NULL, NULL, "nf_nat_ipv6",       MODULE_RESOLUTION_GONE, NULL },
        { modern, NULL, NULL, "no_such_module",    MODULE_RESOLUTION_GONE, NULL },
        { legacy, NULL, NULL, "nf_conntrack_ipv4", MODULE_RESOLUTION_MODULE, NULL },
        { legacy, NULL, NULL, "nf_conntrack_ipv6", MODULE_RESOLUTION_MODULE, NULL },
        { legacy, NULL, NULL, "nf_nat_ipv4",       MODULE_RESOLUTION_MODULE, NULL },
        { legacy, NULL, NULL, "nf_nat_ipv6",       MODULE_RESOLUTION_GONE, NULL },       /* 4.19..5.0 */
        /* Built into the kernel the tree belongs to. */
        { modern, "kernel/net/netfilter/nf_tables.ko\n", NULL, "nf_tables", MODULE_RESOLUTION_MODULE, NULL },
        { NULL, "kernel/net/netfilter/nf_conntrack.ko\nkernel/net/netfilter/nf_nat.ko\n", NULL,
          "nf_nat", MODULE_RESOLUTION_MODULE, NULL },
        { NULL, "kernel/net/netfilter/nf_conntrack.ko\n", NULL, "nf_conntrack_ipv4",
          MODULE_RESOLUTION_GONE, NULL },
        /* An alias, from modprobe.d, of a module under another name. */
        { modern, NULL, "alias nf_conntrack_ipv4 nf_conntrack\n", "nf_conntrack_ipv4",
          MODULE_RESOLUTION_ALIAS, "nf_conntrack" },
        { modern, NULL, "alias ct4 nf_conntrack\n", "ct4", MODULE_RESOLUTION_ALIAS, "nf_conntrack" },
};

/* The default chain on a tree: the legacy per-family modules join it where the tree has them
 * under their own name, right after what they were merged into. */
#define DEFAULT_ENSURE "nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
static const struct {
        const char *name;
        const char * const *files;
        const char *conf;
        const char *ensure;
        const char *want;
} legacy_chain_cases[] = {
        { "modern", modern, NULL, DEFAULT_ENSURE, DEFAULT_ENSURE },
        { "before 4.19", legacy, NULL, DEFAULT_ENSURE,
          "nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_conntrack_ipv4 nf_conntrack_ipv6 nf_nat nf_nat_ipv4" },
        { "listed already", legacy, NULL, "nf_conntrack nf_conntrack_ipv4",
          "nf_conntrack nf_conntrack_ipv6 nf_conntrack_ipv4" },
        { "an alias is not a module", modern, "alias nf_conntrack_ipv4 nf_conntrack\n", DEFAULT_ENSURE,
          DEFAULT_ENSURE },
        { "no tree", NULL, NULL, DEFAULT_ENSURE, DEFAULT_ENSURE },
        { "empty", legacy, NULL, "", "" },
};

START_TEST(test_chain_legacy) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_strv_free_ char **ensure = NULL, **got = NULL;
        _cleanup_free_ char *joined = NULL;
        Tree t;

        tree_init(&t, legacy_chain_cases[_i].files, NULL, legacy_chain_cases[_i].conf);
        c = context(&t, legacy_chain_cases[_i].files ? NULL : "/nonexistent/ctguard-test");
        ck_assert_int_eq(strv_split_whitespace(legacy_chain_cases[_i].ensure, &ensure), 0);
        ck_assert_int_eq(module_chain_add_legacy(c, ensure, &got), 0);
        joined = strv_join(got, " ");
        ck_assert_msg(streq(joined, legacy_chain_cases[_i].want), "%s: got '%s'",
                      legacy_chain_cases[_i].name, joined);
        tree_done(&t);
}
END_TEST

START_TEST(test_resolve) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_free_ char *target = NULL;
        ModuleResolution res;
        Tree t;

        tree_init(&t, resolve_cases[_i].files, resolve_cases[_i].builtin, resolve_cases[_i].conf);
        c = context(&t, NULL);
        ck_assert(module_tree_present(c));

        ck_assert_int_eq(module_resolve(c, resolve_cases[_i].name, &res, &target), 0);
        ck_assert_msg(res == resolve_cases[_i].res, "case %d, %s: %s", _i, resolve_cases[_i].name,
                      module_resolution_to_string(res));
        if (resolve_cases[_i].target)
                ck_assert_str_eq(target, resolve_cases[_i].target);
        else
                ck_assert_ptr_null(target);
        tree_done(&t);
}
END_TEST

static const struct {
        const char *conf;
        const char *name;
        ModuleBlock block;
        const char *who;
} block_cases[] = {
        { "",                                       "nf_nat",       MODULE_BLOCK_NONE, NULL },
        { "blacklist nf_nat\n",                     "nf_nat",       MODULE_BLOCK_BLACKLIST, "nf_nat" },
        { "blacklist nf-nat\n",                     "nf_nat",       MODULE_BLOCK_BLACKLIST, "nf_nat" },
        { "blacklist nf_nat\n",                     "nf_conntrack", MODULE_BLOCK_NONE, NULL },
        { "install nf_conntrack /bin/false\n",      "nf_conntrack", MODULE_BLOCK_INSTALL,   "nf_conntrack" },
        { "install nf_* /bin/true\n",               "nf_nat",       MODULE_BLOCK_INSTALL,   "nf_nat" },
        { "options nf_conntrack hashsize=1024\n",   "nf_conntrack", MODULE_BLOCK_NONE, NULL },
        { "softdep nf_nat pre: nf_defrag_ipv4\n",   "nf_nat",       MODULE_BLOCK_NONE, NULL },
};

START_TEST(test_blocked) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_free_ char *who = NULL, *who2 = NULL;
        _cleanup_strv_free_ char **would = NULL;
        ModuleBlock b = 42, b2 = 42;
        Tree t;
        int r;

        tree_init(&t, modern, NULL, block_cases[_i].conf);
        c = context(&t, NULL);

        ck_assert_int_eq(module_check_blocked(c, block_cases[_i].name, &b, &who), 0);
        ck_assert_msg(b == block_cases[_i].block, "case %d: %s", _i, module_block_to_string(b));
        if (block_cases[_i].who)
                ck_assert_str_eq(who, block_cases[_i].who);
        else
                ck_assert_ptr_null(who);

        /* A load asks the same question first, and a blocked module goes no further. */
        r = module_load(c, block_cases[_i].name, NULL, true, &b2, &who2, &would);
        if (block_cases[_i].block == MODULE_BLOCK_NONE) {
                ck_assert_int_eq(r, 0);
                ck_assert_ptr_nonnull(would);
                ck_assert_str_eq(would[strv_length(would) - 1], block_cases[_i].name);
        } else {
                ck_assert_int_eq(r, 1);
                ck_assert_int_eq(b2, block_cases[_i].block);
                ck_assert_str_eq(who2, block_cases[_i].who);
                ck_assert_ptr_null(would);
        }
        tree_done(&t);
}
END_TEST

START_TEST(test_load_missing) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        Tree t;

        tree_init(&t, modern, NULL, NULL);
        c = context(&t, NULL);
        ck_assert_int_eq(module_load(c, "no_such_module", NULL, true, NULL, NULL, NULL), -ENOENT);
        ck_assert_int_eq(module_load(c, "../../evil", NULL, true, NULL, NULL, NULL), -EINVAL);
        ck_assert_int_eq(module_check_blocked(c, "a/b", &(ModuleBlock) { MODULE_BLOCK_NONE }, NULL), -EINVAL);
        tree_done(&t);
}
END_TEST

/* modprobe.d edited while the daemon runs: a refresh sees it. */
START_TEST(test_refresh) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        char path[512];
        ModuleBlock b;
        Tree t;

        tree_init(&t, modern, NULL, NULL);
        c = context(&t, NULL);
        ck_assert_int_eq(module_check_blocked(c, "nf_nat", &b, NULL), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_NONE);
        ck_assert_int_eq(module_context_refresh(c), 0);

        snprintf(path, sizeof(path), "%s/zz-late.conf", t.confdir);
        write_file(path, "blacklist nf_nat\n");
        ck_assert_int_eq(module_context_refresh(c), 1);
        ck_assert_int_eq(module_check_blocked(c, "nf_nat", &b, NULL), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_BLACKLIST);
        ck_assert_int_eq(module_context_refresh(c), 0);

        /* The same file edited in place, which libkmod alone does not notice. */
        write_file(path, "install nf_nat /bin/true\n");
        ck_assert_int_eq(module_context_refresh(c), 1);
        ck_assert_int_eq(module_check_blocked(c, "nf_nat", &b, NULL), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_INSTALL);
        tree_done(&t);
}
END_TEST

/* With the real dependencies of a Debian kernel's tree. */
START_TEST(test_real_tree) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        _cleanup_strv_free_ char **would = NULL;
        _cleanup_free_ char *who = NULL, *joined = NULL, *target = NULL;
        char path[512], initstate[600];
        ModuleResolution res;
        ModuleBlock b;
        Tree t;

        tree_init(&t, NULL, NULL, NULL);
        c = context(&t, real_tree);
        ck_assert(module_tree_present(c));

        ck_assert_int_eq(module_resolve(c, "nf_conntrack", &res, &target), 0);
        ck_assert_int_eq(res, MODULE_RESOLUTION_MODULE);
        ck_assert_int_eq(module_resolve(c, "nf_conntrack_ipv4", &res, &target), 0);
        ck_assert_int_eq(res, MODULE_RESOLUTION_GONE);

        /* Everything absent: the whole chain below nf_nat, in load order. */
        ck_assert_int_eq(module_load(c, "nf_nat", NULL, true, NULL, NULL, &would), 0);
        joined = strv_join(would, " ");
        ck_assert_str_eq(joined, "libcrc32c nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat");
        would = strv_free(would);
        free(joined);

        /* What is loaded already is left out. */
        snprintf(path, sizeof(path), "%s/module/nf_defrag_ipv4", t.sysfs);
        mkdirs(path);
        snprintf(initstate, sizeof(initstate), "%s/initstate", path);
        write_file(initstate, "live\n");
        ck_assert_int_eq(module_load(c, "nf_conntrack", NULL, true, NULL, NULL, &would), 0);
        joined = strv_join(would, " ");
        ck_assert_str_eq(joined, "libcrc32c nf_defrag_ipv6 nf_conntrack");

        /* Blacklisting a dependency does not block what needs it: modprobe loads a dependency
         * whatever the blacklist says. Asked for by name, the dependency itself is blocked. */
        snprintf(path, sizeof(path), "%s/blacklist.conf", t.confdir);
        write_file(path, "blacklist nf_defrag_ipv6\n");
        ck_assert_int_eq(module_context_refresh(c), 1);
        ck_assert_int_eq(module_check_blocked(c, "nf_nat", &b, &who), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_NONE);
        ck_assert_ptr_null(who);
        would = strv_free(would);
        ck_assert_int_eq(module_load(c, "nf_conntrack", NULL, true, &b, &who, &would), 0);
        ck_assert_ptr_null(who);
        ck_assert(strv_contains(would, "nf_defrag_ipv6"));
        ck_assert_int_eq(module_check_blocked(c, "nf_defrag_ipv6", &b, NULL), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_BLACKLIST);

        /* An install command on a dependency does block: ctguard never runs one. */
        write_file(path, "install nf_defrag_ipv6 /bin/true\n");
        ck_assert_int_eq(module_context_refresh(c), 1);
        ck_assert_int_eq(module_check_blocked(c, "nf_nat", &b, &who), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_INSTALL);
        ck_assert_str_eq(who, "nf_defrag_ipv6");
        free(who);
        who = NULL;
        ck_assert_int_eq(module_load(c, "nf_conntrack", NULL, true, &b, &who, NULL), 1);
        ck_assert_str_eq(who, "nf_defrag_ipv6");
        ck_assert_int_eq(module_check_blocked(c, "nf_defrag_ipv4", &b, NULL), 0);
        ck_assert_int_eq(b, MODULE_BLOCK_NONE);

        tree_done(&t);
}
END_TEST

static const char *find_depmod(void) {
        static const char * const candidates[] = {
                "/usr/sbin/depmod", "/sbin/depmod", "/usr/bin/depmod", "/bin/depmod",
        };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

/* A tree in /lib/modules that has nf_nat and nf_conntrack as modules. */
static bool find_real_tree(char *buf, size_t size) {
        glob_t g = {};
        bool found = false;

        if (glob("/lib/modules/*/modules.dep.bin", 0, NULL, &g) != 0)
                return false;
        for (size_t i = 0; i < g.gl_pathc && !found; i++) {
                _cleanup_free_ char *line = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                char dep[600];
                size_t n = 0;

                snprintf(buf, size, "%s", g.gl_pathv[i]);
                *strrchr(buf, '/') = '\0';
                snprintf(dep, sizeof(dep), "%s/modules.dep", buf);
                f = fopen(dep, "re");
                while (f && getline(&line, &n, f) > 0)
                        if (strneq(line, "kernel/net/netfilter/nf_nat.ko:", 31) &&
                            strstr(line, "nf_conntrack.ko")) {
                                found = true;
                                break;
                        }
        }
        globfree(&g);
        return found;
}

int main(void) {
        Suite *s = suite_create("modules-tree");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        depmod = find_depmod();
        if (!depmod) {
                printf("depmod not found (package kmod): skipping.\n");
                return 77;
        }

        tcase_set_timeout(tc, 120);
        tcase_add_loop_test(tc, test_resolve, 0, ELEMENTSOF(resolve_cases));
        tcase_add_loop_test(tc, test_blocked, 0, ELEMENTSOF(block_cases));
        tcase_add_loop_test(tc, test_chain_legacy, 0, ELEMENTSOF(legacy_chain_cases));
        tcase_add_test(tc, test_load_missing);
        tcase_add_test(tc, test_refresh);
        if (find_real_tree(real_tree, sizeof(real_tree)))
                tcase_add_test(tc, test_real_tree);
        else
                printf("No kernel module tree with nf_nat in /lib/modules: the dependency cases are left out.\n");
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
