#!/usr/bin/env bash
# The io_uring NIC benchmarks (docs/io_uring.md, "Measured: the NIC backends"), side by side in one run on one machine:
#   1. the IOKernel's empty poll and loop, loops/s, enters per loop, and the CPU it leaves to a thread on its core,
#      with 1 and 16 idle UDP queues and 16 and 1024 idle TCP connections, io_uring against syscalls (the probe);
#   2. the CPU an idle serve leaves to a spinning thread on the IOKernel's core, 16 UDP queues, per backend (noise);
#   3. UDP and TCP: the highest load holding p99 <= 1 ms for spin on exp-10 and extreme-bimodal,
#      NetStack on io_uring against NetStack on the syscalls against the ThreadPool server;
#   4. 64-byte echo requests per second (one IOKernel core), the same three servers.
# Usage: bench/iouring.sh [OUT_DIR]   (about 12 minutes on 2 cores; run it on an otherwise idle machine:
# nothing else should build, test or benchmark meanwhile). Every figure lands in OUT_DIR as report.json (+ report.md).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/iouring-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
dotnet build -c Release loadgen >/dev/null
dotnet build -c Release src/Apps >/dev/null
dotnet build -c Release bench/IoUringProbe >/dev/null
# The built executables, never `dotnet run` (its parent process takes ~45 % of a core for seconds: PLATFORM.md).
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
PROBE=bench/IoUringProbe/bin/Release/net10.0/netstack-iouring-probe

pids=()
stop_servers() {
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  pids=()
}
trap stop_servers EXIT

echo "== machine noise (before)"
$L noise --duration-s 3 | tee "$out/noise-before.txt"

echo "== 1. the IOKernel's empty poll and loop per backend: UDP 1 and 16 queues, TCP 16 and 1024 connections (~2 min)"
mkdir -p "$out/nic-loop"
$PROBE nic-loop --seconds 2 --json "$out/nic-loop/report.json" | tee "$out/nic-loop/report.md"

echo "== the raw ring against recvmmsg/sendmmsg (the layer's own figures)"
$PROBE --rounds 10 | tee "$out/probe.md"

echo "== 2. CPU an idle serve (16 UDP queues, serve's idle defaults) leaves to a spinning thread on the IOKernel's core"
$L noise --cores 0 --duration-s 5 | tee "$out/noise-core0-alone.txt"
for backend in io_uring syscalls; do
  $APP serve --port 9010 --queues 16 --backend "$backend" --allocation static --batch false > "$out/serve-idle-$backend.log" 2>&1 &
  pids=($!)
  sleep 3
  $L noise --cores 0 --duration-s 5 | tee "$out/noise-core0-serve-$backend.txt"
  stop_servers
done

# Placement as in run-all.sh: the IOKernels on core 0, the workers on core 1, the generator on core 0 (inline
# receiver, yielding while it waits). Idle NetStack threads yield at once and park after 2 ms, so a server that
# is not being measured takes nothing from the one that is. One app (spin) on UDP and TCP, on the same port.
. bench/idle.sh
start_servers() {
  $APP serve --port 9000 --backend io_uring --policy ps --allocation static --batch false $idle > "$out/serve-io_uring.log" 2>&1 &
  pids+=($!)
  $APP serve --port 9002 --backend syscalls --policy ps --allocation static --batch false $idle > "$out/serve-syscalls.log" 2>&1 &
  pids+=($!)
  $APP serve --server threadpool --port 9001 > "$out/serve-threadpool.log" 2>&1 &
  pids+=($!)
  sleep 3
  # Each NetStack server's start-up line names the backend it runs on: a benchmark never measures the wrong one.
  grep -q "(io_uring)" "$out/serve-io_uring.log" || { echo "the io_uring server is not on io_uring:"; cat "$out/serve-io_uring.log"; exit 1; }
  grep -q "(syscalls)" "$out/serve-syscalls.log" || { echo "the syscalls server is not on the syscalls:"; cat "$out/serve-syscalls.log"; exit 1; }
}
targets="netstack-io_uring/ps=127.0.0.1:9000,netstack-syscalls/ps=127.0.0.1:9002,threadpool=127.0.0.1:9001"
start_servers

echo "== 3. highest load holding p99 <= 1 ms, spin on exp-10 and extreme-bimodal, UDP and TCP"
slos="p99-latency<=1000,p99.9-latency<=1000,p99-slowdown<=50"
for transport in udp tcp; do
  for w in exp-10 extreme-bimodal; do
    loads=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9
    # extreme-bimodal's capacity is 333 k requests/s; above ~0.4 the generator and loopback give out first.
    [ "$w" = extreme-bimodal ] && loads=0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4
    extra=""
    [ "$transport" = tcp ] && extra="--connections 16"
    $L "$transport" --target "$targets" --workload "$w" --loads "$loads" --workers 1 --duration-s 2 \
      --receiver inline --cores 0 --behind-p99-us 50 --slo "$slos" $extra --out "$out/$transport-$w" >/dev/null
    echo "   $transport $w: $out/$transport-$w/report.md"
  done
done

echo "== 4. 64-byte echo requests per second on one IOKernel core (40-byte header + 24 payload bytes; zero service time)"
for transport in udp tcp; do
  extra=""
  [ "$transport" = tcp ] && extra="--connections 16"
  $L "$transport" --target "$targets" --workload zero --payload-bytes 24 \
    --rates 50000,100000,150000,200000,250000,300000,400000 --duration-s 2 --receiver inline --cores 0 \
    --slo "p99-latency<=1000" --no-charts $extra --out "$out/$transport-echo64" >/dev/null
  echo "   $transport echo: $out/$transport-echo64/report.md"
done
stop_servers

echo "== machine noise (after)"
$L noise --duration-s 3 | tee "$out/noise-after.txt"
echo "results in $out"
