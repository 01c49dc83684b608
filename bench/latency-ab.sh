#!/usr/bin/env bash
# Latency side by side: each variant's `sched` at low to high load on exp-1 and extreme-bimodal (c-FCFS and ps),
# the variants alternated run by run, the order reversed every other round, from the built executable.
# Usage: [ROUNDS=4] [LOADS=0.1,0.3,0.5,0.7,0.9] [DURATION_S=2] bench/latency-ab.sh OUT NAME[:VAR=VALUE[,VAR=VALUE]] ...   (bench/variants.sh)
#   e.g. bench/latency-ab.sh OUT new old:NETSTACK_PREFETCHW=off; then bench/latency-summary.py OUT
# Writes OUT/NAME-WORKLOAD-ROUND.json (each run's report.json) and the machine's noise before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/latency-ab.sh OUT NAME[:VAR=VALUE,...] ...}; shift
rounds=${ROUNDS:-4} loads=${LOADS:-0.1,0.3,0.5,0.7,0.9} duration=${DURATION_S:-2}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || { echo "bench/latency-ab.sh: name at least one variant" >&2; exit 2; }
. bench/variants.sh
mkdir -p "$out"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
$L noise --duration-s 2 > "$out/noise-before.txt"
for ((r = 1; r <= rounds; r++)); do
  round_order "$r" "${variants[@]}"
  for w in exp-1 extreme-bimodal; do
    for v in "${order[@]}"; do
      variant_parts "$v"
      tmp=$(mktemp -d)
      env ${envs[@]+"${envs[@]}"} $L sched --workload $w --policy cfcfs,ps --loads "$loads" --duration-s "$duration" --no-charts --out "$tmp" > /dev/null
      cp "$tmp/report.json" "$out/$name-$w-$r.json"; rm -rf "$tmp"
    done
  done
  echo "round $r done"
done
$L noise --duration-s 2 > "$out/noise-after.txt"
