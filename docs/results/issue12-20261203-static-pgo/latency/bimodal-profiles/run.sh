#!/usr/bin/env bash
# extreme-bimodal under ps and c-FCFS at 0.1 and 0.5: full, static with the ceiling's profile (zero work, no
# preemptions) and static with a profile recorded on extreme-bimodal itself, alternated, the order reversed
# every other round. Usage (repository root): run2.sh OUT CEILING_PROFILE BIMODAL_PROFILE [ROUNDS]
set -euo pipefail
out=$1 p1=$2 p2=$3 rounds=${4:-4}
mkdir -p "$out"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
$L noise --duration-s 2 > "$out/noise-before.txt"
for ((r = 1; r <= rounds; r++)); do
  order=(full static staticbimodal); ((r % 2 == 0)) && order=(staticbimodal static full)
  for v in "${order[@]}"; do
    envs=()
    [ "$v" = static ] && envs=(DOTNET_ReadPGOData=1 DOTNET_PGODataPath="$p1")
    [ "$v" = staticbimodal ] && envs=(DOTNET_ReadPGOData=1 DOTNET_PGODataPath="$p2")
    tmp=$(mktemp -d)
    env ${envs[@]+"${envs[@]}"} $L sched --workload extreme-bimodal --policy cfcfs,ps --loads 0.1,0.5 --duration-s 2 --no-charts --out "$tmp" > /dev/null
    cp "$tmp/report.json" "$out/$v-extreme-bimodal-$r.json"; rm -rf "$tmp"
  done
  echo "round $r done"
done
$L noise --duration-s 2 > "$out/noise-after.txt"
