#!/usr/bin/env bash
# The BenchmarkDotNet micro-benchmarks (bench/MicroBenchmarks): SPSC ring, mailbox round trip, checkpoint
# not taken and taken, migration across cores, one clock read, one write prefetch, each against its conventional .NET baseline.
# Usage: bench/micro.sh [--quick] [--in-process] [FILTER...]
#   --quick       BenchmarkDotNet's short job (3 iterations): a look in about 4 minutes; the numbers mean little
#   (default)     the default job, for the figures: 44 minutes for everything on a busy 2-core VM
#   --in-process  run in this process instead of one process per benchmark (skips the ~40 s build)
#   FILTER        BenchmarkDotNet globs, e.g. '*Checkpoint*' '*Mailbox*' (default: all)
# Writes results/micro-<time>/ (BenchmarkDotNet's log and reports) and prints the summary tables.
# Cross-core benchmarks pin to the first two cores: run it with nothing else on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
job=()
process=()
filters=()
for arg in "$@"; do
  case "$arg" in
    --quick) job=(--job short) ;;
    --in-process) process=(--inProcess) ;;
    -*) echo "unknown option $arg (valid: --quick, --in-process)" >&2; exit 2 ;;
    *) filters+=("$arg") ;;
  esac
done
[ ${#filters[@]} -eq 0 ] && filters=('*')
out=results/micro-$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$out"
dotnet build -c Release bench/MicroBenchmarks >/dev/null
# From the built executable, not `dotnet run` (PLATFORM.md: its parent process takes a core for seconds).
# BenchmarkDotNet finds this project from the repository root to build the per-benchmark runner.
echo "running ${filters[*]} (log: $out/console.log)"
set +e
dotnet bench/MicroBenchmarks/bin/Release/net10.0/NetStack.MicroBenchmarks.dll --filter "${filters[@]}" \
  "${job[@]}" "${process[@]}" --artifacts "$out" 2>&1 \
  | tee "$out/console.log" | grep --line-buffered -E '^// (Benchmark: |\*\* Remained)'
status=${PIPESTATUS[0]}
set -e
for report in "$out"/results/*-report-github.md; do
  [ -e "$report" ] || continue
  name=$(basename "$report" -report-github.md)
  echo
  echo "== ${name##*.}"
  cat "$report"
done
if [ $status -ne 0 ]; then
  echo "BenchmarkDotNet reported a failure (exit $status): see $out/console.log" >&2
fi
exit $status
