/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <string.h>

#include "macro.h"
#include "netns-ident.h"

/* A container id is a long lowercase hexadecimal string (64 characters from every runtime we
 * know; 12 is Docker's short form, the shortest we accept so that no ordinary word passes). */
#define CONTAINER_ID_MIN 12u
#define CONTAINER_ID_MAX 64u

/* A pod UID is a UUID (36 characters, '-' or, in systemd slice names, '_' between the groups),
 * or for a static pod the 32 hexadecimal characters of a hash. */
#define POD_UID_MIN 32u
#define POD_UID_MAX 36u

typedef struct Span {
        const char *p;
        size_t len;
} Span;

static bool span_has_prefix(Span s, const char *prefix) {
        size_t n = strlen(prefix);
        return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

static bool span_has_suffix(Span s, const char *suffix) {
        size_t n = strlen(suffix);
        return s.len >= n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

static Span span_strip(Span s, const char *prefix, const char *suffix) {
        size_t a = strlen(prefix), b = strlen(suffix);

        return (Span) { s.p + a, s.len - a - b };
}

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_container_id(Span s) {
        if (s.len < CONTAINER_ID_MIN || s.len > CONTAINER_ID_MAX)
                return false;
        for (size_t i = 0; i < s.len; i++)
                if (!is_hex(s.p[i]))
                        return false;
        return true;
}

static bool is_pod_uid(Span s) {
        size_t hex = 0;

        if (s.len < POD_UID_MIN || s.len > POD_UID_MAX)
                return false;
        for (size_t i = 0; i < s.len; i++) {
                char c = s.p[i];

                if (is_hex(c))
                        hex++;
                else if (c != '-' && c != '_')
                        return false;
        }
        return hex == 32;
}

/* "prefix<id>suffix" with a container id in between. */
static bool match_id(Span s, const char *prefix, const char *suffix, Span *ret) {
        Span id;

        if (!span_has_prefix(s, prefix) || s.len < strlen(prefix) + strlen(suffix) ||
            !span_has_suffix(s, suffix))
                return false;
        id = span_strip(s, prefix, suffix);
        if (!is_container_id(id))
                return false;
        *ret = id;
        return true;
}

/* The pod of one path component: "pod<uid>" (kubelet's cgroupfs driver) or
 * "kubepods[-QOS]-pod<uid>.slice" (its systemd driver, '-' in the uid escaped as '_'). */
static bool match_pod(Span s, Span *ret) {
        Span uid;

        if (span_has_prefix(s, "pod")) {
                uid = span_strip(s, "pod", "");
        } else if (span_has_prefix(s, "kubepods") && span_has_suffix(s, ".slice")) {
                const char *m = NULL;

                /* The last "-pod" of the name starts the uid. */
                for (size_t i = 0; i + 4 <= s.len; i++)
                        if (memcmp(s.p + i, "-pod", 4) == 0)
                                m = s.p + i;
                if (!m || m + 4 > s.p + s.len - strlen(".slice"))
                        return false;
                uid = (Span) { m + 4, (size_t) (s.p + s.len - strlen(".slice") - (m + 4)) };
        } else
                return false;
        if (!is_pod_uid(uid))
                return false;
        *ret = uid;
        return true;
}

/* The container of one path component. A bare id counts only right below a pod or "docker". */
static bool match_container(Span s, bool after_pod_or_docker, Span *ret) {
        static const struct {
                const char *prefix, *suffix;
        } forms[] = {
                { "cri-containerd-", ".scope" },        /* containerd, systemd driver */
                { "crio-",           ".scope" },        /* CRI-O, systemd driver */
                { "crio-",           "" },              /* CRI-O, cgroupfs driver */
                { "docker-",         ".scope" },        /* Docker, systemd driver */
                { "libpod-",         ".scope" },        /* Podman, systemd */
                { "libpod-",         "" },              /* Podman, cgroupfs */
        };

        for (size_t i = 0; i < ELEMENTSOF(forms); i++)
                if (match_id(s, forms[i].prefix, forms[i].suffix, ret))
                        return true;
        /* Docker's cgroupfs driver ("/docker/<id>"), and kubelet's ("/kubepods/QOS/pod<uid>/<id>"). */
        if (after_pod_or_docker && is_container_id(s)) {
                *ret = s;
                return true;
        }
        return false;
}

/* One path: the innermost pod and container it shows. */
static void identify_path(Span path, Span *ret_pod, Span *ret_container) {
        bool in_kubepods = false, after = false;
        const char *p = path.p, *end = path.p + path.len;

        while (p < end) {
                const char *e = memchr(p, '/', (size_t) (end - p));
                Span c, id;

                if (!e)
                        e = end;
                c = (Span) { p, (size_t) (e - p) };
                p = e + 1;
                if (c.len == 0)
                        continue;

                if (span_has_prefix(c, "kubepods"))
                        in_kubepods = true;
                if (in_kubepods && match_pod(c, &id)) {
                        *ret_pod = id;
                        after = true;
                        continue;
                }
                if (match_container(c, after, &id))
                        *ret_container = id;
                after = c.len == strlen("docker") && memcmp(c.p, "docker", c.len) == 0;
        }
}

static int span_dup(Span s, bool unescape, char **ret) {
        char *d;

        if (!ret)
                return 0;
        if (!s.p) {
                *ret = NULL;
                return 0;
        }
        d = strndup(s.p, s.len);
        if (!d)
                return -ENOMEM;
        if (unescape)
                for (char *c = d; *c; c++)
                        if (*c == '_')
                                *c = '-';
        *ret = d;
        return 0;
}

int netns_identify_cgroup(const char *text, char **ret_pod_uid, char **ret_container_id) {
        _cleanup_free_ char *pod = NULL;
        Span pod_span = {}, container_span = {};
        const char *line = text;

        /* Each line is "ID:CONTROLLERS:PATH" (one line "0::PATH" on cgroup v2, one per
         * hierarchy on v1, where the paths usually agree): the first line that shows a pod
         * names the pod, the first that shows a container names the container. */
        while (line && *line) {
                const char *nl = strchr(line, '\n'), *a, *b;
                const char *end = nl ?: line + strlen(line);
                Span pl = {}, cl = {};

                a = memchr(line, ':', (size_t) (end - line));
                b = a ? memchr(a + 1, ':', (size_t) (end - a - 1)) : NULL;
                if (b) {
                        identify_path((Span) { b + 1, (size_t) (end - b - 1) }, &pl, &cl);
                        if (!pod_span.p && pl.p)
                                pod_span = pl;
                        if (!container_span.p && cl.p)
                                container_span = cl;
                }
                line = nl ? nl + 1 : NULL;
        }

        if (span_dup(pod_span, true, &pod) < 0)
                return -ENOMEM;
        if (span_dup(container_span, false, ret_container_id) < 0)
                return -ENOMEM;
        if (ret_pod_uid)
                *ret_pod_uid = TAKE_PTR(pod);
        return 0;
}
