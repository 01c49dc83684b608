#!/usr/bin/env bash
# memcached -t 1 on core 1 at 40 k/s from the generator on core 0: core 1 left to halt when memcached waits,
# or kept awake by a SCHED_IDLE spinner (which runs only when nothing else wants core 1).
cd "$(git rev-parse --show-toplevel)"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
out=${OUT:-results/steal-idle}
taskset -c 1 memcached -p 21211 -U 0 -l 127.0.0.1 -t 1 -m 256 -u root > /dev/null 2>&1 & mc=$!
sleep 1
for r in 1 2 3; do for v in halting awake; do
  sp=""
  if [ $v = awake ]; then timeout 120 chrt -i 0 taskset -c 1 sh -c 'while :; do :; done' & sp=$!; fi
  sleep 1
  taskset -c 0 $L kv --target memcached-t1=127.0.0.1:21211 --workload usr --keys 100000 --rates 40000,40000,40000 --receiver inline --cores 0 --connections 16 --duration-s 2 --no-charts --out $out/$v-$r >/dev/null 2>&1
  [ -n "$sp" ] && { kill $sp; wait $sp 2>/dev/null; }
  python3 -c "
import json; r=json.load(open('$out/$v-$r/report.json'))
print('$v $r', [(sum(p.get('stealMsPerCore')), round(p['all']['latencyUs']['p50']), round(p['all']['latencyUs']['p99'])) for p in r['points']])"
done; done
kill $mc
