// report.md's kv section: what was loaded into each target, and hits, misses and errors per operation.
using System.Globalization;
using System.Text;
using NetStack.Measurement.Reports;
using static NetStack.LoadGen.Reports.MarkdownText;

namespace NetStack.LoadGen.Reports;

/// <summary>What report.md says about points with a <see cref="PointReport.Kv"/> part.</summary>
internal static class KvSection
{
    /// <summary>The header line of a kv run: what each point is.</summary>
    public static string EachPoint(RunReport r) => Inv(
        $"- each point: {r.Config.DurationS:0.##} s of open-loop memcached requests, first {r.Config.WarmupFraction:P0} not recorded; latency from the intended send time on the generator's clock; seed {r.Config.Seed}");

    /// <summary>Appends the loading per target and the per-operation counts per point.</summary>
    public static void Append(StringBuilder sb, RunReport r)
    {
        List<PointReport> kv = r.Points.Where(p => p.Kv is not null).ToList();
        if (kv.Count == 0)
        {
            return;
        }
        Section(sb, "Key space loaded");
        sb.AppendLine("| system | keys | MB of keys and values | seconds | not stored |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (PointReport p in kv.GroupBy(p => p.Label).Select(g => g.First()))
        {
            KvPointInfo k = p.Kv!;
            sb.AppendLine(k.KeysLoaded == 0
                ? Inv($"| {p.Label} | not loaded by this run (--no-load) | | | |")
                : Inv($"| {p.Label} | {k.KeysLoaded} | {k.BytesLoaded / 1e6:0.##} | {k.LoadSeconds:0.##} | {k.LoadErrors} |"));
        }
        Section(sb, "Operations (whole point, warm-up included)",
            "A multiget counts each of its keys as a hit or a miss. Failed: an error reply, or a reply that did not parse " +
            "(protocol errors; the connection was dropped and opened again).");
        sb.AppendLine("| system | load | protocol | operation | ok | hits | misses | hit ratio | failed | rejected | protocol errors | reconnects |");
        sb.AppendLine("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PointReport p in kv)
        {
            KvPointInfo k = p.Kv!;
            bool first = true;
            foreach (KvOperationCounts op in k.Operations)
            {
                string head = first ? Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {k.Protocol} ") : "| | | ";
                long keys = op.Hits + op.Misses;
                string ratio = keys == 0 ? "–" : Inv($"{(double)op.Hits / keys:P1}");
                string tail = first ? Inv($"| {k.ProtocolErrors} | {k.Reconnects} |") : "| | |";
                sb.AppendLine(head + Inv($"| {op.Name} | {op.Ok} | {op.Hits} | {op.Misses} | {ratio} | {op.Failed} | {op.Rejected} ") + tail);
                first = false;
            }
        }
        AppendServerLatency(sb, kv);
        AppendHeadOfLine(sb, kv);
        AppendSteal(sb, kv);
    }

    /// <summary>The GETs that waited behind a long request on their own connection, beside those that did not:
    /// the protocol's ordering, the same for every server, apart from its scheduling.</summary>
    private static void AppendHeadOfLine(StringBuilder sb, List<PointReport> kv)
    {
        List<PointReport> with = kv.Where(p => p.Kv!.HeadOfLine is { Behind: > 0 }).ToList();
        if (with.Count == 0)
        {
            return;
        }
        Section(sb, "GETs behind a long request on their connection",
            "memcached answers a connection's requests in order: a GET sent while a long request sent earlier on the same " +
            "connection is unanswered waits for that whole reply, on any server. Behind: the share of the measured GETs that did; " +
            "once it passes 1 %, the GET p99 is that wait. Clear: the GETs with nothing long ahead of them.");
        sb.AppendLine("| system | load | GETs | behind | behind share | clear p50 µs | clear p99 µs | behind p50 µs | behind p99 µs |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PointReport p in with)
        {
            KvHeadOfLineReport h = p.Kv!.HeadOfLine!;
            sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {h.Gets} | {h.Behind} | {h.BehindFraction:P2} | ") +
                Inv($"{h.ClearLatencyUs.P50:0.#} | {h.ClearLatencyUs.P99:0.#} | {h.BehindLatencyUs.P50:0.#} | {h.BehindLatencyUs.P99:0.#} |"));
        }
    }

    /// <summary>The hypervisor's steal per point and core, for every target: a tail with steal beside
    /// it is the host's, whichever server it was measured on.</summary>
    private static void AppendSteal(StringBuilder sb, List<PointReport> kv)
    {
        List<PointReport> with = kv.Where(p => p.StealMsPerCore is { Count: > 0 }).ToList();
        if (with.Count == 0)
        {
            return;
        }
        int cores = with.Max(p => p.StealMsPerCore!.Count);
        Section(sb, "The hypervisor's steal during each point",
            "Time the hypervisor ran something else while a core of this machine wanted to run (/proc/stat's steal, 10 ms ticks), " +
            "over each point, warm-up included. A point's tail with tens of ms of steal beside it measures the host, not the server.");
        sb.AppendLine("| system | load | " + string.Join(" | ", Enumerable.Range(0, cores).Select(c => Inv($"core {c} ms"))) + " |");
        sb.AppendLine("|---|---:|" + string.Concat(Enumerable.Repeat("---:|", cores)));
        foreach (PointReport p in with)
        {
            sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | ") +
                string.Join(" | ", Enumerable.Range(0, cores).Select(c => c < p.StealMsPerCore!.Count ? Inv($"{p.StealMsPerCore[c]:0}") : "–")) + " |");
        }
    }

    /// <summary>
    /// The server's own latency beside the client's, per operation, for targets that keep it (kv's
    /// <c>stats latency</c>): what the client measured beyond it is the generator's lateness, the
    /// kernel's sockets and the loopback, which no server-side change can take away.
    /// </summary>
    private static void AppendServerLatency(StringBuilder sb, List<PointReport> kv)
    {
        List<PointReport> with = kv.Where(p => p.Kv!.ServerLatency is { Count: > 0 }).ToList();
        if (with.Count == 0)
        {
            return;
        }
        Section(sb, "Server-side latency beside the client's",
            "Server: the target's own count (kv's `stats latency`), from each request's arrival at the IOKernel to its handler's end, " +
            "read at the warm-up's end and after the point, so over the client's window (quantiles from buckets a quarter of a power of two wide, interpolated). " +
            "Client: the same window, from each request's intended send time. The difference is the generator's lateness, the sockets and the loopback. " +
            "Only the operations the generator sent are shown (the verb's own stats requests are left out).");
        sb.AppendLine("The last column is the time the hypervisor took from each core during the point (/proc/stat's steal, 10 ms resolution): " +
            "a stall with steal beside it is the host's.");
        sb.AppendLine();
        sb.AppendLine("| system | load | operation | client p50 µs | server p50 µs | client p99 µs | server p99 µs | server p99.9 µs | server count | steal ms per core |");
        sb.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (PointReport p in with)
        {
            bool first = true;
            foreach (KvServerLatencyReport s in p.Kv!.ServerLatency!)
            {
                ClassReport? c = p.Types.FirstOrDefault(t => t.Name == s.Name);
                if (c is null)
                {
                    continue;
                }
                string clientP50 = c.LatencyUs.Count == 0 ? "–" : Inv($"{c.LatencyUs.P50:0.#}");
                string clientP99 = c.LatencyUs.Count == 0 ? "–" : Inv($"{c.LatencyUs.P99:0.#}");
                string steal = !first ? "" : p.StealMsPerCore is { } ms ? string.Join(" / ", ms.Select(m => Inv($"{m:0}"))) : "–";
                first = false;
                sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {s.Name} | {clientP50} | {s.P50Us:0.#} | {clientP99} | {s.P99Us:0.#} | {s.P999Us:0.#} | {s.Count} | {steal} |"));
            }
        }
        foreach (PointReport p in kv.Where(p => p.Kv!.ServerLatencyNote is not null).GroupBy(p => p.Label).Select(g => g.First()))
        {
            sb.AppendLine();
            sb.AppendLine($"- {p.Label}: no server-side figure ({p.Kv!.ServerLatencyNote})");
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
