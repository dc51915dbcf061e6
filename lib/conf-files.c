/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "conf-files.h"
#include "macro.h"
#include "run-file.h"

const char * const conf_dropin_dirs[] = {
        "/usr/lib/ctguard/" CONF_DROPIN_SUBDIR,
        "/usr/local/lib/ctguard/" CONF_DROPIN_SUBDIR,
        "/run/ctguard/" CONF_DROPIN_SUBDIR,
        "/etc/ctguard/" CONF_DROPIN_SUBDIR,
        NULL,
};

void conf_file_list_done(ConfFileList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].path);
        free(l->items);
        *l = (ConfFileList) {};
}

static int list_add(ConfFileList *l, const char *path, int error) {
        ConfFile *n;
        char *p;

        p = strdup(path);
        if (!p)
                return -ENOMEM;
        n = reallocarray(l->items, l->n + 1, sizeof(ConfFile));
        if (!n) {
                free(p);
                return -ENOMEM;
        }
        l->items = n;
        l->items[l->n++] = (ConfFile) { .path = p, .error = error };
        return 0;
}

int conf_trust_check(const struct stat *st) {
        if (st->st_uid != 0 && st->st_uid != geteuid())
                return -EPERM;
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return -EACCES;
        return 0;
}

int conf_dir_trust_check(const struct stat *st) {
        if (st->st_uid != 0 && st->st_uid != geteuid())
                return -EPERM;
        /* A sticky directory (/tmp) lets others add entries but not rename or remove ours, so
         * the next component, checked on its own, cannot be swapped under us. */
        if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX))
                return -EACCES;
        return 0;
}

int conf_parents_trust_check(const char *path, char **ret_dir) {
        _cleanup_free_ char *p = NULL;
        char *slash;
        int r;

        /* The real path: a symlinked directory is judged where it leads. */
        p = realpath(path, NULL);
        if (!p)
                return negative_errno();

        for (;;) {
                struct stat st;

                slash = strrchr(p, '/');
                if (!slash)
                        return 0;
                if (slash == p)
                        slash[1] = '\0';       /* "/" itself */
                else
                        *slash = '\0';
                if (stat(p, &st) < 0)
                        return negative_errno();
                r = conf_dir_trust_check(&st);
                if (r < 0) {
                        if (ret_dir) {
                                *ret_dir = strdup(p);
                                if (!*ret_dir)
                                        return -ENOMEM;
                        }
                        return r;
                }
                if (streq(p, "/"))
                        return 0;
        }
}

static char *path_join(const char *root, const char *path) {
        char *p;

        if (asprintf(&p, "%s%s", strempty(root), path) < 0)
                return NULL;
        return p;
}

typedef struct Dropin {
        char *name;
        char *path;     /* NULL: masked by a symlink to /dev/null */
} Dropin;

static int dropin_cmp(const void *a, const void *b) {
        return strcmp(((const Dropin *) a)->name, ((const Dropin *) b)->name);
}

static bool is_conf_name(const char *n) {
        size_t l = strlen(n);

        return n[0] != '.' && l > 5 && streq(n + l - 5, ".conf");
}

static bool is_masked(int dfd, const char *name) {
        char target[PATH_MAX];
        ssize_t k;

        k = readlinkat(dfd, name, target, sizeof(target) - 1);
        if (k < 0)
                return false;
        target[k] = '\0';
        return streq(target, "/dev/null");
}

/* The drop-ins found so far, by name: a later directory's file replaces an earlier one's. */
typedef struct Dropins {
        Dropin *d;
        size_t n;
} Dropins;

static void dropins_done(Dropins *ds) {
        for (size_t i = 0; i < ds->n; i++) {
                free(ds->d[i].name);
                free(ds->d[i].path);
        }
        free(ds->d);
}

/* path NULL: masked. Takes path. */
static int dropins_add(Dropins *ds, const char *name, char *path) {
        Dropin *nd;

        for (size_t i = 0; i < ds->n; i++)
                if (streq(ds->d[i].name, name)) {
                        /* Higher priority: replaces the lower one of the same name. */
                        free(ds->d[i].path);
                        ds->d[i].path = path;
                        return 0;
                }

        nd = reallocarray(ds->d, ds->n + 1, sizeof(Dropin));
        if (!nd) {
                free(path);
                return -ENOMEM;
        }
        ds->d = nd;
        ds->d[ds->n].name = strdup(name);
        if (!ds->d[ds->n].name) {
                free(path);
                return -ENOMEM;
        }
        ds->d[ds->n++].path = path;
        return 0;
}

/* The main file, unless it is missing. */
static int list_main(const char *root, const char *main_override, ConfFileList *l) {
        _cleanup_free_ char *p = NULL;
        struct stat st;

        if (main_override)
                return list_add(l, main_override, 0);

        p = path_join(root, CONF_MAIN_FILE);
        if (!p)
                return -ENOMEM;
        /* The main file is optional; any other failure is reported when it is read. */
        if (stat(p, &st) >= 0 || errno != ENOENT)
                return list_add(l, p, 0);
        return 0;
}

/* Adds the drop-ins of one directory to ds; a directory that cannot be read or is not trusted
 * is listed in l with its error. */
static int scan_dropin_dir(const char *root, const char *d, ConfFileList *l, Dropins *ds) {
        _cleanup_free_ char *dir = path_join(root, d);
        _cleanup_closedir_ DIR *dh = NULL;
        struct dirent *de;
        struct stat st;
        int r;

        if (!dir)
                return -ENOMEM;
        dh = opendir(dir);
        if (!dh) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return list_add(l, dir, negative_errno());
        }
        if (fstat(dirfd(dh), &st) < 0)
                return negative_errno();
        r = conf_trust_check(&st);
        if (r < 0)
                /* An untrusted directory is refused whole: its files are not read. */
                return list_add(l, dir, r);

        while ((errno = 0, de = readdir(dh))) {
                char *path = NULL;

                if (!is_conf_name(de->d_name))
                        continue;
                if (de->d_type == DT_DIR)
                        continue;

                if (!is_masked(dirfd(dh), de->d_name) &&
                    asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                r = dropins_add(ds, de->d_name, path);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return list_add(l, dir, negative_errno());
        return 0;
}

int conf_files_list(const char *root, const char *main_override, ConfFileList *ret) {
        _cleanup_(conf_file_list_done) ConfFileList l = {};
        _cleanup_(dropins_done) Dropins ds = {};
        int r;

        r = list_main(root, main_override, &l);
        if (r < 0)
                return r;

        for (const char * const *d = conf_dropin_dirs; *d; d++) {
                r = scan_dropin_dir(root, *d, &l, &ds);
                if (r < 0)
                        return r;
        }

        /* qsort() must not be handed NULL, even for no elements. */
        if (ds.n > 0)
                qsort(ds.d, ds.n, sizeof(Dropin), dropin_cmp);
        for (size_t i = 0; i < ds.n; i++) {
                if (!ds.d[i].path)
                        continue;
                r = list_add(&l, ds.d[i].path, 0);
                if (r < 0)
                        return r;
        }

        *ret = l;
        l = (ConfFileList) {};
        return 0;
}

int conf_file_read(const char *path, size_t max, char **ret_data, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = conf_trust_check(&st);
        if (r < 0)
                return r;
        if ((size_t) st.st_size > max)
                return -EFBIG;

        /* Read to the bound, not to st_size: the file may have grown since fstat(). */
        return read_fd_bounded(fd, max, ret_data, ret_size);
}
