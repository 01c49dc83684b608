#!/usr/bin/env bash
# memcaslap against kv fully optimized (kv-full), kv with a recorded profile (kv-static) and memcached -t 1 pinned
# to the worker core, all three up at once (bench/kv.sh's part 3 placement and options), ROUNDS rounds, the order
# reversed every other round. Usage (from the repository's root): run.sh OUT PROFILE
set -euo pipefail
out=$1 profile=$2 rounds=${ROUNDS:-6} slap=${SLAP:-5s}
mkdir -p "$out"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
. bench/idle.sh
dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll noise --duration-s 2 > "$out/noise-before.txt"
$APP serve --apps kv --kv-port 11411 --kv-memory-mb 256 --policy ps --allocation static --batch false $idle > "$out/serve-kv-full.log" 2>&1 & p1=$!
DOTNET_ReadPGOData=1 DOTNET_PGODataPath="$profile" $APP serve --apps kv --kv-port 11412 --kv-memory-mb 256 --policy ps --allocation static --batch false $idle > "$out/serve-kv-static.log" 2>&1 & p2=$!
taskset -c 1 memcached -p 11413 -l 127.0.0.1 -t 1 -m 256 -u root & p3=$!
trap 'kill $p1 $p2 $p3 2>/dev/null || true' EXIT
sleep 5
targets=(kv-full:11411 kv-static:11412 memcached-t1:11413)
for ((r = 1; r <= rounds; r++)); do
  order=("${targets[@]}")
  if ((r % 2 == 0)); then order=(memcached-t1:11413 kv-static:11412 kv-full:11411); fi
  for t in "${order[@]}"; do
    label=${t%%:*} port=${t##*:}
    taskset -c 0 memcaslap -s 127.0.0.1:$port -t "$slap" -T 1 -c 16 > "$out/$label-$r.txt" 2>&1 || true
    echo "$label round $r: $(grep -o 'TPS: [0-9]*' "$out/$label-$r.txt" | tail -1)"
  done
done
dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll noise --duration-s 2 > "$out/noise-after.txt"
