#!/usr/bin/env bash
set -u
cd "$(git rev-parse --show-toplevel)"
out=$1; shift
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
idle="--NetStack:IOKernelIdle SpinPark --NetStack:CarrierIdle SpinPark --NetStack:IdleSpinMicros 0 --NetStack:IdleYieldMicros 2000 --NetStack:IdleParkMicros 200"
$APP serve --apps kv --kv-port 11211 --kv-memory-mb 256 --policy ps --allocation static --batch false $idle "$@" > serve-kv.log 2>&1 & kv=$!
sleep 3
perf record -q -e sched:sched_switch -C 0,1 -o ${PERF_DATA:-kv.perf} -- taskset -c 0 $L kv --target netstack/ps=127.0.0.1:11211 --workload usr --keys 100000 \
  --long-fraction 0.005 --long-keys 100 --rates ${RATES:-40000,56000} --receiver inline --cores 0 --connections 16 --duration-s 2 --behind-p99-us 50 --no-charts --out $out > trace-out.txt 2>&1
kill -TERM $kv; wait $kv
perf script -i ${PERF_DATA:-kv.perf} -F cpu,time,trace > ${SCHED_TXT:-kv.sched.txt} 2>/dev/null
grep -n "get" $out/report.md | sed -n '1,4p;9,12p'
