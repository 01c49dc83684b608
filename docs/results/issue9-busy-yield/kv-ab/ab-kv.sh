#!/usr/bin/env bash
# A/B of whole builds on usr: kv (that build's server) and memcached -t 1 (same for both), that build's generator.
set -u
out=results/issue9-busy-yield/kv-ab; mkdir -p $out
user="-u root"
taskset -c 1 memcached -p 21211 -U 0 -l 127.0.0.1 -t 1 -m 256 $user > /dev/null 2>&1 & mc=$!
idle="--NetStack:IOKernelIdle SpinPark --NetStack:CarrierIdle SpinPark --NetStack:IdleSpinMicros 0 --NetStack:IdleYieldMicros 2000 --NetStack:IdleParkMicros 200"
for r in ${ROUNDS:-1 2}; do
  for v in ${ORDER:-base new}; do
    es=""; eg=""
    if [ $v = base ]; then d=${BASE:?a worktree of the build before, built}; else d=$(git rev-parse --show-toplevel); fi
    case $v in srv0) es="--NetStack:IOKernelBusyYieldMicros 0";; gen0) eg="--busy-yield-us 0";; both0) es="--NetStack:IOKernelBusyYieldMicros 0"; eg="--busy-yield-us 0";; esac
    dotnet $d/src/Apps/bin/Release/net10.0/netstack.dll serve --apps kv --kv-port 11211 --kv-memory-mb 256 --policy ps --allocation static --batch false $idle $es > $out/serve-$v-$r.log 2>&1 & kv=$!
    sleep 3
    taskset -c 0 dotnet $d/loadgen/bin/Release/net10.0/netstack-loadgen.dll kv --target netstack/ps=127.0.0.1:11211,memcached-t1=127.0.0.1:21211 \
      --workload ${W:-usr} --keys 100000 --rates ${RATES:-40000,60000,80000} --receiver inline --cores 0 --connections 16 --duration-s 2 --behind-p99-us 50 $eg --no-charts --out $out/$v-$r > /dev/null 2>&1
    kill -TERM $kv; wait $kv
    python3 - $out/$v-$r/report.json $v $r <<'PY'
import json,sys
r=json.load(open(sys.argv[1]))
rows=[]
for p in r["points"]:
    a=p["all"]["latencyUs"]; sl=[x for x in p.get("kv",{}).get("serverLatency",[]) if x["name"]=="get"]
    rows.append("%s@%dk p50 %.0f p90 %.0f p99 %.0f late99 %.0f%s" % ("kv" if p["system"]=="netstack" else "mc1", p["offeredRps"]/1000, a["p50"], a["p90"], a["p99"], p["generatorLatenessUs"]["p99"], (" (srv %.0f)" % sl[0]["p99Us"]) if sl else ""))
print(sys.argv[2], sys.argv[3], "; ".join(rows))
PY
  done
done
kill $mc
