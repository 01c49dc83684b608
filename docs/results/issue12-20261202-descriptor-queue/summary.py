#!/usr/bin/env python3
"""Prints the figures docs/results.md section 1j quotes from the committed reports: each ceiling folder's
medians per JBSQ k, rounds ahead, and the medians of the points whose round trip stayed 90-140 ns before and
after (one machine state); and the latency folders' p50 / p99, all requests and those no stall touched."""
import collections, glob, json, os, re, statistics

here = os.path.dirname(os.path.abspath(__file__))


def points(folder):
    """{k: {(variant, round): (M/s, round trip before, after, moved)}} from files named VARIANT-kK-ROUND.json."""
    data = collections.defaultdict(dict)
    for path in glob.glob(os.path.join(here, folder, '*.json')):
        variant, k, rnd = os.path.basename(path)[:-5].rsplit('-', 2)
        p = json.load(open(path))['points'][-1]
        data[k][(variant, int(rnd))] = (p['achievedRps'] / 1e6, p.get('crossCoreRoundTripNs') or 0,
                                        p.get('crossCoreRoundTripAfterNs') or 0, p.get('roundTripMoved'))
    return data


def ceiling(folder, lo=90, hi=140):
    print(f'== {folder}: median M/s per variant; in brackets the points with the round trip {lo}-{hi} ns before and after')
    data = points(folder)
    for k in sorted(data, key=lambda s: int(s[1:])):
        variants = sorted({v for v, _ in data[k]})
        cells = []
        for v in variants:
            all_ = [x[0] for (vv, _), x in data[k].items() if vv == v]
            steady = [x for (vv, _), x in data[k].items() if vv == v and lo <= x[1] <= hi and lo <= x[2] <= hi]
            s = f'{v} {statistics.median(all_):.3f} (n={len(all_)})'
            if steady:
                s += f' [{statistics.median([x[0] for x in steady]):.3f}, n={len(steady)}, ' \
                     f'{statistics.median([x[0] * x[1] * 1e-3 for x in steady]):.2f} per round trip]'
            cells.append(s)
        line = f'  {k}: ' + '; '.join(cells)
        if len(variants) == 2:
            a, b = variants
            rounds = sorted({r for _, r in data[k]})
            ahead = sum(1 for r in rounds if (a, r) in data[k] and (b, r) in data[k] and data[k][(b, r)][0] > data[k][(a, r)][0])
            line += f'; {b} ahead in {ahead} of {len(rounds)}'
        print(line)


def latency(folder):
    print(f'== {folder}: p50 / p99 us, all | untouched by a stall, per round')
    rows = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in sorted(glob.glob(os.path.join(here, folder, '*.json'))):
        variant = os.path.basename(path)[:-5].rsplit('-', 1)[0]
        for p in json.load(open(path))['points']:
            if p.get('system', 'netstack') != 'netstack':
                continue
            a = p['all']
            u = (a.get('untouched') or {}).get('latencyUs') or {}
            rows[(p['policy'], p['offeredLoad'])][variant].append(
                f"{a['latencyUs']['p50']:.1f}/{a['latencyUs']['p99']:.0f} | {u.get('p50', 0):.1f}/{u.get('p99', 0):.0f}")
    for key in sorted(rows):
        print(f'  {key[0]:5} {key[1]:<4} ' + '    '.join(f'{v}: ' + '  '.join(c) for v, c in sorted(rows[key].items())))


for folder in ['ceiling-ab', 'ceiling-final', 'queue-capacity']:
    if os.path.isdir(os.path.join(here, folder)):
        ceiling(folder)
for folder in ['latency-exp-1', 'latency-extreme-bimodal', 'exp1-0.4-0.6', 'exp1-0.5-final']:
    latency(folder)
