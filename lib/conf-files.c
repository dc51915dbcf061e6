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

int conf_files_list(const char *root, const char *main_override, ConfFileList *ret) {
        _cleanup_(conf_file_list_done) ConfFileList l = {};
        Dropin *dropins = NULL;
        size_t n_dropins = 0;
        int r = 0;

        if (main_override) {
                r = list_add(&l, main_override, 0);
                if (r < 0)
                        return r;
        } else {
                _cleanup_free_ char *p = path_join(root, CONF_MAIN_FILE);
                struct stat st;

                if (!p)
                        return -ENOMEM;
                /* The main file is optional; any other failure is reported when it is read. */
                if (stat(p, &st) >= 0 || errno != ENOENT) {
                        r = list_add(&l, p, 0);
                        if (r < 0)
                                return r;
                }
        }

        for (const char * const *d = conf_dropin_dirs; *d; d++) {
                _cleanup_free_ char *dir = path_join(root, *d);
                _cleanup_closedir_ DIR *dh = NULL;
                struct dirent *de;
                struct stat st;
                int k;

                if (!dir) {
                        r = -ENOMEM;
                        goto finish;
                }
                dh = opendir(dir);
                if (!dh) {
                        if (errno == ENOENT || errno == ENOTDIR)
                                continue;
                        r = list_add(&l, dir, negative_errno());
                        if (r < 0)
                                goto finish;
                        continue;
                }
                if (fstat(dirfd(dh), &st) < 0) {
                        r = negative_errno();
                        goto finish;
                }
                k = conf_trust_check(&st);
                if (k < 0) {
                        /* An untrusted directory is refused whole: its files are not read. */
                        r = list_add(&l, dir, k);
                        if (r < 0)
                                goto finish;
                        continue;
                }

                while ((errno = 0, de = readdir(dh))) {
                        _cleanup_free_ char *path = NULL;
                        Dropin *found = NULL;

                        if (!is_conf_name(de->d_name))
                                continue;
                        if (de->d_type == DT_DIR)
                                continue;

                        if (!is_masked(dirfd(dh), de->d_name)) {
                                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                                        r = -ENOMEM;
                                        goto finish;
                                }
                        }

                        for (size_t i = 0; i < n_dropins; i++)
                                if (streq(dropins[i].name, de->d_name))
                                        found = &dropins[i];
                        if (found) {
                                /* Higher priority: replaces the lower one of the same name. */
                                free(found->path);
                                found->path = TAKE_PTR(path);
                                continue;
                        }

                        Dropin *nd = reallocarray(dropins, n_dropins + 1, sizeof(Dropin));
                        if (!nd) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        dropins = nd;
                        dropins[n_dropins].name = strdup(de->d_name);
                        if (!dropins[n_dropins].name) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        dropins[n_dropins++].path = TAKE_PTR(path);
                }
                if (errno != 0) {
                        r = list_add(&l, dir, negative_errno());
                        if (r < 0)
                                goto finish;
                }
        }

        /* qsort() must not be handed NULL, even for no elements. */
        if (n_dropins > 0)
                qsort(dropins, n_dropins, sizeof(Dropin), dropin_cmp);
        for (size_t i = 0; i < n_dropins; i++) {
                if (!dropins[i].path)
                        continue;
                r = list_add(&l, dropins[i].path, 0);
                if (r < 0)
                        goto finish;
        }

        *ret = l;
        l = (ConfFileList) {};
        r = 0;

finish:
        for (size_t i = 0; i < n_dropins; i++) {
                free(dropins[i].name);
                free(dropins[i].path);
        }
        free(dropins);
        return r;
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
