#!/usr/bin/env python3
"""bench/kv.sh part 2's summary: GET p99 per target and load, the median over the rounds, each round's p99
and steal beside it, the generator's lateness p99 (the flag, reported apart) and the share of GETs sent behind an unanswered long request
on their own connection, with the p99 of the others; then the same medians over the clean rounds only, those in which no target's point
lost more than STEAL_MAX_MS (100) ms to the hypervisor (stealMsPerCore summed over the cores). Steal is
the machine's, not a server's: a round where one target's point lost a second of a core compares the
machine's moments, not the servers.
Usage: bench/kv-long-summary.py OUT_DIR   (reads OUT_DIR/kv-long*/ but the sweep: kv-long/ and kv-long-binary/, or
their -cN variants, one per connection count)
"""
import json
import os
import statistics
import sys

out = sys.argv[1]
steal_max = float(os.environ.get("STEAL_MAX_MS", "100"))


def target_of(p):
    return p["label"] if p["system"] == "netstack" else p["system"]


# kv-long and kv-long-binary, or with several connection counts kv-long-cN and kv-long-binary-cN (bench/kv.sh).
names = sorted(d for d in os.listdir(out) if d.startswith("kv-long") and d != "kv-long-sweep"
               and os.path.exists(f"{out}/{d}/report.json"))
for name in names:
    path = f"{out}/{name}/report.json"
    points = json.load(open(path))["points"]
    connections = sorted({p.get("connections") for p in points if p.get("connections")})
    print(f"{name} ({', '.join(str(c) for c in connections)} connections): GET p99 (µs, client), the median over the rounds [each round's p99; its steal, ms summed over the cores]")
    targets = list(dict.fromkeys(target_of(p) for p in points))
    for load in sorted({p["offeredLoad"] for p in points}):
        rounds = {t: [p for p in points if p["offeredLoad"] == load and target_of(p) == t] for t in targets}
        p99 = {t: [next(x for x in p["types"] if x["name"] == "get")["latencyUs"]["p99"] for p in rs] for t, rs in rounds.items()}
        steal = {t: [sum(p.get("stealMsPerCore") or []) for p in rs] for t, rs in rounds.items()}
        row, first = [], statistics.median(p99[targets[0]])
        for t in targets:
            median = statistics.median(p99[t])
            text = f"{t} {median:.1f} [" + ", ".join(f"{v:.0f}; {s:.0f}" for v, s in zip(p99[t], steal[t])) + "]"
            server = [s["p99Us"] for p in rounds[t] for s in p.get("kv", {}).get("serverLatency", []) if s["name"] == "get"]
            text += f", server-side median {statistics.median(server):.1f}" if server else f" ({median / first:.2f}x the first target's)"
            # The flag beside the figure, not in it: the generator's own lateness p99 (latency runs from
            # the intended send time, so a late send is in the client's p99).
            late = [p["generatorLatenessUs"]["p99"] for p in rounds[t] if p.get("generatorLatenessUs")]
            if late:
                text += f", generator lateness p99 median {statistics.median(late):.0f}"
            # The protocol's ordering apart from the scheduling: the GETs sent behind an unanswered
            # long request on their own connection (any server makes them wait for its whole reply).
            hol = [p["kv"]["headOfLine"] for p in rounds[t] if (p.get("kv") or {}).get("headOfLine")]
            if hol:
                text += (f", behind a long request {statistics.median(h['behindFraction'] for h in hol):.2%}"
                         f" (clear GETs' p99 median {statistics.median(h['clearLatencyUs']['p99'] for h in hol):.0f})")
            row.append(text)
        print(f"  load {load}: " + " | ".join(row))
        n = min(len(v) for v in p99.values())
        clean = [r for r in range(n) if all(steal[t][r] <= steal_max for t in targets)]
        if not clean:
            print(f"    clean rounds (every target's steal <= {steal_max:.0f} ms): none")
            continue
        medians = {t: statistics.median(p99[t][r] for r in clean) for t in targets}
        print(f"    clean rounds (every target's steal <= {steal_max:.0f} ms): {len(clean)} of {n}; medians "
              + " | ".join(f"{t} {medians[t]:.1f}" + ("" if t == targets[0] else f" ({medians[t] / medians[targets[0]]:.2f}x)") for t in targets))
