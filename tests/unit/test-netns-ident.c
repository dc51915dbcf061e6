/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Naming a namespace's workload from its representative's /proc/PID/cgroup: the paths as
 * kubelet (both cgroup drivers), containerd, CRI-O, Docker and Podman lay them out, and the
 * paths that show no workload at all. */

#include <check.h>

#include "macro.h"
#include "netns-ident.h"

#define UID "8d1c4f7e-2b3a-4c5d-9e6f-0a1b2c3d4e5f"
#define UID_ "8d1c4f7e_2b3a_4c5d_9e6f_0a1b2c3d4e5f"
#define ID "3f5a9c2e7b1d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f4a"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
        const char *name;
        const char *text;
        const char *pod;        /* NULL: none */
        const char *container;
} cases[] = {
        /* kubelet, systemd driver, containerd: the uid's '-' escaped as '_'. */
        { "kubelet systemd burstable, containerd",
          "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope\n",
          UID, ID },
        { "kubelet systemd besteffort, CRI-O",
          "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-" ID ".scope\n",
          UID, ID },
        { "kubelet systemd guaranteed (no QoS slice)",
          "0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope\n", UID, ID },
        { "kubelet systemd, the pod's sandbox slice itself",
          "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice\n", UID, NULL },
        { "CRI-O's conmon is no container",
          "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-conmon-" ID ".scope\n",
          UID, NULL },
        /* kubelet, cgroupfs driver: the uid with '-', the container a bare id below it. */
        { "kubelet cgroupfs burstable",
          "0::/kubepods/burstable/pod" UID "/" ID "\n", UID, ID },
        { "kubelet cgroupfs guaranteed", "0::/kubepods/pod" UID "/" ID "\n", UID, ID },
        { "kubelet cgroupfs, CRI-O", "0::/kubepods/besteffort/pod" UID "/crio-" ID "\n", UID, ID },
        { "a static pod's uid is a hash",
          "0::/kubepods/burstable/pod0f1e2d3c4b5a69788796a5b4c3d2e1f0/" ID "\n",
          "0f1e2d3c4b5a69788796a5b4c3d2e1f0", ID },
        /* Docker and Podman outside Kubernetes. */
        { "docker, systemd driver", "0::/system.slice/docker-" ID ".scope\n", NULL, ID },
        { "docker, cgroupfs driver", "0::/docker/" ID "\n", NULL, ID },
        { "docker, a process below the scope (init.scope of a systemd container)",
          "0::/system.slice/docker-" ID ".scope/init.scope\n", NULL, ID },
        { "podman", "0::/machine.slice/libpod-" ID ".scope\n", NULL, ID },
        { "podman rootless",
          "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope\n", NULL, ID },
        { "podman's conmon is no container",
          "0::/machine.slice/libpod-conmon-" ID ".scope\n", NULL, NULL },
        { "podman, cgroupfs", "0::/libpod_parent/libpod-" ID "\n", NULL, ID },
        { "nested: the innermost container",
          "0::/system.slice/docker-" ID ".scope/docker/" ID2 "\n", NULL, ID2 },
        /* cgroup v1: one line per hierarchy; every one agrees, or some are at the root. */
        { "v1 docker",
          "12:pids:/docker/" ID "\n11:memory:/docker/" ID "\n1:name=systemd:/docker/" ID "\n0::/\n", NULL, ID },
        { "v1 kubelet cgroupfs, some hierarchies at the root",
          "12:hugetlb:/\n11:cpu,cpuacct:/kubepods/burstable/pod" UID "/" ID "\n"
          "10:memory:/kubepods/burstable/pod" UID "/" ID "\n1:name=systemd:/kubepods/burstable/pod" UID "/" ID "\n",
          UID, ID },
        { "v1 kubelet systemd",
          "5:devices:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope\n"
          "1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" ID ".scope",
          UID, ID },
        /* Nothing to name. */
        { "the host's init", "0::/init.scope\n", NULL, NULL },
        { "a systemd service", "0::/system.slice/nginx.service\n", NULL, NULL },
        { "the docker daemon itself", "0::/system.slice/docker.service\n", NULL, NULL },
        { "a user session", "0::/user.slice/user-1000.slice/session-3.scope\n", NULL, NULL },
        { "the root", "0::/\n", NULL, NULL },
        { "empty", "", NULL, NULL },
        { "no colons", "garbage\n", NULL, NULL },
        { "a bare id outside docker or a pod is no container", "0::/system.slice/" ID "\n", NULL, NULL },
        { "too short an id", "0::/system.slice/docker-abc123.scope\n", NULL, NULL },
        { "upper-case is no id", "0::/docker/3F5A9C2E7B1D4F6A8C0E2B4D\n", NULL, NULL },
        { "a pod outside kubepods is no pod", "0::/system.slice/pod" UID "/" ID "\n", NULL, NULL },
        { "a short uid is no uid", "0::/kubepods/burstable/pod1234/" ID "\n", NULL, NULL },
        { "kubepods slice without a pod", "0::/kubepods.slice/kubepods-burstable.slice\n", NULL, NULL },
};

START_TEST(test_identify) {
        _cleanup_free_ char *pod = (char *) 1, *container = (char *) 1;

        ck_assert_int_eq(netns_identify_cgroup(cases[_i].text, &pod, &container), 0);
        ck_assert_msg(cases[_i].pod ? pod && streq(pod, cases[_i].pod) : !pod,
                      "%s: pod '%s', want '%s'", cases[_i].name, strempty(pod), strempty(cases[_i].pod));
        ck_assert_msg(cases[_i].container ? container && streq(container, cases[_i].container) : !container,
                      "%s: container '%s', want '%s'", cases[_i].name, strempty(container),
                      strempty(cases[_i].container));
}
END_TEST

/* Either output may be left out. */
START_TEST(test_identify_one_output) {
        _cleanup_free_ char *pod = NULL, *container = NULL;
        const char *t = cases[0].text;

        ck_assert_int_eq(netns_identify_cgroup(t, &pod, NULL), 0);
        ck_assert_str_eq(pod, UID);
        ck_assert_int_eq(netns_identify_cgroup(t, NULL, &container), 0);
        ck_assert_str_eq(container, ID);
        ck_assert_int_eq(netns_identify_cgroup(t, NULL, NULL), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("netns-ident");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_identify, 0, ELEMENTSOF(cases));
        tcase_add_test(tc, test_identify_one_output);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
