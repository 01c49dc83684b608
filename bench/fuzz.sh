#!/usr/bin/env bash
# The fuzz suite (tests/NetStack.Tests/Fuzz) run longer than CI runs it: every property for FUZZ_SECONDS
# seconds (default 5; 15 properties, so ~1.5 minutes), or FUZZ_SCALE times its CI iterations instead
# when FUZZ_SCALE is set. Prints the inputs each property tried and their total (docs/results.md).
# Usage: FUZZ_SECONDS=5 bench/fuzz.sh   |   FUZZ_SCALE=100 bench/fuzz.sh   (FUZZ_SEED replays a failure's seed)
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
out=$(mktemp)
trap 'rm -f "$log" "$out"' EXIT
dotnet build -c Release tests/NetStack.Tests >/dev/null
if [ -n "${FUZZ_SCALE:-}" ]; then
  export NETSTACK_FUZZ_SCALE="$FUZZ_SCALE"
  budget="$FUZZ_SCALE x the CI iterations"
else
  export NETSTACK_FUZZ_SECONDS="${FUZZ_SECONDS:-5}"
  budget="$NETSTACK_FUZZ_SECONDS s per property"
fi
[ -n "${FUZZ_SEED:-}" ] && export NETSTACK_FUZZ_SEED="$FUZZ_SEED"
export NETSTACK_FUZZ_LOG="$log"
start=$(date +%s)
status=0
dotnet test -c Release tests/NetStack.Tests --no-build --filter "FullyQualifiedName~NetStack.Tests.Fuzz" --logger "console;verbosity=normal" >"$out" 2>&1 || status=$?
grep -E "^\s*(Passed|Failed) |Error Message|fuzz .*failed|Passed!|Failed!" "$out" || true
elapsed=$(( $(date +%s) - start ))
echo "== inputs tried ($budget, $elapsed s wall)"
sort "$log" | awk '{ printf "  %-28s %12d\n", $1, $2; total += $2 } END { printf "  %-28s %12d\n", "total", total }'
exit "$status"
