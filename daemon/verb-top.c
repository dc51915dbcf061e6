/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <inttypes.h>
#include <sysexits.h>

#include "ctstat.h"
#include "cttable.h"
#include "json.h"
#include "log.h"
#include "parse-util.h"
#include "verbs.h"

#define TOP_N_DEFAULT 10u
#define TOP_N_MAX 100000u

static const char * const by_titles[_CT_BY_MAX] = {
        [CT_BY_SRC] = "SOURCE",
        [CT_BY_DST] = "DESTINATION",
        [CT_BY_DPORT] = "DPORT",
        [CT_BY_STATE] = "STATE",
        [CT_BY_PROTO] = "PROTO",
};

static const char usage[] =
        "Usage: ctguard top [-n N] [--by src,dst,dport,state,proto]... [--netns ID] [--json]\n"
        "\n"
        "Dumps the conntrack table of the current network namespace once and lists who fills it:\n"
        "the N largest counts by source address, destination address, destination port\n"
        "(\"tcp:443\"), state (\"tcp:ESTABLISHED\", \"tcp:SYN_SENT:UNREPLIED\", \"udp:UNREPLIED\",\n"
        "\"udp:ASSURED\") and protocol, each with its share of the entries. Equal counts are\n"
        "listed in address, port or state order. Needs CAP_NET_ADMIN.\n"
        "\n"
        "  -n --top=N       List N per dimension (1..100000, default 10)\n"
        "     --by=WHAT,... Only these dimensions; may be repeated (default: all)\n"
        "     --netns=ID    The table of another network namespace: a /run/netns name, its\n"
        "                   inode (as status --netns lists it) or a PID in it; entered for the\n"
        "                   dump alone, which needs CAP_SYS_ADMIN\n"
        "     --json        One JSON object: {\"entries\":N,\"truncated\":B,\"interrupted\":B,\n"
        "                   \"src\":[{\"key\":K,\"count\":C,\"percent\":P},...],...,\n"
        "                   \"unattributed\":{\"src\":N,...}}\n";

static int print_text(const CtAggregate *a, const bool by[_CT_BY_MAX], size_t n, bool several) {
        bool first = true;
        int r;

        if (several)
                printf("%" PRIu64 " entries\n", ct_aggregate_entries(a));

        for (CtBy b = 0; b < _CT_BY_MAX; b++) {
                _cleanup_free_ CtTopItem *items = NULL;
                size_t n_items;

                if (!by[b])
                        continue;
                r = ct_aggregate_top(a, b, n, &items, &n_items);
                if (r < 0)
                        return r;

                if (several || !first)
                        putchar('\n');
                first = false;
                printf("%10s  %6s  %s\n", "COUNT", "SHARE", by_titles[b]);
                for (size_t i = 0; i < n_items; i++) {
                        char key[CT_KEY_STRLEN_MAX];

                        r = ct_key_format(b, &items[i].key, key, sizeof(key));
                        if (r < 0)
                                return r;
                        printf("%10" PRIu64 "  %5.1f%%  %s\n", items[i].count,
                               ct_aggregate_percent(a, items[i].count), key);
                }
        }
        return fflush(stdout) == 0 ? 0 : -EIO;
}

static int print_json(const CtAggregate *a, const bool by[_CT_BY_MAX], size_t n) {
        JsonWriter w;
        int r;

        json_init(&w, stdout);
        json_begin_object(&w);
        json_key(&w, "entries");
        json_unsigned(&w, ct_aggregate_entries(a));
        json_key(&w, "truncated");
        json_bool(&w, ct_aggregate_truncated(a));
        json_key(&w, "interrupted");
        json_bool(&w, ct_aggregate_interrupted(a));

        for (CtBy b = 0; b < _CT_BY_MAX; b++) {
                _cleanup_free_ CtTopItem *items = NULL;
                size_t n_items;

                if (!by[b])
                        continue;
                r = ct_aggregate_top(a, b, n, &items, &n_items);
                if (r < 0)
                        return r;

                json_key(&w, ct_by_to_string(b));
                json_begin_array(&w);
                for (size_t i = 0; i < n_items; i++) {
                        char key[CT_KEY_STRLEN_MAX];

                        r = ct_key_format(b, &items[i].key, key, sizeof(key));
                        if (r < 0)
                                return r;
                        json_begin_object(&w);
                        json_key(&w, "key");
                        json_string(&w, key);
                        json_key(&w, "count");
                        json_unsigned(&w, items[i].count);
                        json_key(&w, "percent");
                        json_decimal(&w, (uint64_t) (ct_aggregate_percent(a, items[i].count) * 100 + 0.5), 2);
                        json_end_object(&w);
                }
                json_end_array(&w);
        }

        /* Entries whose key was not kept because of the memory cap ("untracked" would be
         * conntrack's own state for packets it does not track). */
        json_key(&w, "unattributed");
        json_begin_object(&w);
        for (CtBy b = 0; b < _CT_BY_MAX; b++)
                if (by[b]) {
                        json_key(&w, ct_by_to_string(b));
                        json_unsigned(&w, ct_aggregate_unattributed(a, b));
                }
        json_end_object(&w);
        json_end_object(&w);
        return json_finish(&w);
}

int verb_top(int argc, char *argv[]) {
        _cleanup_free_ char *sysctl_root = NULL;
        enum { ARG_BY = _ARG_VERB_FIRST, ARG_JSON, ARG_NETNS };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "top",  required_argument, NULL, 'n' },
                { "by",   required_argument, NULL, ARG_BY },
                { "json", no_argument,       NULL, ARG_JSON },
                { "netns", required_argument, NULL, ARG_NETNS },
                {}
        };
        _cleanup_(ct_aggregate_freep) CtAggregate *a = NULL;
        _cleanup_(verb_netns_leavep) int netns_saved = -EBADF;
        bool by[_CT_BY_MAX] = {}, any_by = false, json = false;
        const char *netns = NULL;
        unsigned n = TOP_N_DEFAULT;
        CtLimits limits = CT_LIMITS_COMMAND;
        size_t n_by = 0;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "n:", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        if (parse_unsigned(optarg, &n) < 0 || n < 1 || n > TOP_N_MAX) {
                                log_error("Invalid -n '%s': expected 1..%u.", optarg, TOP_N_MAX);
                                return EX_USAGE;
                        }
                        break;
                case ARG_BY: {
                        unsigned mask;

                        if (ct_by_mask_from_string(optarg, &mask) < 0) {
                                log_error("Invalid --by '%s': expected a comma list of src, dst, dport, state and proto.",
                                          optarg);
                                return EX_USAGE;
                        }
                        for (CtBy b = 0; b < _CT_BY_MAX; b++)
                                if (mask & CT_BY_MASK(b))
                                        by[b] = true;
                        any_by = true;
                        break;
                }
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_NETNS:
                        netns = optarg;
                        break;
                default:
                        r = verb_other_option(c, usage);
                        if (r >= 0)
                                return r;
                }
        r = verb_no_more_args(argc, argv);
        if (r >= 0)
                return r;
        for (CtBy b = 0; b < _CT_BY_MAX; b++) {
                if (!any_by)
                        by[b] = true;
                n_by += by[b];
                if (by[b])
                        limits.dims |= CT_BY_MASK(b);   /* count only what is shown */
        }

        r = ct_aggregate_new(&limits, &a);
        if (r < 0)
                return log_oom(), EXIT_FAILURE;

        /* Entered for the dump alone: everything from here to the end reads that namespace. */
        if (netns) {
                r = verb_netns_enter(netns, &netns_saved);
                if (r < 0)
                        return r == -EINVAL ? EX_USAGE : EXIT_FAILURE;
        }

        /* Dumping would make the kernel load nf_conntrack if it is not there: say so instead. */
        sysctl_root = verb_sysctl_root();
        if (!sysctl_root)
                return log_oom(), EXIT_FAILURE;
        if (!ctstat_conntrack_loaded(arg_root)) {
                log_error("nf_conntrack is not loaded (no %s/net/netfilter/nf_conntrack_count): no table to list.",
                          sysctl_root);
                return EXIT_FAILURE;
        }

        r = ct_dump_all(a);
        if (r == -EPERM || r == -EACCES) {
                log_error_errno(r, "Reading the conntrack table needs CAP_NET_ADMIN: %m");
                return EXIT_FAILURE;
        }
        if (r == -EPROTONOSUPPORT || r == -ENOENT || r == -EOPNOTSUPP) {
                log_error_errno(r, "ctnetlink is not available (is nf_conntrack_netlink loaded?): %m");
                return EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to dump the conntrack table: %m");
                return EXIT_FAILURE;
        }

        if (ct_aggregate_truncated(a))
                log_warning("Stopped after %" PRIu64 " entries (the limit); counts are lower bounds.",
                            ct_aggregate_entries(a));
        if (ct_aggregate_unattributed_max(a) > 0)
                log_warning("Too many distinct keys: up to %" PRIu64 " entries were not attributed; "
                            "keys seen first after the limit are missing.",
                            ct_aggregate_unattributed_max(a));
        if (ct_aggregate_interrupted(a))
                log_warning("The table changed during the dump; some entries may be missing or counted twice.");

        r = json ? print_json(a, by, n) : print_text(a, by, n, n_by > 1);
        if (r < 0) {
                log_error_errno(r, "Failed to write the result: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
