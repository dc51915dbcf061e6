# SPDX-License-Identifier: GPL-2.0-or-later
# Runs inside the mini VM (see module-bench.sh): how long the conntrack chain takes to come
# back, ctguard against a person typing the commands.
#
# Every trial starts the same way: the chain is unloaded ("modprobe -r" has returned and no
# module of the chain is left in /sys/module), then the clock starts. Every trial ends on the
# same condition: every module of the chain live and both guarded sysctls at their values.
#
#   ctguard: the daemon is stopped (SIGSTOP) while the chain is unloaded, the clock starts, the
#            daemon continues: it finds the kernel's remove events queued, reloads the chain
#            and restores the sysctls, then logs module-chain-restored, which it only does once
#            it has read every sysctl back at its value. The clock stops when that line
#            arrives. The daemon's own figure (from reading the first remove event to the end
#            of the sysctl restore) is reported beside it.
#   manual:  with the daemon stopped, the clock runs around
#            "modprobe nf_defrag_ipv4 && modprobe nf_conntrack && modprobe nf_nat &&
#             sysctl -w ..." with kmod's modprobe, /sbin/modprobe: what an operator types on
#            Debian, and what ctguard's libkmod reads (modules.dep, modules.softdep,
#            modprobe.d). This is the floor the ratio is taken against.
#   busybox: the same with the modprobe this shell finds first. The mini VM's shell is
#            busybox's ash (busybox's timeout runs its own sh), whose modprobe is busybox's
#            applet: it runs in the forked shell without an exec and ignores modules.softdep,
#            so it never tries libcrc32c's soft dependency crc32c_intel, which an emulated CPU
#            without SSE4.2 refuses after a whole module load. Reported for comparison only.
#
# The three kinds of trial take turns, so that a change in the host's load (other VMs, other
# builds) falls on all of them alike.
#
# The clock is the kernel's, from /proc/timer_list (nanoseconds), read without a fork. Nothing
# spins while the chain comes back: the daemon's log goes through a FIFO to an awk that sleeps
# in read(2), takes the time when the line arrives and hands it over through a second FIFO, so
# that the measurement does not take CPU from the heal it measures. awk reads the FIFO a
# buffer at a time; the shell's read builtin would make a system call per byte of the log.

TRIALS=${BENCH_TRIALS:-15}
log=/tmp/ctguard.log
conf=/tmp/ctguard.conf
chain="nf_defrag_ipv4 nf_defrag_ipv6 nf_conntrack nf_nat"
kmod_modprobe=/sbin/modprobe

# now: sets NOW to the kernel's monotonic clock in ns ("now at 123456789 nsecs").
now() {
        { read -r _l; read -r _l; read -r _l; } < /proc/timer_list
        _l=${_l#now at }
        NOW=${_l% nsecs}
}
live() {
        _s=
        read -r _s 2> /dev/null < "/sys/module/$1/initstate"
        [ "$_s" = live ]
}
value_is() {
        # Not the read builtin: it reads a byte at a time, and a sysctl file answers a read
        # at an offset other than 0 with end-of-file.
        [ "$(cat "/proc/sys/net/netfilter/$1" 2> /dev/null)" = "$2" ]
}
restored() {
        for _m in $chain; do
                live "$_m" || return 1
        done
        value_is nf_conntrack_max 131072 && value_is nf_conntrack_tcp_timeout_established 7200
}
reloaded_more_than() {
        [ "$(grep -cF "[config-loaded] Configuration reloaded" "$log")" -gt "$1" ]
}
chain_absent() {
        for _m in $chain; do
                [ ! -e "/sys/module/$_m" ] || return 1
        done
}
unload() {
        # ctguard's conntrack sampler makes the kernel autoload ctnetlink, which holds
        # nf_conntrack, and the kernel's own modprobe for it may still be on its way: retry.
        _n=0
        until chain_absent; do
                _n=$((_n + 1))
                [ $_n -le 50 ] || { lsmod; fail "cannot unload the chain"; }
                [ ! -e /sys/module/nf_conntrack_netlink ] || rmmod nf_conntrack_netlink 2> /dev/null
                $kmod_modprobe -r nf_nat nf_conntrack nf_defrag_ipv4 nf_defrag_ipv6 libcrc32c \
                        2> /dev/null
        done
}
# The daemon's own latency from that line: "..., 412ms after the loss was seen."
daemon_latency() {
        grep -F "[module-chain-restored]" "$log" | tail -n 1 |
                sed -n 's/.*applied, \(.*\) after the loss.*/\1/p'
}

# stats NAME FILE: min, median, mean, max in ms of the ns values in FILE.
stats() {
        sort -n "$2" | awk -v name="$1" '
                { v[NR] = $1; s += $1 }
                END {
                        med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                        printf "%-8s n=%d  min %.1f ms  median %.1f ms  mean %.1f ms  max %.1f ms\n",
                               name, NR, v[1] / 1e6, med / 1e6, s / NR / 1e6, v[NR] / 1e6
                        print med > "/tmp/median-" name
                }'
}

# manual_trial KIND MODPROBE: unload, then time the commands by hand.
manual_trial() {
        unload
        now
        t0=$NOW
        $2 nf_defrag_ipv4 && $2 nf_conntrack && $2 nf_nat &&
                sysctl -q -w net.netfilter.nf_conntrack_max=131072 \
                        net.netfilter.nf_conntrack_tcp_timeout_established=7200
        now
        t1=$NOW
        restored || fail "the $1 commands did not restore the chain"
        echo $((t1 - t0)) >> "/tmp/$1.ns"
        echo "$1 trial $i: $(((t1 - t0) / 1000)) us"
}

[ -r /proc/timer_list ] || skip "no /proc/timer_list"
now
[ -n "$NOW" ] || skip "cannot read the clock"
if ! $kmod_modprobe -V 2> /dev/null | grep -q kmod; then
        skip "no kmod modprobe at $kmod_modprobe"
fi

cat > "$conf" <<CONF
[Guard]
PollIntervalSec=1h

[Modules]
Ensure=$chain
# Every trial is a heal: keep the flap guard out of the way.
ReloadBurst=100
ReloadIntervalSec=1s

[Sysctl]
net.netfilter.nf_conntrack_max=131072
net.netfilter.nf_conntrack_tcp_timeout_established=7200
CONF

# shellcheck disable=SC2086 # a list of names

assert_ok $kmod_modprobe -a $chain
mkfifo /tmp/ctguard.fifo /tmp/restored.fifo
# The reader: copies the daemon's stderr to the log, and at each module-chain-restored line
# passes the time it arrived to whoever reads restored.fifo. The time stays a string: awk's
# numbers would round it.
awk -v out="$log" '
        function now(   l, i) {
                for (i = 0; i < 3; i++)
                        getline l < "/proc/timer_list"
                close("/proc/timer_list")
                sub(/^now at /, "", l)
                sub(/ nsecs$/, "", l)
                return l
        }
        {
                if (index($0, "[module-chain-restored]")) {
                        t = now()
                        print >> out
                        fflush(out)
                        if ((getline x < "/tmp/timing") >= 0) {
                                close("/tmp/timing")
                                print t > "/tmp/restored.fifo"
                                close("/tmp/restored.fifo")
                        }
                        next
                }
                print >> out
                fflush(out)
        }' < /tmp/ctguard.fifo &
ctguard --config "$conf" run 2> /tmp/ctguard.fifo &
pid=$!
wait_until 30 restored

step "$TRIALS rounds of three trials each: ctguard, manual (kmod), busybox (applet)"
: > /tmp/ctguard.ns
: > /tmp/manual.ns
: > /tmp/busybox.ns
i=0
while [ $i -lt "$TRIALS" ]; do
        i=$((i + 1))
        # A reload starts every guard afresh: neither the module flap guard nor the sysctl
        # guard's fight detection (a key restored five times a minute) may count the trials.
        # It also lets the daemon take in the events of the manual trials before it stops.
        : > "$log"
        kill -HUP "$pid"
        wait_until 30 reloaded_more_than 0 > /dev/null
        kill -STOP "$pid"
        unload
        : > "$log"
        touch /tmp/timing
        now
        t0=$NOW
        kill -CONT "$pid"
        # The daemon continuing sends this shell (its parent) SIGCHLD, which may interrupt
        # the open: try again.
        t1=
        until [ -n "$t1" ]; do
                read -r t1 2> /dev/null < /tmp/restored.fifo
        done
        rm /tmp/timing
        restored || fail "module-chain-restored logged, but the chain or sysctls are not back"
        echo $((t1 - t0)) >> /tmp/ctguard.ns
        echo "ctguard trial $i: $(((t1 - t0) / 1000)) us (the daemon's own figure: $(daemon_latency))"

        kill -STOP "$pid"
        manual_trial manual $kmod_modprobe
        manual_trial busybox modprobe
        kill -CONT "$pid"
done
assert_ok kill -0 "$pid"

step "results"
stats ctguard /tmp/ctguard.ns
stats manual /tmp/manual.ns
stats busybox /tmp/busybox.ns
awk -v c="$(cat /tmp/median-ctguard)" -v m="$(cat /tmp/median-manual)" \
        'BEGIN { printf "ratio   ctguard/manual (medians) = %.2f\n", c / m }'
awk -v c="$(cat /tmp/median-ctguard)" -v m="$(cat /tmp/median-busybox)" \
        'BEGIN { printf "also    ctguard/busybox (medians) = %.2f\n", c / m }'
# The median of each round's own ratio: the trials of a round ran within a second of each
# other, so a host that slows down for a while slows both sides of the ratio alike.
for _k in manual busybox; do
        awk 'NR == FNR { c[FNR] = $1; next } { print c[FNR] / $1 }' /tmp/ctguard.ns "/tmp/$_k.ns" |
                sort -n | awk -v k="$_k" '
                        { v[NR] = $1 }
                        END {
                                med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                                printf "paired  ctguard/%s (median of the rounds) = %.2f\n", k, med
                        }'
done
assert_eq "$(grep -cF '[module-load-failed]' "$log")" 0 "load failures"
assert_ok kill "$pid"
wait "$pid"
