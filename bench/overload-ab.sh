#!/usr/bin/env bash
# A/B of the IOKernel's overload behaviour: NetStack built at OLD_REV against this checkout, both on the
# syscalls backend, interleaved point by point by one generator (docs/results.md, "Overload"):
#   UDP extreme-bimodal and exp-10 latency from low load to past capacity, UDP 64-byte echo past
#   capacity, TCP extreme-bimodal at low load.
# Usage: [ROUNDS=2] bench/overload-ab.sh OLD_REV [OUT_DIR]   (about 2 minutes a round, after the builds, on 2 cores; run it
# on an otherwise idle machine). OLD_REV is built in a temporary git worktree, removed at the end.
# The generator measures a point's targets one after the other, and the one measured second is not
# measured on the same machine as the first (measured: +0.5 us of p99 for whichever ran second), so
# the rounds alternate the order: odd rounds old first, even rounds new first (OUT_DIR/round-N/).
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=${1:?usage: bench/overload-ab.sh OLD_REV [OUT_DIR]}
out=${2:-results/overload-ab-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
wt=$(mktemp -d)
git worktree add -q --detach "$wt" "$old_rev"
pids=()
cleanup() {
  if [ ${#pids[@]} -gt 0 ]; then kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; fi
  git worktree remove --force "$wt" 2>/dev/null || true
}
trap cleanup EXIT
dotnet build -c Release "$wt/src/Apps" >/dev/null
dotnet build -c Release src/Apps >/dev/null
dotnet build -c Release loadgen >/dev/null
# The built executables, never `dotnet run` (PLATFORM.md).
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
. bench/idle.sh
serve="serve --backend syscalls --policy ps --allocation static --batch false $idle"
dotnet "$wt/src/Apps/bin/Release/net10.0/netstack.dll" $serve --port 9100 > "$out/old.log" 2>&1 & pids+=($!)
dotnet src/Apps/bin/Release/net10.0/netstack.dll $serve --port 9102 > "$out/new.log" 2>&1 & pids+=($!)
sleep 3
rounds=${ROUNDS:-2}
$L noise --duration-s 2 > "$out/noise-before.txt"
for round in $(seq 1 "$rounds"); do
  r="$out/round-$round"
  mkdir -p "$r"
  t="old=127.0.0.1:9100,new=127.0.0.1:9102"; [ $((round % 2)) = 0 ] && t="new=127.0.0.1:9102,old=127.0.0.1:9100"
  echo "round $round: $t"
  for w in extreme-bimodal exp-10; do
    loads=0.1,0.2,0.3,0.4,0.5,0.6,0.7; [ "$w" = extreme-bimodal ] && loads=0.05,0.1,0.15,0.2,0.25,0.3
    $L udp --target "$t" --workload $w --loads $loads --workers 1 --duration-s 2 --receiver inline --cores 0 \
      --behind-p99-us 50 --slo "p99-latency<=1000" --no-charts --out "$r/udp-$w" >/dev/null
  done
  $L udp --target "$t" --workload zero --payload-bytes 24 --rates 100000,150000,200000,300000 --duration-s 2 \
    --receiver inline --cores 0 --slo "p99-latency<=1000" --no-charts --out "$r/udp-echo64" >/dev/null
  $L tcp --target "$t" --workload extreme-bimodal --loads 0.05,0.1,0.15,0.2 --workers 1 --duration-s 2 --receiver inline \
    --cores 0 --connections 16 --behind-p99-us 50 --slo "p99-latency<=1000" --no-charts --out "$r/tcp-extreme-bimodal" >/dev/null
done
$L noise --duration-s 2 > "$out/noise-after.txt"
kill -TERM "${pids[@]}"; wait "${pids[@]}" || true; pids=()
{ echo "old ($old_rev):"; grep -o "netstack: received.*" "$out/old.log" | cut -d';' -f1
  echo "new ($(git rev-parse --short HEAD)):"; grep -o "netstack: received.*" "$out/new.log" | cut -d';' -f1; } > "$out/servers.txt"
cat "$out/servers.txt"
echo "results in $out"
