/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Fault injection at the kernel boundary, for tests only: preloaded into an unmodified ctguard
 * (LD_PRELOAD), it makes a chosen call fail with a chosen errno, or return a short, truncated or
 * malformed result, on its Nth matching call. Nothing of it is in the daemon.
 *
 * Rules, separated by ';' or new lines, come from $CTGUARD_FAULT and from the file
 * $CTGUARD_FAULT_FILE, which is read again whenever it changes (so that a test can start and
 * clear a fault while the daemon runs; the counts of its rules start again then):
 *
 *   OP:TARGET:RESULT[:nth=N][:count=M]
 *
 *   OP      open (open, openat, fopen), read (read, pread), write (write, pwrite),
 *           recv (recv, recvfrom, recvmsg), send (send, sendto, sendmsg), rename,
 *           kmod_insert (kmod_module_insert_module, kmod_module_probe_insert_module),
 *           clock (clock_gettime)
 *   TARGET  a path glob (fnmatch(3)) for the file operations, matched against the path as the
 *           kernel resolves it (/proc/self/fd); "nfnetlink" or "uevent" for the sockets; a
 *           module name for kmod_insert; REALTIME, MONOTONIC or BOOTTIME for clock
 *   RESULT  an errno name (EBUSY); short=N (read, write, recv: at most N bytes); eof=N (read:
 *           the file ends after N bytes, as if rewritten while read); trunc (recv: the last
 *           message of the buffer cut four bytes short); garble (recv: the first attribute's
 *           length overruns its message); storm=N (recv on the uevent socket: N made-up
 *           module uevents, as if from the kernel); step=SECONDS (clock: added to what it
 *           reads, from the Nth call on, for good)
 *   nth     the first matching call that fails (default 1); count: how many fail from there
 *           (default 1; 0 means every one)
 *
 * Every fault injected is one line in $CTGUARD_FAULT_LOG: "fault SECONDS OP TARGET RESULT
 * WHAT", SECONDS on CLOCK_MONOTONIC.
 *
 * $CTGUARD_FAULT_KERNEL=DIR fakes module loading as kmod's testsuite fakes init_module(): a
 * module "inserted" through libkmod gets DIR/sys/module/NAME/initstate ("live"), and an open
 * of /sys/module/NAME is sent there when that exists; a module the host has loaded is absent
 * until then, a built-in one is as the host has it. $CTGUARD_FAULT_UNAME=RELEASE makes
 * uname(2) report that release, so that libkmod reads /lib/modules/RELEASE.
 *
 * Under AddressSanitizer: clang links the sanitizer's runtime into the executable, whose
 * interceptors come first and call on to the next definition, which is this shim's; so the
 * shim works unchanged (with verify_asan_link_order=0 in ASAN_OPTIONS for a runtime that is
 * a library, as gcc's is). The shim allocates nothing: the runtime's allocator reads the
 * clock with its lock held. */

/* Both names of each call are defined here, open and open64 alike: the headers must not
 * rename one into the other. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libkmod.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define RULES_MAX 32
#define PATH_MAX_SHIM 4096

#define EXPORT __attribute__((visibility("default")))

typedef enum Kind {
        KIND_ERRNO,
        KIND_SHORT,
        KIND_TRUNC,
        KIND_GARBLE,
        KIND_STORM,
        KIND_STEP,
        KIND_EOF,
} Kind;

typedef struct Rule {
        char op[16];
        char target[512];
        char result[32];
        Kind kind;
        long arg;               /* errno, bytes, events or seconds */
        unsigned long nth, count;
        unsigned long seen, fired;
        bool from_file;
} Rule;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Rule rules[RULES_MAX];
static size_t n_rules;
static bool env_loaded;
static struct stat file_st;
static bool file_seen;
static __thread int busy;       /* our own calls pass through */

static int uevent_fd = -1;
static bool plant_pending;
static unsigned long storm_left, storm_seq;
static struct Rule *storm_rule;
static struct Rule *damage_rule;        /* the trunc or garble rule of the recv under way */

/* ---- the real functions ---- */

#define REAL(ret, name, ...)                                                   \
        static ret (*real_##name)(__VA_ARGS__);                                \
        static ret (*get_##name(void))(__VA_ARGS__) {                          \
                if (!real_##name)                                              \
                        real_##name = dlsym(RTLD_NEXT, #name);                 \
                return real_##name;                                            \
        }

REAL(int, open, const char *, int, ...)
REAL(int, open64, const char *, int, ...)
REAL(int, openat, int, const char *, int, ...)
REAL(int, openat64, int, const char *, int, ...)
REAL(FILE *, fopen, const char *, const char *)
REAL(FILE *, fopen64, const char *, const char *)
REAL(ssize_t, read, int, void *, size_t)
REAL(ssize_t, pread, int, void *, size_t, off_t)
REAL(ssize_t, pread64, int, void *, size_t, off_t)
REAL(ssize_t, write, int, const void *, size_t)
REAL(ssize_t, pwrite, int, const void *, size_t, off_t)
REAL(ssize_t, pwrite64, int, const void *, size_t, off_t)
REAL(ssize_t, recv, int, void *, size_t, int)
REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *)
REAL(ssize_t, recvmsg, int, struct msghdr *, int)
REAL(ssize_t, send, int, const void *, size_t, int)
REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t)
REAL(ssize_t, sendmsg, int, const struct msghdr *, int)
REAL(int, rename, const char *, const char *)
REAL(int, renameat, int, const char *, int, const char *)
REAL(int, socket, int, int, int)
REAL(int, clock_gettime, clockid_t, struct timespec *)
REAL(int, uname, struct utsname *)
REAL(int, kmod_module_insert_module, struct kmod_module *, unsigned int, const char *)
REAL(int, kmod_module_probe_insert_module, struct kmod_module *, unsigned int, const char *,
     int (*)(struct kmod_module *, const char *, void *), const void *,
     void (*)(struct kmod_module *, bool, const char *))
REAL(const char *, kmod_module_get_name, const struct kmod_module *)

/* ---- the rules ---- */

static const struct {
        const char *name;
        int value;
} errnos[] = {
#define E(x) { #x, x }
        E(EPERM), E(ENOENT), E(EINTR), E(EIO), E(EBADF), E(EAGAIN), E(ENOMEM), E(EACCES),
        E(EBUSY), E(EEXIST), E(ENODEV), E(EINVAL), E(ENOSPC), E(EROFS), E(ENOBUFS),
        E(EMSGSIZE), E(ECONNREFUSED), E(ETIMEDOUT), E(EBADMSG), E(ENOSYS), E(EFAULT),
#undef E
};

static bool parse_rule(char *s, bool from_file, Rule *ret) {
        char *f[8], *save = NULL, *t;
        size_t n = 0;
        Rule r = { .nth = 1, .count = 1, .from_file = from_file };

        for (t = strtok_r(s, ":", &save); t && n < 8; t = strtok_r(NULL, ":", &save))
                f[n++] = t;
        if (n < 3)
                return false;
        snprintf(r.op, sizeof(r.op), "%s", f[0]);
        snprintf(r.target, sizeof(r.target), "%s", f[1]);
        snprintf(r.result, sizeof(r.result), "%s", f[2]);

        if (strncmp(f[2], "short=", 6) == 0) {
                r.kind = KIND_SHORT;
                r.arg = strtol(f[2] + 6, NULL, 10);
        } else if (strcmp(f[2], "trunc") == 0)
                r.kind = KIND_TRUNC;
        else if (strncmp(f[2], "eof=", 4) == 0) {
                r.kind = KIND_EOF;
                r.arg = strtol(f[2] + 4, NULL, 10);
        } else if (strcmp(f[2], "garble") == 0)
                r.kind = KIND_GARBLE;
        else if (strncmp(f[2], "storm=", 6) == 0) {
                r.kind = KIND_STORM;
                r.arg = strtol(f[2] + 6, NULL, 10);
        } else if (strncmp(f[2], "step=", 5) == 0) {
                r.kind = KIND_STEP;
                r.arg = strtol(f[2] + 5, NULL, 10);
        } else {
                size_t i;

                for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
                        if (strcmp(errnos[i].name, f[2]) == 0)
                                break;
                if (i == sizeof(errnos) / sizeof(errnos[0]))
                        return false;
                r.kind = KIND_ERRNO;
                r.arg = errnos[i].value;
        }
        for (size_t i = 3; i < n; i++) {
                if (strncmp(f[i], "nth=", 4) == 0)
                        r.nth = strtoul(f[i] + 4, NULL, 10);
                else if (strncmp(f[i], "count=", 6) == 0)
                        r.count = strtoul(f[i] + 6, NULL, 10);
        }
        if (r.nth == 0)
                r.nth = 1;
        *ret = r;
        return true;
}

/* No allocation anywhere in here: the sanitizers' allocator reads the clock with its lock
 * held, and a malloc() from the clock_gettime() wrapper would wait for that lock for good. */
static void parse_rules(const char *text, bool from_file) {
        char copy[8192], *save = NULL, *t;

        snprintf(copy, sizeof(copy), "%s", text);
        for (t = strtok_r(copy, ";\n", &save); t; t = strtok_r(NULL, ";\n", &save)) {
                while (*t == ' ' || *t == '\t')
                        t++;
                if (*t == '\0' || *t == '#')
                        continue;
                if (n_rules < RULES_MAX && parse_rule(t, from_file, &rules[n_rules])) {
                        if (strcmp(rules[n_rules].target, "uevent") == 0 &&
                            strcmp(rules[n_rules].op, "recv") == 0)
                                plant_pending = true;
                        n_rules++;
                } else
                        fprintf(stderr, "ctguard fault shim: ignoring rule '%s'\n", t);
        }
}

static void file_reload(void) {
        const char *path = getenv("CTGUARD_FAULT_FILE");
        struct stat st;
        char buf[8192];
        ssize_t n;
        size_t k = 0;
        int fd;

        if (!path)
                return;
        if (stat(path, &st) < 0)
                memset(&st, 0, sizeof(st));
        if (file_seen && st.st_ino == file_st.st_ino && st.st_size == file_st.st_size &&
            st.st_mtim.tv_sec == file_st.st_mtim.tv_sec &&
            st.st_mtim.tv_nsec == file_st.st_mtim.tv_nsec)
                return;
        file_seen = true;
        file_st = st;

        for (size_t i = 0; i < n_rules; i++)
                if (!rules[i].from_file)
                        rules[k++] = rules[i];
        n_rules = k;
        storm_left = 0;
        storm_rule = NULL;
        damage_rule = NULL;

        fd = get_open()(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        n = get_read()(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return;
        buf[n] = '\0';
        parse_rules(buf, true);
}

static void fault_log(const Rule *r, const char *what) {
        const char *path = getenv("CTGUARD_FAULT_LOG");
        struct timespec ts = {};
        char line[1024];
        int fd, n;

        if (!path)
                return;
        (void) get_clock_gettime()(CLOCK_MONOTONIC, &ts);
        n = snprintf(line, sizeof(line), "fault %lld.%03ld %s %s %s %s\n", (long long) ts.tv_sec,
                     ts.tv_nsec / 1000000, r->op, r->target, r->result, what ? what : "-");
        fd = get_open()(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        (void) !get_write()(fd, line, (size_t) (n < (int) sizeof(line) ? n : (int) sizeof(line) - 1));
        close(fd);
}

static void plant(void);

/* Reloads what changed; with the lock held. */
static void refresh(void) {
        if (!env_loaded) {
                const char *e = getenv("CTGUARD_FAULT");

                env_loaded = true;
                if (e)
                        parse_rules(e, false);
        }
        file_reload();
        if (plant_pending)
                plant();
}

static bool any_rule(const char *op) {
        for (size_t i = 0; i < n_rules; i++)
                if (strcmp(rules[i].op, op) == 0)
                        return true;
        return false;
}

/* The rule that fires for this call, counting the call; or NULL. */
static Rule *match(const char *op, const char *target, const char *what) {
        for (size_t i = 0; i < n_rules; i++) {
                Rule *r = rules + i;

                if (strcmp(r->op, op) != 0 || !target ||
                    fnmatch(r->target, target, 0) != 0)
                        continue;
                r->seen++;
                if (r->kind == KIND_STEP && r->seen >= r->nth) {
                        if (r->fired++ == 0)
                                fault_log(r, what ? what : target);
                        return r;
                }
                if (r->seen < r->nth || (r->count > 0 && r->fired >= r->count))
                        continue;
                r->fired++;
                if (r->kind != KIND_STORM && r->kind != KIND_TRUNC && r->kind != KIND_GARBLE)
                        fault_log(r, what ? what : target);
                return r;
        }
        return NULL;
}

/* Enter the shim: false if this is our own call, or there is nothing to do for op. */
static bool enter(const char *op) {
        if (busy)
                return false;
        busy++;
        pthread_mutex_lock(&lock);
        refresh();
        if (op && !any_rule(op)) {
                pthread_mutex_unlock(&lock);
                busy--;
                return false;
        }
        return true;
}

static void leave(void) {
        pthread_mutex_unlock(&lock);
        busy--;
}

/* ---- what a call is about ---- */

static bool fd_path(int fd, char *buf, size_t size) {
        char p[64];
        ssize_t n;

        snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
        n = readlink(p, buf, size - 1);
        if (n < 0)
                return false;
        buf[n] = '\0';
        return true;
}

static void at_path(int dirfd, const char *path, char *buf, size_t size) {
        char dir[PATH_MAX_SHIM];

        if (!path) {
                buf[0] = '\0';
                return;
        }
        if (path[0] == '/' ) {
                snprintf(buf, size, "%s", path);
                return;
        }
        if (dirfd == AT_FDCWD) {
                if (!getcwd(dir, sizeof(dir)))
                        dir[0] = '\0';
        } else if (!fd_path(dirfd, dir, sizeof(dir)))
                dir[0] = '\0';
        snprintf(buf, size, "%s/%s", dir, path);
}

static const char *socket_kind(int fd) {
        int domain = 0, proto = 0;
        socklen_t l = sizeof(int);

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 || domain != AF_NETLINK)
                return NULL;
        l = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) < 0)
                return NULL;
        if (proto == NETLINK_NETFILTER)
                return "nfnetlink";
        if (proto == NETLINK_KOBJECT_UEVENT)
                return "uevent";
        return "netlink";
}

/* ---- the fake kernel's modules ---- */

static const char *kernel_dir(void) {
        return getenv("CTGUARD_FAULT_KERNEL");
}

/* What the fake kernel shows at path: 1 and the path to open instead in buf, -1 for a module
 * it has not loaded (one the host has loaded as a module, with an initstate: the fake
 * kernel starts without any), 0 to look at the real sysfs (built-in modules). */
static int fake_sysfs(const char *path, char *buf, size_t size) {
        const char *k = kernel_dir(), *name;
        char real[PATH_MAX_SHIM];
        struct stat st;
        size_t n;

        if (!k || !path || strncmp(path, "/sys/module/", 12) != 0)
                return 0;
        name = path + 12;
        n = strcspn(name, "/");
        if (n == 0)
                return 0;
        snprintf(buf, size, "%s/sys/module/%.*s", k, (int) n, name);
        if (stat(buf, &st) == 0) {
                snprintf(buf, size, "%s%s", k, path);
                return 1;
        }
        snprintf(real, sizeof(real), "/sys/module/%.*s/initstate", (int) n, name);
        return stat(real, &st) == 0 ? -1 : 0;
}

static void fake_load(const char *name) {
        char p[PATH_MAX_SHIM];
        int fd;

        snprintf(p, sizeof(p), "%s/sys", kernel_dir());
        (void) mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/sys/module", kernel_dir());
        (void) mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/sys/module/%s", kernel_dir(), name);
        (void) mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/sys/module/%s/refcnt", kernel_dir(), name);
        fd = get_open()(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
                (void) !get_write()(fd, "1\n", 2);
                close(fd);
        }
        snprintf(p, sizeof(p), "%s/sys/module/%s/initstate", kernel_dir(), name);
        fd = get_open()(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
                (void) !get_write()(fd, "live\n", 5);
                close(fd);
        }
}

/* ---- open ---- */

static int open_common(int dirfd, const char *path, int flags, mode_t mode, bool at, bool is64) {
        char full[PATH_MAX_SHIM], redirected[PATH_MAX_SHIM];
        const char *use = path;
        int e = 0;

        if (enter(NULL)) {
                Rule *r;

                at_path(at ? dirfd : AT_FDCWD, path, full, sizeof(full));
                r = match("open", full, NULL);
                if (r && r->kind == KIND_ERRNO)
                        e = (int) r->arg;
                if (!e) {
                        int f = fake_sysfs(full, redirected, sizeof(redirected));

                        if (f < 0)
                                e = ENOENT;
                        else if (f > 0) {
                                use = redirected;
                                at = false;
                        }
                }
                leave();
        }
        if (e) {
                errno = e;
                return -1;
        }
        if (at)
                return is64 ? get_openat64()(dirfd, use, flags, mode) : get_openat()(dirfd, use, flags, mode);
        return is64 ? get_open64()(use, flags, mode) : get_open()(use, flags, mode);
}

static mode_t mode_arg(int flags, va_list ap) {
        return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t) va_arg(ap, int) : 0;
}

EXPORT int open(const char *path, int flags, ...) {
        va_list ap;
        mode_t m;

        va_start(ap, flags);
        m = mode_arg(flags, ap);
        va_end(ap);
        return open_common(AT_FDCWD, path, flags, m, false, false);
}

EXPORT int open64(const char *path, int flags, ...) {
        va_list ap;
        mode_t m;

        va_start(ap, flags);
        m = mode_arg(flags, ap);
        va_end(ap);
        return open_common(AT_FDCWD, path, flags, m, false, true);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...) {
        va_list ap;
        mode_t m;

        va_start(ap, flags);
        m = mode_arg(flags, ap);
        va_end(ap);
        return open_common(dirfd, path, flags, m, true, false);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
        va_list ap;
        mode_t m;

        va_start(ap, flags);
        m = mode_arg(flags, ap);
        va_end(ap);
        return open_common(dirfd, path, flags, m, true, true);
}

static FILE *fopen_common(const char *path, const char *mode, bool is64) {
        char full[PATH_MAX_SHIM];
        int e = 0;

        if (enter("open")) {
                Rule *r;

                at_path(AT_FDCWD, path, full, sizeof(full));
                r = match("open", full, NULL);
                if (r && r->kind == KIND_ERRNO)
                        e = (int) r->arg;
                leave();
        }
        if (e) {
                errno = e;
                return NULL;
        }
        return is64 ? get_fopen64()(path, mode) : get_fopen()(path, mode);
}

EXPORT FILE *fopen(const char *path, const char *mode) {
        return fopen_common(path, mode, false);
}

EXPORT FILE *fopen64(const char *path, const char *mode) {
        return fopen_common(path, mode, true);
}

/* ---- read and write ---- */

/* The rule for an I/O call on fd: *ret_errno to fail it, *ret_limit to cap its size. */
static void io_rule(const char *op, int fd, int *ret_errno, size_t *ret_limit) {
        char path[PATH_MAX_SHIM];

        *ret_errno = 0;
        *ret_limit = SIZE_MAX;
        if (!enter(op))
                return;
        if (fd_path(fd, path, sizeof(path))) {
                Rule *r = match(op, path, NULL);

                if (r && r->kind == KIND_ERRNO)
                        *ret_errno = (int) r->arg;
                else if (r && r->kind == KIND_SHORT)
                        *ret_limit = (size_t) r->arg;
                else if (r && r->kind == KIND_EOF) {
                        /* The file ends here, wherever the reader is: as if rewritten in
                         * place while it was read. */
                        off_t at = lseek(fd, 0, SEEK_CUR);

                        *ret_limit = at >= 0 && at < r->arg ? (size_t) (r->arg - at) : 0;
                }
        }
        leave();
}

#define IO_WRAP(ret_expr)                                                      \
        do {                                                                   \
                int e_;                                                        \
                size_t l_;                                                     \
                io_rule(OP, fd, &e_, &l_);                                     \
                if (e_) {                                                      \
                        errno = e_;                                            \
                        return -1;                                             \
                }                                                              \
                if (count > l_)                                                \
                        count = l_;                                            \
                return ret_expr;                                               \
        } while (0)

#define OP "read"
EXPORT ssize_t read(int fd, void *buf, size_t count) {
        IO_WRAP(get_read()(fd, buf, count));
}
EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t off) {
        IO_WRAP(get_pread()(fd, buf, count, off));
}
EXPORT ssize_t pread64(int fd, void *buf, size_t count, off_t off) {
        IO_WRAP(get_pread64()(fd, buf, count, off));
}
#undef OP
#define OP "write"
EXPORT ssize_t write(int fd, const void *buf, size_t count) {
        IO_WRAP(get_write()(fd, buf, count));
}
EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t off) {
        IO_WRAP(get_pwrite()(fd, buf, count, off));
}
EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off) {
        IO_WRAP(get_pwrite64()(fd, buf, count, off));
}
#undef OP

EXPORT int rename(const char *from, const char *to) {
        char full[PATH_MAX_SHIM];
        int e = 0;

        if (enter("rename")) {
                Rule *r;

                at_path(AT_FDCWD, to, full, sizeof(full));
                r = match("rename", full, NULL);
                if (r && r->kind == KIND_ERRNO)
                        e = (int) r->arg;
                leave();
        }
        if (e) {
                errno = e;
                return -1;
        }
        return get_rename()(from, to);
}

EXPORT int renameat(int fromfd, const char *from, int tofd, const char *to) {
        char full[PATH_MAX_SHIM];
        int e = 0;

        if (enter("rename")) {
                Rule *r;

                at_path(tofd, to, full, sizeof(full));
                r = match("rename", full, NULL);
                if (r && r->kind == KIND_ERRNO)
                        e = (int) r->arg;
                leave();
        }
        if (e) {
                errno = e;
                return -1;
        }
        return get_renameat()(fromfd, from, tofd, to);
}

/* ---- sockets ---- */

EXPORT int socket(int domain, int type, int protocol) {
        int fd = get_socket()(domain, type, protocol);

        if (fd >= 0 && domain == AF_NETLINK && protocol == NETLINK_KOBJECT_UEVENT && !busy) {
                pthread_mutex_lock(&lock);
                uevent_fd = fd;
                pthread_mutex_unlock(&lock);
        }
        return fd;
}

/* A message from ourselves on the uevent socket keeps it readable while a rule makes up what
 * recvmsg() returns; the daemon ignores it once it gets it (it is not from the kernel). */
static void plant(void) {
        struct sockaddr_nl self = {};
        socklen_t l = sizeof(self);

        if (uevent_fd < 0 || getsockname(uevent_fd, (struct sockaddr *) &self, &l) < 0 ||
            self.nl_pid == 0)
                return;
        plant_pending = false;
        (void) get_sendto()(uevent_fd, "ctguard-fault", 14, 0, (struct sockaddr *) &self,
                            sizeof(self));
}

typedef enum RecvAction {
        RECV_REAL,
        RECV_ERRNO,
        RECV_LIMIT,
        RECV_TRUNC,
        RECV_GARBLE,
        RECV_STORM,
} RecvAction;

/* One made-up uevent of the storm. */
static RecvAction storm_next(void) {
        if (storm_left == 0)
                return RECV_REAL;
        if (--storm_left == 0 && storm_rule)
                fault_log(storm_rule, "done");
        return RECV_STORM;
}

static RecvAction recv_rule(const char *op, int fd, int *ret_errno, size_t *ret_limit) {
        RecvAction a = RECV_REAL;
        const char *kind;

        if (!enter(op))
                return RECV_REAL;
        kind = socket_kind(fd);
        if (kind && storm_left > 0 && strcmp(kind, "uevent") == 0)
                a = storm_next();
        else if (kind) {
                Rule *r = match(op, kind, NULL);

                if (r) {
                        switch (r->kind) {
                        case KIND_ERRNO:
                                *ret_errno = (int) r->arg;
                                a = RECV_ERRNO;
                                break;
                        case KIND_SHORT:
                                *ret_limit = (size_t) r->arg;
                                a = RECV_LIMIT;
                                break;
                        case KIND_TRUNC:
                                a = RECV_TRUNC;
                                damage_rule = r;
                                break;
                        case KIND_GARBLE:
                                a = RECV_GARBLE;
                                damage_rule = r;
                                break;
                        case KIND_STORM:
                                storm_rule = r;
                                storm_left = (unsigned long) r->arg;
                                fault_log(r, "start");
                                a = storm_next();
                                break;
                        case KIND_STEP:         /* clocks and files only */
                        case KIND_EOF:
                                break;
                        }
                }
        }
        leave();
        return a;
}

/* Cuts or spoils a netlink message received whole. Only a buffer with a message that has a
 * payload counts: a lone NLMSG_DONE is left alone, and the rule waits for the next one. */
static ssize_t recv_damage(RecvAction a, void *buf, ssize_t n) {
        bool applies = n >= (ssize_t) (NLMSG_HDRLEN + 4 + 4);

        if (a != RECV_TRUNC && a != RECV_GARBLE)
                return n;
        pthread_mutex_lock(&lock);
        if (damage_rule) {
                if (applies)
                        fault_log(damage_rule, "nfnetlink");
                else
                        damage_rule->fired--;
                damage_rule = NULL;
        }
        pthread_mutex_unlock(&lock);
        if (!applies)
                return n;
        /* Four bytes short: the last message of the buffer is cut inside. */
        if (a == RECV_TRUNC)
                return n - 4;
        /* After the header and nfgenmsg: the first attribute claims far more than the
         * message holds. */
        {
                uint16_t bad = 0xfff0;

                memcpy((char *) buf + NLMSG_HDRLEN + 4, &bad, sizeof(bad));
        }
        return n;
}

static size_t storm_message(char *buf, size_t size) {
        unsigned long s = ++storm_seq;
        int n;

        /* Mostly modules nobody guards; now and then a guarded one going, which asks for a
         * look at the chain. */
        if (s % 1000 == 0)
                n = snprintf(buf, size,
                             "remove@/module/nf_conntrack%cACTION=remove%cDEVPATH=/module/nf_conntrack%c"
                             "SUBSYSTEM=module%cSEQNUM=%lu%c", 0, 0, 0, 0, s, 0);
        else
                n = snprintf(buf, size,
                             "add@/module/storm%lu%cACTION=add%cDEVPATH=/module/storm%lu%c"
                             "SUBSYSTEM=module%cSEQNUM=%lu%c", s % 977, 0, 0, s % 977, 0, 0, s, 0);
        if (n < 0)
                return 0;
        return (size_t) n + 1 > size ? size : (size_t) n + 1;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
        size_t limit = SIZE_MAX;
        int e = 0;
        RecvAction a = recv_rule("recv", fd, &e, &limit);
        ssize_t n;

        if (a == RECV_ERRNO) {
                errno = e;
                return -1;
        }
        if (a == RECV_STORM && msg->msg_iovlen > 0) {
                struct sockaddr_nl *sa = msg->msg_name;
                size_t len = storm_message(msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len);

                if (sa && msg->msg_namelen >= sizeof(*sa)) {
                        memset(sa, 0, sizeof(*sa));
                        sa->nl_family = AF_NETLINK;
                        sa->nl_groups = 1;
                        msg->msg_namelen = sizeof(*sa);
                }
                if (msg->msg_control && msg->msg_controllen >= CMSG_SPACE(sizeof(struct ucred))) {
                        struct cmsghdr *c = msg->msg_control;
                        struct ucred cred = { .pid = 0, .uid = 0, .gid = 0 };

                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_CREDENTIALS;
                        c->cmsg_len = CMSG_LEN(sizeof(cred));
                        memcpy(CMSG_DATA(c), &cred, sizeof(cred));
                        msg->msg_controllen = CMSG_SPACE(sizeof(cred));
                } else
                        msg->msg_controllen = 0;
                msg->msg_flags = 0;
                return (ssize_t) len;
        }
        if (a == RECV_LIMIT && msg->msg_iovlen > 0 && msg->msg_iov[0].iov_len > limit) {
                struct iovec iov = { msg->msg_iov[0].iov_base, limit };
                struct iovec *saved = msg->msg_iov;
                size_t saved_len = msg->msg_iovlen;

                msg->msg_iov = &iov;
                msg->msg_iovlen = 1;
                n = get_recvmsg()(fd, msg, flags);
                msg->msg_iov = saved;
                msg->msg_iovlen = saved_len;
                return n;
        }
        n = get_recvmsg()(fd, msg, flags);
        if (msg->msg_iovlen > 0)
                n = recv_damage(a, msg->msg_iov[0].iov_base, n);
        return n;
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                        socklen_t *fromlen) {
        size_t limit = SIZE_MAX;
        int e = 0;
        RecvAction a = recv_rule("recv", fd, &e, &limit);

        if (a == RECV_ERRNO) {
                errno = e;
                return -1;
        }
        if (len > limit)
                len = limit;
        return recv_damage(a, buf, get_recvfrom()(fd, buf, len, flags, from, fromlen));
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags) {
        size_t limit = SIZE_MAX;
        int e = 0;
        RecvAction a = recv_rule("recv", fd, &e, &limit);

        if (a == RECV_ERRNO) {
                errno = e;
                return -1;
        }
        if (len > limit)
                len = limit;
        return recv_damage(a, buf, get_recv()(fd, buf, len, flags));
}

static int send_rule(int fd) {
        int e = 0;
        const char *kind;

        if (!enter("send"))
                return 0;
        kind = socket_kind(fd);
        if (kind) {
                Rule *r = match("send", kind, NULL);

                if (r && r->kind == KIND_ERRNO)
                        e = (int) r->arg;
        }
        leave();
        return e;
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                      socklen_t tolen) {
        int e = send_rule(fd);

        if (e) {
                errno = e;
                return -1;
        }
        return get_sendto()(fd, buf, len, flags, to, tolen);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags) {
        int e = send_rule(fd);

        if (e) {
                errno = e;
                return -1;
        }
        return get_send()(fd, buf, len, flags);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
        int e = send_rule(fd);

        if (e) {
                errno = e;
                return -1;
        }
        return get_sendmsg()(fd, msg, flags);
}

/* ---- time ---- */

static const char *clock_name(clockid_t id) {
        switch (id) {
        case CLOCK_REALTIME:
                return "REALTIME";
        case CLOCK_MONOTONIC:
                return "MONOTONIC";
        case CLOCK_BOOTTIME:
                return "BOOTTIME";
        default:
                return NULL;
        }
}

EXPORT int clock_gettime(clockid_t id, struct timespec *ts) {
        int r = get_clock_gettime()(id, ts);
        long step = 0;

        if (r < 0 || !clock_name(id) || !enter("clock"))
                return r;
        {
                Rule *m = match("clock", clock_name(id), NULL);

                if (m && m->kind == KIND_STEP)
                        step = m->arg;
        }
        leave();
        ts->tv_sec += step;
        return r;
}

EXPORT int uname(struct utsname *u) {
        const char *release = getenv("CTGUARD_FAULT_UNAME");
        int r = get_uname()(u);

        if (r >= 0 && release)
                snprintf(u->release, sizeof(u->release), "%s", release);
        return r;
}

/* ---- libkmod ---- */

/* 1: pretend, with *ret the answer; 0: call libkmod. */
static int kmod_fault(struct kmod_module *mod, int *ret) {
        const char *name = get_kmod_module_get_name() ? get_kmod_module_get_name()(mod) : NULL;
        int e = 0;

        if (!enter(NULL))
                return 0;
        {
                Rule *r = match("kmod_insert", name, name);

                if (r && r->kind == KIND_ERRNO)
                        e = (int) r->arg;
        }
        leave();
        if (!kernel_dir() && !e)
                return 0;
        /* Already there, as far as the fake kernel knows. */
        if (kernel_dir() && name && (e == 0 || e == EEXIST))
                fake_load(name);
        *ret = -e;
        return 1;
}

EXPORT int kmod_module_insert_module(struct kmod_module *mod, unsigned int flags,
                                     const char *options) {
        int r;

        if (kmod_fault(mod, &r))
                return r;
        return get_kmod_module_insert_module()(mod, flags, options);
}

EXPORT int kmod_module_probe_insert_module(struct kmod_module *mod, unsigned int flags,
                                           const char *extra_options,
                                           int (*run_install)(struct kmod_module *, const char *, void *),
                                           const void *data,
                                           void (*print_action)(struct kmod_module *, bool, const char *)) {
        int r;

        if (kmod_fault(mod, &r))
                return r;
        return get_kmod_module_probe_insert_module()(mod, flags, extra_options, run_install, data,
                                                     print_action);
}
