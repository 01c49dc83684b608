import re, sys
pat = re.compile(r"\[(\d+)\]\s+([\d.]+):\s+prev_comm=(.*?) prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+)")
cur={}; t0=None; thr=float(sys.argv[2])
for line in open(sys.argv[1]):
    m=pat.match(line)
    if not m: continue
    cpu=int(m.group(1)); t=float(m.group(2)); t0 = t if t0 is None else t0
    if cpu in cur:
        st,comm,pid=cur[cpu]
        if t-st>thr and comm not in ("swapper/1","swapper/0") and not (cpu==1 and comm.startswith("netstack-carr")):
            print("cpu%d %7.3f s +%.2f ms %s[%s] -> %s" % (cpu, st-t0, (t-st)*1e3, comm, pid, m.group(5)))
    cur[cpu]=(t,m.group(6),m.group(7))
