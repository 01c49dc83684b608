#!/usr/bin/env bash
# memcached -t 1 on core 1 at 40 k/s from the generator on core 0, with the guest's halt polling off (this VM's
# setting, guest_halt_poll_ns 0: an idle vCPU halts at once) and at 200 us (it polls that long before halting).
cd "$(git rev-parse --show-toplevel)"
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
out=${OUT:-results/haltpoll}
param=/sys/module/haltpoll/parameters/guest_halt_poll_ns
before=$(cat $param)
trap 'echo $before > $param' EXIT
taskset -c 1 memcached -p 21211 -U 0 -l 127.0.0.1 -t 1 -m 256 -u root > /dev/null 2>&1 & mc=$!
sleep 1
for r in 1 2 3; do for ns in 0 200000; do
  echo $ns > $param
  taskset -c 0 $L kv --target memcached-t1=127.0.0.1:21211 --workload usr --keys 100000 --rates 40000,40000,40000 --receiver inline --cores 0 --connections 16 --duration-s 2 --no-charts --out $out/poll$ns-$r >/dev/null 2>&1
  python3 -c "
import json; r=json.load(open('$out/poll$ns-$r/report.json'))
print('poll $ns $r', [(sum(p.get('stealMsPerCore')), round(p['all']['latencyUs']['p50']), round(p['all']['latencyUs']['p99'])) for p in r['points']])"
done; done
kill $mc
