#!/usr/bin/env bash
# The README's main command: builds netstack-loadgen, then runs the built executable's demo.
# Not `dotnet run`: its parent process keeps burning about half a core for the first seconds of the
# child's run, and the demo would measure that (issue 10: `noise` started that way lost 20-31 % of
# each core; from the built executable, 4-6 %). The demo itself also waits, at most --quiet-wait-s
# (30 s), for no core to lose more than 10 % of its time before it measures.
# Usage: ./demo.sh [demo options: --quick, --quiet-wait-s S, --out DIR, --no-charts, --help]
set -euo pipefail
cd "$(dirname "$0")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "building netstack-loadgen (Release)..."
if ! dotnet build -c Release loadgen >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
rm -f "$log"
trap - EXIT
exec dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll demo "$@"
