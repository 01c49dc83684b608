#!/usr/bin/env bash
# The scheduler with and without the machine's stalls (docs/results.md, "Stalls"): exp-10 under
# c-FCFS on one worker against M/M/1, and extreme-bimodal under every policy against the queueing
# model, each over all requests and over the requests no stall touched.
# Usage: bench/stalls.sh [OUT_DIR]   (about 4 minutes on 2 cores; run it on an idle machine: another
# job's time on these cores is a stall too, and leaves few requests untouched)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/stalls-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
dotnet build -c Release loadgen >/dev/null
# The built executable, never `dotnet run`: its parent process takes ~45 % of a core for seconds (PLATFORM.md).
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
# One section of the printed report.md: its heading up to the next heading or the file list after it.
section() { awk -v h="## $1" '$0 == h { on = 1; print; next } on && (/^## / || /^wrote /) { on = 0 } on'; }

echo "== machine noise and cross-core round trip, before"
$L noise --duration-s 3 | tee "$out/noise-before.txt"

# M/M/1 at these loads: p50 7.7, 8.7, 9.9, 11.6, 13.9, 17.3, 23.1, 34.7 us; p99 51, 58, 66, 77, 92, 115, 154, 230 us.
echo "== exp-10, c-FCFS, 1 worker, loads 0.1-0.8, 5 s a point: all-request and untouched p50/p99 over M/M/1"
$L sched --workload exp-10 --policy cfcfs --workers 1 --loads 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8 --duration-s 5 \
  --slo "p99-latency<=100,p99-latency<=1000" --out "$out/exp-10-mm1" | tee "$out/exp-10-mm1.txt" | section "Against queueing theory"

echo "== extreme-bimodal, cfcfs / ps (5 us) / dfcfs, 1 worker, loads 0.1-0.9, 3 s a point, the queueing model beside each"
$L sched --workload extreme-bimodal --policy cfcfs,ps,dfcfs --loads 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9 --duration-s 3 --model \
  --slo "short:p99.9-slowdown<=50,short:p99-slowdown<=50" --out "$out/extreme-bimodal-model" \
  | tee "$out/extreme-bimodal-model.txt" | section "Measured against the model"

echo "== machine noise after"
$L noise --duration-s 3 | tee "$out/noise-after.txt"
echo "results in $out (report.md in each folder: the SLO tables over all and untouched requests, the stalls per core, the ratios)"
