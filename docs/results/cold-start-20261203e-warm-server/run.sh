#!/usr/bin/env bash
# A cold generator against a warm kv: the same usr stream as bench/cold-start.sh sent twice to one server,
# each time by a freshly started generator. If the first half second's tail comes back in the second run,
# it is the generator's start, not the server's. Usage (repository root): warm-server.sh OUT [ROUNDS]
set -euo pipefail
out=$1 rounds=${2:-3} port=11321
mkdir -p "$out"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
. bench/idle.sh
rates=$(python3 -c "print(','.join(['20000'] * 6))")
$L noise --duration-s 2 > "$out/noise-before.txt"
for ((r = 1; r <= rounds; r++)); do
  $APP serve --apps kv --kv-port $port --kv-memory-mb 64 --policy ps --allocation static --batch false $idle > "$out/serve-$r.log" 2>&1 & pid=$!
  python3 -c "
import socket,time,sys
for _ in range(3000):
    try:
        s=socket.create_connection(('127.0.0.1',$port),timeout=5); s.sendall(b'version\r\n')
        if s.recv(64).startswith(b'VERSION'): sys.exit(0)
    except OSError: time.sleep(0.01)
sys.exit(1)"
  for run in first second; do
    dir="$out/$run-$r"; mkdir -p "$dir"
    taskset -c 0 $L kv --target "netstack/ps=127.0.0.1:$port" --workload usr --keys 1000 --rates "$rates" \
      --duration-s 0.5 --warmup 0 --no-warmup-point --no-charts --receiver inline --cores 0 --connections 16 \
      --behind-p99-us 50 --out "$dir" > "$dir/loadgen.txt" 2>&1
  done
  kill -TERM $pid; wait $pid 2>/dev/null || true
done
$L noise --duration-s 2 > "$out/noise-after.txt"
