#!/usr/bin/env bash
# The dispatcher's ceiling (`sched --workload zero --loads max`, one worker), variants side by side:
# this checkout's built executable or another build's, each under its own environment, alternated run
# by run, the order reversed every other round (whichever runs second meets a warmer or a slower machine).
# Usage: [ROUNDS=6] [KS="1 2 4 8"] [DURATION_S=3] bench/ceiling-ab.sh OUT_DIR NAME[@DIR][:VAR=VALUE[,VAR=VALUE]] ...
#   e.g. bench/ceiling-ab.sh results/clock fenced:NETSTACK_CLOCK=tsc-fenced relaxed unfenced:NETSTACK_CLOCK=tsc-unfenced
#   or, fully optimized with a recorded profile (bench/pgo-train.sh) against without:
#   bench/ceiling-ab.sh results/pgo-ab full static:DOTNET_ReadPGOData=1,DOTNET_PGODataPath=results/pgo/loadgen.pgo
#   NAME@DIR runs DIR/netstack-loadgen.dll instead of this checkout's (another build: e.g.
#   `git worktree add "$WT" REV && dotnet build -c Release "$WT/loadgen"`, then base@"$WT/loadgen/bin/Release/net10.0").
# Writes OUT_DIR/NAME-kK-ROUND.json (each run's report.json) and OUT_DIR/noise-{before,after}.txt;
# bench/ceiling-summary.py OUT_DIR prints the medians, over all points and over the points whose
# cross-core round trip held one machine state before and after. About 4 s a run, after the build;
# run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/ceiling-ab.sh OUT_DIR NAME[@DIR][:VAR=VALUE,...] ...}
shift
[ $# -ge 1 ] || { echo "give at least one variant" >&2; exit 2; }
mkdir -p "$out"
dotnet build -c Release loadgen >/dev/null
# The built executable, never `dotnet run` (PLATFORM.md).
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
variants=("$@")
. bench/variants.sh
for v in "${variants[@]}"; do
  variant_parts "$v"
  if [ -n "$dir" ] && [ ! -f "$dir/netstack-loadgen.dll" ]; then
    echo "$v: no netstack-loadgen.dll in $dir" >&2; exit 2
  fi
done
$L noise --duration-s 2 > "$out/noise-before.txt"
for round in $(seq 1 "${ROUNDS:-6}"); do
  round_order "$round" "${variants[@]}"
  for k in ${KS:-1 2 4 8}; do
    for v in "${order[@]}"; do
      variant_parts "$v"
      bin=$L; [ -n "$dir" ] && bin="dotnet $dir/netstack-loadgen.dll"
      tmp=$(mktemp -d)
      env ${envs[@]+"${envs[@]}"} $bin sched --workload zero --policy cfcfs --loads max --mailbox-depth "$k" \
        --duration-s "${DURATION_S:-3}" --no-charts --out "$tmp" >/dev/null
      cp "$tmp/report.json" "$out/$name-k$k-$round.json"
      rm -rf "$tmp"
    done
  done
  echo "round $round done"
done
$L noise --duration-s 2 > "$out/noise-after.txt"
python3 bench/ceiling-summary.py "$out"
