/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

/* Kernel modules: their state in the running kernel, how a configured name maps onto the
 * module tree of this kernel, and loading them in process with libkmod.
 *
 * The state is read from sysfs rather than taken from libkmod, because libkmod can only tell a
 * built-in module from modules.builtin: on a kernel without a module tree it reports a built-in
 * nf_conntrack (a /sys/module directory with parameters but no initstate) as "coming" forever,
 * and a built-in nf_nat (no /sys/module directory at all) as not found. ctguard must never call
 * a built-in module missing. */

typedef enum ModuleState {
        MODULE_STATE_ABSENT,            /* not in the kernel */
        MODULE_STATE_LIVE,              /* loaded as a module and initialised */
        MODULE_STATE_BUILTIN,           /* compiled into the kernel */
        MODULE_STATE_COMING,            /* being loaded */
        MODULE_STATE_GOING,             /* being unloaded; also a directory without initstate
                                         * that modules.builtin does not list (torn down or
                                         * set up right now) */
        _MODULE_STATE_MAX,
        _MODULE_STATE_INVALID = -EINVAL,
} ModuleState;

const char *module_state_to_string(ModuleState s);

static inline bool module_state_present(ModuleState s) {
        return s == MODULE_STATE_LIVE || s == MODULE_STATE_BUILTIN;
}

/* What the state was concluded from, for messages. */
typedef enum ModuleEvidence {
        MODULE_EVIDENCE_NONE,           /* nothing found: absent */
        MODULE_EVIDENCE_INITSTATE,      /* /sys/module/NAME/initstate */
        MODULE_EVIDENCE_SYSFS,          /* /sys/module/NAME without initstate: built in */
        MODULE_EVIDENCE_MODULES_BUILTIN,/* listed in the module tree's modules.builtin */
        MODULE_EVIDENCE_SYSCTL,         /* a sysctl that only this module registers exists */
        MODULE_EVIDENCE_KALLSYMS,       /* a symbol only it defines is in the kernel proper */
        _MODULE_EVIDENCE_MAX,
        _MODULE_EVIDENCE_INVALID = -EINVAL,
} ModuleEvidence;

const char *module_evidence_to_string(ModuleEvidence e);

typedef struct ModuleStatus {
        ModuleState state;
        ModuleEvidence evidence;
} ModuleStatus;

/* For people: "live", "absent", "built in: its sysctls exist", ... */
const char *module_status_describe(const ModuleStatus *s);

/* Where the module context looks. NULL members mean the running system. */
typedef struct ModulePaths {
        const char *sysfs;                      /* "/sys" */
        const char *proc;                       /* "/proc" */
        const char *module_dir;                 /* "/lib/modules/$(uname -r)" */
        const char * const *config_paths;       /* modprobe.d directories: libkmod's default */
} ModulePaths;

typedef struct ModuleContext ModuleContext;

/* Receives libkmod's own messages. */
typedef void (*ModuleLogFn)(void *userdata, int priority, const char *format, va_list ap);

/* One per process: it holds the one kmod_ctx. paths may be NULL. */
int module_context_new(const ModulePaths *paths, ModuleContext **ret);
ModuleContext *module_context_free(ModuleContext *c);
static inline void module_context_freep(ModuleContext **c) {
        module_context_free(*c);
}

/* Routes libkmod's messages up to max_priority (LOG_ERR..LOG_DEBUG) to fn. */
void module_context_set_log(ModuleContext *c, ModuleLogFn fn, void *userdata, int max_priority);

/* Re-reads modprobe.d and the module indexes if they changed on disk. Returns 1 if they did
 * (cached answers were dropped), 0 if not, negative errno if the new context failed (the old
 * one is kept). */
int module_context_refresh(ModuleContext *c);

/* The module directory in use, and whether it holds a module tree (modules.dep). */
const char *module_context_dir(const ModuleContext *c);
bool module_tree_present(ModuleContext *c);

/* The state of a module, by name. -EINVAL for a name that is not a module name. */
int module_get_status(ModuleContext *c, const char *name, ModuleStatus *ret);

/* How many references hold a loaded module (/sys/module/NAME/refcnt): 0 when nothing uses it,
 * so that "modprobe -r" may take it out. -ENOENT when it is not loaded as a module. */
int module_get_refcount(ModuleContext *c, const char *name, unsigned *ret);

/* The modules that come and go with name: ret_deps receives its dependencies in the module
 * tree, ret_softdeps the modules that its soft dependencies and theirs resolve to (modprobe
 * loads those before or after, and "modprobe -r" takes them out with it), leaving out name
 * and what is in ret_deps. Sorted, without duplicates; empty when the tree does not know name
 * or there is no tree. */
int module_get_related(ModuleContext *c, const char *name, char ***ret_deps,
                       char ***ret_softdeps);

/* How a configured name maps onto this kernel. */
typedef enum ModuleResolution {
        MODULE_RESOLUTION_MODULE,       /* a module of this name exists (file or built in) */
        MODULE_RESOLUTION_ALIAS,        /* an alias of another module: guard that one */
        MODULE_RESOLUTION_GONE,         /* this kernel's tree does not know the name: skip it */
        MODULE_RESOLUTION_MERGED,       /* no tree, but a legacy name whose successor is here */
        MODULE_RESOLUTION_UNKNOWN,      /* no tree to ask: guard the name as given */
        _MODULE_RESOLUTION_MAX,
        _MODULE_RESOLUTION_INVALID = -EINVAL,
} ModuleResolution;

const char *module_resolution_to_string(ModuleResolution r);

/* Decides from what the module tree holds (a module file, an alias, a built-in entry), not
 * from the kernel version. A name the running kernel has is always MODULE. ret_target receives
 * the module to guard for ALIAS and MERGED, NULL otherwise. */
int module_resolve(ModuleContext *c, const char *name, ModuleResolution *ret, char **ret_target);

/* The default chain on this kernel: names, each followed by the legacy per-family modules that
 * were merged into it later (nf_conntrack_ipv4 and _ipv6 after nf_conntrack before 4.19,
 * nf_nat_ipv4 and _ipv6 after nf_nat before 5.1) where the module tree holds them under that
 * very name. Without a tree nothing is added. */
int module_chain_add_legacy(ModuleContext *c, char * const *names, char ***ret);

/* The module a legacy name was merged into (nf_conntrack_ipv4 -> nf_conntrack in 4.19,
 * nf_nat_ipv4 -> nf_nat in 5.1), or NULL. Only used to explain, never to decide. */
const char *module_legacy_successor(const char *name);

typedef enum ModuleBlock {
        MODULE_BLOCK_NONE,
        MODULE_BLOCK_BLACKLIST,         /* "blacklist NAME" in modprobe.d */
        MODULE_BLOCK_INSTALL,           /* "install NAME COMMAND" in modprobe.d */
        _MODULE_BLOCK_MAX,
        _MODULE_BLOCK_INVALID = -EINVAL,
} ModuleBlock;

const char *module_block_to_string(ModuleBlock b);

/* Whether modprobe.d keeps ctguard from loading name, exactly where modprobe -b would refuse
 * or run a command instead: the module itself is blacklisted or has an install command, or a
 * module it depends on has an install command (a blacklisted dependency is loaded anyway). ctguard does not override the
 * administrator, and never runs commands. ret_module receives the module that is blocked
 * (name or a dependency), NULL when none is. */
int module_check_blocked(ModuleContext *c, const char *name, ModuleBlock *ret, char **ret_module);

/* Loads name and the modules it depends on, in process (finit_module), with options appended
 * to what modprobe.d gives it. Returns 0 when name is in the kernel afterwards (or already
 * was); 1 when modprobe.d blocks it (see module_check_blocked(), ret_blocked and ret_module
 * then say why and which, and nothing was loaded); negative errno otherwise (-ENOENT: no such
 * module in the tree; the kernel's errno from finit_module). With dry_run nothing is loaded and
 * ret_would, if not NULL, receives the modules that would be, in load order.
 * Never unloads anything. */
int module_load(ModuleContext *c, const char *name, const char *options, bool dry_run,
                ModuleBlock *ret_blocked, char **ret_module, char ***ret_would);
