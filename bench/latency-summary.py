"""Medians over the rounds, per workload, policy and load: p50 / untouched p99 (µs) of every variant
(exp-1: all requests; extreme-bimodal: its short ones), and the requests dropped over all rounds ("–": no
request went untouched by a stall, as at an overloaded point). Usage: bench/latency-summary.py DIR
(files VARIANT-WORKLOAD-ROUND.json, as bench/latency-ab.sh writes them)."""
import glob, json, re, statistics, sys
rows = {}
for f in sorted(glob.glob(f'{sys.argv[1]}/*.json')):
    m = re.match(r'([a-z0-9_]+)-(exp-1|extreme-bimodal)-(\d+)\.json$', f.split('/')[-1])
    if not m:
        continue
    v, w, _ = m.groups()
    for p in json.load(open(f))['points']:
        t = p['all'] if w == 'exp-1' else next(x for x in p['types'] if x['name'] == 'short')
        u = t.get('untouched') or next((x['untouched'] for x in p['types'] if x.get('untouched')), None)
        p99 = u['latencyUs']['p99'] if u and u['latencyUs']['count'] > 0 else None
        rows.setdefault((w, p['policy'], p['offeredLoad']), {}).setdefault(v, []).append((t['latencyUs']['p50'], p99, p['dropped']))
for (w, pol, load), vs in sorted(rows.items()):
    cells = []
    for v, xs in sorted(vs.items()):
        p99s = [x[1] for x in xs if x[1] is not None]
        p99 = f"{statistics.median(p99s):.1f}" if p99s else "–"
        cells.append(f"{v} {statistics.median(x[0] for x in xs):.2f} / {p99} (n={len(xs)}, dropped {sum(x[2] for x in xs)})")
    print(f"{w} {pol} {load}: " + "; ".join(cells))
