#!/usr/bin/env bash
# Latency at low and middle load, fully optimized ("full") against fully optimized with a recorded profile
# ("static"), alternated run by run, the order reversed every other round. Usage (repository root):
# run.sh OUT PROFILE [ROUNDS]
set -euo pipefail
out=$1 profile=$2 rounds=${3:-3}
mkdir -p "$out"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
$L noise --duration-s 2 > "$out/noise-before.txt"
for ((r = 1; r <= rounds; r++)); do
  order=(full static); ((r % 2 == 0)) && order=(static full)
  for w in exp-1 extreme-bimodal; do
    for v in "${order[@]}"; do
      envs=(); [ "$v" = static ] && envs=(DOTNET_ReadPGOData=1 DOTNET_PGODataPath="$profile")
      tmp=$(mktemp -d)
      env ${envs[@]+"${envs[@]}"} $L sched --workload $w --policy cfcfs,ps --loads 0.1,0.3,0.5 --duration-s 2 --no-charts --out "$tmp" > /dev/null
      cp "$tmp/report.json" "$out/$v-$w-$r.json"; rm -rf "$tmp"
    done
  done
  echo "round $r done"
done
$L noise --duration-s 2 > "$out/noise-after.txt"
