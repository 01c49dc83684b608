#!/usr/bin/env python3
"""Times one multiget of N keys, closed loop on one connection, against memcached-compatible servers
side by side: the servers' own cost per key, apart from scheduling (bench/kv.sh part 2 measures that).

Usage: bench/kv-multiget.py OUT_DIR name=host:port [name=host:port ...]
Keys 1, 100, 1000 and 3000 (KEYS), 2-byte values, REPEATS (50) gets per size per server, the servers
alternating size by size. Writes OUT_DIR/report.json and prints each median. The client is this Python
process: its own receive and join are in every figure, the same for each server.
"""
import json
import os
import socket
import statistics
import sys
import time


def connect(address):
    host, port = address.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until(s, end):
    reply = bytearray()
    while not reply.endswith(end):
        chunk = s.recv(1 << 20)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        reply += chunk
    return bytes(reply)


def run(address, n, repeats):
    with connect(address) as s:
        keys = [f"mgkey:{i:013d}" for i in range(n)]
        s.sendall(b"".join(f"set {k} 0 0 2 noreply\r\nxx\r\n".encode() for k in keys) + b"mn\r\n")
        read_until(s, b"MN\r\n")
        line = ("get " + " ".join(keys) + "\r\n").encode()
        expected = b"".join(f"VALUE {k} 0 2\r\nxx\r\n".encode() for k in keys) + b"END\r\n"
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            s.sendall(line)
            reply = read_until(s, b"END\r\n")
            times.append((time.perf_counter() - t) * 1e6)
            if reply != expected:
                raise RuntimeError(f"{address}: the {n}-key reply differs from the keys sent ({len(reply)} bytes)")
        return {"keys": n, "lineBytes": len(line), "replyBytes": len(expected), "repeats": repeats,
                "medianUs": statistics.median(times), "minUs": min(times),
                "p90Us": sorted(times)[int(0.9 * (repeats - 1))]}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, targets = sys.argv[1], [t.split("=", 1) for t in sys.argv[2:]]
    sizes = [int(k) for k in os.environ.get("KEYS", "1,100,1000,3000").split(",")]
    repeats = int(os.environ.get("REPEATS", "50"))
    rows = []
    for n in sizes:
        line = []
        for name, address in targets:
            r = run(address, n, repeats)
            r["target"] = name
            rows.append(r)
            line.append(f"{name} {r['medianUs']:.0f} µs")
        first = rows[-len(targets)]["medianUs"]
        print(f"{n} keys: " + " | ".join(line) + "  (" + ", ".join(
            f"{r['medianUs'] / first:.2f}x the first's" for r in rows[-len(targets) + 1:]) + ")")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump({"tool": "bench/kv-multiget.py", "command": " ".join(sys.argv), "points": rows}, f, indent=2)


if __name__ == "__main__":
    main()
