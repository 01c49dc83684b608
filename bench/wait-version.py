#!/usr/bin/env python3
"""Waits until a memcached-text server on 127.0.0.1 answers `version`: the bench scripts' one readiness check.

Usage: wait-version.py PORT [PORT ...] [--since EPOCH_SECONDS] [--timeout SECONDS]
Connects every millisecond until each port answers VERSION, and exits 1 (naming the port) if one has not
within the timeout (30 s). With --since, prints the milliseconds from that moment to the first port's reply:
bench/cold-start.sh's time to the first reply.
"""
import argparse
import socket
import sys
import time


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"version\r\n")
            return s.recv(256).startswith(b"VERSION")
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ports", type=int, nargs="+")
    parser.add_argument("--since", type=float, help="print the ms from this epoch time to the first reply")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    deadline = time.time() + args.timeout
    for i, port in enumerate(args.ports):
        while not answers(port):
            if time.time() >= deadline:
                print(f"127.0.0.1:{port}: no VERSION reply in {args.timeout:g} s", file=sys.stderr)
                return 1
            time.sleep(0.001)
        if i == 0 and args.since is not None:
            print(f"{(time.time() - args.since) * 1e3:.1f} ms to the first reply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
