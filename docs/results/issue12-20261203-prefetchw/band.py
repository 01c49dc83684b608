"""Every ceiling point of this folder's five A/Bs whose round trip stayed within 400-800 ns before and after,
with the write prefetch on and off: k, run, variant, M/s, requests per round trip, round trip before / after (ns).
Usage: python3 docs/results/issue12-20261203-prefetchw/band.py"""
import glob, json, os, re, statistics
here = os.path.dirname(os.path.abspath(__file__))
on = {'ab-r1': ['pw'], 'ab-r2': ['pw'], 'ab-r3': ['pw'], 'ab-r4': ['comp'], 'ab-r5': ['full', 'static']}
off = {'ab-r1': ['off'], 'ab-r2': ['off'], 'ab-r3': ['off'], 'ab-r4': ['off'], 'ab-r5': ['staticoff']}
for name, kind in (('on', on), ('off', off)):
    rows = []
    for run, variants in kind.items():
        for f in glob.glob(f'{here}/{run}/*.json'):
            v, k, _ = re.match(r'(\w+)-k(\d+)-(\d+)\.json', os.path.basename(f)).groups()
            if v not in variants:
                continue
            p = json.load(open(f))['points'][0]
            a, b = p['crossCoreRoundTripNs'], p['crossCoreRoundTripAfterNs']
            if 400 <= a <= 800 and 400 <= b <= 800:
                rows.append((int(k), run, v, p['achievedRps'] / 1e6, p['requestsPerRoundTrip'], a, b))
    for k in (4, 8):
        ks = sorted(r for r in rows if r[0] == k)
        print(f"{name} k={k}: n={len(ks)}, median {statistics.median(r[3] for r in ks):.2f} M/s, "
              f"{statistics.median(r[4] for r in ks):.2f} per round trip")
        for r in ks:
            print(f"   {r[1]} {r[2]}: {r[3]:.2f} M/s, {r[4]:.2f}/RT, {r[5]:.0f} / {r[6]:.0f} ns")
