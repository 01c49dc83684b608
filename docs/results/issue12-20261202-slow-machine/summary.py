#!/usr/bin/env python3
"""Prints each saturation folder's points (M/s, round trip before/after, moved) and each variant's median,
and the latency folder's p50/p99 per policy and load: the figures docs/results.md section 1i quotes."""
import glob, json, os, re, statistics, sys

here = os.path.dirname(os.path.abspath(__file__))

def point(path):
    r = json.load(open(path))
    p = r['points'][-1]
    return p['achievedRps'] / 1e6, p.get('crossCoreRoundTripNs'), p.get('crossCoreRoundTripAfterNs'), p.get('roundTripMoved'), r['machine'].get('memoryChase4MiBNs')

for folder in ['start', 'clock-ab', 'pool-ab', 'three-way', 'prefetch-ab', 'prefetch-ab-2', 'queue-capacity']:
    print(f'== {folder}')
    variants = {}
    for path in sorted(glob.glob(os.path.join(here, folder, '*.json')), key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', p)]):
        name = os.path.basename(path)[:-5]
        rps, before, after, moved, chase = point(path)
        fmt = lambda v: '-' if v is None else f'{v:.0f}'
        print(f'  {name:16} {rps:6.3f} M/s  round trip {fmt(before)} / {fmt(after)} ns{"  moved" if moved else ""}  4 MiB chase {fmt(chase)} ns')
        variants.setdefault(re.sub(r'-?\d+$', '', name), []).append(rps)
    if folder != 'start':
        print('  medians: ' + ', '.join(f'{v} {statistics.median(x):.3f} (n={len(x)})' for v, x in variants.items()))

print('== latency-ab (all requests, p50 / p99 us)')
for workload in ['exp-1', 'extreme-bimodal']:
    rows = {}
    for path in sorted(glob.glob(os.path.join(here, 'latency-ab', workload + '-*.json'))):
        run = os.path.basename(path)[len(workload) + 1:-5]
        for p in json.load(open(path))['points']:
            if p.get('system', 'netstack') != 'netstack':
                continue
            rows.setdefault((p['policy'], p['offeredLoad']), {})[run] = p['all']['latencyUs']
    runs = ['base-1', 'base-2', 'new-1', 'new-2']
    print(f'  {workload}: policy load | ' + ' | '.join(runs))
    for key in sorted(rows):
        cells = [f"{rows[key][r]['p50']:.1f} / {rows[key][r]['p99']:.0f}" if r in rows[key] else '-' for r in runs]
        print(f'    {key[0]} {key[1]} | ' + ' | '.join(cells))

for folder in ['queue-capacity-exp1', 'carrier-prefetch-ab', 'latency-ab-0.4-0.5']:
    print(f'== {folder} (exp-1: achieved krps, p50 us, dropped per point)')
    saturated = {}
    for path in sorted(glob.glob(os.path.join(here, folder, '*.json'))):
        name = os.path.basename(path)[:-5]
        cells = []
        for p in json.load(open(path))['points']:
            if p.get('system', 'netstack') != 'netstack':
                continue
            cells.append(f"{p['policy']}@{p['offeredLoad']} {p['achievedRps'] / 1e3:.0f}k p50 {p['all']['latencyUs']['p50']:.0f} drop {p['dropped']}")
            if p['offeredLoad'] >= 0.7:
                saturated.setdefault(re.sub(r'-?\d+$', '', name), []).append(p['achievedRps'] / 1e3)
        print(f'  {name}: ' + '; '.join(cells))
    if saturated:
        print('  median krps at loads 0.7 and 0.9: ' + ', '.join(f'{v} {statistics.median(x):.0f} (n={len(x)})' for v, x in saturated.items()))
