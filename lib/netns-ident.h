/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What a process's cgroup path says about the workload that owns it, for naming its network
 * namespace. Pure: parses the text of /proc/PID/cgroup (v2 "0::/path" and v1 lines alike).
 * Recognises kubelet's pod slices and directories (kubepods…pod<uid>…, the uid with '_' or '-'),
 * and the container scopes of containerd (cri-containerd-<id>.scope), CRI-O (crio-<id>),
 * Docker (docker-<id>.scope, /docker/<id>) and Podman (libpod-<id>.scope).
 *
 * Returns 0 and sets *ret_pod_uid / *ret_container_id to new strings or NULL for what the path
 * does not show; -ENOMEM. Either ret may be NULL. */
int netns_identify_cgroup(const char *text, char **ret_pod_uid, char **ret_container_id);
