"""Medians over the rounds, per workload, policy and load: p50 / untouched p99 (µs) of every variant
(exp-1: all requests; extreme-bimodal: its short ones). Usage: summary.py DIR (files VARIANT-WORKLOAD-ROUND.json)."""
import glob, json, re, statistics, sys
rows = {}
for f in sorted(glob.glob(f'{sys.argv[1]}/*.json')):
    v, w, r = re.match(r'([a-z]+)-(exp-1|extreme-bimodal)-(\d+)\.json', f.split('/')[-1]).groups()
    for p in json.load(open(f))['points']:
        t = p['all'] if w == 'exp-1' else next(x for x in p['types'] if x['name'] == 'short')
        u = t.get('untouched') or next(x['untouched'] for x in p['types'] if x.get('untouched'))
        rows.setdefault((w, p['policy'], p['offeredLoad']), {}).setdefault(v, []).append((t['latencyUs']['p50'], u['latencyUs']['p99']))
for (w, pol, load), vs in sorted(rows.items()):
    cells = [f"{v} {statistics.median(x[0] for x in xs):.2f} / {statistics.median(x[1] for x in xs):.1f} (n={len(xs)})" for v, xs in sorted(vs.items())]
    print(f"{w} {pol} {load}: " + "; ".join(cells))
