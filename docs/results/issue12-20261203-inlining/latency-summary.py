#!/usr/bin/env python3
"""Prints results.md 1l's latency table: per workload, policy, load and build, the medians over the
rounds of p50 and untouched p99 (all requests), and the requests dropped or unfinished in all rounds.
Usage: latency-summary.py [DIR] (default: the latency folder beside this script; latency-exp1-05 and
tiered-latency are read the same way). "–": no busy period was left untouched by a stall."""
import collections, glob, json, os, statistics, sys

folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'latency')
cells = collections.defaultdict(list)
for path in glob.glob(os.path.join(folder, '*.json')):
    build, rest = os.path.basename(path)[:-5].split('-', 1)  # BUILD-WORKLOAD-POLICY-ROUND.json
    case, _ = rest.rsplit('-', 1)
    for p in json.load(open(path))['points']:
        a = p['all']
        untouched = a.get('untouched') or {}
        untouched = untouched.get('latencyUs') if untouched.get('count') else {}
        cells[(case, p['offeredLoad'], build)].append(
            (a['latencyUs']['p50'], untouched.get('p99'), p['dropped'] + p['unfinished']))
print('case | load | build | rounds | p50 µs | untouched p99 µs | dropped + unfinished')
for key in sorted(cells):
    xs = cells[key]
    u = [x[1] for x in xs if x[1] is not None]
    print(f'{key[0]} | {key[1]} | {key[2]} | {len(xs)} | {statistics.median(x[0] for x in xs):.2f} | '
          f'{statistics.median(u):.1f} (n={len(u)}) | {sum(x[2] for x in xs)}' if u else
          f'{key[0]} | {key[1]} | {key[2]} | {len(xs)} | {statistics.median(x[0] for x in xs):.2f} | – | {sum(x[2] for x in xs)}')
