#!/usr/bin/env bash
# The queueing model at 16 and 64 worker cores (docs/model.md): what each policy would do on
# extreme-bimodal and exp-10 with NetStack's overheads, beyond the 2 cores of the reference machine.
# Usage: bench/model.sh [OUT_DIR]   (default docs/results/model; about a minute, one core)
# Writes OUT_DIR/<run>/report.json, report.md and charts; into docs/results/model, it moves the
# docs' figures to docs/images/ and keeps only the report.json files behind them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/results/model}
dotnet build -c Release loadgen >/dev/null
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"

# NetStack's overheads (docs/results.md): dispatch 200 ns (a C dispatcher's ~5 M requests/s; NetStack
# measured 5.49 M/s at JBSQ(2)), preemption 150 ns (its measured p50, 136-166 ns), JBSQ(2), 5 us slice.
common="--policy cfcfs,ps,dfcfs --workers 16,64 --loads 0.05,0.1,0.15,0.2,0.25,0.3,0.4,0.5,0.6,0.7,0.8,0.9
  --quantum-us 5 --preempt-ns 150 --mailbox-depth 2 --requests 1000000 --seed 42"
# The SLO tables, and the simulator's speed.
slo_tables() { sed -n '/^## SLO/,/^## Points/p; /^model: /p' | grep -v '^## Points'; }

echo "== extreme-bimodal, 16 and 64 workers, dispatch 200 ns"
$L model --workload extreme-bimodal $common --dispatch-ns 200 --slo "short:p99.9-slowdown<=50,short:p99-slowdown<=50" \
  --out "$out/extreme-bimodal" | slo_tables

# exp-10's p99.9 slowdown is set by its tiniest requests (exponential service); p99 latency <= 100 us
# is ZygOS's SLO (10 x the mean service time).
echo "== exp-10, 16 and 64 workers, dispatch 200 ns"
$L model --workload exp-10 $common --dispatch-ns 200 --slo "p99.9-slowdown<=50,p99-latency<=100" \
  --out "$out/exp-10" | slo_tables

echo "== extreme-bimodal, 16 and 64 workers, a free dispatcher (0 ns): what the ceiling costs"
$L model --workload extreme-bimodal $common --dispatch-ns 0 --slo "short:p99.9-slowdown<=50,short:p99-slowdown<=50" \
  --out "$out/extreme-bimodal-free-dispatch" | slo_tables

if [ "$out" = docs/results/model ]; then
  mv "$out/extreme-bimodal/slowdown-short-p99.9.png" docs/images/model-extreme-bimodal-short-p999.png
  mv "$out/exp-10/slowdown-req-p99.9.png" docs/images/model-exp-10-p999.png
  mv "$out/exp-10/slowdown-req-p99.png" docs/images/model-exp-10-p99.png
  mv "$out/extreme-bimodal-free-dispatch/slowdown-short-p99.9.png" docs/images/model-extreme-bimodal-free-dispatch-short-p999.png
  rm -f "$out"/*/*.png "$out"/*/report.md
fi
