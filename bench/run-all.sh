#!/usr/bin/env bash
# Reproduces every figure in docs/results.md, one after another, on an otherwise idle machine.
# Usage: bench/run-all.sh [OUT_DIR]   (about 14 minutes on 2 cores; nothing else should run meanwhile)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-results/bench-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
dotnet build -c Release loadgen >/dev/null
dotnet build -c Release src/Apps >/dev/null
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"

echo "== machine noise and cross-core round trip"
$L noise --duration-s 3 | tee "$out/noise-before.txt"

echo "== issue 2: dispatcher ceiling (zero-service requests, 1 worker), JBSQ k = 1, 2, 4"
for k in 1 2 4; do
  $L sched --workload zero --policy cfcfs --loads max --mailbox-depth "$k" --duration-s 3 --no-charts --out "$out/ceiling-k$k" >/dev/null
done

echo "== issue 5: the same ceiling with and without metrics, alternating (prometheus scraped every 250 ms)"
for round in 1 2; do
  $L sched --workload zero --policy cfcfs --loads max --duration-s 3 --no-charts --metrics none --out "$out/metrics-none-$round" >/dev/null
  (for i in $(seq 1 16); do curl -s http://127.0.0.1:9464/metrics >/dev/null || true; sleep 0.25; done) &
  $L sched --workload zero --policy cfcfs --loads max --duration-s 3 --no-charts --metrics prometheus --out "$out/metrics-prometheus-$round" >/dev/null
  wait
done

echo "== issue 2: extreme-bimodal, 1 worker, cfcfs / ps (5 us) / dfcfs interleaved, the queueing model beside them"
$L sched --workload extreme-bimodal --policy cfcfs,ps,dfcfs --loads 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9 --duration-s 3 --model \
  --slo "short:p99.9-slowdown<=50,short:p99-slowdown<=50" --out "$out/extreme-bimodal" >/dev/null

echo "== issue 3: UDP on loopback: NetStack ps and cfcfs against the ThreadPool server"
# Placement (docs/results.md): IOKernels on core 0, workers on core 1, the generator on core 0
# (inline receiver); idle NetStack threads yield at once and park after 2 ms, so a server that is
# not being measured takes nothing from the one that is.
. bench/idle.sh
$APP serve --port 9000 --policy ps --allocation static --batch false $idle > "$out/serve-ps.log" 2>&1 & ps_pid=$!
$APP serve --port 9002 --policy cfcfs --allocation static --batch false $idle > "$out/serve-cfcfs.log" 2>&1 & cf_pid=$!
$APP serve --server threadpool --port 9001 > "$out/serve-threadpool.log" 2>&1 & tp_pid=$!
sleep 3
# The generator shares core 0 with the IOKernels, so its send lateness runs to a few tens of µs;
# latency is measured from the intended send time, so lateness only adds to the servers' figures.
# The bound for "fell behind" is therefore 50 µs here (default 20 µs, for a generator on its own core).
slos="p99.9-slowdown<=50,p99.9-slowdown<=100,p99.9-slowdown<=200,p99-slowdown<=50,p99-slowdown<=100,p99-slowdown<=200,p99-latency<=500,p99-latency<=1000"
for w in exp-10 extreme-bimodal; do
  loads=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8
  # extreme-bimodal's capacity is 333 k requests/s; above ~0.4 the generator and loopback give out first.
  [ "$w" = extreme-bimodal ] && loads=0.05,0.1,0.15,0.2,0.25,0.3,0.35,0.4
  $L udp --target netstack/ps=127.0.0.1:9000,netstack/cfcfs=127.0.0.1:9002,threadpool=127.0.0.1:9001 --workload "$w" \
    --loads "$loads" --workers 1 --duration-s 2 --receiver inline --cores 0 --behind-p99-us 50 --slo "$slos" \
    --out "$out/udp-$w" >/dev/null
done
kill -TERM $ps_pid $cf_pid $tp_pid; wait $ps_pid $cf_pid $tp_pid || true

echo "== issue 3: the generator's own ceiling against a trivial echo (echo on core 1, generator on core 0)"
$L echo --port 9100 --core 1 --duration-s 40 > "$out/echo.log" 2>&1 & echo_pid=$!
sleep 2
$L udp --target echo=127.0.0.1:9100 --workload zero --rates 50000,100000,150000,200000,250000 --duration-s 2 \
  --receiver inline --cores 0 --no-charts --out "$out/echo-ceiling" >/dev/null
kill -TERM $echo_pid || true; wait $echo_pid || true

echo "== issue 4: LC exp-10 at 50 % of a core (c-FCFS: exp-10 has no long tail for ps to cut) with the batch app: standing-queue, queue-delay, static, alone"
$L colocate --workload exp-10 --lc-load 0.5 --policy cfcfs --allocation standing-queue,queue-delay,static,alone --duration-s 12 --rounds 6 \
  --out "$out/colocate" >/dev/null
for rel in 5 10; do
  $L colocate --workload exp-10 --lc-load 0.5 --policy cfcfs --allocation standing-queue,alone --duration-s 6 --rounds 3 --release-idle-us "$rel" \
    --no-charts --out "$out/colocate-release-$rel" >/dev/null
done
$L colocate --workload exp-10 --lc-load 0.5 --lc-low 0.1 --pattern bursts --burst-ms 50 --policy cfcfs --allocation standing-queue,alone \
  --duration-s 6 --rounds 3 --out "$out/colocate-bursts" >/dev/null

echo "== stalls: exp-10 c-FCFS against M/M/1 and extreme-bimodal against the model, all requests and untouched (bench/stalls.sh)"
bench/stalls.sh "$out/stalls"

echo "== machine noise after"
$L noise --duration-s 3 | tee "$out/noise-after.txt"
echo "results in $out"
