#!/usr/bin/env bash
# A service's first seconds under each JIT mode: `netstack serve --apps kv` started from cold, its time to the
# first reply, then usr GETs at a fixed rate in short points from the first request on, so that each point is
# a slice of the service's first seconds (docs/results.md, "The first seconds"). Modes alternate, their order
# reversed every other round.
# Usage: bench/cold-start.sh [OUT_DIR]   (about 15 s a round; nothing else should run meanwhile)
# ROUNDS (3), RATE (20000 requests/s), POINTS (10) of POINT_S (0.5) seconds, KEYS (1000, loaded first: the
# service's first traffic), PORT (11311); MODES: NAME[:VAR=VALUE,...] for the server's environment,
# default "full tiered:DOTNET_TieredCompilation=1" (the executables compile fully at first call).
# WARM_CLIENT=1: the generator first runs its discarded warm-up point against a memcached of its own (port
# PORT+1), so its own start is not in the service's first points (docs/loadgen.md, --warmup-target).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/cold-start-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
dotnet build -c Release loadgen >/dev/null
dotnet build -c Release src/Apps >/dev/null
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
rounds=${ROUNDS:-3} rate=${RATE:-20000} points=${POINTS:-10} point_s=${POINT_S:-0.5} keys=${KEYS:-1000} port=${PORT:-11311}
read -r -a modes <<< "${MODES:-full tiered:DOTNET_TieredCompilation=1}"
rates=$(python3 -c "print(','.join(['$rate'] * $points))")
# As bench/kv.sh serves kv: IOKernel on core 0 beside the generator, the worker on core 1.
. bench/idle.sh
. bench/variants.sh
client_warmup="--no-warmup-point" warm_pid=""
if [ "${WARM_CLIENT:-0}" = 1 ]; then
  user=""; [ "$(id -u)" = 0 ] && user="-u root"
  memcached -p $((port + 1)) -U 0 -l 127.0.0.1 -t 1 -m 64 $user & warm_pid=$!
  trap 'kill $warm_pid 2>/dev/null || true' EXIT
  python3 bench/wait-version.py $((port + 1)) || { echo "bench/cold-start.sh: the warm-up memcached did not start" >&2; exit 1; }
  client_warmup="--warmup-target 127.0.0.1:$((port + 1))"
  echo "generator warm-up against memcached on port $((port + 1))" > "$out/warm-client.txt"
fi

$L noise --duration-s 2 > "$out/noise-before.txt"
for ((r = 1; r <= rounds; r++)); do
  round_order "$r" "${modes[@]}"
  for mode in "${order[@]}"; do
    variant_parts "$mode"
    run_dir="$out/$name-$r"; mkdir -p "$run_dir"
    # shellcheck disable=SC2086 # the idle options are a list
    env ${envs[@]+"${envs[@]}"} $APP serve --apps kv --kv-port "$port" --kv-memory-mb 64 --policy ps --allocation static --batch false $idle \
      > "$run_dir/serve.log" 2>&1 & pid=$!
    started=$(date +%s.%N)
    # Time to the first reply: connect every millisecond until the service answers `version`.
    python3 bench/wait-version.py "$port" --since "$started" > "$run_dir/first-reply.txt" || echo "no reply in 30 s" > "$run_dir/first-reply.txt"
    # shellcheck disable=SC2086 # L is a command line
    taskset -c 0 $L kv --target "netstack/ps=127.0.0.1:$port" --workload usr --keys "$keys" --rates "$rates" \
      --duration-s "$point_s" --warmup 0 $client_warmup --no-charts --receiver inline --cores 0 --connections 16 \
      --behind-p99-us 50 --out "$run_dir" > "$run_dir/loadgen.txt" 2>&1 || echo "loadgen failed in $run_dir" >&2
    kill -TERM $pid; wait $pid 2>/dev/null || true
    echo "$name round $r: $(cat "$run_dir/first-reply.txt")"
  done
done
$L noise --duration-s 2 > "$out/noise-after.txt"
python3 bench/cold-start-summary.py "$out" | tee "$out/summary.txt"
