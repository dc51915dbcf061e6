/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fnmatch.h>

#include "macro.h"
#include "sysctl-key.h"

/* Patterns over normalised paths. With FNM_PATHNAME a '*' stays inside one component; the
 * netfilter subtree has nested keys (net.netfilter.nf_log.2), so its '*' may cross. */
static const struct {
        const char *pattern;
        int flags;
} allow_list[] = {
        { "net/netfilter/*",             0 },
        { "net/ipv4/ip_forward",         FNM_PATHNAME },
        { "net/ipv4/conf/*/forwarding",  FNM_PATHNAME },
        { "net/ipv6/conf/*/forwarding",  FNM_PATHNAME },
        { "net/bridge/bridge-nf-call-*", FNM_PATHNAME },
};

const char sysctl_allow_list_text[] =
        "net.netfilter.*, net.ipv4.ip_forward, net.ipv4.conf.*.forwarding, "
        "net.ipv6.conf.*.forwarding, net.bridge.bridge-nf-call-*";

static bool valid_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.' || c == '/';
}

/* Interface names may have capitals ("Lan0"); only the interface component of
 * net/ipv{4,6}/conf/<if>/... accepts them, the rest of a key stays lower-case. */
static bool valid_char_or_upper(char c) {
        return valid_char(c) || (c >= 'A' && c <= 'Z');
}

static bool is_interface_component(const char *path, const char *component) {
        size_t k = (size_t) (component - path);

        return (k == strlen("net/ipv4/conf/") && strncmp(path, "net/ipv4/conf/", k) == 0) ||
               (k == strlen("net/ipv6/conf/") && strncmp(path, "net/ipv6/conf/", k) == 0);
}

/* A normalised path: only valid characters, components separated by single '/', none of them
 * empty, "." or "..". The netfilter pattern's '*' crosses '/', so without this check
 * "net/netfilter/../../kernel/sysrq" would match it. */
static bool path_normalized(const char *path) {
        const char *c = path;

        for (;;) {
                size_t k = strcspn(c, "/");

                if (k == 0)
                        return false;
                if ((k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                bool iface = is_interface_component(path, c);

                for (size_t i = 0; i < k; i++)
                        if (!(iface ? valid_char_or_upper(c[i]) : valid_char(c[i])))
                                return false;
                c += k;
                if (*c == '\0')
                        return true;
                c++;
        }
}

bool sysctl_path_allowed(const char *path) {
        if (!path || strlen(path) > SYSCTL_KEY_MAX || !path_normalized(path))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(allow_list); i++)
                if (fnmatch(allow_list[i].pattern, path, allow_list[i].flags) == 0)
                        return true;
        return false;
}

int sysctl_key_normalize(const char *key, char **ret_path) {
        _cleanup_free_ char *p = NULL;
        const char *sep;
        size_t n;

        if (!key || *key == '\0')
                return -EINVAL;
        n = strlen(key);
        if (n > SYSCTL_KEY_MAX)
                return -EINVAL;

        /* Capitals are judged per component once the separators are known. */
        for (const char *c = key; *c; c++)
                if (!valid_char_or_upper(*c))
                        return -EINVAL;

        /* Either spelling of a doubled separator is refused: dotted, ".." is an empty component
         * and "//" would become ".." inside one; slashed, it is the other way round. */
        if (strstr(key, "..") || strstr(key, "//"))
                return -EINVAL;

        p = strdup(key);
        if (!p)
                return -ENOMEM;

        /* Swap separators when the key is dotted, as sysctl.d(5) does. */
        sep = strpbrk(key, "./");
        if (sep && *sep == '.')
                for (char *c = p; *c; c++) {
                        if (*c == '.')
                                *c = '/';
                        else if (*c == '/')
                                *c = '.';
                }

        /* Every component must be non-empty and neither "." nor "..". */
        if (!path_normalized(p))
                return -EINVAL;

        if (!sysctl_path_allowed(p))
                return -EPERM;

        *ret_path = TAKE_PTR(p);
        return 0;
}

char *sysctl_path_to_key(const char *path) {
        char *k = strdup(path);

        if (!k)
                return NULL;
        for (char *c = k; *c; c++) {
                if (*c == '/')
                        *c = '.';
                else if (*c == '.')
                        *c = '/';
        }
        return k;
}
