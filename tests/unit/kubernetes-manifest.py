#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks deploy/kubernetes/ctguard.yaml without a cluster: kubectl's client-side dry run needs
# an API server even for --validate=false (it maps kinds to resources through discovery), and
# Debian ships no offline validator. So this checks what the API server would reject and what
# the project promises:
#  - every object has apiVersion/kind/metadata.name, and each field used is one the v1/apps/v1
#    schema knows for that object (a typo such as "hostNetwrok" is an unknown field, which
#    "kubectl apply --validate=strict" refuses);
#  - the DaemonSet's selector matches its template's labels, each volumeMount names a volume,
#    each container has a name and an image;
#  - hostNetwork, exactly NET_ADMIN and SYS_MODULE added to an ALL-dropped set, not privileged;
#    /lib/modules read-only; the ConfigMap mounted at /etc/ctguard/ctguard.conf.d;
#  - tolerations that match every taint, resource requests, an exec liveness probe that runs
#    "ctguard status" and treats 3 (UNKNOWN) as dead and 0-2 as alive;
#  - every drop-in of the ConfigMap passes "ctguard check-config".
# Usage: kubernetes-manifest.py MANIFEST CTGUARD
import os
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: needs python3-yaml")
    sys.exit(77)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


# The fields of the Kubernetes 1.32 schema (io.k8s.api.*) for the parts the manifest uses.
SCHEMA = {
    "object": {"apiVersion", "kind", "metadata", "spec", "data", "binaryData", "immutable"},
    "metadata": {"name", "namespace", "labels", "annotations"},
    "daemonset.spec": {"selector", "template", "updateStrategy", "minReadySeconds",
                       "revisionHistoryLimit"},
    "updateStrategy": {"type", "rollingUpdate"},
    "rollingUpdate": {"maxUnavailable", "maxSurge"},
    "template": {"metadata", "spec"},
    "pod.spec": {"hostNetwork", "hostPID", "hostIPC", "dnsPolicy", "priorityClassName",
                 "tolerations", "terminationGracePeriodSeconds",
                 "automountServiceAccountToken", "serviceAccountName", "containers",
                 "initContainers", "volumes", "nodeSelector", "affinity", "securityContext"},
    "toleration": {"key", "operator", "value", "effect", "tolerationSeconds"},
    "container": {"name", "image", "imagePullPolicy", "command", "args", "env",
                  "securityContext", "resources", "livenessProbe", "readinessProbe",
                  "startupProbe", "volumeMounts", "ports"},
    "securityContext": {"privileged", "allowPrivilegeEscalation", "readOnlyRootFilesystem",
                        "runAsUser", "runAsGroup", "runAsNonRoot", "capabilities",
                        "seccompProfile", "procMount", "appArmorProfile"},
    "capabilities": {"add", "drop"},
    "seccompProfile": {"type", "localhostProfile"},
    "resources": {"requests", "limits", "claims"},
    "probe": {"exec", "httpGet", "tcpSocket", "grpc", "initialDelaySeconds", "periodSeconds",
              "timeoutSeconds", "failureThreshold", "successThreshold",
              "terminationGracePeriodSeconds"},
    "exec": {"command"},
    "volumeMount": {"name", "mountPath", "readOnly", "subPath", "mountPropagation",
                    "recursiveReadOnly", "subPathExpr"},
    "volume": {"name", "hostPath", "configMap", "emptyDir", "secret", "projected"},
    "hostPath": {"path", "type"},
    "configMap": {"name", "items", "defaultMode", "optional"},
}
HOSTPATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket",
                  "CharDevice", "BlockDevice"}


def fields(obj, kind, where):
    check(isinstance(obj, dict), f"{where}: not a mapping")
    if isinstance(obj, dict):
        for k in obj:
            check(k in SCHEMA[kind], f"{where}: unknown field {k!r}")
    return obj if isinstance(obj, dict) else {}


def main():
    manifest, ctguard = sys.argv[1], sys.argv[2]
    with open(manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]

    objs = {}
    for d in docs:
        fields(d, "object", "object")
        meta = fields(d.get("metadata"), "metadata", f"{d.get('kind')}.metadata")
        check(d.get("apiVersion") and d.get("kind") and meta.get("name"),
              "an object lacks apiVersion, kind or metadata.name")
        objs[(d.get("apiVersion"), d.get("kind"))] = d

    cm = objs.get(("v1", "ConfigMap"))
    ds = objs.get(("apps/v1", "DaemonSet"))
    check(cm is not None, "no v1 ConfigMap")
    check(ds is not None, "no apps/v1 DaemonSet")
    if not cm or not ds:
        return

    spec = fields(ds.get("spec"), "daemonset.spec", "spec")
    us = fields(spec.get("updateStrategy", {}), "updateStrategy", "spec.updateStrategy")
    fields(us.get("rollingUpdate", {}), "rollingUpdate", "spec.updateStrategy.rollingUpdate")
    tmpl = fields(spec.get("template"), "template", "spec.template")
    labels = fields(tmpl.get("metadata"), "metadata", "spec.template.metadata").get("labels", {})
    sel = spec.get("selector", {}).get("matchLabels", {})
    check(sel and all(labels.get(k) == v for k, v in sel.items()),
          "spec.selector.matchLabels does not match the template's labels")

    pod = fields(tmpl.get("spec"), "pod.spec", "pod spec")
    check(pod.get("hostNetwork") is True, "hostNetwork is not true")
    check(pod.get("dnsPolicy") == "ClusterFirstWithHostNet",
          "dnsPolicy should be ClusterFirstWithHostNet with hostNetwork")
    tols = pod.get("tolerations", [])
    for t in tols:
        fields(t, "toleration", "toleration")
    check(any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t
              for t in tols), "no toleration matches every taint")

    volumes = {}
    for v in pod.get("volumes", []):
        fields(v, "volume", "volume")
        volumes[v.get("name")] = v
        if "hostPath" in v:
            hp = fields(v["hostPath"], "hostPath", f"volume {v.get('name')}.hostPath")
            check(hp.get("type", "") in HOSTPATH_TYPES, f"volume {v.get('name')}: bad hostPath type")
        if "configMap" in v:
            fields(v["configMap"], "configMap", f"volume {v.get('name')}.configMap")

    containers = pod.get("containers", [])
    check(len(containers) == 1, "not exactly one container")
    for c in containers:
        fields(c, "container", "container")
        check(c.get("name") and c.get("image"), "a container lacks name or image")
        sc = fields(c.get("securityContext"), "securityContext", "securityContext")
        caps = fields(sc.get("capabilities"), "capabilities", "capabilities")
        fields(sc.get("seccompProfile", {}), "seccompProfile", "seccompProfile")
        check(sorted(caps.get("add", [])) == ["NET_ADMIN", "SYS_MODULE"],
              f"capabilities.add is {caps.get('add')}, not NET_ADMIN and SYS_MODULE")
        check(caps.get("drop") == ["ALL"], "capabilities.drop is not [ALL]")
        check(sc.get("privileged") is False, "the container is not explicitly unprivileged")
        check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation is not false")

        res = fields(c.get("resources"), "resources", "resources")
        req = res.get("requests", {})
        check("cpu" in req and "memory" in req, "resources.requests lacks cpu or memory")

        probe = fields(c.get("livenessProbe"), "probe", "livenessProbe")
        cmd = fields(probe.get("exec"), "exec", "livenessProbe.exec").get("command", [])
        check(any("ctguard status" in a for a in cmd), "the liveness probe does not run ctguard status")
        # The probe's verdict for each exit status of "ctguard status".
        if cmd[:2] == ["/bin/sh", "-c"] and len(cmd) == 3:
            script = cmd[2].replace("/usr/sbin/ctguard", "fake_ctguard")
            for rc, alive in ((0, True), (1, True), (2, True), (3, False), (4, False)):
                r = subprocess.run(["/bin/sh", "-c", f"fake_ctguard() {{ return {rc}; }}; {script}"])
                check((r.returncode == 0) == alive,
                      f"the liveness probe says {'alive' if r.returncode == 0 else 'dead'} "
                      f"for status exit {rc}")
        else:
            failures.append("the liveness probe is not /bin/sh -c SCRIPT")

        mounts = {}
        for m in c.get("volumeMounts", []):
            fields(m, "volumeMount", "volumeMount")
            check(m.get("name") in volumes, f"volumeMount {m.get('name')} names no volume")
            mounts[m.get("mountPath")] = m
        lm = mounts.get("/lib/modules")
        check(lm is not None and lm.get("readOnly") is True
              and volumes.get(lm.get("name"), {}).get("hostPath", {}).get("path") == "/lib/modules",
              "/lib/modules is not the node's, read-only")
        for p in ("/proc/sys/net/netfilter", "/sys/module"):
            m = mounts.get(p)
            check(m is not None and not m.get("readOnly")
                  and volumes.get(m.get("name"), {}).get("hostPath", {}).get("path") == p,
                  f"{p} is not the node's, writable")
        conf = mounts.get("/etc/ctguard/ctguard.conf.d")
        check(conf is not None and volumes.get(conf.get("name"), {}).get("configMap", {}).get("name")
              == cm["metadata"]["name"], "the ConfigMap is not mounted at /etc/ctguard/ctguard.conf.d")

    # Each drop-in is a configuration ctguard accepts.
    data = cm.get("data", {})
    check(data and all(k.endswith(".conf") for k in data), "ConfigMap keys must be NAME.conf")
    with tempfile.TemporaryDirectory() as root:
        d = os.path.join(root, "etc/ctguard/ctguard.conf.d")
        os.makedirs(d)
        for dirpath in (root, os.path.join(root, "etc"), os.path.join(root, "etc/ctguard"), d):
            os.chmod(dirpath, 0o755)
        for k, v in data.items():
            with open(os.path.join(d, k), "w") as f:
                f.write(v)
            os.chmod(os.path.join(d, k), 0o644)
        os.symlink("/proc", os.path.join(root, "proc"))
        r = subprocess.run([ctguard, f"--root={root}", "check-config"], capture_output=True,
                           text=True)
        check(r.returncode == 0, f"ctguard check-config refuses the ConfigMap: {r.stdout}{r.stderr}")


main()
for f in failures:
    print(f"FAIL: {f}")
if failures:
    sys.exit(1)
print("manifest OK")
