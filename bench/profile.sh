#!/usr/bin/env bash
# Where the IOKernel and carrier threads spend their time: `perf record` of a netstack-loadgen run,
# then the top symbols per thread (JIT-compiled methods resolved through the runtime's perf map).
# Usage: bench/profile.sh [TOP] -- VERB [ARGS...]
#   bench/profile.sh 25 -- sched --workload zero --policy cfcfs --loads max --mailbox-depth 8 --duration-s 3 --no-charts
# Needs perf (Debian: linux-perf). Profiles from the built executable, never `dotnet run`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=20
if [ "${1:-}" != "--" ] && [ -n "${1:-}" ]; then top=$1; shift; fi
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: bench/profile.sh [TOP] -- VERB [ARGS...]" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
dotnet build -c Release loadgen >/dev/null
data=$(mktemp /tmp/netstack-perf.XXXXXX)
trap 'rm -f "$data"' EXIT
# PerfMapEnabled writes /tmp/perf-PID.map for JIT-compiled code; with W^X on, that code runs from
# a double-mapped memfd that perf cannot match against the map, so W^X is turned off for the run.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -F 4000 -o "$data" -- \
  dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll "$@" >/dev/null 2>&1
# `head` closes its pipe early: with pipefail, the sort before it would end the script after the
# first thread's table.
set +o pipefail
for thread in netstack-iokern netstack-carrie; do
  echo "== $thread: samples per symbol (of $(perf script -i "$data" -F comm 2>/dev/null | grep -c "^ *$thread"))"
  perf script -i "$data" -F comm,ip,sym,dso 2>/dev/null \
    | awk -v t="$thread" '$1 == t { $1 = ""; $2 = ""; sub(/\(\/tmp\/perf-[0-9]+\.map\)/, ""); sub(/\[Optimized(Tier1)?\]/, ""); print }' \
    | sort | uniq -c | sort -rn | head -n "$top"
done
