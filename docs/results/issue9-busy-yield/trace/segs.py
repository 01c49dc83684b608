import re, sys, collections
pat = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
cur = {}
segs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = pat.match(line)
    if not m: continue
    cpu=int(m.group(1)); t=float(m.group(2))
    if cpu in cur:
        st, comm, pid = cur[cpu]
        segs[cpu].append((st, t, comm, pid, m.group(5)))
    cur[cpu] = (t, m.group(6), m.group(7))
thr = float(sys.argv[2]) if len(sys.argv)>2 else 0.0005
for cpu in sorted(segs):
    s = segs[cpu]
    tot = collections.Counter(); long = collections.Counter(); longms=collections.Counter()
    for st,en,comm,pid,state in s:
        d=en-st; tot[(comm,pid)]+=d
        if d>thr: long[(comm,pid)]+=1; longms[(comm,pid)]+=d
    span = s[-1][1]-s[0][0]
    print("cpu %d, %.2f s" % (cpu, span))
    for k,v in tot.most_common(10):
        print("  %-20s %7s %8.1f ms  segments >%.1f ms: %d (%.1f ms)" % (k[0],k[1],v*1e3,thr*1e3,long[k],longms[k]*1e3))
