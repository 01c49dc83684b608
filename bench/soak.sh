#!/usr/bin/env bash
# The soak (docs/results.md, "Soak"): the built host serving spin, kv and batch for SOAK_MINUTES (default
# 10) under `netstack-loadgen soak`'s mixed traffic: good spin over UDP and TCP, kv sets and gets over
# TCP, bad datagrams to spin and kv, connections dropped mid-request, a client that stops reading,
# overload bursts (with the batch app they make the standing-queue allocator move cores). It samples
# the host's resident memory every SOAK_RSS_EVERY_S seconds (default 5), stops the host with SIGTERM,
# and checks: every class's sent = answered + rejected + bad input the host counted, nothing
# unanswered, the host's bad-input and closed-mid-request counts equal what was sent, nothing
# unfinished or stuck, cores moved, and resident memory flat (the last minute's mean within 10 % of
# the first minute's, after SOAK_WARMUP_S seconds, default 20). Prints the figures and a verdict.
# Usage: SOAK_MINUTES=10 bench/soak.sh [OUT_DIR]   (exit 0: PASS; the machine should be otherwise idle)
set -uo pipefail
cd "$(dirname "$0")/.."
minutes=${SOAK_MINUTES:-10}
every=${SOAK_RSS_EVERY_S:-5}
warmup=${SOAK_WARMUP_S:-20}
out=${1:-results/soak-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
dotnet build -c Release loadgen >/dev/null || exit 1
dotnet build -c Release src/Apps >/dev/null || exit 1
L="dotnet loadgen/bin/Release/net10.0/netstack-loadgen.dll"
APP="dotnet src/Apps/bin/Release/net10.0/netstack.dll"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
spin_port=${SOAK_SPIN_PORT:-$(free_port)}
kv_port=${SOAK_KV_PORT:-$(free_port)}
kv_udp_port=${SOAK_KV_UDP_PORT:-$(free_port)}

# IOKernel on core 0, one worker on core 1 shared by spin, kv and batch (standing-queue allocation); a
# small queue so that bursts are shed; idle threads yield and park, so the driver gets its share.
# The allocation log keeps every core move for reports; the host moves cores thousands of times a second
# here, and the default log (2^20 moves, ~32 MiB) would be paged in over the first minutes and read as
# growth. The kernel counts moves exactly whatever the log holds.
log="--NetStack:AllocationLogCapacity 4096"
. bench/idle.sh
# SOAK_HOST_ENV: environment for the host alone, e.g. "DOTNET_gcConcurrent=1" to compare GC settings.
env ${SOAK_HOST_ENV:-} $APP serve --apps spin,kv,batch --port "$spin_port" --kv-port "$kv_port" --kv-udp-port "$kv_udp_port" \
  --allocation standing-queue --NetStack:QueueCapacity 128 $log $idle > "$out/host.log" 2>&1 &
host=$!
for _ in $(seq 1 300); do
  grep -q "netstack: serving" "$out/host.log" 2>/dev/null && break
  kill -0 "$host" 2>/dev/null || { echo "soak: the host exited at start:"; cat "$out/host.log"; exit 1; }
  sleep 0.1
done

# Resident memory: seconds since start and VmRSS (kB), every few seconds while the host lives.
(
  t0=$(date +%s)
  while [ -r "/proc/$host/status" ]; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$host/status" 2>/dev/null)
    [ -n "$rss" ] && echo "$(( $(date +%s) - t0 )) $rss"
    sleep "$every"
  done
) > "$out/rss.txt" &
sampler=$!

echo "== soak: $minutes min; spin on $spin_port (udp+tcp), kv on $kv_port (tcp) and $kv_udp_port (udp); host pid $host; output in $out"
$L soak --spin "127.0.0.1:$spin_port" --kv "127.0.0.1:$kv_port" --kv-udp "127.0.0.1:$kv_udp_port" \
  --duration-s "$(( minutes * 60 ))" > "$out/driver.log" 2> >(tee "$out/driver-progress.log" >&2)
driver=$?
kill -TERM "$host"
for _ in $(seq 1 600); do kill -0 "$host" 2>/dev/null || break; sleep 0.1; done
kill -0 "$host" 2>/dev/null && { echo "soak: the host did not stop within 60 s of SIGTERM"; kill -KILL "$host"; }
wait "$host" 2>/dev/null
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null

# ------------------------------------------------------------------ the figures
verdict=PASS
fail() { echo "FAIL: $*"; verdict=FAIL; }
field() { sed -n "s/.* $2 \([0-9]*\).*/\1/p" <<<"$1"; }   # field LINE NAME: the number after NAME
summary=$(grep "^netstack: received" "$out/host.log" | tail -n 1)
[ -n "$summary" ] || fail "the host printed no counts at SIGTERM"
# The summary is one line: kernel counts, then "; udp spin: ...; udp kv: ...; tcp spin: ...; tcp kv: ...".
part() { tr ';' '\n' <<<"$summary" | awk -v p="$1" 'index($0, p) { found = 1 } found && /^ (udp|tcp) / && !index($0, p) { exit } found { print }' | tr '\n' ';'; }
bad_total() { grep -o 'bad \(input\|frames\): .*' <<<"$1" | grep -o '[0-9]\+' | awk '{ s += $1 } END { print s + 0 }'; }

echo
echo "== driver (per class: sent = ok + rejected + bad-answered + failed + bad-unanswered; unanswered must be 0)"
grep "^soak: class" "$out/driver.log" | sed 's/^soak: class /  /'
grep "^soak: total" "$out/driver.log" | sed 's/^soak: /  /'
[ "$driver" -eq 0 ] || fail "the driver reports requests unanswered or unexpected replies (exit $driver)"
while read -r line; do
  name=$(awk '{ print $3 }' <<<"$line")
  [ "$(field "$line" unanswered)" = 0 ] || fail "$name: $(field "$line" unanswered) requests unanswered"
  [ "$(field "$line" unexpected)" = 0 ] || fail "$name: $(field "$line" unexpected) unexpected replies"
done < <(grep "^soak: class" "$out/driver.log")

class() { grep "^soak: class $1 " "$out/driver.log"; }
echo
echo "== host (at SIGTERM)"
tr ';' '\n' <<<"$summary" | sed 's/^ */  /'
udp_spin=$(part "udp spin:"); udp_kv=$(part "udp kv:"); tcp_spin=$(part "tcp spin:"); tcp_kv=$(part "tcp kv:")
sent_bad_spin=$(field "$(class spin-udp-bad)" sent)
sent_bad_kv=$(field "$(class kv-udp-bad)" sent)
[ "$(bad_total "$udp_spin")" = "$sent_bad_spin" ] || fail "spin udp: the host counted $(bad_total "$udp_spin") bad datagrams, the driver sent $sent_bad_spin"
[ "$(bad_total "$udp_kv")" = "$sent_bad_kv" ] || fail "kv udp: the host counted $(bad_total "$udp_kv") bad datagrams, the driver sent $sent_bad_kv"
mid_spin=$(sed -n 's/.*closed mid-request \([0-9]*\).*/\1/p' <<<"$tcp_spin")
mid_kv=$(sed -n 's/.*closed mid-request \([0-9]*\).*/\1/p' <<<"$tcp_kv")
[ "$mid_spin" = "$(field "$(class spin-tcp-drop)" closed-mid-request)" ] || fail "spin tcp: the host counted $mid_spin connections closed mid-request, the driver dropped $(field "$(class spin-tcp-drop)" closed-mid-request)"
[ "$mid_kv" = "$(field "$(class kv-tcp-drop)" closed-mid-request)" ] || fail "kv tcp: the host counted $mid_kv connections closed mid-request, the driver dropped $(field "$(class kv-tcp-drop)" closed-mid-request)"
[ "$(sed -n 's/.*unfinished \([0-9]*\).*/\1/p' <<<"$summary")" = 0 ] || fail "requests left unfinished at shutdown"
grep -q "stuck carriers" <<<"$summary" && fail "stuck carriers at shutdown"
for tcp in "$tcp_spin" "$tcp_kv"; do
  [ "$(sed -n 's/.*dropped replies \([0-9]*\).*/\1/p' <<<"$tcp")" = 0 ] || fail "replies dropped: $tcp"
done
moves=$(sed -n 's/.*core moves \([0-9]*\).*/\1/p' <<<"$summary")
[ "${moves:-0}" -gt 0 ] || fail "no core moved between apps"

echo
echo "== resident memory (VmRSS every $every s; windows after a $warmup s warm-up)"
awk -v warm="$warmup" '
  { t[NR] = $1; r[NR] = $2 } END {
    last = t[NR]; span = (last - warm) / 2; if (span > 60) span = 60;
    for (i = 1; i <= NR; i++) {
      if (t[i] >= warm && t[i] < warm + span) { f += r[i]; nf++ }
      if (t[i] > last - span) { l += r[i]; nl++ }
      if (r[i] > peak) peak = r[i]
    }
    if (nf == 0 || nl == 0) { print "  too few samples"; exit 2 }
    f /= nf; l /= nl;
    printf "  samples %d over %d s; first window mean %.1f MiB, last window mean %.1f MiB (%+.1f %%), peak %.1f MiB\n", NR, last, f / 1024, l / 1024, (l - f) / f * 100, peak / 1024;
    exit (l > f * 1.10 || l < f * 0.90) ? 1 : 0
  }' "$out/rss.txt"
case $? in
  0) ;;
  1) fail "resident memory moved more than 10 % between the first and the last window" ;;
  *) fail "not enough memory samples" ;;
esac

echo
echo "soak: $verdict ($minutes min; figures in $out)"
[ "$verdict" = PASS ]
