/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "config.h"
#include "macro.h"
#include "strv.h"

#define NAME "t.conf"

/* ---- helpers ---- */

/* The value of one key as a number, so that tables can name the key and the value; read through
 * the key's row, so that a new key needs no case here. */
static uint64_t value_of(const Config *c, ConfigKey k) {
        const ConfigItem *it = &config_items[k];
        const void *p = (const uint8_t *) c + it->offset;

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                return (uint64_t) *(const GuardMode *) p;
        case CONFIG_TYPE_SCOPE:
                return (uint64_t) *(const NamespaceScope *) p;
        case CONFIG_TYPE_SPAN:
                return *(const usec_t *) p;
        case CONFIG_TYPE_UNSIGNED:
                return *(const unsigned *) p;
        case CONFIG_TYPE_BOOLEAN:
                return *(const bool *) p;
        case CONFIG_TYPE_BUDGET:
                /* A percentage and a size apart: 5% is not 5 bytes. */
                return (uint64_t) ((const TableBudget *) p)->percent << 56 |
                       ((const TableBudget *) p)->bytes;
        case CONFIG_TYPE_MODULES:
                return strv_length(*(char ** const *) p);
        case CONFIG_TYPE_PATH:
                return strlen(*(char * const *) p);
        case CONFIG_TYPE_SYSCTL:
                return c->n_sysctls;
        }
        ck_abort_msg("no key %d", (int) k);
        return 0;
}

static const char *key_name(ConfigKey k) {
        return config_items[k].name ?: config_items[k].section;
}

/* Every key other than except still has its built-in default and no origin: nothing was
 * misread into a neighbour. */
static void assert_defaults_except(const Config *c, ConfigKey except) {
        _cleanup_(config_freep) Config *d = config_new();

        ck_assert_ptr_nonnull(d);
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                if ((ConfigKey) k == except)
                        continue;
                _cleanup_free_ char *a = NULL, *b = NULL;

                ck_assert_msg(value_of(c, k) == value_of(d, k), "%s changed", key_name(k));
                ck_assert_msg(!c->origins[k], "%s has origin %s", key_name(k), c->origins[k]);
                ck_assert_int_eq(config_value_to_string(c, k, &a), 0);
                ck_assert_int_eq(config_value_to_string(d, k, &b), 0);
                ck_assert_msg(streq(a, b), "%s is '%s', not '%s'", key_name(k), a, b);
        }
        if (except != CONFIG_MODULES_ENSURE) {
                _cleanup_free_ char *a = strv_join(c->ensure, " "), *b = strv_join(d->ensure, " ");

                ck_assert_str_eq(a, b);
        }
}

static int parse(const char *name, const char *text, size_t size, Config **ret,
                 ConfigErrors *e) {
        Config *c = config_new();
        int r;

        ck_assert_ptr_nonnull(c);
        r = config_parse_text(c, name, text, size, e);
        *ret = c;
        return r;
}

static void assert_messages(const ConfigErrors *e, const char * const *want, const char *what) {
        size_t n = 0;

        for (; want[n]; n++) {
                ck_assert_msg(n < e->n, "%s: %zu errors, want more; missing '%s'", what, e->n,
                              want[n]);
                ck_assert_msg(strneq(e->messages[n], want[n], strlen(want[n])),
                              "%s: error %zu is '%s', want '%s...'", what, n, e->messages[n],
                              want[n]);
        }
        ck_assert_msg(e->n == n, "%s: %zu errors, want %zu; first extra: '%s'", what, e->n, n,
                      e->n > n ? e->messages[n] : "");
}

/* ---- one key at a time ---- */

static const struct {
        const char *section;
        const char *line;
        ConfigKey key;
        uint64_t value;
} good_cases[] = {
        { "Guard", "Mode=enforce",                   CONFIG_GUARD_MODE, GUARD_MODE_ENFORCE },
        { "Guard", "Mode=monitor",                   CONFIG_GUARD_MODE, GUARD_MODE_MONITOR },
        { "Guard", "Mode = monitor",                 CONFIG_GUARD_MODE, GUARD_MODE_MONITOR },
        { "Guard", "Mode=monitor   ",                CONFIG_GUARD_MODE, GUARD_MODE_MONITOR },
        { "Guard", "Mode=monitor ; why",             CONFIG_GUARD_MODE, GUARD_MODE_MONITOR },
        { "Guard", "Mode=monitor\t;why",             CONFIG_GUARD_MODE, GUARD_MODE_MONITOR },
        { "Guard", "PollIntervalSec=50ms",           CONFIG_GUARD_POLL_INTERVAL, 50 * USEC_PER_MSEC },
        { "Guard", "PollIntervalSec=50000us",        CONFIG_GUARD_POLL_INTERVAL, 50 * USEC_PER_MSEC },
        { "Guard", "PollIntervalSec=0.05",           CONFIG_GUARD_POLL_INTERVAL, 50 * USEC_PER_MSEC },
        { "Guard", "PollIntervalSec=1h",             CONFIG_GUARD_POLL_INTERVAL, USEC_PER_HOUR },
        { "Guard", "PollIntervalSec=3600",           CONFIG_GUARD_POLL_INTERVAL, USEC_PER_HOUR },
        { "Guard", "PollIntervalSec=59min 60s",      CONFIG_GUARD_POLL_INTERVAL, USEC_PER_HOUR },
        { "Guard", "PollIntervalSec=1min 30s",       CONFIG_GUARD_POLL_INTERVAL, 90 * USEC_PER_SEC },
        { "Guard", "PollIntervalSec=2 min",          CONFIG_GUARD_POLL_INTERVAL, 2 * USEC_PER_MINUTE },
        { "Guard", "PollIntervalSec=1.5s",           CONFIG_GUARD_POLL_INTERVAL, 1500 * USEC_PER_MSEC },
        { "Guard", "PollIntervalSec=2s",             CONFIG_GUARD_POLL_INTERVAL, 2 * USEC_PER_SEC },
        { "Modules", "Ensure=",                      CONFIG_MODULES_ENSURE, 0 },
        { "Modules", "Ensure=   ",                   CONFIG_MODULES_ENSURE, 0 },
        { "Modules", "Ensure=nf_conntrack",          CONFIG_MODULES_ENSURE, 1 },
        { "Modules", "Ensure=nf-nat\tnf_conntrack",  CONFIG_MODULES_ENSURE, 2 },
        { "Modules", "Ensure=m0 m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11 m12 m13 m14 m15 m16 m17 m18 "
                     "m19 m20 m21 m22 m23 m24 m25 m26 m27 m28 m29 m30 m31",
                                                     CONFIG_MODULES_ENSURE, 32 },
        { "Modules", "Ensure=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                                     CONFIG_MODULES_ENSURE, 1 },
        { "Modules", "ReloadBurst=1",                CONFIG_MODULES_RELOAD_BURST, 1 },
        { "Modules", "ReloadBurst=100",              CONFIG_MODULES_RELOAD_BURST, 100 },
        { "Modules", "ReloadBurst=007",              CONFIG_MODULES_RELOAD_BURST, 7 },
        { "Modules", "ReloadIntervalSec=1s",         CONFIG_MODULES_RELOAD_INTERVAL, USEC_PER_SEC },
        { "Modules", "ReloadIntervalSec=1000ms",     CONFIG_MODULES_RELOAD_INTERVAL, USEC_PER_SEC },
        { "Modules", "ReloadIntervalSec=1d",         CONFIG_MODULES_RELOAD_INTERVAL, USEC_PER_DAY },
        { "Modules", "ReloadIntervalSec=24h",        CONFIG_MODULES_RELOAD_INTERVAL, USEC_PER_DAY },
        { "Modules", "ReloadIntervalSec=86400",      CONFIG_MODULES_RELOAD_INTERVAL, USEC_PER_DAY },
        { "Modules", "ReloadIntervalSec=5min",       CONFIG_MODULES_RELOAD_INTERVAL, 5 * USEC_PER_MINUTE },
        { "Conntrack", "WarnPercent=1",              CONFIG_CONNTRACK_WARN_PERCENT, 1 },
        { "Conntrack", "WarnPercent=100",            CONFIG_CONNTRACK_WARN_PERCENT, 100 },
        { "Conntrack", "CritPercent=1",              CONFIG_CONNTRACK_CRIT_PERCENT, 1 },
        { "Conntrack", "CritPercent=100",            CONFIG_CONNTRACK_CRIT_PERCENT, 100 },
        { "Conntrack", "FastPollIntervalSec=50ms",   CONFIG_CONNTRACK_FAST_POLL_INTERVAL, 50 * USEC_PER_MSEC },
        { "Conntrack", "FastPollIntervalSec=1h",     CONFIG_CONNTRACK_FAST_POLL_INTERVAL, USEC_PER_HOUR },
        { "Conntrack", "FastPollIntervalSec=0.5",    CONFIG_CONNTRACK_FAST_POLL_INTERVAL, 500 * USEC_PER_MSEC },
        { "Conntrack", "TopTalkers=0",               CONFIG_CONNTRACK_TOP_TALKERS, 0 },
        { "Conntrack", "TopTalkers=1000",            CONFIG_CONNTRACK_TOP_TALKERS, 1000 },
        { "Conntrack", "AutoRaise=yes",              CONFIG_CONNTRACK_AUTO_RAISE, 1 },
        { "Conntrack", "AutoRaise=on",               CONFIG_CONNTRACK_AUTO_RAISE, 1 },
        { "Conntrack", "AutoRaise=1",                CONFIG_CONNTRACK_AUTO_RAISE, 1 },
        { "Conntrack", "MemoryBudget=512M",          CONFIG_CONNTRACK_MEMORY_BUDGET, 512ull << 20 },
        { "Conntrack", "MemoryBudget=2G",            CONFIG_CONNTRACK_MEMORY_BUDGET, 2ull << 30 },
        { "Conntrack", "MemoryBudget=1048576",       CONFIG_CONNTRACK_MEMORY_BUDGET, 1048576 },
        { "Conntrack", "MemoryBudget=1%",            CONFIG_CONNTRACK_MEMORY_BUDGET, 1ull << 56 },
        { "Conntrack", "MemoryBudget=100%",          CONFIG_CONNTRACK_MEMORY_BUDGET, 100ull << 56 },
        { "Conntrack", "RaiseIntervalSec=1s",        CONFIG_CONNTRACK_RAISE_INTERVAL, USEC_PER_SEC },
        { "Conntrack", "RaiseIntervalSec=1d",        CONFIG_CONNTRACK_RAISE_INTERVAL, USEC_PER_DAY },
        { "Conntrack", "RaiseIntervalSec=5min",      CONFIG_CONNTRACK_RAISE_INTERVAL, 5 * USEC_PER_MINUTE },
        { "Conntrack", "Namespaces=all",             CONFIG_CONNTRACK_NAMESPACES, NAMESPACE_SCOPE_ALL },
        { "Conntrack", "Namespaces=host",            CONFIG_CONNTRACK_NAMESPACES, NAMESPACE_SCOPE_HOST },
        { "Conntrack", "NamespaceScanIntervalSec=1s", CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL, USEC_PER_SEC },
        { "Conntrack", "NamespaceScanIntervalSec=1h", CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL, USEC_PER_HOUR },
        { "Conntrack", "NamespaceScanIntervalSec=30", CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL, 30 * USEC_PER_SEC },
        { "Metrics", "TopNamespaces=0",              CONFIG_METRICS_TOP_NAMESPACES, 0 },
        { "Metrics", "TopNamespaces=1000",           CONFIG_METRICS_TOP_NAMESPACES, 1000 },
        { "Metrics", "TextfileDirectory=",           CONFIG_METRICS_TEXTFILE_DIRECTORY, 0 },
        { "Metrics", "TextfileDirectory=/srv/prom",  CONFIG_METRICS_TEXTFILE_DIRECTORY, 9 },
        { "Metrics", "TextfileDirectory=/",          CONFIG_METRICS_TEXTFILE_DIRECTORY, 1 },
};

START_TEST(test_good_value) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        ConfigKey k = good_cases[_i].key;

        ck_assert_int_ge(asprintf(&text, "[%s]\n%s\n", good_cases[_i].section,
                                  good_cases[_i].line), 0);
        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), 0);
        ck_assert_uint_eq(e.n, 0);
        ck_assert_msg(value_of(c, k) == good_cases[_i].value, "'%s': got %" PRIu64 ", want %" PRIu64,
                      good_cases[_i].line, value_of(c, k), good_cases[_i].value);
        ck_assert_str_eq(c->origins[k], NAME ":2");
        assert_defaults_except(c, k);
}
END_TEST

static const struct {
        const char *line;
        const char *ensure;
} ensure_cases[] = {
        { "Ensure=",                        "" },
        { "Ensure=nf_conntrack",            "nf_conntrack" },
        { "Ensure=nf-nat  nf_conntrack ",   "nf_nat nf_conntrack" },
        { "Ensure=nf_nat nf_defrag_ipv4",   "nf_nat nf_defrag_ipv4" },     /* order is kept */
        { "Ensure=NF-Foo",                  "NF_Foo" },
};

START_TEST(test_ensure) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *joined = NULL;

        ck_assert_int_ge(asprintf(&text, "[Modules]\n%s\n", ensure_cases[_i].line), 0);
        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), 0);
        joined = strv_join(c->ensure, " ");
        ck_assert_str_eq(joined, ensure_cases[_i].ensure);
}
END_TEST

static const struct {
        const char *section;
        const char *line;
        ConfigKey key;
        const char *error;      /* the whole message after "t.conf:2: ", or its beginning */
} bad_cases[] = {
        { "Guard", "Mode=Enforce",          CONFIG_GUARD_MODE, "Mode= must be 'enforce' or 'monitor', not 'Enforce'" },
        { "Guard", "Mode=",                 CONFIG_GUARD_MODE, "Mode= must be 'enforce' or 'monitor', not ''" },
        { "Guard", "Mode=enforce monitor",  CONFIG_GUARD_MODE, "Mode= must be 'enforce' or 'monitor', not 'enforce monitor'" },
        { "Guard", "Mode=monitor;x",        CONFIG_GUARD_MODE, "Mode= must be 'enforce' or 'monitor', not 'monitor;x'" },
        { "Guard", "Mode=monitor # x",      CONFIG_GUARD_MODE, "Mode= must be 'enforce' or 'monitor', not 'monitor # x'" },
        { "Guard", "Mode= ;monitor",        CONFIG_GUARD_MODE, "Mode= must be 'enforce' or 'monitor', not ''" },
        { "Guard", "PollIntervalSec=49ms",  CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=49ms is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=49999us", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=49999us is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=0",     CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=0 is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=1h 1us", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=1h 1us is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=3601",  CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=3601 is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=99999999999999999999s", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=99999999999999999999s is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=40000000w", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec=40000000w is out of range (50ms..1h)" },
        { "Guard", "PollIntervalSec=-1s",   CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span '-1s'" },
        { "Guard", "PollIntervalSec=1x",    CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span '1x'" },
        { "Guard", "PollIntervalSec=",      CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span ''" },
        { "Guard", "PollIntervalSec=infinity", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span 'infinity'" },
        { "Guard", "PollIntervalSec=1months", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span '1months'" },
        { "Guard", "PollIntervalSec=1.5.5s", CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span '1.5.5s'" },
        { "Guard", "PollIntervalSec=1S",    CONFIG_GUARD_POLL_INTERVAL, "PollIntervalSec= has an invalid time span '1S'" },
        { "Modules", "Ensure=a a",          CONFIG_MODULES_ENSURE, "Ensure= lists module 'a' twice" },
        { "Modules", "Ensure=nf-nat nf_nat", CONFIG_MODULES_ENSURE, "Ensure= lists module 'nf_nat' twice" },
        { "Modules", "Ensure=nf_conntrack bad/name", CONFIG_MODULES_ENSURE, "Ensure= has an invalid module name 'bad/name'" },
        { "Modules", "Ensure=nf_nat.ko",    CONFIG_MODULES_ENSURE, "Ensure= has an invalid module name 'nf_nat.ko'" },
        { "Modules", "Ensure=nf_*",         CONFIG_MODULES_ENSURE, "Ensure= has an invalid module name 'nf_*'" },
        { "Modules", "Ensure=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                            CONFIG_MODULES_ENSURE, "Ensure= has an invalid module name 'aaaa" },
        { "Modules", "Ensure=m0 m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11 m12 m13 m14 m15 m16 m17 m18 "
                     "m19 m20 m21 m22 m23 m24 m25 m26 m27 m28 m29 m30 m31 m32",
                                            CONFIG_MODULES_ENSURE, "Ensure= lists 33 modules, at most 32 are allowed" },
        { "Modules", "ReloadBurst=0",       CONFIG_MODULES_RELOAD_BURST, "ReloadBurst=0 is out of range (1..100)" },
        { "Modules", "ReloadBurst=101",     CONFIG_MODULES_RELOAD_BURST, "ReloadBurst=101 is out of range (1..100)" },
        { "Modules", "ReloadBurst=4294967296", CONFIG_MODULES_RELOAD_BURST, "ReloadBurst=4294967296 is out of range (1..100)" },
        { "Modules", "ReloadBurst=-1",      CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number '-1'" },
        { "Modules", "ReloadBurst=+5",      CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number '+5'" },
        { "Modules", "ReloadBurst=1.5",     CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number '1.5'" },
        { "Modules", "ReloadBurst=5x",      CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number '5x'" },
        { "Modules", "ReloadBurst=0x10",    CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number '0x10'" },
        { "Modules", "ReloadBurst=5 5",     CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number '5 5'" },
        { "Modules", "ReloadBurst=",        CONFIG_MODULES_RELOAD_BURST, "ReloadBurst= has an invalid number ''" },
        { "Modules", "ReloadIntervalSec=999ms", CONFIG_MODULES_RELOAD_INTERVAL, "ReloadIntervalSec=999ms is out of range (1s..1d)" },
        { "Modules", "ReloadIntervalSec=1d 1us", CONFIG_MODULES_RELOAD_INTERVAL, "ReloadIntervalSec=1d 1us is out of range (1s..1d)" },
        { "Modules", "ReloadIntervalSec=86401", CONFIG_MODULES_RELOAD_INTERVAL, "ReloadIntervalSec=86401 is out of range (1s..1d)" },
        { "Modules", "ReloadIntervalSec=0", CONFIG_MODULES_RELOAD_INTERVAL, "ReloadIntervalSec=0 is out of range (1s..1d)" },
        { "Modules", "ReloadIntervalSec=10 minutes later", CONFIG_MODULES_RELOAD_INTERVAL, "ReloadIntervalSec= has an invalid time span" },
        { "Conntrack", "WarnPercent=0",     CONFIG_CONNTRACK_WARN_PERCENT, "WarnPercent=0 is out of range (1..100)" },
        { "Conntrack", "WarnPercent=101",   CONFIG_CONNTRACK_WARN_PERCENT, "WarnPercent=101 is out of range (1..100)" },
        { "Conntrack", "WarnPercent=80%",   CONFIG_CONNTRACK_WARN_PERCENT, "WarnPercent= has an invalid number '80%'" },
        { "Conntrack", "CritPercent=0",     CONFIG_CONNTRACK_CRIT_PERCENT, "CritPercent=0 is out of range (1..100)" },
        { "Conntrack", "CritPercent=101",   CONFIG_CONNTRACK_CRIT_PERCENT, "CritPercent=101 is out of range (1..100)" },
        { "Conntrack", "CritPercent=-95",   CONFIG_CONNTRACK_CRIT_PERCENT, "CritPercent= has an invalid number '-95'" },
        { "Conntrack", "FastPollIntervalSec=49ms", CONFIG_CONNTRACK_FAST_POLL_INTERVAL, "FastPollIntervalSec=49ms is out of range (50ms..1h)" },
        { "Conntrack", "FastPollIntervalSec=1h 1ms", CONFIG_CONNTRACK_FAST_POLL_INTERVAL, "FastPollIntervalSec=1h 1ms is out of range (50ms..1h)" },
        { "Conntrack", "FastPollIntervalSec=fast", CONFIG_CONNTRACK_FAST_POLL_INTERVAL, "FastPollIntervalSec= has an invalid time span 'fast'" },
        { "Conntrack", "TopTalkers=1001",   CONFIG_CONNTRACK_TOP_TALKERS, "TopTalkers=1001 is out of range (0..1000)" },
        { "Conntrack", "TopTalkers=-1",     CONFIG_CONNTRACK_TOP_TALKERS, "TopTalkers= has an invalid number '-1'" },
        { "Conntrack", "TopTalkers=ten",    CONFIG_CONNTRACK_TOP_TALKERS, "TopTalkers= has an invalid number 'ten'" },
        { "Conntrack", "AutoRaise=maybe",   CONFIG_CONNTRACK_AUTO_RAISE, "AutoRaise= must be a boolean, not 'maybe'" },
        { "Conntrack", "AutoRaise=",        CONFIG_CONNTRACK_AUTO_RAISE, "AutoRaise= must be a boolean, not ''" },
        { "Conntrack", "MemoryBudget=0",    CONFIG_CONNTRACK_MEMORY_BUDGET, "MemoryBudget= must be a size (512M, 2G) or a percentage of MemTotal (5%), not '0'" },
        { "Conntrack", "MemoryBudget=lots", CONFIG_CONNTRACK_MEMORY_BUDGET, "MemoryBudget= must be a size (512M, 2G) or a percentage of MemTotal (5%), not 'lots'" },
        { "Conntrack", "MemoryBudget=101%", CONFIG_CONNTRACK_MEMORY_BUDGET, "MemoryBudget=101% is out of range (1%..100%)" },
        { "Conntrack", "MemoryBudget=0%",   CONFIG_CONNTRACK_MEMORY_BUDGET, "MemoryBudget=0% is out of range (1%..100%)" },
        { "Conntrack", "RaiseIntervalSec=999ms", CONFIG_CONNTRACK_RAISE_INTERVAL, "RaiseIntervalSec=999ms is out of range (1s..1d)" },
        { "Conntrack", "RaiseIntervalSec=1d 1s", CONFIG_CONNTRACK_RAISE_INTERVAL, "RaiseIntervalSec=1d 1s is out of range (1s..1d)" },
        { "Conntrack", "Namespaces=every",  CONFIG_CONNTRACK_NAMESPACES, "Namespaces= must be 'host' or 'all', not 'every'" },
        { "Conntrack", "Namespaces=",       CONFIG_CONNTRACK_NAMESPACES, "Namespaces= must be 'host' or 'all', not ''" },
        { "Conntrack", "NamespaceScanIntervalSec=500ms", CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL, "NamespaceScanIntervalSec=500ms is out of range (1s..1h)" },
        { "Conntrack", "NamespaceScanIntervalSec=2h", CONFIG_CONNTRACK_NAMESPACE_SCAN_INTERVAL, "NamespaceScanIntervalSec=2h is out of range (1s..1h)" },
        { "Metrics", "TopNamespaces=1001",  CONFIG_METRICS_TOP_NAMESPACES, "TopNamespaces=1001 is out of range (0..1000)" },
        { "Metrics", "TopNamespaces=x",     CONFIG_METRICS_TOP_NAMESPACES, "TopNamespaces= has an invalid number 'x'" },
        { "Metrics", "TextfileDirectory=prom", CONFIG_METRICS_TEXTFILE_DIRECTORY, "TextfileDirectory= must be an absolute, normalised path or empty, not 'prom'" },
        { "Metrics", "TextfileDirectory=/a//b", CONFIG_METRICS_TEXTFILE_DIRECTORY, "TextfileDirectory= must be an absolute, normalised path or empty, not '/a//b'" },
        { "Metrics", "TextfileDirectory=/a/../b", CONFIG_METRICS_TEXTFILE_DIRECTORY, "TextfileDirectory= must be an absolute, normalised path or empty, not '/a/../b'" },
        { "Metrics", "TextfileDirectory=/a/..", CONFIG_METRICS_TEXTFILE_DIRECTORY, "TextfileDirectory= must be an absolute, normalised path or empty, not '/a/..'" },
        { "Metrics", "TextfileDirectory=/a/", CONFIG_METRICS_TEXTFILE_DIRECTORY, "TextfileDirectory= must be an absolute, normalised path or empty, not '/a/'" },
        /* A key in the wrong section, or misspelt, is unknown and changes nothing. */
        { "Modules", "Mode=monitor",        _CONFIG_KEY_INVALID, "unknown key 'Mode' in section [Modules]" },
        { "Guard", "mode=monitor",          _CONFIG_KEY_INVALID, "unknown key 'mode' in section [Guard]" },
        { "Guard", "Mode monitor=1",        _CONFIG_KEY_INVALID, "unknown key 'Mode monitor' in section [Guard]" },
        { "Conntrack", "PollIntervalSec=2s", _CONFIG_KEY_INVALID, "unknown key 'PollIntervalSec' in section [Conntrack]" },
        { "Guard", "Mo\033[2Jde=1",         _CONFIG_KEY_INVALID, "unknown key 'Mo\\x1b[2Jde' in section [Guard]" },
};

START_TEST(test_bad_value) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *want = NULL;

        ck_assert_int_ge(asprintf(&text, "[%s]\n%s\n", bad_cases[_i].section, bad_cases[_i].line), 0);
        ck_assert_int_ge(asprintf(&want, NAME ":2: %s", bad_cases[_i].error), 0);
        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), -EINVAL);
        assert_messages(&e, (const char * const[]) { want, NULL }, bad_cases[_i].line);
        /* The key keeps its default: a bad value is never half-applied. */
        assert_defaults_except(c, _CONFIG_KEY_INVALID);
}
END_TEST

/* ---- whole files: syntax, line numbers, line endings ---- */

#define NUL_TEXT "[Guard]\nMode=mon\0itor\nPollIntervalSec=2s\n"

static const struct {
        const char *name;
        const char *text;
        size_t size;                    /* 0: strlen(text) */
        const char *errors[4];          /* the beginnings of the messages, in order */
        GuardMode mode;
        unsigned mode_line;             /* 0: Mode= keeps its default and has no origin */
        usec_t poll;                    /* 0: the default */
} file_cases[] = {
        { "empty", "", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "blank lines", "\n\n\n", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "blank lines with white space", " \n\t\n \t \r\n", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "comments only", "# a\n; b\n#[Foo]\n;Mode=monitor\n", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "indented comment", "[Guard]\n  # Mode=monitor\n\t; x\n", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "section only", "[Guard]", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "no trailing newline", "[Guard]\nMode=monitor", 0, {}, GUARD_MODE_MONITOR, 2, 0 },
        { "CRLF", "[Guard]\r\nMode=monitor\r\nPollIntervalSec=2s\r\n", 0, {},
          GUARD_MODE_MONITOR, 2, 2 * USEC_PER_SEC },
        { "CRLF without a final newline", "[Guard]\r\nPollIntervalSec=3s\r\nMode=monitor", 0, {},
          GUARD_MODE_MONITOR, 3, 3 * USEC_PER_SEC },
        { "CRLF, error line", "[Guard]\r\nMode=monitor\r\nFoo=1\r\n", 0,
          { NAME ":3: unknown key 'Foo' in section [Guard]" }, GUARD_MODE_MONITOR, 2, 0 },
        { "BOM", "\xef\xbb\xbf[Guard]\nMode=monitor\n", 0, {}, GUARD_MODE_MONITOR, 2, 0 },
        { "BOM and CRLF", "\xef\xbb\xbf[Guard]\r\nMode=monitor\r\n", 0, {}, GUARD_MODE_MONITOR, 2, 0 },
        { "BOM before a comment", "\xef\xbb\xbf# x\n[Guard]\nMode=monitor\n", 0, {},
          GUARD_MODE_MONITOR, 3, 0 },
        { "BOM only", "\xef\xbb\xbf", 0, {}, GUARD_MODE_ENFORCE, 0, 0 },
        { "BOM not on the first line", "[Guard]\n\xef\xbb\xbfMode=monitor\n", 0,
          { NAME ":2: unknown key '\xef\xbb\xbfMode' in section [Guard]" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "two BOMs", "\xef\xbb\xbf\xef\xbb\xbf[Guard]\nMode=monitor\n", 0,
          { NAME ":1: malformed line", NAME ":2: assignment outside of a section" },
          GUARD_MODE_ENFORCE, 0, 0 },
        { "old Mac line endings", "[Guard]\rMode=monitor\r", 0,
          { NAME ":1: trailing text after section header" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "duplicate sections", "[Guard]\nMode=monitor\n[Modules]\nReloadBurst=3\n[Guard]\nMode=enforce\n",
          0, {}, GUARD_MODE_ENFORCE, 6, 0 },
        { "last assignment wins", "[Guard]\nMode=monitor\nMode=enforce\nMode=monitor\n", 0, {},
          GUARD_MODE_MONITOR, 4, 0 },
        { "Key:value", "[Guard]\nMode:monitor\n", 0,
          { NAME ":2: malformed line, expected KEY=VALUE" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "Key:value=", "[Guard]\nMode: x=monitor\n", 0,
          { NAME ":2: malformed line, expected KEY=VALUE" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "Key: with a later =", "[Guard]\nPollIntervalSec:2s\nMode=monitor\n", 0,
          { NAME ":2: malformed line, expected KEY=VALUE" }, GUARD_MODE_MONITOR, 3, 0 },
        { "comment inside the key", "[Guard]\nMode ;x=monitor\n", 0,
          { NAME ":2: malformed line, expected KEY=VALUE" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "comment inside the key, tab", "[Guard]\nMode\t;=monitor\n", 0,
          { NAME ":2: malformed line, expected KEY=VALUE" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "no =", "[Guard]\nMode\n", 0,
          { NAME ":2: malformed line, expected KEY=VALUE" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "no key", "[Guard]\n=monitor\n", 0,
          { NAME ":2: assignment without a key" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "indented assignment", "[Guard]\nMode=enforce\n  Mode=monitor\n", 0,
          { NAME ":3: line starts with white space" }, GUARD_MODE_ENFORCE, 2, 0 },
        { "tab-indented assignment", "[Guard]\nMode=monitor\n\tPollIntervalSec=2s\n", 0,
          { NAME ":3: line starts with white space" }, GUARD_MODE_MONITOR, 2, 0 },
        { "vertical tab", "[Guard]\nMode=enforce\n\vMode=monitor\n", 0,
          { NAME ":3: line starts with white space" }, GUARD_MODE_ENFORCE, 2, 0 },
        { "form feed", "[Guard]\nMode=enforce\n\fmonitor=x\n", 0,
          { NAME ":3: line starts with white space" }, GUARD_MODE_ENFORCE, 2, 0 },
        { "carriage return first", "[Guard]\nPollIntervalSec=2s\n\rMode=monitor\n", 0,
          { NAME ":3: line starts with white space" }, GUARD_MODE_ENFORCE, 0, 2 * USEC_PER_SEC },
        { "indented section", "  [Guard]\nMode=monitor\n", 0,
          { NAME ":1: line starts with white space" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "before any section", "Mode=monitor\n[Guard]\n", 0,
          { NAME ":1: assignment outside of a section" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "unknown section, its keys not reported",
          "[Foo]\nA=1\nB=2\nMode=monitor\n[Guard]\nBar=1\n", 0,
          { NAME ":1: unknown section [Foo] (known: [Guard], [Modules], [Sysctl], [Conntrack])",
            NAME ":6: unknown key 'Bar' in section [Guard]" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "unknown section after a known one", "[Guard]\n[Foo]\nMode=monitor\n", 0,
          { NAME ":2: unknown section [Foo]" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "sections are case-sensitive", "[guard]\nMode=monitor\n", 0,
          { NAME ":1: unknown section [guard]" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "spaces inside the brackets", "[ Guard ]\nMode=monitor\n", 0,
          { NAME ":1: unknown section [ Guard ]" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "malformed header", "[Guard\nMode=monitor\n", 0,
          { NAME ":1: malformed section header, expected [Section]" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "trailing text after header", "[Guard] x\nMode=monitor\n", 0,
          { NAME ":1: trailing text after section header" }, GUARD_MODE_ENFORCE, 0, 0 },
        { "comment after header", "[Guard] ; the guard\nMode=monitor\n", 0, {},
          GUARD_MODE_MONITOR, 2, 0 },
        { "NUL byte", NUL_TEXT, sizeof(NUL_TEXT) - 1,
          { NAME ":2: line contains a NUL byte" }, GUARD_MODE_ENFORCE, 0, 2 * USEC_PER_SEC },
        { "every error, in order",
          "[Guard]\nMode=x\nPollIntervalSec=0\n\n[Conntrack]\nTopTalkers=-1\nWarnPercent=7\n", 0,
          { NAME ":2: Mode= must be", NAME ":3: PollIntervalSec=0 is out of range",
            NAME ":6: TopTalkers= has an invalid number '-1'" }, GUARD_MODE_ENFORCE, 0, 0 },
};

START_TEST(test_file) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *origin = NULL;
        size_t size = file_cases[_i].size ?: strlen(file_cases[_i].text);
        int r;

        r = parse(NAME, file_cases[_i].text, size, &c, &e);
        ck_assert_int_eq(r, file_cases[_i].errors[0] ? -EINVAL : 0);
        assert_messages(&e, file_cases[_i].errors, file_cases[_i].name);

        ck_assert_msg(c->mode == file_cases[_i].mode, "%s: mode %d", file_cases[_i].name, c->mode);
        if (file_cases[_i].mode_line == 0)
                ck_assert_ptr_null(c->origins[CONFIG_GUARD_MODE]);
        else {
                ck_assert_int_ge(asprintf(&origin, NAME ":%u", file_cases[_i].mode_line), 0);
                ck_assert_str_eq(c->origins[CONFIG_GUARD_MODE], origin);
        }
        ck_assert_uint_eq(c->poll_interval, file_cases[_i].poll ?: USEC_PER_SEC);
}
END_TEST

/* Lines up to the limit are read whole; a longer one is an error and nothing of it is used,
 * never a truncated value. */
static const struct {
        size_t length;          /* of the whole line, without its line ending */
        const char *ending;
        bool ok;
} long_cases[] = {
        { 198, "\n", true },
        { CONFIG_LINE_MAX, "\n", true },
        { CONFIG_LINE_MAX, "\r\n", true },
        { CONFIG_LINE_MAX, "", true },
        { CONFIG_LINE_MAX + 1, "\n", false },
        { CONFIG_LINE_MAX + 1, "\r\n", false },
        { CONFIG_LINE_MAX + 1, "", false },
        { 250, "\n", false },
        { 4096, "\n", false },
        { 100000, "\n", false },
};

START_TEST(test_long_line) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        const char *key = "net.netfilter.nf_log.0=";     /* text: any length */
        size_t n = long_cases[_i].length, kl = strlen(key);
        char *p;

        text = malloc(n + 64);
        ck_assert_ptr_nonnull(text);
        p = stpcpy(text, "[Sysctl]\n");
        p = stpcpy(p, key);
        memset(p, '7', n - kl);
        p += n - kl;
        p = stpcpy(p, long_cases[_i].ending);
        /* A following line, unless the long one is the last without a line ending. */
        if (*long_cases[_i].ending)
                p = stpcpy(p, "net.netfilter.nf_conntrack_buckets=5\n");

        if (long_cases[_i].ok) {
                ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), 0);
                ck_assert_uint_eq(c->n_sysctls, *long_cases[_i].ending ? 2 : 1);
                ck_assert_uint_eq(strlen(c->sysctls[0].value), n - kl);
                return;
        }

        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), -EINVAL);
        assert_messages(&e, (const char * const[]) {
                NAME ":2: line too long (more than 199 characters)", NULL }, "long line");
        ck_assert(!config_find_sysctl(c, "net/netfilter/nf_conntrack_max"));
        ck_assert_uint_eq(c->n_sysctls, *long_cases[_i].ending ? 1 : 0);
}
END_TEST

START_TEST(test_long_header) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        char text[512];

        /* A header too long to read names no known section: its keys are skipped unreported. */
        snprintf(text, sizeof(text), "[Guard]%*s\nMode=monitor\n[Modules]\nReloadBurst=3\n", 200, "");
        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), -EINVAL);
        assert_messages(&e, (const char * const[]) { NAME ":1: line too long", NULL }, "header");
        ck_assert_int_eq(c->mode, GUARD_MODE_ENFORCE);
        ck_assert_uint_eq(c->reload_burst, 3);
}
END_TEST

/* ---- [Sysctl] ---- */

START_TEST(test_sysctl) {
        static const char text[] =
                "[Sysctl]\n"
                "net.netfilter.nf_conntrack_max=1000\n"
                "net.ipv4.ip_forward = 1\n"
                "net/netfilter/nf_conntrack_max=2000\n"
                "net.ipv4.conf.eth0/100.forwarding=0\n"
                "net.netfilter.nf_conntrack_tcp_timeout_established = 7200 ; two hours\n"
                "net.ipv4.ip_local_port_range_unused=1\n"
                "net/netfilter/nf_log/10=1 2\t3\n";
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        static const struct {
                const char *path, *value, *origin;
        } want[] = {
                /* The last assignment wins and takes the place of the first. */
                { "net/netfilter/nf_conntrack_max",    "2000", NAME ":4" },
                { "net/ipv4/ip_forward",               "1",    NAME ":3" },
                { "net/ipv4/conf/eth0.100/forwarding", "0",    NAME ":5" },
                { "net/netfilter/nf_conntrack_tcp_timeout_established", "7200", NAME ":6" },
                { "net/netfilter/nf_log/10",          "1 2\t3", NAME ":8" },
        };

        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), -EINVAL);
        assert_messages(&e, (const char * const[]) {
                NAME ":7: sysctl 'net.ipv4.ip_local_port_range_unused' is not on the allow-list "
                "(net.netfilter.*, net.ipv4.ip_forward, net.ipv4.conf.*.forwarding, "
                "net.ipv6.conf.*.forwarding, net.bridge.bridge-nf-call-*)", NULL }, "sysctl");
        ck_assert(!c->sysctl_snapshot);
        ck_assert_uint_eq(c->n_sysctls, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                ck_assert_str_eq(c->sysctls[i].path, want[i].path);
                ck_assert_str_eq(c->sysctls[i].value, want[i].value);
                ck_assert_str_eq(c->sysctls[i].origin, want[i].origin);
        }
}
END_TEST

static const struct {
        const char *text;
        const char *error;      /* NULL: no error */
        bool snapshot;
} sysctl_cases[] = {
        { "",                                           NULL, true },
        { "[Sysctl]\n",                                 NULL, true },
        { "[Sysctl]\n#net.netfilter.nf_conntrack_max=1\n", NULL, true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_max=1\n", NULL, false },
        { "[Sysctl]\nkernel.sysrq=1\n",                 NAME ":2: sysctl 'kernel.sysrq' is not on the allow-list", true },
        { "[Sysctl]\nnet/../kernel/sysrq=1\n",          NAME ":2: 'net/../kernel/sysrq' is not a valid sysctl key", true },
        { "[Sysctl]\nnet.//../kernel.sysrq=1\n",        NAME ":2: 'net.//../kernel.sysrq' is not a valid sysctl key", true },
        { "[Sysctl]\nnet.netfilter.=1\n",               NAME ":2: 'net.netfilter.' is not a valid sysctl key", true },
        { "[Sysctl]\n.net.netfilter.x=1\n",             NAME ":2: '.net.netfilter.x' is not a valid sysctl key", true },
        { "[Sysctl]\nNet.netfilter.x=1\n",              NAME ":2: 'Net.netfilter.x' is not a valid sysctl key", true },
        { "[Sysctl]\nnet.netfilter.nf conntrack=1\n",   NAME ":2: 'net.netfilter.nf conntrack' is not a valid sysctl key", true },
        { "[Sysctl]\nnet.netfilter.x=\n",               NAME ":2: sysctl 'net.netfilter.x' has an empty value", true },
        { "[Sysctl]\nnet.netfilter.x= ; nothing\n",     NAME ":2: sysctl 'net.netfilter.x' has an empty value", true },
        { "[Sysctl]\nnet.netfilter.x=1\0012\n",         NAME ":2: sysctl 'net.netfilter.x' has a control character in its value", true },
        { "[Sysctl]\nnet.netfilter.x=1\0332\n",         NAME ":2: sysctl 'net.netfilter.x' has a control character in its value", true },
        { "[Sysctl]\nnet.netfilter.x:1\n",              NAME ":2: malformed line, expected KEY=VALUE", true },
        { "[Sysctl]\n-net.netfilter.x=1\n",             NAME ":2: sysctl '-net.netfilter.x' is not on the allow-list", true },
        /* Values against each key's type. */
        { "[Sysctl]\nnet.netfilter.nf_conntrack_tcp_timeout_time_wait=abc\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_tcp_timeout_time_wait' takes an integer, not 'abc'", true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_tcp_timeout_time_wait=120\n", NULL, false },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_generic_timeout=0x258\n", NULL, false },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_max=01\n", NULL, false },
        /* The kernel reads at most 20 characters of a number (sign included): longer ones it
         * refuses, and they would never compare equal to what it prints back. */
        { "[Sysctl]\nnet.netfilter.nf_conntrack_max=00000000000000065536\n", NULL, false },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_max=000000000000000065536\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_max' takes an integer, not '000000000000000065536'", true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_acct=-0000000000000000000\n", NULL, false },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_acct=-00000000000000000000\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_acct' takes a boolean (0 or 1), not '-00000000000000000000'", true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_max=-1\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_max' takes an integer, not '-1' (out of range)", true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_max=2147483648\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_max' takes an integer, not '2147483648' (out of range)", true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_buckets=1 2\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_buckets' takes an integer, not '1 2'", true },
        { "[Sysctl]\nnet.netfilter.nf_conntrack_expect_max=1k\n",
          NAME ":2: sysctl 'net.netfilter.nf_conntrack_expect_max' takes an integer, not '1k'", true },
        { "[Sysctl]\nnet.ipv4.ip_forward=2\n",
          NAME ":2: sysctl 'net.ipv4.ip_forward' takes a boolean (0 or 1), not '2' (out of range)", true },
        { "[Sysctl]\nnet.ipv4.ip_forward=yes\n",
          NAME ":2: sysctl 'net.ipv4.ip_forward' takes a boolean (0 or 1), not 'yes'", true },
        { "[Sysctl]\nnet.ipv6.conf.Lan0/100.forwarding=1\n", NULL, false },
        { "[Sysctl]\nnet.bridge.bridge-nf-call-iptables=5\n",
          NAME ":2: sysctl 'net.bridge.bridge-nf-call-iptables' takes a boolean (0 or 1), not '5' (out of range)", true },
        { "[Sysctl]\nnet.netfilter.nf_log.2=nf_log_ipv4\n", NULL, false },      /* text */
};

START_TEST(test_sysctl_case) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        const char *want[] = { sysctl_cases[_i].error, NULL };

        ck_assert_int_eq(parse(NAME, sysctl_cases[_i].text, strlen(sysctl_cases[_i].text), &c, &e),
                         sysctl_cases[_i].error ? -EINVAL : 0);
        assert_messages(&e, want, sysctl_cases[_i].text);
        ck_assert_int_eq(c->sysctl_snapshot, sysctl_cases[_i].snapshot);
        if (sysctl_cases[_i].error)
                ck_assert_uint_eq(c->n_sysctls, 0);
}
END_TEST

START_TEST(test_sysctl_max) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        ck_assert_ptr_nonnull(f);
        fputs("[Sysctl]\n", f);
        for (unsigned i = 0; i <= CONFIG_SYSCTLS_MAX; i++)
                fprintf(f, "net.netfilter.k%u=%u\n", i, i);
        /* Assigning a key already set does not count against the limit. */
        fputs("net.netfilter.k0=9\n", f);
        ck_assert_int_eq(fclose(f), 0);

        ck_assert_int_eq(parse(NAME, text, size, &c, &e), -EINVAL);
        assert_messages(&e, (const char * const[]) {
                NAME ":1026: too many sysctl assignments (at most 1024)", NULL }, "max");
        ck_assert_uint_eq(c->n_sysctls, CONFIG_SYSCTLS_MAX);
        ck_assert_str_eq(c->sysctls[0].value, "9");
}
END_TEST

/* ---- rules across keys ---- */

static const struct {
        const char *text;
        const char *error;
} validate_cases[] = {
        { "[Conntrack]\nWarnPercent=94\n", NULL },
        { "[Conntrack]\nWarnPercent=99\nCritPercent=100\n", NULL },
        { "[Conntrack]\nWarnPercent=1\nCritPercent=2\n", NULL },
        { "[Conntrack]\nWarnPercent=95\n", NAME ":2: WarnPercent=95 must be below CritPercent=95" },
        { "[Conntrack]\nCritPercent=80\n", NAME ":2: WarnPercent=80 must be below CritPercent=80" },
        { "[Conntrack]\nWarnPercent=50\nCritPercent=40\n", NAME ":3: WarnPercent=50 must be below CritPercent=40" },
        { "[Conntrack]\nCritPercent=40\nWarnPercent=50\n", NAME ":2: WarnPercent=50 must be below CritPercent=40" },
        { "[Conntrack]\nFastPollIntervalSec=1s\n", NULL },
        { "[Guard]\nPollIntervalSec=1h\n[Conntrack]\nFastPollIntervalSec=1h\n", NULL },
        { "[Guard]\nPollIntervalSec=50ms\n[Conntrack]\nFastPollIntervalSec=50ms\n", NULL },
        { "[Conntrack]\nFastPollIntervalSec=1001ms\n",
          NAME ":2: FastPollIntervalSec=1s 1ms must not be longer than PollIntervalSec=1s" },
        { "[Guard]\nPollIntervalSec=100ms\n",
          NAME ":2: FastPollIntervalSec=200ms must not be longer than PollIntervalSec=100ms" },
        { "[Guard]\nPollIntervalSec=5s\n[Conntrack]\nFastPollIntervalSec=6s\n",
          NAME ":4: FastPollIntervalSec=6s must not be longer than PollIntervalSec=5s" },
};

START_TEST(test_validate) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        const char *want[] = { validate_cases[_i].error, NULL };
        const char *t = validate_cases[_i].text;

        ck_assert_int_eq(parse(NAME, t, strlen(t), &c, &e), 0);
        ck_assert_int_eq(config_validate(c, &e), validate_cases[_i].error ? -EINVAL : 0);
        assert_messages(&e, want, t);
}
END_TEST

/* One run reports every rule broken, not only the first. */
START_TEST(test_validate_all) {
        static const char t[] = "[Guard]\nPollIntervalSec=5s\n[Conntrack]\nFastPollIntervalSec=6s\n"
                                "CritPercent=10\n";
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(parse(NAME, t, strlen(t), &c, &e), 0);
        ck_assert_int_eq(config_validate(c, &e), -EINVAL);
        assert_messages(&e, (const char * const[]) {
                NAME ":5: WarnPercent=80 must be below CritPercent=10",
                NAME ":4: FastPollIntervalSec=6s must not be longer than PollIntervalSec=5s",
                NULL }, t);
}
END_TEST

START_TEST(test_defaults) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = config_new();
        _cleanup_free_ char *ensure = NULL;

        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(c->mode, GUARD_MODE_ENFORCE);
        ck_assert_uint_eq(c->poll_interval, USEC_PER_SEC);
        ensure = strv_join(c->ensure, " ");
        ck_assert_str_eq(ensure, "nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat");
        ck_assert_uint_eq(c->reload_burst, 5);
        ck_assert_uint_eq(c->reload_interval, 10 * USEC_PER_MINUTE);
        ck_assert(c->sysctl_snapshot);
        ck_assert_uint_eq(c->n_sysctls, 0);
        ck_assert_uint_eq(c->warn_percent, 80);
        ck_assert_uint_eq(c->crit_percent, 95);
        ck_assert_uint_eq(c->fast_poll_interval, 200 * USEC_PER_MSEC);
        ck_assert_uint_eq(c->top_talkers, 10);
        ck_assert(!c->auto_raise);
        ck_assert_uint_eq(c->memory_budget.percent, 5);
        ck_assert_uint_eq(c->memory_budget.bytes, 0);
        ck_assert_uint_eq(c->raise_interval, USEC_PER_MINUTE);
        ck_assert_int_eq(c->namespaces, NAMESPACE_SCOPE_HOST);
        ck_assert_uint_eq(c->namespace_scan_interval, 10 * USEC_PER_SEC);
        ck_assert_uint_eq(c->top_namespaces, 10);
        for (int k = 0; k < _CONFIG_KEY_MAX; k++)
                ck_assert_ptr_null(c->origins[k]);
        /* The defaults obey their own rules. */
        ck_assert_int_eq(config_validate(c, &e), 0);
}
END_TEST

/* ---- config_dump: origins, and the output reads back ---- */

static char *dump(const Config *c) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_dump(c, f), 0);
        ck_assert_int_eq(fclose(f), 0);
        return text;
}

/* The dump's line for key, without its line ending. */
static char *dump_line(const char *text, const char *key) {
        size_t kl = strlen(key);

        for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strneq(p, key, kl) && p[kl] == '=')
                        return strndup(p, strcspn(p, "\n"));
        return NULL;
}

static const char long_name[] =
        "/a/rather/long/path/to/a/drop-in/directory/that/someone/chose/to/nest/deeply/below/"
        "the/root/etc/ctguard/ctguard.conf.d/50-a-descriptive-and-long-name.conf";

static const struct {
        const char *name;
        const char *text;
} round_trip_cases[] = {
        { NAME, "" },
        { NAME, "[Guard]\nMode=monitor\nPollIntervalSec=1min 30s\n"
                "[Modules]\nEnsure=nf-conntrack nf_nat\nReloadBurst=100\nReloadIntervalSec=1d\n"
                "[Conntrack]\nWarnPercent=1\nCritPercent=100\nFastPollIntervalSec=50ms\n"
                "TopTalkers=0\nAutoRaise=yes\nMemoryBudget=512M\nRaiseIntervalSec=1d\n" },
        { NAME, "[Conntrack]\nMemoryBudget=100%\nRaiseIntervalSec=1s\n" },
        { NAME, "[Conntrack]\nMemoryBudget=1000\n" },
        { NAME, "[Modules]\nEnsure=\n" },
        { NAME, "[Metrics]\nTextfileDirectory=\n" },
        { NAME, "[Metrics]\nTextfileDirectory=/srv/node exporter\n" },
        { NAME, "[Guard]\nPollIntervalSec=1.000001s\n[Conntrack]\nFastPollIntervalSec=0.5\n" },
        { NAME, "[Sysctl]\nnet/netfilter/nf_log/2=nf_log_ipv4\nnet.netfilter.nf_conntrack_max=1\n"
                "net.ipv4.conf.eth0/100.forwarding=1\nnet/ipv6/conf/br.5/forwarding = 0 \n"
                "net.bridge.bridge-nf-call-iptables=1\nnet.netfilter.nf_log.3=1\t0\n"
                "net.netfilter.nf_conntrack_max=2\n" },
        { NAME, "[Modules]\nEnsure=m0 m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11 m12 m13 m14 m15 m16 "
                "m17 m18 m19 m20 m21 m22 m23 m24 m25 m26 m27 m28 m29 m30 m31\n" },
        /* Lines that would pass the limit with their origin appended. */
        { long_name, "[Modules]\nEnsure=nf_conntrack\n" },
        { NAME, "[Modules]\nEnsure=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb "
                "ccccccccccccccccccccccccccccccccccccccccccccccccccccccc dddddddddddddddddddddddd\n" },
        { long_name, "[Sysctl]\nnet.netfilter.nf_conntrack_helper_with_a_very_long_name_to_fill="
                     "the line up with a value that is long as well, 1234567890 1234567890 "
                     "1234567890 12345\n" },
        { "name\nwith\033newlines", "[Guard]\nMode=monitor\n" },
};

START_TEST(test_round_trip) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *a = NULL, *b = NULL, *d = NULL;
        _cleanup_free_ char *text_a = NULL, *text_b = NULL;
        const char *t = round_trip_cases[_i].text;

        ck_assert_int_eq(parse(round_trip_cases[_i].name, t, strlen(t), &a, &e), 0);
        ck_assert_int_eq(config_validate(a, &e), 0);
        ck_assert_int_ge(strv_extend(&a->files, round_trip_cases[_i].name), 0);

        text_a = dump(a);
        ck_assert_msg(parse("dump", text_a, strlen(text_a), &b, &e) == 0,
                      "%s\ndoes not read back: %s", text_a, e.n > 0 ? e.messages[0] : "");
        ck_assert_int_eq(config_validate(b, &e), 0);
        ck_assert_msg(config_equal(a, b), "not the same after reading back:\n%s", text_a);

        /* And again: the dump of what was read back reads back the same. */
        text_b = dump(b);
        ck_assert_int_eq(parse("dump2", text_b, strlen(text_b), &d, &e), 0);
        ck_assert(config_equal(b, d));

        /* Every line is within the limit. */
        for (const char *p = text_a; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0))
                ck_assert_uint_le(strcspn(p, "\n"), CONFIG_LINE_MAX);
}
END_TEST

START_TEST(test_dump_origins) {
        static const char text[] = "[Guard]\nMode=monitor\n\n[Sysctl]\nnet.ipv4.ip_forward=1\n";
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *out = NULL, *mode = NULL, *poll = NULL, *fwd = NULL;

        ck_assert_int_eq(parse(NAME, text, strlen(text), &c, &e), 0);
        out = dump(c);
        mode = dump_line(out, "Mode");
        poll = dump_line(out, "PollIntervalSec");
        fwd = dump_line(out, "net.ipv4.ip_forward");
        ck_assert_ptr_nonnull(mode);
        ck_assert_ptr_nonnull(poll);
        ck_assert_ptr_nonnull(fwd);
        ck_assert_msg(strneq(mode, "Mode=monitor ", 13) && strstr(mode, " ; " NAME ":2") &&
                      streq(strstr(mode, " ; "), " ; " NAME ":2"), "'%s'", mode);
        ck_assert_msg(strneq(poll, "PollIntervalSec=1s ", 19) &&
                      streq(strstr(poll, " ; "), " ; default"), "'%s'", poll);
        ck_assert_msg(strneq(fwd, "net.ipv4.ip_forward=1 ", 22) &&
                      streq(strstr(fwd, " ; "), " ; " NAME ":5"), "'%s'", fwd);
        ck_assert(strstr(out, "# No configuration files: built-in defaults.\n"));
        /* Origins line up. */
        ck_assert_int_eq(strstr(mode, " ; ") - mode, strstr(poll, " ; ") - poll);
}
END_TEST

START_TEST(test_dump_followed) {
        _cleanup_(config_errors_done) ConfigErrors e = {}, e2 = {};
        _cleanup_(config_freep) Config *c = config_new(), *b = NULL, *m = config_new(), *mb = NULL;
        _cleanup_free_ char *out = NULL, *line = NULL, *mout = NULL, *mline = NULL;

        /* A followed value is shown, commented out: read back, nothing is assigned. */
        ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/nf_conntrack_max", "262144",
                                           CONFIG_ORIGIN_FOLLOWED), 0);
        out = dump(c);
        line = dump_line(out, "#net.netfilter.nf_conntrack_max");
        ck_assert_ptr_nonnull(line);
        ck_assert(streq(strstr(line, " ; "), " ; followed"));
        ck_assert_int_eq(parse("dump", out, strlen(out), &b, &e), 0);
        ck_assert(b->sysctl_snapshot);
        ck_assert_uint_eq(b->n_sysctls, 0);
        ck_assert(config_equal(c, b));

        /* Next to an assignment: the owned key is a line, the followed one a comment. */
        m->sysctl_snapshot = false;
        ck_assert_int_eq(config_set_sysctl(m, "net/netfilter/nf_conntrack_tcp_timeout_established",
                                           "7200", "a.conf:3"), 0);
        ck_assert_int_eq(config_set_sysctl(m, "net/netfilter/nf_conntrack_max", "262144",
                                           CONFIG_ORIGIN_FOLLOWED), 0);
        mout = dump(m);
        mline = dump_line(mout, "#net.netfilter.nf_conntrack_max");
        ck_assert_ptr_nonnull(mline);
        ck_assert_ptr_nonnull(strstr(mout, "\nnet.netfilter.nf_conntrack_tcp_timeout_established=7200"));
        ck_assert_int_eq(parse("dump", mout, strlen(mout), &mb, &e2), 0);
        ck_assert(!mb->sysctl_snapshot);
        ck_assert_uint_eq(mb->n_sysctls, 1);
        ck_assert(config_equal(m, mb));
        ck_assert(config_equal(mb, m));
}
END_TEST

/* Changes key k's field directly, by its row's type: config_equal() must see it. */
static void change_field(Config *c, ConfigKey k) {
        const ConfigItem *it = &config_items[k];
        void *p = (uint8_t *) c + it->offset;

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                *(GuardMode *) p = (*(GuardMode *) p + 1) % _GUARD_MODE_MAX;
                return;
        case CONFIG_TYPE_SCOPE:
                *(NamespaceScope *) p = (*(NamespaceScope *) p + 1) % _NAMESPACE_SCOPE_MAX;
                return;
        case CONFIG_TYPE_SPAN:
                (*(usec_t *) p)++;
                return;
        case CONFIG_TYPE_UNSIGNED:
                (*(unsigned *) p)++;
                return;
        case CONFIG_TYPE_BOOLEAN:
                *(bool *) p = !*(bool *) p;
                return;
        case CONFIG_TYPE_BUDGET:
                ((TableBudget *) p)->percent++;
                return;
        case CONFIG_TYPE_MODULES:
                ck_assert_int_eq(strv_extend((char ***) p, "ctguard_test"), 0);
                return;
        case CONFIG_TYPE_PATH:
                free(*(char **) p);
                *(char **) p = strdup("/changed");
                ck_assert_ptr_nonnull(*(char **) p);
                return;
        case CONFIG_TYPE_SYSCTL:
                c->sysctl_snapshot = false;
                return;
        }
}

START_TEST(test_equal) {
        _cleanup_(config_freep) Config *a = config_new();

        /* Each key changed alone makes a difference. */
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                _cleanup_(config_freep) Config *b = config_new();

                ck_assert(config_equal(a, b));
                change_field(b, k);
                ck_assert_msg(!config_equal(a, b), "change of %s not seen", key_name(k));
                ck_assert_msg(!config_equal(b, a), "change of %s not seen", key_name(k));
        }
        /* Neither origins nor the files read are configuration. */
        {
                _cleanup_(config_freep) Config *b = config_new();

                b->origins[CONFIG_GUARD_MODE] = strdup("x.conf:1");
                ck_assert_int_eq(strv_extend(&b->files, "x.conf"), 0);
                ck_assert(config_equal(a, b));
        }
}
END_TEST

START_TEST(test_equal_sysctls) {
        _cleanup_(config_freep) Config *a = config_new(), *b = config_new();

        /* Assigned sysctls count, by value and by order; origins do not. */
        a->sysctl_snapshot = b->sysctl_snapshot = false;
        ck_assert_int_eq(config_set_sysctl(a, "net/ipv4/ip_forward", "1", "a:1"), 0);
        ck_assert(!config_equal(a, b));
        ck_assert_int_eq(config_set_sysctl(b, "net/ipv4/ip_forward", "0", "b:1"), 0);
        ck_assert(!config_equal(a, b));
        ck_assert_int_eq(config_set_sysctl(b, "net/ipv4/ip_forward", "1", "b:2"), 0);
        ck_assert(config_equal(a, b));
        ck_assert_int_eq(config_set_sysctl(a, "net/netfilter/x", "1", "a:2"), 0);
        ck_assert_int_eq(config_set_sysctl(b, "net/netfilter/y", "1", "b:3"), 0);
        ck_assert(!config_equal(a, b));

        /* Values recorded from followed keys are not configuration. */
        ck_assert_int_eq(config_set_sysctl(a, "net/netfilter/nf_conntrack_max", "1",
                                           CONFIG_ORIGIN_FOLLOWED), 0);
        ck_assert_int_eq(config_set_sysctl(b, "net/netfilter/y", "1", "b:4"), 0);
        ck_assert_int_eq(config_set_sysctl(a, "net/netfilter/y", "1", "a:3"), 0);
        ck_assert_int_eq(config_set_sysctl(b, "net/netfilter/x", "1", "b:5"), 0);
        /* a: ip_forward x max(followed) y; b: ip_forward y x: the order differs. */
        ck_assert(!config_equal(a, b));
        {
                _cleanup_(config_freep) Config *c = config_new(), *d = config_new();

                c->sysctl_snapshot = d->sysctl_snapshot = false;
                ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/x", "1", "c:1"), 0);
                ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/nf_conntrack_max", "1",
                                                   CONFIG_ORIGIN_FOLLOWED), 0);
                ck_assert_int_eq(config_set_sysctl(c, "net/netfilter/y", "2", "c:2"), 0);
                ck_assert_int_eq(config_set_sysctl(d, "net/netfilter/x", "1", "d:1"), 0);
                ck_assert_int_eq(config_set_sysctl(d, "net/netfilter/y", "2", "d:2"), 0);
                ck_assert(config_equal(c, d));
                ck_assert(config_equal(d, c));
        }
}
END_TEST

/* ---- the rows ---- */

/* The built-in defaults are the rows' own, as written in a file and as config_dump() writes
 * them back; and every row's documentation fits on one line of a file. */
START_TEST(test_rows) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = config_new();

        ck_assert_msg(c, "config_new() failed: a row's default does not parse");
        ck_assert_int_eq(config_validate(c, &e), 0);
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                const ConfigItem *it = &config_items[k];
                _cleanup_free_ char *v = NULL, *doc = config_item_doc(it);

                ck_assert_int_eq(it->key, k);
                ck_assert_ptr_nonnull(doc);
                ck_assert_msg(strlen("# ") + strlen(doc) <= CONFIG_LINE_MAX, "%s: '%s' too long",
                              key_name(k), doc);
                ck_assert_msg(it->help[0] && it->help[strlen(it->help) - 1] != '.' &&
                              !strchr(it->help, '\n'), "%s: help '%s'", key_name(k), it->help);
                ck_assert_int_eq(config_value_to_string(c, k, &v), 0);
                ck_assert_msg(streq(v, strempty(it->def)), "%s: default '%s' reads back as '%s'",
                              key_name(k), strempty(it->def), v);
                ck_assert_ptr_null(c->origins[k]);
                for (int j = 0; j < k; j++)
                        ck_assert_msg(!streq(config_items[j].section, it->section) ||
                                      !streq(strempty(config_items[j].name), strempty(it->name)),
                                      "%s twice", key_name(k));
                /* The [Sysctl] row takes every name of its section: it must be alone there. */
                for (int j = 0; j < _CONFIG_KEY_MAX; j++)
                        ck_assert(j == k || !streq(config_items[j].section, it->section) ||
                                  (it->name && config_items[j].name));
        }
}
END_TEST

/* A valid value for key k other than its default, as written in a file (for [Sysctl], a whole
 * assignment). */
static const char *other_value(ConfigKey k, char *buf, size_t size) {
        const ConfigItem *it = &config_items[k];
        const char *def = strempty(it->def);
        char a[FORMAT_TIMESPAN_MAX];

        switch (it->type) {
        case CONFIG_TYPE_MODE:
                return streq(def, "monitor") ? "enforce" : "monitor";
        case CONFIG_TYPE_SCOPE:
                return streq(def, "all") ? "host" : "all";
        case CONFIG_TYPE_SPAN:
                snprintf(buf, size, "%s", format_timespan(a, sizeof(a), it->min));
                if (streq(buf, def))
                        snprintf(buf, size, "%s", format_timespan(a, sizeof(a), it->max));
                return buf;
        case CONFIG_TYPE_UNSIGNED:
                snprintf(buf, size, "%" PRIu64, it->min);
                if (streq(buf, def))
                        snprintf(buf, size, "%" PRIu64, it->max);
                return buf;
        case CONFIG_TYPE_BOOLEAN:
                return streq(def, "yes") ? "no" : "yes";
        case CONFIG_TYPE_BUDGET:
                return streq(def, "512M") ? "1%" : "512M";
        case CONFIG_TYPE_MODULES:
                return streq(def, "nf_conntrack") ? "" : "nf_conntrack";
        case CONFIG_TYPE_PATH:
                return streq(def, "/srv/ctguard") ? "" : "/srv/ctguard";
        case CONFIG_TYPE_SYSCTL:
                return "net.netfilter.nf_conntrack_max=1";
        }
        return NULL;
}

/* Every key set alone to another valid value: read, seen by config_equal(), written by
 * config_dump() and read back the same. A key missing from one of them fails here. */
START_TEST(test_every_key) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *d = config_new(), *c = NULL, *b = NULL;
        _cleanup_free_ char *text = NULL, *out = NULL, *v = NULL, *vb = NULL;
        const ConfigItem *it = &config_items[_i];
        char buf[64];
        const char *value = other_value(_i, buf, sizeof(buf));

        if (it->name)
                ck_assert_int_ge(asprintf(&text, "[%s]\n%s=%s\n", it->section, it->name, value), 0);
        else
                ck_assert_int_ge(asprintf(&text, "[%s]\n%s\n", it->section, value), 0);
        ck_assert_msg(parse(NAME, text, strlen(text), &c, &e) == 0, "%s: %s", text,
                      e.n > 0 ? e.messages[0] : "");
        ck_assert_int_eq(config_value_to_string(c, _i, &v), 0);
        ck_assert_msg(streq(v, value), "%s reads back as '%s'", text, v);
        ck_assert_msg(!config_equal(c, d) && !config_equal(d, c), "%s: config_equal() sees no "
                      "difference", text);
        if (it->name)
                ck_assert_str_eq(c->origins[_i], NAME ":2");
        assert_defaults_except(c, _i);

        out = dump(c);
        ck_assert_msg(parse("dump", out, strlen(out), &b, &e) == 0, "%s\ndoes not read back: %s",
                      out, e.n > 0 ? e.messages[0] : "");
        ck_assert_msg(config_equal(c, b), "%s: not the same after reading back:\n%s", text, out);
        ck_assert_int_eq(config_value_to_string(b, _i, &vb), 0);
        ck_assert_str_eq(vb, value);
}
END_TEST

/* ---- config_load: files below a temporary root ---- */

#define USR "/usr/lib/ctguard/ctguard.conf.d/"
#define LOCAL "/usr/local/lib/ctguard/ctguard.conf.d/"
#define RUN "/run/ctguard/ctguard.conf.d/"
#define ETC "/etc/ctguard/ctguard.conf.d/"
#define MAIN "/etc/ctguard/ctguard.conf"

static char *root;

static char *root_path(const char *path) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s%s", root, path), 0);
        return p;
}

static void make_parents(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        ck_assert_ptr_nonnull(p);
        for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                ck_assert_msg(mkdir(p, 0755) >= 0 || errno == EEXIST, "mkdir %s: %m", p);
                *s = '/';
        }
}

static void write_file(const char *path, const char *text) {
        _cleanup_free_ char *p = root_path(path);
        FILE *f;

        make_parents(p);
        f = fopen(p, "we");
        ck_assert_msg(f, "create %s: %m", p);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
}

static void mask_file(const char *path) {
        _cleanup_free_ char *p = root_path(path);

        make_parents(p);
        ck_assert_int_eq(symlink("/dev/null", p), 0);
}

static void setup(void) {
        char t[] = "/tmp/test-config.XXXXXX";

        umask(022);
        ck_assert_ptr_nonnull(mkdtemp(t));
        root = strdup(t);
        ck_assert_ptr_nonnull(root);
}

static void teardown(void) {
        _cleanup_free_ char *cmd = NULL;

        if (root && asprintf(&cmd, "rm -rf '%s'", root) >= 0)
                (void) !system(cmd);
        free(root);
        root = NULL;
}

static void assert_origin(const Config *c, ConfigKey k, const char *path, unsigned line) {
        _cleanup_free_ char *want = NULL;

        ck_assert_int_ge(asprintf(&want, "%s%s:%u", root, path, line), 0);
        ck_assert_msg(c->origins[k] && streq(c->origins[k], want), "%s from %s, want %s",
                      key_name(k), strempty(c->origins[k]), want);
}

static void assert_files(const Config *c, const char * const *want) {
        size_t n = 0;

        for (; want[n]; n++) {
                _cleanup_free_ char *p = root_path(want[n]);

                ck_assert_msg(n < strv_length(c->files), "file %zu missing: %s", n, p);
                ck_assert_str_eq(c->files[n], p);
        }
        ck_assert_uint_eq(strv_length(c->files), n);
}

START_TEST(test_load_nothing) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL, *d = config_new();

        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        ck_assert_uint_eq(e.n, 0);
        ck_assert(config_equal(c, d));
        ck_assert_uint_eq(strv_length(c->files), 0);
        assert_defaults_except(c, _CONFIG_KEY_INVALID);
}
END_TEST

START_TEST(test_load_precedence) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;

        write_file(MAIN, "[Guard]\nMode=monitor\nPollIntervalSec=5s\n[Conntrack]\nTopTalkers=1\n");
        /* Masked by /usr/local's file of the same name: its PollIntervalSec is never read. */
        write_file(USR "10-a.conf", "[Guard]\nPollIntervalSec=2s\n[Conntrack]\nTopTalkers=2\n");
        write_file(LOCAL "10-a.conf", "[Conntrack]\n\nTopTalkers=3\n");
        /* Masked by a symlink to /dev/null in /etc. */
        write_file(RUN "20-b.conf", "[Guard]\nMode=enforce\n");
        mask_file(ETC "20-b.conf");
        write_file(ETC "30-c.conf", "[Modules]\nReloadBurst=7\nReloadIntervalSec=1min\n");
        /* Lower directory, later name: applied after 30-c.conf, so it wins. */
        write_file(USR "40-d.conf", "[Modules]\nReloadBurst=9\n");
        write_file(ETC "README", "this is not read\n");
        write_file(ETC "50-e.conf.disabled", "[Guard]\nMode=enforce\n");

        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        ck_assert_uint_eq(e.n, 0);
        assert_files(c, (const char * const[]) {
                MAIN, LOCAL "10-a.conf", ETC "30-c.conf", USR "40-d.conf", NULL });

        ck_assert_int_eq(c->mode, GUARD_MODE_MONITOR);
        assert_origin(c, CONFIG_GUARD_MODE, MAIN, 2);
        ck_assert_uint_eq(c->poll_interval, 5 * USEC_PER_SEC);
        assert_origin(c, CONFIG_GUARD_POLL_INTERVAL, MAIN, 3);
        ck_assert_uint_eq(c->top_talkers, 3);
        assert_origin(c, CONFIG_CONNTRACK_TOP_TALKERS, LOCAL "10-a.conf", 3);
        ck_assert_uint_eq(c->reload_burst, 9);
        assert_origin(c, CONFIG_MODULES_RELOAD_BURST, USR "40-d.conf", 2);
        ck_assert_uint_eq(c->reload_interval, USEC_PER_MINUTE);
        assert_origin(c, CONFIG_MODULES_RELOAD_INTERVAL, ETC "30-c.conf", 3);
        ck_assert_ptr_null(c->origins[CONFIG_CONNTRACK_WARN_PERCENT]);
}
END_TEST

/* The same file name in two of the four directories: the higher one is read, and a mask there
 * hides the lower one. */
static const char * const dirs[] = { USR, LOCAL, RUN, ETC };

START_TEST(test_load_dir_pairs) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *lo_path = NULL, *hi_path = NULL, *text = NULL;
        unsigned lo = _i / 8, hi = (_i / 2) % 4, mask = _i % 2;

        if (lo >= hi)
                return;         /* only pairs in priority order */

        ck_assert_int_ge(asprintf(&lo_path, "%s50-x.conf", dirs[lo]), 0);
        ck_assert_int_ge(asprintf(&hi_path, "%s50-x.conf", dirs[hi]), 0);
        write_file(lo_path, "[Conntrack]\nTopTalkers=100\n");
        if (mask)
                mask_file(hi_path);
        else {
                ck_assert_int_ge(asprintf(&text, "[Conntrack]\n# from %u\nTopTalkers=%u\n", hi, hi), 0);
                write_file(hi_path, text);
        }
        /* Another name in the lower directory is not affected. */
        free(text);
        ck_assert_int_ge(asprintf(&text, "%s60-y.conf", dirs[lo]), 0);
        write_file(text, "[Modules]\nReloadBurst=42\n");

        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        ck_assert_uint_eq(c->reload_burst, 42);
        if (mask) {
                ck_assert_uint_eq(c->top_talkers, 10);
                ck_assert_ptr_null(c->origins[CONFIG_CONNTRACK_TOP_TALKERS]);
                ck_assert_uint_eq(strv_length(c->files), 1);
        } else {
                ck_assert_uint_eq(c->top_talkers, hi);
                assert_origin(c, CONFIG_CONNTRACK_TOP_TALKERS, hi_path, 3);
                ck_assert_uint_eq(strv_length(c->files), 2);
        }
}
END_TEST

START_TEST(test_load_lexical) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;

        /* Order is by file name alone: b.conf in the lowest directory comes after a.conf in
         * the highest, so its value wins; the main file always comes first. */
        write_file(ETC "a.conf", "[Conntrack]\nTopTalkers=1\n");
        write_file(USR "b.conf", "[Conntrack]\nTopTalkers=2\n");
        write_file(RUN "0.conf", "[Conntrack]\nTopTalkers=3\n");
        write_file(MAIN, "[Conntrack]\nTopTalkers=4\n");
        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        assert_files(c, (const char * const[]) {
                MAIN, RUN "0.conf", ETC "a.conf", USR "b.conf", NULL });
        ck_assert_uint_eq(c->top_talkers, 2);
        assert_origin(c, CONFIG_CONNTRACK_TOP_TALKERS, USR "b.conf", 2);
}
END_TEST

START_TEST(test_load_override) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *other = NULL;

        write_file(MAIN, "[Guard]\nMode=monitor\n");
        write_file("/elsewhere/my.conf", "[Conntrack]\n\n\nTopTalkers=4\n");
        write_file(ETC "a.conf", "[Modules]\nReloadBurst=6\n");
        other = root_path("/elsewhere/my.conf");

        /* --config replaces the main file; the drop-ins still apply. */
        ck_assert_int_eq(config_load(root, other, &c, &e), 0);
        ck_assert_int_eq(c->mode, GUARD_MODE_ENFORCE);
        ck_assert_uint_eq(c->top_talkers, 4);
        assert_origin(c, CONFIG_CONNTRACK_TOP_TALKERS, "/elsewhere/my.conf", 4);
        ck_assert_uint_eq(c->reload_burst, 6);
        assert_files(c, (const char * const[]) { "/elsewhere/my.conf", ETC "a.conf", NULL });
}
END_TEST

START_TEST(test_load_override_missing) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        Config *c = (Config *) &root;   /* anything but NULL: must stay untouched */
        _cleanup_free_ char *missing = root_path("/nonexistent.conf"), *want = NULL;

        write_file(MAIN, "[Guard]\nMode=monitor\n");
        ck_assert_int_eq(config_load(root, missing, &c, &e), -EINVAL);
        ck_assert_ptr_eq(c, (Config *) &root);
        ck_assert_int_ge(asprintf(&want, "%s: cannot read: No such file or directory", missing), 0);
        assert_messages(&e, (const char * const[]) { want, NULL }, "missing --config");
}
END_TEST

START_TEST(test_load_all_or_nothing) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        Config *c = NULL;
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;

        /* Good values everywhere but two lines in two drop-ins: nothing is taken, every
         * problem is named with its file and line. */
        write_file(MAIN, "[Guard]\nMode=monitor\n");
        write_file(ETC "a.conf", "[Conntrack]\nTopTalkers=5\n# fine so far\nWarnPercent=0\n");
        write_file(USR "b.conf", "[Guard]\nPollIntervalSec=2s\n[Nope]\nX=1\n");
        write_file(RUN "c.conf", "[Modules]\nReloadBurst=3\n");
        ck_assert_int_ge(asprintf(&e1, "%s" ETC "a.conf:4: WarnPercent=0 is out of range", root), 0);
        ck_assert_int_ge(asprintf(&e2, "%s" USR "b.conf:3: unknown section [Nope]", root), 0);

        ck_assert_int_eq(config_load(root, NULL, &c, &e), -EINVAL);
        ck_assert_ptr_null(c);
        assert_messages(&e, (const char * const[]) { e1, e2, NULL }, "two files");

        /* A cross-key rule broken across files names where CritPercent was set. */
        config_errors_done(&e);
        write_file(ETC "a.conf", "[Conntrack]\nWarnPercent=90\n");
        write_file(USR "b.conf", "[Conntrack]\n\nCritPercent=85\n");
        ck_assert_int_ge(asprintf(&e3, "%s" USR "b.conf:3: WarnPercent=90 must be below "
                                  "CritPercent=85", root), 0);
        ck_assert_int_eq(config_load(root, NULL, &c, &e), -EINVAL);
        ck_assert_ptr_null(c);
        assert_messages(&e, (const char * const[]) { e3, NULL }, "validation");

        /* Fixed, it loads. */
        config_errors_done(&e);
        write_file(USR "b.conf", "[Conntrack]\nCritPercent=95\n");
        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        ck_assert_uint_eq(c->warn_percent, 90);
        config_free(c);
}
END_TEST

/* Files and directories that cannot be trusted are refused with their path. */
static const struct {
        const char *path;       /* below the root; a directory if it ends in '/' */
        uid_t uid;
        mode_t mode;
        const char *error;
} untrusted_cases[] = {
        { MAIN,                 65534, 0644, "refused: not owned by root" },
        { MAIN,                 0,     0664, "refused: writable by group or others" },
        { MAIN,                 0,     0666, "refused: writable by group or others" },
        { ETC "a.conf",         65534, 0644, "refused: not owned by root" },
        { RUN "b.conf",         0,     0620, "refused: writable by group or others" },
        { USR "c.conf",         0,     0602, "refused: writable by group or others" },
        { ETC,                  65534, 0755, "refused: not owned by root" },
        { LOCAL,                0,     0775, "refused: writable by group or others" },
        { USR,                  0,     0757, "refused: writable by group or others" },
        { RUN,                  0,     01777, "refused: writable by group or others" },
};

START_TEST(test_load_untrusted) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_free_ char *p = NULL, *want = NULL;
        const char *path = untrusted_cases[_i].path;
        Config *c = NULL;

        if (untrusted_cases[_i].uid != 0 && geteuid() != 0)
                return;         /* chown needs root */

        write_file(MAIN, "[Guard]\nMode=monitor\n");
        write_file(ETC "a.conf", "[Conntrack]\nTopTalkers=5\n");
        write_file(RUN "b.conf", "[Conntrack]\nTopTalkers=6\n");
        write_file(USR "c.conf", "[Conntrack]\nTopTalkers=7\n");
        write_file(LOCAL "z.conf", "[Conntrack]\nTopTalkers=8\n");
        p = root_path(path);
        if (p[strlen(p) - 1] == '/')
                p[strlen(p) - 1] = '\0';
        ck_assert_int_eq(chown(p, untrusted_cases[_i].uid, 0), 0);
        ck_assert_int_eq(chmod(p, untrusted_cases[_i].mode), 0);

        ck_assert_int_eq(config_load(root, NULL, &c, &e), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&want, "%s: %s", p, untrusted_cases[_i].error), 0);
        assert_messages(&e, (const char * const[]) { want, NULL }, path);
}
END_TEST

START_TEST(test_load_unreadable) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_free_ char *want1 = NULL, *want2 = NULL, *p = NULL;
        Config *c = NULL;
        FILE *f;

        /* Larger than the limit, and a drop-in that is a dangling symlink. */
        write_file(ETC "big.conf", "");
        p = root_path(ETC "big.conf");
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        fputs("[Guard]\n", f);
        for (size_t i = 0; i < CONFIG_FILE_SIZE_MAX / 15 + 1; i++)
                fputs("# padding line\n", f);
        ck_assert_int_eq(fclose(f), 0);
        write_file(ETC "other.conf", "");
        free(p);
        p = root_path(ETC "other.conf");
        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(symlink("/nonexistent/x.conf", p), 0);

        ck_assert_int_ge(asprintf(&want1, "%s" ETC "big.conf: refused: larger than 1 MiB", root), 0);
        ck_assert_int_ge(asprintf(&want2, "%s" ETC "other.conf: cannot read: No such file or directory",
                                  root), 0);
        ck_assert_int_eq(config_load(root, NULL, &c, &e), -EINVAL);
        ck_assert_ptr_null(c);
        assert_messages(&e, (const char * const[]) { want1, want2, NULL }, "unreadable");
}
END_TEST

START_TEST(test_load_crlf_bom_files) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL;

        write_file(MAIN, "\xef\xbb\xbf[Guard]\r\nMode=monitor\r\n");
        write_file(ETC "a.conf", "");
        write_file(ETC "b.conf", "[Conntrack]\nTopTalkers=9");
        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        ck_assert_int_eq(c->mode, GUARD_MODE_MONITOR);
        ck_assert_uint_eq(c->top_talkers, 9);
        assert_files(c, (const char * const[]) { MAIN, ETC "a.conf", ETC "b.conf", NULL });
}
END_TEST

START_TEST(test_load_round_trip) {
        _cleanup_(config_errors_done) ConfigErrors e = {};
        _cleanup_(config_freep) Config *c = NULL, *b = NULL;
        _cleanup_free_ char *out = NULL, *dump_path = NULL, *dropin = NULL, *main_path = NULL;

        write_file(MAIN, "[Guard]\nMode=monitor\n[Sysctl]\nnet.netfilter.nf_conntrack_max=65536\n");
        write_file(ETC "a.conf", "[Sysctl]\nnet.ipv4.conf.eth0/100.forwarding=1\n"
                                 "[Modules]\nEnsure=nf_conntrack\n");
        ck_assert_int_eq(config_load(root, NULL, &c, &e), 0);
        out = dump(c);

        /* The dump as --config, with the other files gone: the same configuration. */
        write_file("/dump.conf", out);
        dump_path = root_path("/dump.conf");
        dropin = root_path(ETC "a.conf");
        main_path = root_path(MAIN);
        ck_assert_int_eq(unlink(dropin), 0);
        ck_assert_int_eq(unlink(main_path), 0);
        ck_assert_int_eq(config_load(root, dump_path, &b, &e), 0);
        ck_assert(config_equal(c, b));
}
END_TEST

int main(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("parse"), *tl = tcase_create("load");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_good_value, 0, ELEMENTSOF(good_cases));
        tcase_add_loop_test(tc, test_ensure, 0, ELEMENTSOF(ensure_cases));
        tcase_add_loop_test(tc, test_bad_value, 0, ELEMENTSOF(bad_cases));
        tcase_add_loop_test(tc, test_file, 0, ELEMENTSOF(file_cases));
        tcase_add_loop_test(tc, test_long_line, 0, ELEMENTSOF(long_cases));
        tcase_add_test(tc, test_long_header);
        tcase_add_test(tc, test_sysctl);
        tcase_add_loop_test(tc, test_sysctl_case, 0, ELEMENTSOF(sysctl_cases));
        tcase_add_test(tc, test_sysctl_max);
        tcase_add_loop_test(tc, test_validate, 0, ELEMENTSOF(validate_cases));
        tcase_add_test(tc, test_validate_all);
        tcase_add_test(tc, test_defaults);
        tcase_add_loop_test(tc, test_round_trip, 0, ELEMENTSOF(round_trip_cases));
        tcase_add_test(tc, test_dump_origins);
        tcase_add_test(tc, test_dump_followed);
        tcase_add_test(tc, test_equal);
        tcase_add_test(tc, test_equal_sysctls);
        tcase_add_test(tc, test_rows);
        tcase_add_loop_test(tc, test_every_key, 0, _CONFIG_KEY_MAX);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(tl, setup, teardown);
        tcase_add_test(tl, test_load_nothing);
        tcase_add_test(tl, test_load_precedence);
        tcase_add_loop_test(tl, test_load_dir_pairs, 0, 4 * 4 * 2);
        tcase_add_test(tl, test_load_lexical);
        tcase_add_test(tl, test_load_override);
        tcase_add_test(tl, test_load_override_missing);
        tcase_add_test(tl, test_load_all_or_nothing);
        tcase_add_loop_test(tl, test_load_untrusted, 0, ELEMENTSOF(untrusted_cases));
        tcase_add_test(tl, test_load_unreadable);
        tcase_add_test(tl, test_load_crlf_bom_files);
        tcase_add_test(tl, test_load_round_trip);
        suite_add_tcase(s, tl);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
