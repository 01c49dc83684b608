#!/usr/bin/env bash
# Who takes a worker's core from its carrier: `perf record -e sched:sched_switch` on one CPU while a
# command runs, then every time the carrier thread was switched out while it could still run
# (preempted, not parked), how long until it ran again and which threads ran meanwhile.
# Usage: bench/preemption-trace.sh [CPU] -- COMMAND [ARGS...]
#   bench/preemption-trace.sh 1 -- taskset -c 0 dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll kv \
#       --target netstack/ps=127.0.0.1:11211 --workload usr --rates 10000,20000 --cores 0 --receiver inline --no-charts
# The server (or the in-process target) must name its carrier threads netstack-carrier-N (NetStack does).
# THREAD=netstack-iokern traces the IOKernel instead (any prefix of a thread's name, as the kernel keeps
# it: its first 15 characters), for example on core 0, which the IOKernel shares with the generator.
# A stall the in-process watches see with no preemption here is the hypervisor's (see the report's steal)
# or time in the kernel on the carrier's own behalf. Needs perf (Debian: linux-perf) and root.
set -euo pipefail
cd "$(dirname "$0")/.."
cpu=1
if [ "${1:-}" != "--" ] && [ -n "${1:-}" ]; then cpu=$1; shift; fi
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: bench/preemption-trace.sh [CPU] -- COMMAND [ARGS...]" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
data=$(mktemp /tmp/netstack-sched.XXXXXX)
trap 'rm -f "$data"' EXIT
perf record -q -e sched:sched_switch -C "$cpu" -o "$data" -- "$@"
thread=${THREAD:-netstack-carrie}
perf script -i "$data" -F time,trace 2>/dev/null | THREAD="$thread" python3 -c '
import collections, os, re, sys
me = os.environ["THREAD"][:15]
pattern = re.compile(r"\s*([\d.]+):\s+prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
out = None
gaps = []
first = last = None
for line in sys.stdin:
    m = pattern.match(line)
    if not m:
        continue
    t = float(m.group(1)); prev = m.group(2); state = m.group(4); nxt = m.group(5); nxt_pid = m.group(6)
    first = t if first is None else first
    last = t
    if prev.startswith(me):
        out = (t, state, [])
    if out is not None and not nxt.startswith(me):
        out[2].append((nxt, nxt_pid))
    if nxt.startswith(me) and out is not None:
        gaps.append((t - out[0], out[1], out[2]))
        out = None
preempted = [g for g in gaps if g[1].startswith("R")]
if first is None:
    sys.exit("no scheduler switches recorded on this CPU")
print("traced %.1f s of CPU %s" % (last - first, sys.argv[1]))
if not preempted:
    print("%s was never preempted while runnable" % me)
    sys.exit(0)
print("%s preempted while runnable: %d times, %.1f ms in all, longest %.2f ms"
      % (me, len(preempted), sum(g[0] for g in preempted) * 1e3, max(g[0] for g in preempted) * 1e3))
lengths = sorted(g[0] * 1e6 for g in preempted)
pick = lambda q: lengths[min(len(lengths) - 1, int(q * len(lengths)))]
print("gap length µs: p50 %.1f, p90 %.1f, p99 %.1f; gaps > 50 µs: %d (%.1f ms), > 500 µs: %d (%.1f ms)"
      % (pick(0.5), pick(0.9), pick(0.99), sum(1 for x in lengths if x > 50), sum(x for x in lengths if x > 50) / 1e3,
         sum(1 for x in lengths if x > 500), sum(x for x in lengths if x > 500) / 1e3))
count = collections.Counter(); ms = collections.Counter()
for g in preempted:
    for name in set(n for n, _ in g[2]):
        count[name] += 1
        ms[name] += g[0] * 1e3
print("%-24s %8s %10s" % ("ran in the gap", "gaps", "gap ms"))
for name, n in count.most_common(12):
    print("%-24s %8d %10.1f" % (name, n, ms[name]))
print("longest gaps:")
for g in sorted(preempted, reverse=True)[:8]:
    print("  %.2f ms: %s" % (g[0] * 1e3, ", ".join("%s (%s)" % x for x in sorted(set(g[2])))))
' "$cpu"
