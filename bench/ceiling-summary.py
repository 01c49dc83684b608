#!/usr/bin/env python3
"""Summarises a bench/ceiling-ab.sh folder: per JBSQ k and variant, the median M/s over all points, and over
the points whose cross-core round trip stayed below MAX_RT ns both before and after the point (one machine
state), with the reports' requests per round trip there, and in braces the same over the points whose round trip
stayed between 400 and 800 ns both before and after (the slow state issue 12's ~500 ns target is set in); then, for two variants (or, with BASE, every other
variant against BASE), the median of the per-round ratios (a round's points of one k ran seconds apart) and
the rounds it was ahead in.
Usage: bench/ceiling-summary.py DIR [MAX_RT_NS=200] [BASE]"""
import collections, glob, json, os, statistics, sys

folder = sys.argv[1]
max_rt = float(sys.argv[2]) if len(sys.argv) > 2 else 200.0
base = sys.argv[3] if len(sys.argv) > 3 else None
data = collections.defaultdict(dict)  # k -> (variant, round) -> (M/s, rt before, rt after, per rt)
for path in glob.glob(os.path.join(folder, '*-k*-*.json')):
    variant, k, rnd = os.path.basename(path)[:-5].rsplit('-', 2)
    p = json.load(open(path))['points'][-1]
    data[k][(variant, int(rnd))] = (p['achievedRps'] / 1e6, p.get('crossCoreRoundTripNs') or 0,
                                    p.get('crossCoreRoundTripAfterNs') or 0, p.get('requestsPerRoundTrip') or 0)
if not data:
    sys.exit(f'no NAME-kK-ROUND.json reports in {folder}')
print(f'median M/s (n); in brackets the points with the round trip < {max_rt:.0f} ns before and after: '
      'median M/s, n, median requests per round trip; in braces the same for 400-800 ns')
for k in sorted(data, key=lambda s: int(s[1:])):
    variants = sorted({v for v, _ in data[k]})
    cells = []
    for v in variants:
        xs = [x for (vv, _), x in data[k].items() if vv == v]
        steady = [x for x in xs if 0 < x[1] < max_rt and 0 < x[2] < max_rt]
        cell = f'{v} {statistics.median(x[0] for x in xs):.3f} (n={len(xs)})'
        if steady:
            per_rt = statistics.median(x[3] for x in steady)
            cell += f' [{statistics.median(x[0] for x in steady):.3f}, n={len(steady)}, {per_rt:.2f}/RT]'
        slow = [x for x in xs if 400 <= x[1] <= 800 and 400 <= x[2] <= 800]
        if slow:
            per_rt = statistics.median(x[3] for x in slow)
            cell += f' {{{statistics.median(x[0] for x in slow):.3f}, n={len(slow)}, {per_rt:.2f}/RT}}'
        cells.append(cell)
    line = f'  {k}: ' + '; '.join(cells)
    pairs = [(base, b) for b in variants if b != base] if base in variants else \
        [tuple(variants)] if len(variants) == 2 else []
    for a, b in pairs:
        rounds = sorted({r for _, r in data[k]})
        paired = [r for r in rounds if (a, r) in data[k] and (b, r) in data[k]]
        ratios = [data[k][(b, r)][0] / data[k][(a, r)][0] for r in paired]
        ahead = sum(1 for x in ratios if x > 1)
        line += f'; {b}/{a} median {statistics.median(ratios):.2f}, ahead in {ahead} of {len(paired)} rounds'
    print(line)
