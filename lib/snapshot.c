/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "macro.h"
#include "snapshot.h"
#include "sysctl.h"

bool sysctl_setting_followed(const SysctlSetting *s) {
        return s && s->origin && streq(s->origin, CONFIG_ORIGIN_FOLLOWED);
}

int config_add_followed(Config *c, const char *sysctl_root) {
        _cleanup_strv_free_ char **paths = NULL;
        int r;

        r = sysctl_followed_paths(sysctl_root, &paths);
        if (r < 0)
                return r;

        STRV_FOREACH(p, paths) {
                _cleanup_free_ char *v = NULL;
                const SysctlSetting *s = config_find_sysctl(c, *p);

                if (s && !sysctl_setting_followed(s))
                        continue;       /* assigned: owned, not followed */
                r = sysctl_read(sysctl_root, *p, &v);
                if (r == -ENOENT || r == -EACCES)
                        continue;
                if (r < 0)
                        return r;
                r = config_set_sysctl(c, *p, v, CONFIG_ORIGIN_FOLLOWED);
                if (r < 0)
                        return r;
        }
        return 0;
}
