#!/usr/bin/env python3
"""Summarizes bench/cold-start.sh's folders (NAME-ROUND/): each mode's time to the first reply, then per
point (a slice of the service's first seconds) the GETs' p50 / p99 / max, client side and server side, as
medians over the rounds, and the generator's lateness p99 as a flag beside them.
Usage: bench/cold-start-summary.py DIR"""
import json, os, re, statistics, sys

root = sys.argv[1]
runs = {}
for entry in sorted(os.listdir(root)):
    m = re.fullmatch(r"(.+)-(\d+)", entry)
    path = os.path.join(root, entry, "report.json")
    if not m or not os.path.exists(path):
        continue
    first = open(os.path.join(root, entry, "first-reply.txt")).read().split()[0]
    runs.setdefault(m.group(1), []).append((int(m.group(2)), float(first), json.load(open(path))))

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")

def get_of(point, key):
    return next(t for t in point["types"] if t["name"] == "get")["latencyUs"][key]

def server_get(point, key):
    return next((s[key] for s in point.get("kv", {}).get("serverLatency", []) if s["name"] == "get"), None)

for mode, rounds in runs.items():
    rounds.sort(key=lambda r: r[0])
    firsts = [r[1] for r in rounds]
    print(f"{mode}: {len(rounds)} rounds; first reply {', '.join(f'{f:.0f}' for f in firsts)} ms after exec (median {med(firsts):.0f})")
    print("  point  start_s  get p50  p99     max      server p50  p99    lateness p99  lost+rejected")
    points = min(len(r[2]["points"]) for r in rounds)
    for i in range(points):
        ps = [r[2]["points"][i] for r in rounds]
        start = i * rounds[0][2]["config"]["durationS"]
        print(f"  {i + 1:5d}  {start:7.1f}  {med(get_of(p, 'p50') for p in ps):7.1f}  {med(get_of(p, 'p99') for p in ps):7.1f}"
              f"  {med(get_of(p, 'max') for p in ps):8.1f}  {med(server_get(p, 'p50Us') for p in ps):10.1f}"
              f"  {med(server_get(p, 'p99Us') for p in ps):6.1f}  {med(p['generatorLatenessUs']['p99'] for p in ps):12.1f}"
              f"  {sum(p['lost'] + p['rejected'] for p in ps):13d}")
