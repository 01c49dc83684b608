#!/usr/bin/env bash
cd "$(git rev-parse --show-toplevel)"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"
idle="--NetStack:IOKernelIdle SpinPark --NetStack:CarrierIdle SpinPark --NetStack:IdleSpinMicros 0 --NetStack:IdleYieldMicros 2000 --NetStack:IdleParkMicros 200"
taskset -c 1 memcached -p 21211 -U 0 -l 127.0.0.1 -t 1 -m 256 -u root > /dev/null 2>&1 & mc=$!
for r in 1 2; do for v in with backoff without; do
  kv=""
  extra=""; [ $v = backoff ] && extra="--NetStack:IdleParkMaxMicros 5000"
  if [ $v != without ]; then $APP serve --apps kv --kv-port 11211 --kv-memory-mb 256 --policy ps --allocation static --batch false $idle $extra > /dev/null 2>&1 & kv=$!; fi
  sleep 3
  taskset -c 0 $L kv --target memcached-t1=127.0.0.1:21211 --workload usr --keys 100000 --rates 40000,40000,40000 --receiver inline --cores 0 --connections 16 --duration-s 2 --no-charts --out results/issue9-busy-yield/steal-idle-neighbour/steal-$v-$r >/dev/null 2>&1
  [ -n "$kv" ] && { kill -TERM $kv; wait $kv; }
  python3 -c "
import json; r=json.load(open('results/issue9-busy-yield/steal-idle-neighbour/steal-$v-$r/report.json'))
print('$v $r', [(p.get('stealMsPerCore'), round(p['all']['latencyUs']['p99'])) for p in r['points']])"
done; done
kill $mc
