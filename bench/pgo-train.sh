#!/usr/bin/env bash
# Records a static JIT profile for each executable, for a later run that compiles fully at first call and still
# optimizes with profile data (docs/hosting.md, "A recorded profile"; docs/results.md §1o). Each executable runs
# once tiered, where the JIT's first tier counts blocks and the types met at interface and virtual calls, and the
# runtime writes those counts to a file as the process exits:
#   OUT_DIR/loadgen.pgo  `netstack-loadgen sched`: the dispatcher's ceiling over the synthetic NIC (zero work,
#                        c-FCFS, ps and d-FCFS, JBSQ(8)), the runs bench/ceiling-ab.sh makes
#   OUT_DIR/serve.pgo    `netstack serve --apps kv` under usr and etc, text and binary, over loopback TCP
# Usage: bench/pgo-train.sh [OUT_DIR]   (about 30 s; default results/pgo)
# Then run an executable with DOTNET_ReadPGOData=1 DOTNET_PGODataPath=OUT_DIR/<name>.pgo (tiered compilation
# stays off, as the runtimeconfig has it). These are the runtime's retail-build knobs for its text profile
# format, not a documented API; a method whose IL has changed since the recording finds no data and is compiled
# as without it, so record again after changing the data path. Reports name the mode (machine.jit).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/pgo}
mkdir -p "$out"
out=$(cd "$out" && pwd)
dotnet build -c Release loadgen >/dev/null
dotnet build -c Release src/Apps >/dev/null
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
port=${PORT:-11312}
record=(DOTNET_TieredCompilation=1 DOTNET_WritePGOData=1)
tmp=$(mktemp -d) pid=""
trap 'rm -rf "$tmp"; [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true' EXIT
. bench/idle.sh
rm -f "$out/loadgen.pgo" "$out/serve.pgo"
fail() { echo "$1 failed; its output:" >&2; cat "$2" >&2; exit 1; }

# One process per file: the runtime writes the profile of everything the process ran as it exits.
env "${record[@]}" DOTNET_PGODataPath="$out/loadgen.pgo" $L sched --workload zero --policy cfcfs,ps,dfcfs --loads max \
  --mailbox-depth 8 --duration-s 2 --no-charts --out "$tmp/zero" > "$tmp/zero.log" 2>&1 || fail sched "$tmp/zero.log"

# The host compiles a method with a loop fully at its first call (TieredCompilationQuickJitForLoops false in
# its project), which would leave the IOKernel's stage loops out of the profile: here they start at tier 0.
# shellcheck disable=SC2086 # the idle options are a list
env "${record[@]}" DOTNET_TC_QuickJitForLoops=1 DOTNET_PGODataPath="$out/serve.pgo" $APP serve --apps kv --kv-port "$port" --kv-memory-mb 64 \
  --policy ps --allocation static --batch false $idle > "$tmp/serve.log" 2>&1 & pid=$!
python3 bench/wait-version.py "$port" || fail "serve (no answer in 30 s)" "$tmp/serve.log"
for workload in usr etc; do
  for protocol in text binary; do
    taskset -c 0 $L kv --target "netstack/ps=127.0.0.1:$port" --workload $workload --protocol $protocol --keys 2000 \
      --rates 20000,20000 --duration-s 1 --no-charts --receiver inline --cores 0 --connections 16 \
      --out "$tmp/$workload-$protocol" > "$tmp/$workload-$protocol.log" 2>&1 || fail "kv $workload $protocol" "$tmp/$workload-$protocol.log"
  done
done
# SIGTERM (a script's background job ignores SIGINT): the host stops, and the runtime writes the file as it exits.
kill -TERM $pid
for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { kill -KILL $pid; echo "the server did not stop in 30 s" >&2; exit 1; }
wait $pid || true
pid=""
for f in loadgen serve; do
  head -1 "$out/$f.pgo" | grep -q '^\*\*\* START PGO Data' || { echo "no profile in $out/$f.pgo" >&2; exit 1; }
  echo "$out/$f.pgo: $(grep -c '^@@@' "$out/$f.pgo") methods"
done
