/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <libkmod.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <syslog.h>

#include "macro.h"
#include "modules.h"
#include "strv.h"

/* MODULE_NAME_LEN in the kernel, the NUL included. */
#define MODULE_NAME_MAX 55u

/* Where a module can be seen to be built in when there is no module tree to say so: a sysctl
 * only it registers, or a function only it defines. Loaded as a module, the same module has a
 * /sys/module/NAME/initstate, which is read first; so these only speak when it is not loaded
 * as a module, and then they mean built in. */
static const struct {
        const char *module;
        const char *sysctl;     /* below /proc/sys, or NULL */
        const char *symbol;     /* in /proc/kallsyms */
} builtin_hints[] = {
        { "nf_conntrack",   "net/netfilter/nf_conntrack_max",           "nf_conntrack_init_start" },
        { "nf_defrag_ipv4", NULL,                                       "nf_defrag_ipv4_enable" },
        { "nf_defrag_ipv6", "net/netfilter/nf_conntrack_frag6_timeout", "nf_defrag_ipv6_enable" },
        { "nf_nat",         NULL,                                       "nf_nat_setup_info" },
};

/* Names that older kernels had: their code moved into the successor. */
static const struct {
        const char *name;
        const char *successor;
} legacy_names[] = {
        { "nf_conntrack_ipv4", "nf_conntrack" },        /* merged in 4.19 */
        { "nf_conntrack_ipv6", "nf_conntrack" },
        { "nf_nat_ipv4",       "nf_nat" },              /* merged in 5.1 */
        { "nf_nat_ipv6",       "nf_nat" },
};

struct ModuleContext {
        struct kmod_ctx *kmod;
        char *sysfs;
        char *proc;
        char *module_dir;
        char **config_paths;            /* NULL: libkmod's defaults */

        ModuleLogFn log_fn;
        void *log_userdata;
        int log_max;

        /* modules.builtin, re-read when it changes. */
        char **builtin;
        bool builtin_file;              /* the tree has a modules.builtin */
        struct timespec builtin_mtime;
        ino_t builtin_ino;

        /* libkmod notices new and removed modprobe.d files, not edits to one: ctguard keeps
         * its own fingerprint of them. */
        uint64_t config_fingerprint;

        /* What the kernel proper defines cannot change while it runs: scanned once. */
        bool kallsyms_scanned;
        bool kallsyms_builtin[ELEMENTSOF(builtin_hints)];

        /* Soft dependencies the kernel refused with ENODEV: what they need is not in this
         * machine (crc32c_intel, libcrc32c's soft dependency, on a CPU without SSE4.2). Each
         * attempt costs a whole module load and unload, tens of milliseconds: they are not
         * tried again until the module tree or modprobe.d change. */
        char **softdeps_unavailable;
};

static const char * const state_table[_MODULE_STATE_MAX] = {
        [MODULE_STATE_ABSENT]  = "missing",
        [MODULE_STATE_LIVE]    = "live",
        [MODULE_STATE_BUILTIN] = "builtin",
        [MODULE_STATE_COMING]  = "coming",
        [MODULE_STATE_GOING]   = "going",
};

const char *module_state_to_string(ModuleState s) {
        return s >= 0 && s < _MODULE_STATE_MAX ? state_table[s] : NULL;
}

static const char * const evidence_table[_MODULE_EVIDENCE_MAX] = {
        [MODULE_EVIDENCE_NONE]            = "none",
        [MODULE_EVIDENCE_INITSTATE]       = "initstate",
        [MODULE_EVIDENCE_SYSFS]           = "sysfs",
        [MODULE_EVIDENCE_MODULES_BUILTIN] = "modules.builtin",
        [MODULE_EVIDENCE_SYSCTL]          = "sysctl",
        [MODULE_EVIDENCE_KALLSYMS]        = "kallsyms",
};

const char *module_evidence_to_string(ModuleEvidence e) {
        return e >= 0 && e < _MODULE_EVIDENCE_MAX ? evidence_table[e] : NULL;
}

const char *module_status_describe(const ModuleStatus *s) {
        switch (s->evidence) {
        case MODULE_EVIDENCE_SYSFS:
                return "built in: sysfs shows no initstate";
        case MODULE_EVIDENCE_MODULES_BUILTIN:
                return "built in: listed in modules.builtin";
        case MODULE_EVIDENCE_SYSCTL:
                return "built in: its sysctls exist";
        case MODULE_EVIDENCE_KALLSYMS:
                return "built in: its functions are in the kernel";
        case MODULE_EVIDENCE_NONE:
        case MODULE_EVIDENCE_INITSTATE:
        case _MODULE_EVIDENCE_MAX:
        case _MODULE_EVIDENCE_INVALID:
                break;
        }
        return module_state_to_string(s->state) ?: "unknown";
}

static const char * const resolution_table[_MODULE_RESOLUTION_MAX] = {
        [MODULE_RESOLUTION_MODULE]  = "module",
        [MODULE_RESOLUTION_ALIAS]   = "alias",
        [MODULE_RESOLUTION_GONE]    = "gone",
        [MODULE_RESOLUTION_MERGED]  = "merged",
        [MODULE_RESOLUTION_UNKNOWN] = "unknown",
};

const char *module_resolution_to_string(ModuleResolution r) {
        return r >= 0 && r < _MODULE_RESOLUTION_MAX ? resolution_table[r] : NULL;
}

static const char * const block_table[_MODULE_BLOCK_MAX] = {
        [MODULE_BLOCK_NONE]      = "none",
        [MODULE_BLOCK_BLACKLIST] = "blacklist",
        [MODULE_BLOCK_INSTALL]   = "install",
};

const char *module_block_to_string(ModuleBlock b) {
        return b >= 0 && b < _MODULE_BLOCK_MAX ? block_table[b] : NULL;
}

const char *module_legacy_successor(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(legacy_names); i++)
                if (streq(legacy_names[i].name, name))
                        return legacy_names[i].successor;
        return NULL;
}

/* The names paths are built from: nothing that could leave /sys/module. */
static bool module_name_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > MODULE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static void fold_dashes(char *s) {
        for (; *s; s++)
                if (*s == '-')
                        *s = '_';
}

/* libkmod's built-in list, for when no paths are given. */
static const char * const default_config_paths[] = {
        "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d",
        "/lib/modprobe.d",
};

static void fnv1a(uint64_t *h, const void *p, size_t n) {
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++) {
                *h ^= b[i];
                *h *= 0x100000001b3ULL;
        }
}

static void fingerprint_stat(uint64_t *h, const char *path, const struct stat *st) {
        fnv1a(h, path, strlen(path) + 1);
        fnv1a(h, &st->st_ino, sizeof(st->st_ino));
        fnv1a(h, &st->st_size, sizeof(st->st_size));
        fnv1a(h, &st->st_mtim.tv_sec, sizeof(st->st_mtim.tv_sec));
        fnv1a(h, &st->st_mtim.tv_nsec, sizeof(st->st_mtim.tv_nsec));
}

/* Every modprobe.d directory and every entry in them: name, inode, size, modification time. */
static uint64_t config_fingerprint(const ModuleContext *c) {
        uint64_t h = 0xcbf29ce484222325ULL;
        size_t n = c->config_paths ? strv_length(c->config_paths) : ELEMENTSOF(default_config_paths);

        for (size_t i = 0; i < n; i++) {
                const char *dir = c->config_paths ? c->config_paths[i] : default_config_paths[i];
                _cleanup_closedir_ DIR *d = NULL;
                struct dirent *de;
                struct stat st;

                if (stat(dir, &st) < 0) {
                        fnv1a(&h, "-", 1);
                        continue;
                }
                fingerprint_stat(&h, dir, &st);
                d = opendir(dir);
                if (!d)
                        continue;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.' &&
                            fstatat(dirfd(d), de->d_name, &st, 0) >= 0)
                                fingerprint_stat(&h, de->d_name, &st);
        }
        return h;
}

static void kmod_log_trampoline(void *data, int priority, const char *file, int line,
                                const char *fn, const char *format, va_list args) {
        ModuleContext *c = data;

        if (c->log_fn && priority <= c->log_max)
                c->log_fn(c->log_userdata, priority, format, args);
}

static int context_open_kmod(ModuleContext *c, struct kmod_ctx **ret) {
        struct kmod_ctx *k;

        k = kmod_new(c->module_dir, (const char * const *) c->config_paths);
        if (!k)
                return -ENOMEM;
        /* Until a logger is set, libkmod says nothing: lib/ does not write to stderr. */
        kmod_set_log_fn(k, kmod_log_trampoline, c);
        kmod_set_log_priority(k, c->log_fn ? c->log_max : LOG_EMERG);
        /* Map the indexes once, as modprobe does: otherwise every lookup opens and walks them
         * anew, which made a heal measurably slower than modprobe. Without a module tree this
         * fails, and lookups simply find nothing. */
        (void) kmod_load_resources(k);
        *ret = k;
        return 0;
}

ModuleContext *module_context_free(ModuleContext *c) {
        if (!c)
                return NULL;
        kmod_unref(c->kmod);
        free(c->sysfs);
        free(c->proc);
        free(c->module_dir);
        strv_free(c->config_paths);
        strv_free(c->builtin);
        strv_free(c->softdeps_unavailable);
        free(c);
        return NULL;
}

int module_context_new(const ModulePaths *paths, ModuleContext **ret) {
        _cleanup_(module_context_freep) ModuleContext *c = NULL;
        const ModulePaths none = {};
        int r;

        if (!paths)
                paths = &none;

        c = calloc(1, sizeof(ModuleContext));
        if (!c)
                return -ENOMEM;
        c->log_max = LOG_ERR;

        c->sysfs = strdup(paths->sysfs ?: "/sys");
        c->proc = strdup(paths->proc ?: "/proc");
        if (!c->sysfs || !c->proc)
                return -ENOMEM;

        if (paths->module_dir)
                c->module_dir = strdup(paths->module_dir);
        else {
                struct utsname u;

                if (uname(&u) < 0)
                        return negative_errno();
                if (asprintf(&c->module_dir, "/lib/modules/%s", u.release) < 0)
                        c->module_dir = NULL;
        }
        if (!c->module_dir)
                return -ENOMEM;

        if (paths->config_paths) {
                r = strv_copy((char * const *) paths->config_paths, &c->config_paths);
                if (r < 0)
                        return r;
        }

        c->config_fingerprint = config_fingerprint(c);
        r = context_open_kmod(c, &c->kmod);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

void module_context_set_log(ModuleContext *c, ModuleLogFn fn, void *userdata, int max_priority) {
        c->log_fn = fn;
        c->log_userdata = userdata;
        c->log_max = max_priority;
        kmod_set_log_priority(c->kmod, fn ? max_priority : LOG_EMERG);
}

int module_context_refresh(ModuleContext *c) {
        uint64_t fp = config_fingerprint(c);
        struct kmod_ctx *k;
        int r;

        if (kmod_validate_resources(c->kmod) == KMOD_RESOURCES_OK && fp == c->config_fingerprint)
                return 0;

        r = context_open_kmod(c, &k);
        if (r < 0)
                return r;
        kmod_unref(c->kmod);
        c->kmod = k;
        c->config_fingerprint = fp;
        c->softdeps_unavailable = strv_free(c->softdeps_unavailable);
        return 1;
}

const char *module_context_dir(const ModuleContext *c) {
        return c->module_dir;
}

static bool file_exists_in(const char *dir, const char *name) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return false;
        return access(p, F_OK) == 0;
}

bool module_tree_present(ModuleContext *c) {
        return file_exists_in(c->module_dir, "modules.dep.bin") ||
               file_exists_in(c->module_dir, "modules.dep");
}

/* modules.builtin lists "kernel/net/netfilter/nf_conntrack.ko", one a line. */
static int builtin_list_update(ModuleContext *c) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t allocated = 0;
        struct stat st;
        ssize_t n;
        int r;

        if (asprintf(&path, "%s/modules.builtin", c->module_dir) < 0)
                return -ENOMEM;

        /* Asked for every module that is not loaded, several times a heal: one stat() says
         * the list is still the one read, where opening the file took three system calls. */
        if (c->builtin_file && stat(path, &st) >= 0 && st.st_ino == c->builtin_ino &&
            st.st_mtim.tv_sec == c->builtin_mtime.tv_sec &&
            st.st_mtim.tv_nsec == c->builtin_mtime.tv_nsec)
                return 0;

        f = fopen(path, "re");
        if (!f) {
                if (errno != ENOENT)
                        return negative_errno();
                c->builtin = strv_free(c->builtin);
                c->builtin_file = false;
                return 0;
        }
        if (fstat(fileno(f), &st) < 0)
                return negative_errno();
        if (c->builtin_file && st.st_ino == c->builtin_ino &&
            st.st_mtim.tv_sec == c->builtin_mtime.tv_sec &&
            st.st_mtim.tv_nsec == c->builtin_mtime.tv_nsec)
                return 0;

        /* An empty list is a valid answer ("nothing is built in"): keep it non-NULL. */
        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;

        while ((n = getline(&line, &allocated, f)) >= 0) {
                char *base, *dot;

                line[strcspn(line, "\r\n")] = '\0';
                base = strrchr(line, '/');
                base = base ? base + 1 : line;
                dot = strstr(base, ".ko");
                if (!dot || dot == base)
                        continue;
                *dot = '\0';
                fold_dashes(base);
                r = strv_extend(&names, base);
                if (r < 0)
                        return r;
        }
        if (ferror(f))
                return -EIO;

        strv_free(c->builtin);
        c->builtin = TAKE_PTR(names);
        c->builtin_file = true;
        c->builtin_ino = st.st_ino;
        c->builtin_mtime = st.st_mtim;
        return 0;
}

static int kallsyms_scan(ModuleContext *c) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t allocated = 0;

        if (c->kallsyms_scanned)
                return 0;

        if (asprintf(&path, "%s/kallsyms", c->proc) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f) {
                if (errno != ENOENT)
                        return negative_errno();
                c->kallsyms_scanned = true;     /* no kallsyms: nothing to learn there */
                return 0;
        }

        /* "ffffffff81f58340 T nf_nat_setup_info", and "...\t[nf_nat]" for a module's. */
        while (getline(&line, &allocated, f) >= 0) {
                char *p = line, *name;
                size_t n;

                p += strcspn(p, " ");           /* address */
                p += strspn(p, " ");
                p += strcspn(p, " ");           /* type */
                p += strspn(p, " ");
                name = p;
                n = strcspn(name, " \t\r\n");
                if (n == 0)
                        continue;
                p = name + n;
                p += strspn(p, " \t\r\n");
                if (*p == '[')
                        continue;               /* defined by a loaded module */
                name[n] = '\0';

                for (size_t i = 0; i < ELEMENTSOF(builtin_hints); i++)
                        if (streq(builtin_hints[i].symbol, name))
                                c->kallsyms_builtin[i] = true;
        }
        if (ferror(f))
                return -EIO;

        c->kallsyms_scanned = true;
        return 0;
}

static int read_initstate(int dir_fd, ModuleState *ret) {
        char buf[32];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = openat(dir_fd, "initstate", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';

        if (streq(buf, "live"))
                *ret = MODULE_STATE_LIVE;
        else if (streq(buf, "coming"))
                *ret = MODULE_STATE_COMING;
        else if (streq(buf, "going"))
                *ret = MODULE_STATE_GOING;
        else
                return -EBADMSG;
        return 0;
}

int module_get_status(ModuleContext *c, const char *name, ModuleStatus *ret) {
        _cleanup_free_ char *folded = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        ModuleState state;
        int r;

        if (!module_name_valid(name))
                return -EINVAL;
        folded = strdup(name);
        if (!folded)
                return -ENOMEM;
        fold_dashes(folded);

        if (asprintf(&dir, "%s/module/%s", c->sysfs, folded) < 0)
                return -ENOMEM;
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
                r = read_initstate(fd, &state);
                if (r == -ENOENT) {
                        /* Built-in modules get a directory for their parameters, never an
                         * initstate. But so, for a moment, does a module being torn down:
                         * the kernel removes its initstate before the remove event and the
                         * directory after it (and creates them the other way round on
                         * load). Where a modules.builtin can tell, a module it does not list
                         * is one of those: going, so that whoever looks waits for the
                         * directory to go rather than take it for built in. */
                        r = builtin_list_update(c);
                        if (r < 0)
                                return r;
                        *ret = (ModuleStatus) {
                                c->builtin_file && !strv_contains(c->builtin, folded) ?
                                        MODULE_STATE_GOING : MODULE_STATE_BUILTIN,
                                MODULE_EVIDENCE_SYSFS,
                        };
                        return 0;
                }
                if (r < 0)
                        return r;
                *ret = (ModuleStatus) { state, MODULE_EVIDENCE_INITSTATE };
                return 0;
        }
        if (errno != ENOENT)
                return negative_errno();

        /* No directory: not loaded as a module. It may still be built in without parameters,
         * which sysfs does not show. */
        r = builtin_list_update(c);
        if (r < 0)
                return r;
        if (strv_contains(c->builtin, folded)) {
                *ret = (ModuleStatus) { MODULE_STATE_BUILTIN, MODULE_EVIDENCE_MODULES_BUILTIN };
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(builtin_hints); i++) {
                if (!streq(builtin_hints[i].module, folded))
                        continue;

                if (builtin_hints[i].sysctl) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/sys/%s", c->proc, builtin_hints[i].sysctl) < 0)
                                return -ENOMEM;
                        if (access(p, F_OK) == 0) {
                                *ret = (ModuleStatus) { MODULE_STATE_BUILTIN,
                                                        MODULE_EVIDENCE_SYSCTL };
                                return 0;
                        }
                }

                /* A module tree's modules.builtin is authoritative for its kernel; without
                 * one, ask the kernel's symbol table. */
                if (!c->builtin_file) {
                        r = kallsyms_scan(c);
                        if (r < 0)
                                return r;
                        if (c->kallsyms_builtin[i]) {
                                *ret = (ModuleStatus) { MODULE_STATE_BUILTIN,
                                                        MODULE_EVIDENCE_KALLSYMS };
                                return 0;
                        }
                }
        }

        *ret = (ModuleStatus) { MODULE_STATE_ABSENT, MODULE_EVIDENCE_NONE };
        return 0;
}

int module_get_refcount(ModuleContext *c, const char *name, unsigned *ret) {
        _cleanup_free_ char *folded = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[32], *end;
        unsigned long v;
        ssize_t n;

        if (!module_name_valid(name))
                return -EINVAL;
        folded = strdup(name);
        if (!folded)
                return -ENOMEM;
        fold_dashes(folded);
        if (asprintf(&path, "%s/module/%s/refcnt", c->sysfs, folded) < 0)
                return -ENOMEM;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';

        errno = 0;
        v = strtoul(buf, &end, 10);
        if (errno != 0 || end == buf || *end != '\0' || buf[0] == '-' || v > UINT_MAX)
                return -EBADMSG;
        *ret = (unsigned) v;
        return 0;
}

static void kmod_module_unrefp(struct kmod_module **m) {
        kmod_module_unref(*m);
}

static void kmod_module_unref_listp(struct kmod_list **l) {
        kmod_module_unref_list(*l);
}

int module_resolve(ModuleContext *c, const char *name, ModuleResolution *ret, char **ret_target) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *list = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *mod = NULL;
        _cleanup_free_ char *target = NULL;
        ModuleResolution res;
        ModuleStatus st;
        int r;

        r = module_get_status(c, name, &st);
        if (r < 0)
                return r;
        if (module_state_present(st.state)) {
                res = MODULE_RESOLUTION_MODULE;
                goto done;
        }

        if (!module_tree_present(c)) {
                const char *successor = module_legacy_successor(name);
                ModuleStatus s2;

                res = MODULE_RESOLUTION_UNKNOWN;
                if (successor && module_get_status(c, successor, &s2) >= 0 &&
                    module_state_present(s2.state)) {
                        target = strdup(successor);
                        if (!target)
                                return -ENOMEM;
                        res = MODULE_RESOLUTION_MERGED;
                }
                goto done;
        }

        r = kmod_module_new_from_name_lookup(c->kmod, name, &mod);
        if (r < 0)
                return r;
        if (mod || strv_contains(c->builtin, name)) {
                res = MODULE_RESOLUTION_MODULE;
                goto done;
        }

        /* Aliases, from the tree and from modprobe.d. */
        r = kmod_module_new_from_lookup(c->kmod, name, &list);
        if (r < 0)
                return r;
        if (list) {
                _cleanup_(kmod_module_unrefp) struct kmod_module *m = kmod_module_get_module(list);
                const char *n = kmod_module_get_name(m);

                if (!n || streq(n, name))
                        res = MODULE_RESOLUTION_MODULE;
                else {
                        target = strdup(n);
                        if (!target)
                                return -ENOMEM;
                        res = MODULE_RESOLUTION_ALIAS;
                }
                goto done;
        }

        res = MODULE_RESOLUTION_GONE;
done:
        *ret = res;
        if (ret_target)
                *ret_target = TAKE_PTR(target);
        return 0;
}

int module_chain_add_legacy(ModuleContext *c, char * const *names, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        int r;

        for (size_t i = 0; names && names[i]; i++) {
                if (!strv_contains(l, names[i])) {
                        r = strv_extend(&l, names[i]);
                        if (r < 0)
                                return r;
                }
                /* Right after its successor: on the old kernel the per-family module needs it
                 * (nf_conntrack_ipv4 depends on nf_conntrack) and nf_nat_ipv4 comes after both. */
                for (size_t k = 0; k < ELEMENTSOF(legacy_names); k++) {
                        ModuleResolution res;

                        if (!streq(legacy_names[k].successor, names[i]) ||
                            strv_contains(l, legacy_names[k].name) ||
                            strv_contains(names, legacy_names[k].name))
                                continue;
                        /* Only a module of that very name in the tree: an alias of the
                         * successor (newer kernels) is the successor, guarded already. */
                        if (!module_tree_present(c))
                                continue;
                        r = module_resolve(c, legacy_names[k].name, &res, NULL);
                        if (r < 0)
                                return r;
                        if (res != MODULE_RESOLUTION_MODULE)
                                continue;
                        r = strv_extend(&l, legacy_names[k].name);
                        if (r < 0)
                                return r;
                }
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int related_add(char ***l, struct kmod_module *m, const char *skip) {
        const char *n = kmod_module_get_name(m);

        if (!n || streq(n, skip) || strv_contains(*l, n))
                return 0;
        return strv_extend(l, n);
}

static int related_add_softdeps(char ***l, struct kmod_module *m, const char *skip) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *pre = NULL, *post = NULL;
        struct kmod_list *lists[2], *i;
        int r;

        if (kmod_module_get_softdeps(m, &pre, &post) < 0)
                return 0;       /* optional: nothing to add */
        lists[0] = pre;
        lists[1] = post;
        for (size_t k = 0; k < ELEMENTSOF(lists); k++)
                for (i = lists[k]; i; i = kmod_list_next(lists[k], i)) {
                        _cleanup_(kmod_module_unrefp) struct kmod_module *s =
                                kmod_module_get_module(i);

                        r = related_add(l, s, skip);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

int module_get_related(ModuleContext *c, const char *name, char ***ret_deps,
                       char ***ret_softdeps) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *deps = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *mod = NULL;
        _cleanup_strv_free_ char **d = NULL, **soft = NULL;
        struct kmod_list *i;
        size_t n;
        int r;

        if (!module_name_valid(name))
                return -EINVAL;

        d = calloc(1, sizeof(char *));
        soft = calloc(1, sizeof(char *));
        if (!d || !soft)
                return -ENOMEM;

        if (module_tree_present(c)) {
                r = kmod_module_new_from_name_lookup(c->kmod, name, &mod);
                if (r < 0)
                        return r;
        }
        if (mod) {
                r = related_add_softdeps(&soft, mod, name);
                if (r < 0)
                        return r;
                deps = kmod_module_get_dependencies(mod);
                for (i = deps; i; i = kmod_list_next(deps, i)) {
                        _cleanup_(kmod_module_unrefp) struct kmod_module *m =
                                kmod_module_get_module(i);

                        r = related_add(&d, m, name);
                        if (r >= 0)
                                r = related_add_softdeps(&soft, m, name);
                        if (r < 0)
                                return r;
                }
        }

        /* A soft dependency that is also a dependency is a dependency. */
        n = 0;
        for (size_t k = 0; soft[k]; k++)
                if (strv_contains(d, soft[k]))
                        free(soft[k]);
                else
                        soft[n++] = soft[k];
        soft[n] = NULL;

        qsort(d, strv_length(d), sizeof(char *), cmp_str);
        qsort(soft, strv_length(soft), sizeof(char *), cmp_str);
        if (ret_deps)
                *ret_deps = TAKE_PTR(d);
        if (ret_softdeps)
                *ret_softdeps = TAKE_PTR(soft);
        return 0;
}

static bool blacklisted(ModuleContext *c, const char *name) {
        struct kmod_config_iter *i = kmod_config_get_blacklists(c->kmod);
        bool found = false;

        if (!i)
                return false;
        while (!found && kmod_config_iter_next(i)) {
                _cleanup_free_ char *key = strdup(strempty(kmod_config_iter_get_key(i)));

                if (key) {
                        fold_dashes(key);
                        found = streq(key, name);
                }
        }
        kmod_config_iter_free_iter(i);
        return found;
}

static ModuleBlock module_block_of(ModuleContext *c, struct kmod_module *m) {
        const char *name = kmod_module_get_name(m);

        if (name && blacklisted(c, name))
                return MODULE_BLOCK_BLACKLIST;
        if (kmod_module_get_install_commands(m))
                return MODULE_BLOCK_INSTALL;
        return MODULE_BLOCK_NONE;
}

int module_check_blocked(ModuleContext *c, const char *name, ModuleBlock *ret, char **ret_module) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *deps = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *mod = NULL;
        struct kmod_list *l;
        ModuleBlock b;
        int r;

        if (!module_name_valid(name))
                return -EINVAL;

        r = kmod_module_new_from_name(c->kmod, name, &mod);
        if (r < 0)
                return r;

        b = module_block_of(c, mod);
        if (b != MODULE_BLOCK_NONE) {
                if (ret_module) {
                        *ret_module = strdup(kmod_module_get_name(mod));
                        if (!*ret_module)
                                return -ENOMEM;
                }
                *ret = b;
                return 0;
        }

        /* A dependency with an install command makes the module unloadable too (modprobe would
         * run the command for it, ctguard never runs one): say which. A blacklisted dependency
         * does not: modprobe's blacklist applies to the name it is asked for, and a dependency
         * is loaded whatever the blacklist says. */
        deps = kmod_module_get_dependencies(mod);
        for (l = deps; l; l = kmod_list_next(deps, l)) {
                _cleanup_(kmod_module_unrefp) struct kmod_module *d = kmod_module_get_module(l);

                if (!kmod_module_get_install_commands(d))
                        continue;
                b = MODULE_BLOCK_INSTALL;
                if (ret_module) {
                        *ret_module = strdup(kmod_module_get_name(d));
                        if (!*ret_module)
                                return -ENOMEM;
                }
                *ret = b;
                return 0;
        }

        if (ret_module)
                *ret_module = NULL;
        *ret = MODULE_BLOCK_NONE;
        return 0;
}

typedef struct LoadData {
        char *refused;          /* a module whose install command we declined to run */
} LoadData;

static int refuse_install(struct kmod_module *m, const char *cmd, void *userdata) {
        LoadData *d = userdata;

        /* module_check_blocked() catches the module and its dependencies beforehand; this is
         * for a soft dependency, or a modprobe.d that changed in between. ctguard runs no
         * commands. */
        if (!d->refused)
                d->refused = strdup(strempty(kmod_module_get_name(m)));
        return -EPERM;
}

/* modprobe.d's options for m, then the caller's. */
static int module_options(struct kmod_module *m, const char *extra, char **ret) {
        const char *conf = kmod_module_get_options(m);
        bool have_conf = conf && *conf, have_extra = extra && *extra;
        char *o;

        if (!have_conf && !have_extra) {
                *ret = NULL;
                return 0;
        }
        if (asprintf(&o, "%s%s%s", have_conf ? conf : "", have_conf && have_extra ? " " : "",
                     have_extra ? extra : "") < 0)
                return -ENOMEM;
        *ret = o;
        return 0;
}

/* Soft dependencies are optional: as modprobe does, they are loaded when they can be and their
 * failure is ignored. Unlike modprobe, those of a module that is in the kernel already are
 * left alone (there is nothing left to load them before), and one the kernel refused with
 * ENODEV is not tried again: libkmod tries libcrc32c's crc32c_intel for every module that
 * depends on libcrc32c, loaded or not, and on a CPU without SSE4.2 each try loads and unloads
 * a module, the costliest step of a heal. */
static void load_softdeps(ModuleContext *c, struct kmod_list *list) {
        struct kmod_list *l;

        for (l = list; l; l = kmod_list_next(list, l)) {
                _cleanup_(kmod_module_unrefp) struct kmod_module *s = kmod_module_get_module(l);
                const char *n = kmod_module_get_name(s);
                LoadData data = {};
                ModuleStatus st;
                int r;

                if (!n || strv_contains(c->softdeps_unavailable, n))
                        continue;
                if (module_get_status(c, n, &st) >= 0 && module_state_present(st.state))
                        continue;
                r = kmod_module_probe_insert_module(s, KMOD_PROBE_APPLY_BLACKLIST, NULL,
                                                    refuse_install, &data, NULL);
                free(data.refused);
                if (r == -ENODEV)
                        (void) strv_extend(&c->softdeps_unavailable, n);
        }
}

typedef struct Probe {
        ModuleContext *c;
        bool dry_run;
        char **would;
        ModuleBlock blocked;
        char *blocked_module;
} Probe;

/* One module of the probe list: unless it is in the kernel already, its soft "pre"
 * dependencies, itself (with options, when it is the module asked for), its "post" ones.
 * Returns 1 if an install command blocks it. */
static int probe_one(Probe *p, struct kmod_module *m, bool target, const char *extra_options) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *pre = NULL, *post = NULL;
        _cleanup_free_ char *options = NULL;
        const char *n = kmod_module_get_name(m);
        ModuleStatus st;
        int r;

        if (!n)
                return -ENOENT;
        /* A dry run lists the module asked for even if it is there: the caller asks for
         * missing modules only, and says what it would load for each. */
        if (!(p->dry_run && target) && module_get_status(p->c, n, &st) >= 0 &&
            module_state_present(st.state))
                return 0;
        if (p->dry_run)
                return strv_extend(&p->would, n);

        /* module_check_blocked() refused install commands before anything was loaded; one
         * that appeared since (modprobe.d edited in between) still stops the load. ctguard
         * runs no commands. */
        if (kmod_module_get_install_commands(m)) {
                p->blocked = MODULE_BLOCK_INSTALL;
                p->blocked_module = strdup(n);
                return p->blocked_module ? 1 : -ENOMEM;
        }

        r = module_options(m, target ? extra_options : NULL, &options);
        if (r < 0)
                return r;
        if (kmod_module_get_softdeps(m, &pre, &post) < 0) {
                /* Optional by definition: load the module without them. */
                kmod_module_unref_list(pre);
                kmod_module_unref_list(post);
                pre = post = NULL;
        }

        load_softdeps(p->c, pre);
        r = kmod_module_insert_module(m, 0, options);
        if (r == -EEXIST)
                r = 0;          /* loaded by someone else in the meantime */
        if (r < 0)
                return r;
        load_softdeps(p->c, post);
        return 0;
}

/* Loads the probe list one module at a time rather than through
 * kmod_module_probe_insert_module(), for the two differences load_softdeps() explains. The
 * order, the options and the handling of "already loaded" are modprobe's. */
int module_load(ModuleContext *c, const char *name, const char *options, bool dry_run,
                ModuleBlock *ret_blocked, char **ret_module, char ***ret_would) {
        _cleanup_(kmod_module_unref_listp) struct kmod_list *deps = NULL;
        _cleanup_(kmod_module_unrefp) struct kmod_module *mod = NULL;
        _cleanup_free_ char *blocked_module = NULL;
        Probe p = { .c = c, .dry_run = dry_run };
        struct kmod_list *l;
        ModuleBlock b;
        int r;

        if (!module_name_valid(name))
                return -EINVAL;

        r = module_check_blocked(c, name, &b, &blocked_module);
        if (r < 0)
                return r;
        if (b != MODULE_BLOCK_NONE) {
                if (ret_blocked)
                        *ret_blocked = b;
                if (ret_module)
                        *ret_module = TAKE_PTR(blocked_module);
                return 1;
        }

        r = kmod_module_new_from_name_lookup(c->kmod, name, &mod);
        if (r < 0)
                return r;
        if (!mod || !kmod_module_get_path(mod))
                return -ENOENT;

        if (dry_run) {
                /* An empty list is an answer too: keep it non-NULL. */
                p.would = calloc(1, sizeof(char *));
                if (!p.would)
                        return -ENOMEM;
        }

        /* The dependencies come in load order. */
        deps = kmod_module_get_dependencies(mod);
        for (l = deps, r = 0; l && r == 0; l = kmod_list_next(deps, l)) {
                _cleanup_(kmod_module_unrefp) struct kmod_module *d = kmod_module_get_module(l);

                r = probe_one(&p, d, false, NULL);
        }
        if (r == 0)
                r = probe_one(&p, mod, true, options);

        if (r == 1) {
                if (ret_blocked)
                        *ret_blocked = p.blocked;
                if (ret_module)
                        *ret_module = TAKE_PTR(p.blocked_module);
        }
        free(p.blocked_module);
        if (r == 0 && ret_would)
                *ret_would = TAKE_PTR(p.would);
        strv_free(p.would);
        return r;
}
