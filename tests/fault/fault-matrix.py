#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The fault matrix: one row per (kernel boundary, errno or damage), each against a fresh,
unmodified ctguard with the fault shim (shim.c) preloaded, in a network namespace of its own
with a private --root (its /run, its configuration; /proc is the namespace's).

For every row the daemon must stay up (systemd's watchdog served: it runs with NOTIFY_SOCKET
and WATCHDOG_USEC pointing at a socket read here, and no gap between two WATCHDOG=1 may reach
WATCHDOG_USEC; and it exits 0 on SIGTERM at the end), log the fault's class a bounded number
of times, retry on its schedule (the shim's log says when each call was failed), show it in
'ctguard status' where status can see it, and do the right thing once the fault clears. The
result table is printed at the end.

Environment: CTGUARD (the daemon), CT_INSERT (tests/helpers/ct-insert), CTGUARD_FAULT_SHIM
(the shim), CTGUARD_SANITIZE (the build's b_sanitize). Arguments, if any, pick the rows whose
names contain one of them. Root is needed (77 without). Module rows need a Debian kernel's module
tree in /lib/modules (a fake kernel loads nothing); without one they are skipped, and said so.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CTGUARD = os.environ.get("CTGUARD", "")
CT_INSERT = os.environ.get("CT_INSERT", "")
SHIM = os.environ.get("CTGUARD_FAULT_SHIM", "")
SANITIZE = os.environ.get("CTGUARD_SANITIZE", "none")
WATCHDOG_USEC = 5_000_000
UDP = "/proc/sys/net/netfilter/nf_conntrack_udp_timeout"
UDP_KEY = "net.netfilter.nf_conntrack_udp_timeout"


def skip(why):
    print(f"SKIP: fault-matrix: {why}", file=sys.stderr)
    sys.exit(77)


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_until(timeout, fn, what):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


# ---- the namespace ----

def ns_inode(path):
    st = os.stat(path)
    return f"{st.st_dev}:{st.st_ino}"


class Namespace:
    def __init__(self):
        self.name = f"ctguard-fault-{os.getpid()}"
        self.host = {ns_inode("/proc/self/ns/net")}
        try:
            self.host.add(ns_inode("/proc/1/ns/net"))
        except OSError:
            pass
        r = subprocess.run(["ip", "netns", "add", self.name], capture_output=True, text=True)
        if r.returncode != 0:
            skip(f"ip netns add: {r.stderr.strip()}")
        self.run(["ip", "link", "set", "lo", "up"])
        inode = self.run(["stat", "-L", "-c", "%d:%i", "/proc/self/ns/net"]).stdout.strip()
        dev, ino = inode.split(":")
        if f"{dev}:{ino}" in self.host or not inode:
            raise Failure(f"namespace {self.name} is the host's")

    def run(self, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name] + argv, capture_output=True,
                              text=True, **kw)

    def sysctl_read(self, path):
        return self.run(["cat", path]).stdout.strip()

    def sysctl_write(self, path, value):
        # The writer checks that it is not in the host's namespace, as lib.sh does.
        script = ('self=$(stat -L -c "%d:%i" /proc/self/ns/net) || exit 3; '
                  'for h in $3; do [ "$self" != "$h" ] || exit 3; done; '
                  'printf "%s\\n" "$2" > "$1"')
        r = self.run(["sh", "-c", script, "sh", path, value, " ".join(self.host)])
        if r.returncode == 3:
            raise Failure("refusing to write a sysctl outside a private namespace")
        check(r.returncode == 0, f"cannot write {path}: {r.stderr}")

    def delete(self):
        r = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)


# ---- one daemon ----

class Daemon:
    def __init__(self, ns, tmp, config, faults="", kernel=None, uname=None, extra=None):
        self.ns, self.tmp = ns, tmp
        self.root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(self.root, "etc/ctguard/ctguard.conf.d"))
        for d in ["", "etc", "etc/ctguard", "etc/ctguard/ctguard.conf.d"]:
            os.chmod(os.path.join(self.root, d), 0o755)
        os.symlink("/proc", os.path.join(self.root, "proc"))
        self.write_config("etc/ctguard/ctguard.conf", config)
        self.fault_file = os.path.join(tmp, "faults")
        self.fault_log = os.path.join(tmp, "faults.log")
        self.log = os.path.join(tmp, "ctguard.log")
        self.set_faults(faults)
        if extra:
            extra(self)

        self.notify_path = os.path.join(tmp, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify_path)
        self.sock.settimeout(0.2)
        self.pings, self.messages = [], []
        self.stopping = False
        self.reader = threading.Thread(target=self._read_notify, daemon=True)
        self.reader.start()

        env = ["env", "-u", "JOURNAL_STREAM", "-u", "INVOCATION_ID", "-u", "WATCHDOG_PID",
               f"NOTIFY_SOCKET={self.notify_path}", f"WATCHDOG_USEC={WATCHDOG_USEC}",
               f"CTGUARD_FAULT_FILE={self.fault_file}", f"CTGUARD_FAULT_LOG={self.fault_log}",
               f"LD_PRELOAD={SHIM}"]
        if "address" in SANITIZE:
            # The executable carries the sanitizer's runtime (clang links it in); a runtime
            # loaded from a library would have to come first, see README.
            env.append("ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:verify_asan_link_order=0")
        if kernel:
            env.append(f"CTGUARD_FAULT_KERNEL={kernel}")
        if uname:
            env.append(f"CTGUARD_FAULT_UNAME={uname}")
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns.name] + env +
                                     [CTGUARD, f"--root={self.root}", "--log-level=info", "run"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.logf)
        self.started = time.monotonic()
        wait_until(10, lambda: "READY=1" in self.messages or self.proc.poll() is not None,
                   "READY=1")
        check(self.proc.poll() is None, f"the daemon exited at start:\n{self.text()}")

    def write_config(self, rel, text):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)

    def set_faults(self, rules):
        # A new inode each time, so that the shim sees the change whatever the clock says.
        tmp = self.fault_file + ".new"
        with open(tmp, "w") as f:
            f.write(rules + "\n")
        os.rename(tmp, self.fault_file)

    def _read_notify(self):
        while not self.stopping:
            try:
                data = self.sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            for line in data.split("\n"):
                if line == "WATCHDOG=1":
                    self.pings.append(now)
                elif line:
                    self.messages.append(line)

    def text(self):
        if not self.logf.closed:
            self.logf.flush()
        with open(self.log, errors="replace") as f:
            return f.read()

    def count(self, needle):
        return sum(1 for line in self.text().splitlines() if needle in line)

    def wait_log(self, needle, n=1, timeout=10):
        wait_until(timeout, lambda: self.count(needle) >= n or self.proc.poll() is not None,
                   f"{n} log line(s) with '{needle}'")
        check(self.proc.poll() is None, f"the daemon exited:\n{self.text()}")

    def faults(self, needle=""):
        try:
            with open(self.fault_log) as f:
                return [line.split() for line in f if needle in line]
        except FileNotFoundError:
            return []

    def wait_faults(self, n, needle="", timeout=10):
        wait_until(timeout, lambda: len(self.faults(needle)) >= n or self.proc.poll() is not None,
                   f"{n} fault(s) injected ({needle or 'any'})")
        check(self.proc.poll() is None, f"the daemon exited:\n{self.text()}")

    def status(self):
        r = self.ns.run([CTGUARD, f"--root={self.root}", "status", "--json"], timeout=10)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise Failure(f"status --json is not JSON: {r.stdout!r} {r.stderr!r}")

    def cmd(self, *args):
        r = self.ns.run([CTGUARD, f"--root={self.root}"] + list(args), timeout=10)
        check(r.returncode == 0, f"ctguard {' '.join(args)}: {r.stdout} {r.stderr}")
        return r

    def signal(self, sig):
        check(self.proc.poll() is None, "the daemon is not running")
        # ip netns exec execs: the child is the daemon itself.
        os.kill(self.proc.pid, sig)

    def max_gap(self):
        """The longest the watchdog went unserved, in seconds, up to now."""
        t = [self.started] + self.pings + [time.monotonic()]
        return max(b - a for a, b in zip(t, t[1:]))

    def stop(self):
        check(self.proc.poll() is None, f"the daemon exited before the end of the row:\n{self.text()}")
        gap = self.max_gap()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Failure("the daemon did not stop within 10 s of SIGTERM")
        self.stopping = True
        self.reader.join()
        self.sock.close()
        self.logf.close()
        check(rc == 0, f"exit status {rc}:\n{self.text()}")
        check(gap * 1e6 < WATCHDOG_USEC,
              f"the watchdog went unserved for {gap:.2f} s (WatchdogSec {WATCHDOG_USEC / 1e6} s)")
        return gap

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopping = True


def last_events(st):
    return [e["event"] for e in st.get("events") or []]


def fault_times(d, needle=""):
    return [float(f[1]) for f in d.faults(needle) if len(f) > 1 and f[0] == "fault" and
            f[1].replace(".", "", 1).isdigit()]


def bursts(times):
    """Calls less than half a second apart are one attempt."""
    out = []
    for t in times:
        if out and t - out[-1][-1] < 0.5:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def gaps(times):
    return [round(b - a, 1) for a, b in zip(times, times[1:])]


# ---- the rows ----

BASE = """[Guard]
PollIntervalSec=200ms

[Sysctl]
net.netfilter.nf_conntrack_udp_timeout=45

[Modules]
Ensure={ensure}
"""


def sysctl_row(errno_name, event, transient):
    """A write of the owned sysctl fails; the daemon reports it once and status says the key
    drifted. A transient error is retried with a backoff (1 s, 2 s, ... up to a minute) and the
    key restored by the first retry after the fault clears; a read-only one is left alone
    until a reload (SIGHUP), which restores it once the fault is gone."""
    def run(ns, tmp, out):
        ns.sysctl_write(UDP, "30")
        d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"),
                   f"write:{UDP}:{errno_name}:count=0")
        out["daemon"] = d
        d.wait_log(f"[{event}]")
        d.wait_faults(1)
        st = d.status()
        row = [s for s in st["sysctls"] if s["key"] == UDP_KEY][0]
        out["status"] = f"{UDP_KEY} ok={str(row['ok']).lower()}, {event} in last events"
        check(not row["ok"] and event in last_events(st) and st["exit"] >= 1,
              f"status does not show the failure: {row} {last_events(st)}")
        if transient:
            wait_until(10, lambda: len(fault_times(d)) >= 3, "two retries")
            g = gaps(fault_times(d))
            out["retries"] = "backoff " + ", ".join(f"{v} s" for v in g)
            check(g[0] >= 0.9 and g[1] >= 1.8, f"retries not backed off: {g}")
            d.set_faults("")
            d.wait_log("[sysctl-restored]", timeout=10)
            out["recovered"] = "restored 45 by the next retry after the fault cleared"
        else:
            # Two seconds of ticks: no write in a loop, no second report.
            t0 = time.monotonic()
            wait_until(5, lambda: time.monotonic() - t0 > 2, "2 s of ticks")
            out["retries"] = f"{len(d.faults())} write in {time.monotonic() - d.started:.1f} s (read-only: until a reload)"
            check(len(d.faults()) == 1, f"{len(d.faults())} writes while failing")
            d.set_faults("")
            d.signal(signal.SIGHUP)
            d.wait_log("[sysctl-restored]")
            out["recovered"] = "restored 45 by the reload (SIGHUP) after the fault cleared"
        check(ns.sysctl_read(UDP) == "45", "not restored")
        out["logged"] = d.count(f"[{event}]")
        check(out["logged"] == 1, f"[{event}] logged {out['logged']} times")
    return run


def module_row(errno_name, logs, outcome):
    """The load of nf_nat fails in a fake kernel (libkmod's insert answers the errno); the
    daemon retries with its backoff and heals once the fault clears."""
    def run(ns, tmp, out):
        tree = module_tree()
        if not tree:
            out["skip"] = "no Debian module tree with nf_nat in /lib/modules"
            return
        kernel = os.path.join(tmp, "kernel")
        os.mkdir(kernel)
        d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack nf_nat"),
                   f"kmod_insert:nf_nat:{errno_name}:count=0", kernel=kernel, uname=tree)
        try:
            if logs:
                d.wait_log("[module-load-failed]")
                st = d.status()
                check("module-load-failed" in last_events(st),
                      f"status does not show the failure: {last_events(st)}")
                out["status"] = "module-load-failed in last events"
                # A reload while the load keeps failing: the guard is set up again, and the
                # failure it reported is still no news.
                d.signal(signal.SIGHUP)
                d.wait_log("[config-loaded]", n=2)
                # Two retries after the first failure, 1 s and 2 s apart. An EBUSY is first
                # retried at once for a while (a module still going away), each time.
                want = 2 if errno_name == "EBUSY" else 3
                wait_until(15, lambda: len(bursts(fault_times(d))) >= want or
                           d.proc.poll() is not None, f"{want} attempts")
                check(d.proc.poll() is None, f"the daemon exited:\n{d.text()}")
                b = bursts(fault_times(d))
                g = [round(y[0] - x[-1], 1) for x, y in zip(b, b[1:])]
                out["retries"] = (f"{len(b)} attempts of {'/'.join(str(len(x)) for x in b)} "
                                  f"call(s), backoff {', '.join(f'{v} s' for v in g)}")
                check(g[0] >= 0.9 and (len(g) < 2 or g[1] >= 1.8), f"retries not backed off: {g}")
                d.set_faults("")
            d.wait_log("[module-chain-restored]", timeout=15)
            out["logged"] = d.count("[module-load-failed]")
            check(out["logged"] == logs, f"[module-load-failed] logged {out['logged']} times, want {logs}")
            with open(os.path.join(kernel, "sys/module/nf_nat/initstate")) as f:
                check(f.read().strip() == "live", "nf_nat not loaded")
            if not logs:
                out["status"] = "nothing to show (no failure reached the daemon's report)"
                out["retries"] = f"{len(d.faults())} fault(s) injected"
            out["recovered"] = outcome
        finally:
            out["daemon"] = d
    return run


def netlink_row(rule):
    """/proc lacks the counters (hidden by the shim) and nf_conntrack_netlink is there (a fake
    /sys/module entry under --root): the daemon reads the per-CPU counters over ctnetlink,
    and the socket fails or answers garbage."""
    def extra(d):
        os.makedirs(os.path.join(d.root, "sys/module/nf_conntrack_netlink"))

    def run(ns, tmp, out):
        hide = "open:*/proc/net/stat/nf_conntrack:ENOENT:count=0"
        d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), f"{hide}\n{rule}:count=0",
                   extra=extra)
        needle = "The conntrack counters cannot be read"
        try:
            d.wait_log(needle)
            d.wait_faults(3, rule.split(":")[0] + " nfnetlink", timeout=10)
            n = len(d.faults("nfnetlink"))
            out["retries"] = f"{n} failed request(s) in {time.monotonic() - d.started:.1f} s: one per tick, socket reopened"
            needle_status = "the daemon cannot read the conntrack counters"

            def counters_problem():
                st = d.status()
                check(st["daemon"]["running"], "status does not see the daemon")
                return any(needle_status in p for p in st["problems"])

            wait_until(10, counters_problem, "status to show the daemon's counter failure")
            out["status"] = "WARNING: the daemon cannot read the conntrack counters"
            d.set_faults(hide)
            wait_until(10, lambda: not counters_problem(), "status to stop showing it")
            # The daemon's sample is good again: the next notice would need a new failure.
            before = d.count(needle)
            t0 = time.monotonic()
            wait_until(5, lambda: time.monotonic() - t0 > 1, "1 s of ticks")
            check(d.count(needle) == before, "reported again after the fault cleared")
            d.set_faults(f"{hide}\n{rule}:count=1")
            d.wait_log(needle, n=2)
            out["logged"] = 1
            check(before == 1, f"reported {before} times while failing")
            out["recovered"] = "counters read again (a new fault is reported anew)"
        finally:
            out["daemon"] = d
    return run


DUMP = """[Guard]
PollIntervalSec=200ms

[Modules]
Ensure=nf_conntrack

[Conntrack]
WarnPercent=1
CritPercent=2
TopTalkers=5
"""


def dump_row(rule):
    """The top-talker dump of a critical alert fails (the table is filled past CritPercent):
    the alert goes out without the lists, the failure is said once, and the next alert has
    them again once the fault is gone."""
    def run(ns, tmp, out):
        if not CT_INSERT:
            out["skip"] = "CT_INSERT is not set"
            return
        mx = int(ns.sysctl_read("/proc/sys/net/netfilter/nf_conntrack_max"))
        n = mx * 3 // 100
        fill = lambda: check(ns.run([CT_INSERT, "-q", "--count", str(n)], timeout=60).returncode == 0,
                             "ct-insert")
        empty = lambda: check(ns.run([CT_INSERT, "--delete-all"], timeout=60).returncode == 0,
                              "ct-insert --delete-all")
        empty()
        d = Daemon(ns, tmp, DUMP, f"{rule}:count=0")
        out["daemon"] = d
        needle = "Failed to dump the conntrack table for the top talkers"
        d.wait_log("[module-chain-present]")
        fill()
        d.wait_log("[table-crit]", timeout=10)
        d.wait_log(needle)
        crit = [line for line in d.text().splitlines() if "[table-crit]" in line][-1]
        check("10.0." not in crit, f"an alert named talkers from a failed dump: {crit}")
        check("table-crit" in last_events(d.status()), "status does not show the alert")
        out["status"] = "table-crit in last events (without the lists)"
        d.set_faults("")
        empty()
        d.wait_log("[table-ok]", timeout=10)
        fill()
        d.wait_log("[table-crit]", n=2, timeout=10)
        crit = [line for line in d.text().splitlines() if "[table-crit]" in line][-1]
        check("10.0." in crit, f"the next alert does not name the talkers: {crit}")
        out["logged"] = d.count(needle)
        check(out["logged"] == 1, f"logged {out['logged']} times")
        out["retries"] = "the next alert dumps again"
        out["recovered"] = "next table-crit names the top talkers"
        empty()
    return run


def dump_garbled(ns, tmp, out):
    """Every buffer of the dump has a malformed entry (an attribute overruns it): those
    entries are skipped, the alert names the talkers of the rest, nothing is logged."""
    mx = int(ns.sysctl_read("/proc/sys/net/netfilter/nf_conntrack_max"))
    n = mx * 3 // 100
    check(ns.run([CT_INSERT, "--delete-all"], timeout=60).returncode == 0, "ct-insert")
    d = Daemon(ns, tmp, DUMP, "recv:nfnetlink:garble:count=0")
    out["daemon"] = d
    d.wait_log("[module-chain-present]")
    check(ns.run([CT_INSERT, "-q", "--count", str(n)], timeout=60).returncode == 0, "ct-insert")
    d.wait_log("[table-crit]", timeout=10)
    d.wait_faults(1)
    crit = [line for line in d.text().splitlines() if "[table-crit]" in line][-1]
    # The alert's count is the sample's, taken while the table filled: the dump, later, had
    # all n entries to read.
    m = re.search(r"destinations: 10\.1\.0\.1=(\d+)", crit)
    check(m is not None, f"the alert does not name the talkers: {crit}")
    total, named = n, int(m.group(1))
    check(named < total, f"no entry was skipped ({named} of {total})")
    # The table's own alerts aside (table-warn may come on the way up).
    out["logged"] = sum(1 for line in d.text().splitlines()
                        if (" warning " in line or " err " in line) and "[table-" not in line)
    check(out["logged"] == 0, f"{out['logged']} warnings")
    check("table-crit" in last_events(d.status()), "status does not show the alert")
    out["status"] = "table-crit in last events"
    out["retries"] = f"{len(d.faults())} damaged buffer(s): {total - named} of {total} entries skipped"
    out["recovered"] = "alert names the top talkers of the entries read"
    check(ns.run([CT_INSERT, "--delete-all"], timeout=60).returncode == 0, "ct-insert")


def uevent_enobufs(ns, tmp, out):
    d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), "")
    needle = "Kernel uevents were lost"
    try:
        d.wait_log("[module-chain-present]")
        # Three in a row, as a storm that overflows the buffer again and again gives them:
        # one rescan, and one line, answers them all.
        d.set_faults("recv:uevent:ENOBUFS:count=3")
        d.wait_log(needle)
        d.wait_faults(3)
        t0 = time.monotonic()
        wait_until(5, lambda: time.monotonic() - t0 > 1, "1 s of ticks")
        out["logged"] = d.count(needle)
        check(out["logged"] == 1, f"logged {out['logged']} times")
        st = d.status()
        check(all(m["present"] for m in st["modules"]), "a module reported missing")
        out["status"] = "modules present (an info line, no event)"
        out["retries"] = "rescan of the modules at once"
        out["recovered"] = "uevents read again"
    finally:
        out["daemon"] = d


def uevent_storm(ns, tmp, out):
    n = 100_000
    d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), "")
    try:
        d.wait_log("[module-chain-present]")
        warn0 = sum(1 for line in d.text().splitlines() if " warning " in line or " err " in line)
        t0 = time.monotonic()
        d.set_faults(f"recv:uevent:storm={n}")
        d.wait_faults(1, "done", timeout=60)
        took = time.monotonic() - t0
        # Still serving: a drift is restored after the storm.
        ns.sysctl_write(UDP, "31")
        d.wait_log("[sysctl-restored]", n=1 + (1 if "30 ->" in d.text() else 0), timeout=5)
        warn = sum(1 for line in d.text().splitlines() if " warning " in line or " err " in line)
        out["logged"] = warn - warn0
        check(out["logged"] == 0, f"{out['logged']} warnings during the storm")
        st = d.status()
        check(st["daemon"]["running"] and all(m["present"] for m in st["modules"]), "status")
        out["status"] = "running, modules present"
        out["retries"] = f"{n} events drained in {took:.1f} s ({n / took:,.0f}/s)"
        out["recovered"] = "drift restored right after"
    finally:
        out["daemon"] = d


def run_row(path_glob, op, errno_name):
    """The state file under the private /run cannot be written: the daemon says so once,
    keeps running, and writes it again once it can."""
    def run(ns, tmp, out):
        d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), "")
        needle = "for 'ctguard status', ignoring"
        try:
            d.wait_log("[module-chain-present]")
            d.set_faults(f"{op}:{path_glob}:{errno_name}:count=0")
            d.cmd("hold", "--for", "1h", "--reason", "fault-matrix")
            d.wait_log("[held]")
            d.wait_log(needle)
            d.wait_faults(3, timeout=5)
            st = d.status()
            check(st["daemon"]["running"], "status does not see the daemon")
            check("held" not in last_events(st), "the state file was written after all")
            out["status"] = "daemon running; last events stale (the file it reads is the one failing)"
            out["retries"] = f"{len(d.faults())} write(s) retried, one per tick"
            d.set_faults("")
            wait_until(5, lambda: "held" in last_events(d.status()), "the state file rewritten")
            out["logged"] = d.count(needle)
            check(out["logged"] == 1, f"logged {out['logged']} times")
            out["recovered"] = "state file rewritten on the next tick (held shown)"
        finally:
            out["daemon"] = d
    return run


def config_row(rule):
    """A drop-in that is listed and then is gone, or changes while it is read: the reload is
    refused whole, the previous configuration stays, the next reload takes the new one."""
    def run(ns, tmp, out):
        ns.sysctl_write(UDP, "45")
        d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), "")
        dropin = "etc/ctguard/ctguard.conf.d/50-udp.conf"
        try:
            d.wait_log("[config-loaded]")
            d.write_config(dropin, "[Sysctl]\nnet.netfilter.nf_conntrack_udp_timeout=47\n")
            d.set_faults(rule.replace("DROPIN", "*/" + dropin))
            d.signal(signal.SIGHUP)
            d.wait_log("[config-rejected]")
            d.wait_faults(1)
            check(ns.sysctl_read(UDP) == "45", "a partial configuration was applied")
            st = d.status()
            rel = st["daemon"].get("reload") or {}
            out["status"] = f"reload {rel.get('result')}, config-rejected in last events"
            check("config-rejected" in last_events(st), "status does not show the rejection")
            d.set_faults("")
            d.signal(signal.SIGHUP)
            d.wait_log("[config-loaded]", n=2)
            wait_until(5, lambda: ns.sysctl_read(UDP) == "47", "the new value applied")
            out["logged"] = d.count("[config-rejected]")
            check(out["logged"] == 1, f"logged {out['logged']} times")
            out["retries"] = "none (a reload is the operator's)"
            out["recovered"] = "next SIGHUP loads the drop-in (47 applied)"
        finally:
            out["daemon"] = d
    return run


def config_swap_row(ns, tmp, out):
    """check-config passes, then the drop-in changes before the reload: the daemon judges what
    it reads at the reload, refuses it whole, and status says the files changed since."""
    ns.sysctl_write(UDP, "45")
    d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), "")
    out["daemon"] = d
    dropin = "etc/ctguard/ctguard.conf.d/50-udp.conf"
    d.wait_log("[config-loaded]")
    d.write_config(dropin, "[Sysctl]\nnet.netfilter.nf_conntrack_udp_timeout=47\n")
    r = d.ns.run([CTGUARD, f"--root={d.root}", "check-config"], timeout=10)
    check(r.returncode == 0, f"check-config: {r.stdout} {r.stderr}")
    d.write_config(dropin, "[Sysctl]\nnet.netfilter.nf_conntrack_udp_timeout=forty\n")
    d.signal(signal.SIGHUP)
    d.wait_log("[config-rejected]")
    check(ns.sysctl_read(UDP) == "45", "a rejected configuration was applied")
    st = d.status()
    check("config-rejected" in last_events(st) and st["daemon"]["config_changed"],
          f"status: {st['daemon']}")
    out["status"] = "config-rejected, files changed since the load"
    d.write_config(dropin, "[Sysctl]\nnet.netfilter.nf_conntrack_udp_timeout=47\n")
    d.signal(signal.SIGHUP)
    d.wait_log("[config-loaded]", n=2)
    wait_until(5, lambda: ns.sysctl_read(UDP) == "47", "the new value applied")
    check(not d.status()["daemon"]["config_changed"], "status still says the files changed")
    out["logged"] = d.count("[config-rejected]")
    check(out["logged"] == 1, f"logged {out['logged']} times")
    out["retries"] = "none (a reload is the operator's)"
    out["recovered"] = "fixed file loaded on the next SIGHUP (47 applied)"


def clock_row(ns, tmp, out):
    """The wall clock steps back an hour under the daemon (what clock_gettime(CLOCK_REALTIME)
    returns jumps): ticks, the watchdog, restores and a two-second hold keep their time."""
    ns.sysctl_write(UDP, "45")
    d = Daemon(ns, tmp, BASE.format(ensure="nf_conntrack"), "")
    try:
        d.wait_log("[module-chain-present]")
        d.set_faults("clock:REALTIME:step=-3600")
        d.cmd("hold", "--for", "2s", "--reason", "clock")
        d.wait_faults(1)
        t0 = time.monotonic()
        d.wait_log("[held]")
        d.wait_log("[hold-expired]", timeout=8)
        held = time.monotonic() - t0
        check(held < 4, f"a 2 s hold lasted {held:.1f} s")
        ns.sysctl_write(UDP, "33")
        t1 = time.monotonic()
        d.wait_log("[sysctl-restored]", timeout=5)
        out["logged"] = 0
        out["status"] = "hold shown, then expired"
        out["retries"] = f"2 s hold expired after {held:.1f} s; drift restored in {time.monotonic() - t1:.2f} s"
        out["recovered"] = "n/a (timers on CLOCK_MONOTONIC/BOOTTIME)"
    finally:
        out["daemon"] = d


def module_tree():
    for p in sorted(glob.glob("/lib/modules/*/modules.dep")):
        tree = os.path.dirname(p)
        if glob.glob(os.path.join(tree, "kernel/net/netfilter/nf_nat.ko*")):
            return os.path.basename(tree)
    return None


# (boundary, fault, what is expected, run)
ROWS = [
    ("module load", "EPERM", module_row("EPERM", 1, "loaded on the retry after the fault cleared")),
    ("module load", "ENOENT", module_row("ENOENT", 1, "loaded on the retry after the fault cleared")),
    ("module load", "EEXIST", module_row("EEXIST", 0, "taken as loaded (someone else did)")),
    ("module load", "EBUSY", module_row("EBUSY", 1, "loaded on the retry after the fault cleared")),
    ("module load", "ENOMEM", module_row("ENOMEM", 1, "loaded on the retry after the fault cleared")),
    ("module load", "ENODEV", module_row("ENODEV", 1, "loaded on the retry after the fault cleared")),
    ("sysctl write", "EINVAL", sysctl_row("EINVAL", "sysctl-failed", True)),
    ("sysctl write", "EROFS", sysctl_row("EROFS", "sysctl-readonly", False)),
    ("sysctl write", "EPERM", sysctl_row("EPERM", "sysctl-readonly", False)),
    ("sysctl write", "EBUSY", sysctl_row("EBUSY", "sysctl-failed", True)),
    ("sysctl write", "EACCES", sysctl_row("EACCES", "sysctl-readonly", False)),
    ("netlink stats", "recv ENOBUFS", netlink_row("recv:nfnetlink:ENOBUFS")),
    ("netlink stats", "recv EINTR", netlink_row("recv:nfnetlink:EINTR")),
    ("netlink stats", "send EPERM", netlink_row("send:nfnetlink:EPERM")),
    ("netlink stats", "truncated reply", netlink_row("recv:nfnetlink:trunc")),
    ("netlink stats", "malformed reply", netlink_row("recv:nfnetlink:garble")),
    ("netlink stats", "recv ENOMEM", netlink_row("recv:nfnetlink:ENOMEM")),
    ("netlink dump", "recv ENOBUFS", dump_row("recv:nfnetlink:ENOBUFS")),
    ("netlink dump", "malformed entries", dump_garbled),
    ("uevent", "ENOBUFS", uevent_enobufs),
    ("uevent", "storm of 100,000", uevent_storm),
    ("/run state", "write ENOSPC", run_row("*/run/ctguard/state*", "write", "ENOSPC")),
    ("/run state", "open EROFS", run_row("*/run/ctguard/state*", "open", "EROFS")),
    ("config", "drop-in vanishes", config_row("open:DROPIN:ENOENT")),
    ("config", "drop-in rewritten while read", config_row("read:DROPIN:eof=12:count=0")),
    ("config", "drop-in changes between check and load", config_swap_row),
    ("clock", "REALTIME steps back 1 h", clock_row),
]


def main():
    if os.geteuid() != 0:
        skip("needs root")
    if not CTGUARD or not SHIM:
        skip("CTGUARD and CTGUARD_FAULT_SHIM must be set")
    for c in ["ip", "stat"]:
        if not shutil.which(c):
            skip(f"needs {c}")
    if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_count"):
        skip("the kernel has no conntrack")
    only = sys.argv[1:]

    ns = Namespace()
    base = tempfile.mkdtemp(prefix="ctguard-fault.")
    os.chmod(base, 0o755)
    results, failed = [], 0
    t_start = time.monotonic()
    try:
        for i, (boundary, fault, run) in enumerate(ROWS):
            name = f"{boundary}: {fault}"
            if only and not any(o in name for o in only):
                continue
            tmp = os.path.join(base, f"row{i}")
            os.mkdir(tmp)
            os.chmod(tmp, 0o755)
            out = {}
            t0 = time.monotonic()
            try:
                try:
                    run(ns, tmp, out)
                except BaseException:
                    if "daemon" in out:
                        out.pop("daemon").kill()
                    raise
                if "daemon" in out:
                    out["watchdog"] = out.pop("daemon").stop()
                verdict = "skipped: " + out["skip"] if "skip" in out else "ok"
            except Failure as e:
                verdict = f"FAIL: {e}"
                failed += 1
                log = os.path.join(tmp, "ctguard.log")
                if os.path.exists(log):
                    print(f"---- {name}: ctguard's log ----\n{open(log).read()}----", file=sys.stderr)
            out["time"] = time.monotonic() - t0
            results.append((name, verdict, out))
            print(f"{name}: {verdict} ({out['time']:.1f} s)", file=sys.stderr)
    finally:
        ns.delete()
        shutil.rmtree(base, ignore_errors=True)

    print()
    print("| row | stayed up (longest watchdog gap) | logged | retries | status showed | recovered | result |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, verdict, out in results:
        wd = out.get("watchdog")
        up = f"yes ({wd:.2f} s)" if wd is not None else "-"
        print(f"| {name} | {up} | {out.get('logged', '-')} | {out.get('retries', '-')} | "
              f"{out.get('status', '-')} | {out.get('recovered', '-')} | {verdict} |")
    print(f"\n{len(results)} rows, {failed} failed, {time.monotonic() - t_start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
