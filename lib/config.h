/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parse-util.h"
#include "table-raise.h"

/* ctguard's configuration: built-in defaults, the main file and drop-ins merged, every value
 * with its origin. A configuration is taken whole or not at all. */

typedef enum GuardMode {
        GUARD_MODE_ENFORCE,
        GUARD_MODE_MONITOR,
        _GUARD_MODE_MAX,
        _GUARD_MODE_INVALID = -EINVAL,
} GuardMode;

const char *guard_mode_to_string(GuardMode m);
GuardMode guard_mode_from_string(const char *s);

/* [Conntrack] Namespaces=: the host's namespace alone, or every network namespace. */
typedef enum NamespaceScope {
        NAMESPACE_SCOPE_HOST,
        NAMESPACE_SCOPE_ALL,
        _NAMESPACE_SCOPE_MAX,
        _NAMESPACE_SCOPE_INVALID = -EINVAL,
} NamespaceScope;

const char *namespace_scope_to_string(NamespaceScope s);
NamespaceScope namespace_scope_from_string(const char *s);

/* One per row of config_items[], in the same order: lib/config.c does not compile if a row is
 * missing or out of place. */
typedef enum ConfigKey {
        CONFIG_GUARD_MODE,
        CONFIG_GUARD_POLL_INTERVAL,
        CONFIG_MODULES_ENSURE,
        CONFIG_MODULES_RELOAD_BURST,
        CONFIG_MODULES_RELOAD_INTERVAL,
        CONFIG_SYSCTL,                  /* the whole [Sysctl] section: any allowed key */
        CONFIG_CONNTRACK_WARN_PERCENT,
        CONFIG_CONNTRACK_CRIT_PERCENT,
        CONFIG_CONNTRACK_FAST_POLL_INTERVAL,
        CONFIG_CONNTRACK_TOP_TALKERS,
        CONFIG_CONNTRACK_AUTO_RAISE,
        CONFIG_CONNTRACK_MEMORY_BUDGET,
        CONFIG_CONNTRACK_RAISE_INTERVAL,
        CONFIG_CONNTRACK_NAMESPACES,
        CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL,
        CONFIG_METRICS_TEXTFILE_DIRECTORY,
        CONFIG_METRICS_TOP_NAMESPACES,
        _CONFIG_KEY_MAX,
        _CONFIG_KEY_INVALID = -EINVAL,
} ConfigKey;

/* How a row's value is read, written, compared and freed, and the C type of its field (checked
 * at build time). No _MAX: every switch over it lists every type, and the compiler says which
 * one a new type still lacks. */
typedef enum ConfigType {
        CONFIG_TYPE_MODE,               /* GuardMode */
        CONFIG_TYPE_SCOPE,              /* NamespaceScope */
        CONFIG_TYPE_SPAN,               /* usec_t, min..max */
        CONFIG_TYPE_UNSIGNED,           /* unsigned, min..max */
        CONFIG_TYPE_BOOLEAN,            /* bool */
        CONFIG_TYPE_BUDGET,             /* TableBudget */
        CONFIG_TYPE_MODULES,            /* char **, at most max module names */
        CONFIG_TYPE_PATH,               /* char *, absolute and normalised, or empty */
        CONFIG_TYPE_SYSCTL,             /* SysctlSetting *: every key of the section */
} ConfigType;

/* One configuration key. Parsing, the built-in defaults, ranges, config_dump(), config_equal()
 * and the documentation checks (tests/unit/config-docs.sh) all follow from its row. */
typedef struct ConfigItem {
        ConfigKey key;                  /* its own index */
        const char *section;
        const char *name;               /* NULL: any key of the section (CONFIG_TYPE_SYSCTL) */
        ConfigType type;
        size_t offset;                  /* of the value in Config */
        const char *def;                /* the default as written in a file; NULL: none */
        uint64_t min, max;              /* CONFIG_TYPE_SPAN, _UNSIGNED; max for _MODULES */
        const char *also;               /* a rule across keys, documented with the range */
        const char *help;               /* one line, no final period */
} ConfigItem;

/* Declared without its size, so that lib/config.c checks the count of its rows. */
extern const ConfigItem config_items[];

/* The origin of a value recorded for display from the running kernel, for a key [Sysctl] does
 * not assign and ctguard follows: shown commented out by config_dump(), never compared. */
#define CONFIG_ORIGIN_FOLLOWED "followed"

typedef struct SysctlSetting {
        char *path;     /* normalised, below /proc/sys: "net/netfilter/nf_conntrack_max" */
        char *value;
        char *origin;   /* "FILE:LINE", or CONFIG_ORIGIN_FOLLOWED */
} SysctlSetting;

typedef struct Config {
        GuardMode mode;
        usec_t poll_interval;

        char **ensure;                  /* module names in load order, '-' folded to '_' */
        unsigned reload_burst;
        usec_t reload_interval;

        SysctlSetting *sysctls;
        size_t n_sysctls;
        bool sysctl_snapshot;           /* [Sysctl] assigned nothing: every followable key
                                         * is followed (see OWNERSHIP in ctguard.conf(5)) */

        unsigned warn_percent;
        unsigned crit_percent;
        usec_t fast_poll_interval;
        unsigned top_talkers;
        bool auto_raise;
        TableBudget memory_budget;
        usec_t raise_interval;
        NamespaceScope namespaces;
        usec_t namespace_scan_interval;

        char *textfile_directory;       /* "": write no textfile */
        unsigned top_namespaces;        /* namespaces with series of their own */

        char *origins[_CONFIG_KEY_MAX]; /* NULL: default */
        char **files;                   /* the files read, in order */
} Config;

/* Limits, documented in ctguard.conf(5). */
#define CONFIG_POLL_MIN (50 * USEC_PER_MSEC)
#define CONFIG_POLL_MAX USEC_PER_HOUR
#define CONFIG_RELOAD_BURST_MIN 1u
#define CONFIG_RELOAD_BURST_MAX 100u
#define CONFIG_RELOAD_INTERVAL_MIN USEC_PER_SEC
#define CONFIG_RELOAD_INTERVAL_MAX USEC_PER_DAY
#define CONFIG_PERCENT_MIN 1u
#define CONFIG_PERCENT_MAX 100u
#define CONFIG_TOP_TALKERS_MAX 1000u
#define CONFIG_RAISE_INTERVAL_MIN USEC_PER_SEC
#define CONFIG_RAISE_INTERVAL_MAX USEC_PER_DAY
#define CONFIG_NAMESPACE_SCAN_MIN USEC_PER_SEC
#define CONFIG_NAMESPACE_SCAN_MAX USEC_PER_HOUR
#define CONFIG_TOP_NAMESPACES_MAX 1000u
#define CONFIG_ENSURE_MAX 32u
#define CONFIG_SYSCTLS_MAX 1024u
#define CONFIG_FILE_SIZE_MAX (1024u * 1024u)
#define CONFIG_LINE_MAX 199u

/* Problems found in the configuration, each "FILE:LINE: what is wrong" or "FILE: ...". */
typedef struct ConfigErrors {
        char **messages;
        size_t n;
} ConfigErrors;

void config_errors_done(ConfigErrors *e);

Config *config_new(void);       /* built-in defaults */
Config *config_free(Config *c);
static inline void config_freep(Config **c) {
        config_free(*c);
}

/* Parses one file's text into c, as if it came from the file named name. Problems are appended
 * to errors; returns -EINVAL if there were any, -ENOMEM on allocation failure. */
int config_parse_text(Config *c, const char *name, const char *text, size_t size,
                      ConfigErrors *errors);

/* Checks rules that span keys (WarnPercent < CritPercent, ...) after all files are read; every
 * rule broken is added to errors, not only the first. */
int config_validate(Config *c, ConfigErrors *errors);

/* Loads the whole configuration below root (NULL or "" for /), main_override replacing the
 * main file. On success returns 0 and the configuration; if anything is wrong, returns -EINVAL
 * and errors lists every problem; other negative errno for system failures. */
int config_load(const char *root, const char *main_override, Config **ret, ConfigErrors *errors);

/* Looks up a sysctl setting by normalised path. */
const SysctlSetting *config_find_sysctl(const Config *c, const char *path);

/* Adds (or replaces) a sysctl setting; value and origin are copied. */
int config_set_sysctl(Config *c, const char *path, const char *value, const char *origin);

/* Writes the effective configuration as INI, every key preceded by its row's documentation
 * as a comment, every value followed by "; origin" (or preceded by "# origin" where the line
 * would be too long). The output parses back to a configuration config_equal() to c. */
int config_dump(const Config *c, FILE *f);

/* The value of key k as config_dump() writes it (for [Sysctl], the assigned "key=value" pairs
 * separated by spaces); the caller frees it. */
int config_value_to_string(const Config *c, ConfigKey k, char **ret);

/* What a row's range is documented as: "50ms..1h", "1..100, above WarnPercent=", "a boolean";
 * NULL where there is none. Written to buf, which CONFIG_RANGE_MAX is enough for. */
#define CONFIG_RANGE_MAX 160
const char *config_item_range(const ConfigItem *it, char *buf, size_t size);

/* The row's one-line documentation, "help (range).": the comment above the key in
 * conf/ctguard.conf and in config_dump(); the caller frees it. */
char *config_item_doc(const ConfigItem *it);

/* True if a and b configure the same values, the [Sysctl] assignments in the same order. The
 * origins, the files read and the values recorded for followed keys are not compared. */
bool config_equal(const Config *a, const Config *b);
