import re, sys, collections
pat = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
cur=None; t0=None; lo=float(sys.argv[2]); hi=float(sys.argv[3])
edges=[10e-6,50e-6,100e-6,250e-6,500e-6,1e-3,2e-3,4e-3,1]
h=collections.defaultdict(lambda:[0]*len(edges)); ht=collections.defaultdict(lambda:[0.0]*len(edges))
states=collections.defaultdict(collections.Counter)
for line in open(sys.argv[1]):
    m=pat.match(line)
    if not m or int(m.group(1))!=0: continue
    t=float(m.group(2)); t0 = t if t0 is None else t0
    if cur and lo <= cur[0]-t0 <= hi:
        d=t-cur[0]; name=cur[1]
        i=next(i for i,e in enumerate(edges) if d<e)
        h[name][i]+=1; ht[name][i]+=d
        states[name][m.group(5)]+=1
    cur=(t,m.group(6)[:15])
print("%-16s"%"thread" + "".join("%10s"%("<%gus"%(e*1e6)) for e in edges))
for k in h:
    if sum(h[k])<50: continue
    print("%-16s"%k + "".join("%10d"%x for x in h[k]), dict(states[k]))
    print("%-16s"%"  ms" + "".join("%10.1f"%(x*1e3) for x in ht[k]))
