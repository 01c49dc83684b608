#!/usr/bin/env bash
# alternate base/new, k=4 ceiling; prints M/s and RT
for r in 1 2 3; do
  for v in base new; do
    if [ $v = base ]; then d=${BASE:?a worktree of the build before, built}; else d=$(git rev-parse --show-toplevel); fi
    o=results/issue9-busy-yield/ceiling-k4/$v-$r; mkdir -p $o
    dotnet $d/loadgen/bin/Release/net10.0/netstack-loadgen.dll sched --workload zero --policy cfcfs --loads max --mailbox-depth ${K:-4} --duration-s 3 --no-charts --out $o > $o/out.txt 2>&1
    python3 - $o/report.json $v <<'PY'
import json,sys
r=json.load(open(sys.argv[1])); m=r.get("machine",{})
p=r["points"][0]
print(sys.argv[2], "%.3f M/s" % (p["achievedRps"]/1e6), "RT %s ns" % m.get("crossCoreRoundTripNs"))
PY
  done
done
