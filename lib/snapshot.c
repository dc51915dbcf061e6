/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "macro.h"
#include "snapshot.h"
#include "sysctl.h"

int config_take_snapshot(Config *c, const char *sysctl_root) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        if (!c->sysctl_snapshot)
                return 0;

        r = sysctl_snapshot_paths(sysctl_root, &paths);
        if (r < 0)
                return r;

        STRV_FOREACH(p, paths) {
                _cleanup_free_ char *v = NULL;

                r = sysctl_read(sysctl_root, *p, &v);
                if (r == -ENOENT || r == -EACCES)
                        continue;
                if (r < 0)
                        return r;
                r = config_set_sysctl(c, *p, v, "snapshot");
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_inherit_snapshot(Config *new_config, const Config *old_config) {
        int r;

        if (!new_config->sysctl_snapshot || !old_config->sysctl_snapshot)
                return 0;

        for (size_t i = 0; i < old_config->n_sysctls; i++) {
                const SysctlSetting *s = &old_config->sysctls[i];

                r = config_set_sysctl(new_config, s->path, s->value, s->origin);
                if (r < 0)
                        return r;
        }
        return 0;
}
