#!/usr/bin/env bash
# Where inside its methods each hot thread spends its time: `perf record` of a netstack-loadgen run, each
# sample's address resolved to method+offset through the runtime's perf map (bench/profile.sh gives
# whole methods). An offset is the instruction after the one that waited; DOTNET_JitDisasm with
# DOTNET_JitDisasmWithCodeBytes=1 gives the code to count it in. "?" is code outside the map (the vDSO,
# native libraries, the TSC clock's page).
# Usage: bench/hotspots.sh [TOP] -- VERB [ARGS...]
#   bench/hotspots.sh 12 -- sched --workload zero --policy cfcfs --loads max --mailbox-depth 4 --duration-s 3 --no-charts
# Needs perf (Debian: linux-perf). Runs the built executable, never `dotnet run`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=12
if [ "${1:-}" != "--" ] && [ -n "${1:-}" ]; then top=$1; shift; fi
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: bench/hotspots.sh [TOP] -- VERB [ARGS...]" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
dotnet build -c Release loadgen >/dev/null
data=$(mktemp /tmp/netstack-perf.XXXXXX)
ips=$(mktemp /tmp/netstack-ips.XXXXXX)
trap 'rm -f "$data" "$ips"' EXIT
# As in bench/profile.sh: the perf map for JIT-compiled code, W^X off so perf can match it.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -F 4000 -o "$data" -- \
  dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll "$@" >/dev/null 2>&1
# awk stops reading early: with pipefail, perf's broken pipe would end the script.
set +o pipefail
pid=$(perf script -i "$data" -F comm,pid 2>/dev/null | awk '$1 ~ /^netstack-/ {print $2; exit}')
map=/tmp/perf-$pid.map
[ -f "$map" ] || { echo "no perf map $map for the run's process" >&2; exit 1; }
for thread in netstack-iokern netstack-carrie; do
  perf script -i "$data" -F comm,ip 2>/dev/null | awk -v t="$thread" '$1 == t {print $2}' > "$ips"
  echo "== $thread"
  python3 - "$map" "$ips" "$top" <<'PY'
import bisect, collections, sys
mapfile, ipfile, top = sys.argv[1], sys.argv[2], int(sys.argv[3])
methods = []
for line in open(mapfile):
    start, size, name = line.rstrip('\n').split(' ', 2)
    methods.append((int(start, 16), int(size, 16), name.split('::')[-1].split('(')[0] if '::' in name else name[:40]))
methods.sort()
starts = [m[0] for m in methods]
counts, total = collections.Counter(), 0
for line in open(ipfile):
    ip, total = int(line, 16), total + 1
    i = bisect.bisect_right(starts, ip) - 1
    counts[(methods[i][2], ip - methods[i][0]) if i >= 0 and ip < methods[i][0] + methods[i][1] else ('?', 0)] += 1
print(f'samples {total}')
for (name, offset), n in counts.most_common(top):
    print(f'{n:6} {100 * n / max(total, 1):5.1f}% {name}+{offset:#x}')
PY
done
