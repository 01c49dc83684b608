// Renders a RunReport as report.md: the run, the machine, a row per point, and the SLO table.
using System.Globalization;
using System.Text;
using NetStack.Measurement.Reports;
using static NetStack.LoadGen.Reports.MarkdownText;

namespace NetStack.LoadGen.Reports;

/// <summary>Writes the human-readable twin of report.json.</summary>
internal static class MarkdownReport
{
    /// <summary>The markdown text.</summary>
    public static string Render(RunReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(Inv($"# NetStack {r.Verb}: {r.Workload.Name}"));
        sb.AppendLine();
        sb.AppendLine(Inv($"- command: `{r.Command}`"));
        sb.AppendLine(Inv($"- started: {r.StartedAt:yyyy-MM-dd HH:mm:ss} UTC"));
        sb.AppendLine(Inv($"- machine: {r.Machine}"));
        string types = string.Join(", ", r.Workload.Types.Select(t => Inv($"{t.Name} {t.Weight:P1} × {t.MeanUs:0.###} µs")));
        sb.AppendLine(Inv($"- workload: {r.Workload.Name}, mean service {r.Workload.MeanServiceUs:0.###} µs; types: {types}"));
        string cores = string.Join(',', r.Config.WorkerCores);
        sb.AppendLine(r.Verb == "model" ? ModelSection.EachPoint(r) : r.Verb == "kv" ? KvSection.EachPoint(r) : r.Verb == "udp"
            ? Inv($"- each point: {r.Config.DurationS:0.##} s of open-loop Poisson sending, first {r.Config.WarmupFraction:P0} not recorded; latency from the intended send time on the generator's clock; seed {r.Config.Seed}")
            : Inv($"- each point: {r.Config.DurationS:0.##} s, first {r.Config.WarmupFraction:P0} not recorded; IOKernel on core {r.Config.IOKernelCore}, workers on cores {cores}; idle: IOKernel {r.Config.IOKernelIdle}, carriers {r.Config.CarrierIdle}; seed {r.Config.Seed}"));
        if (r.Config.Placement is not null)
        {
            sb.AppendLine(Inv($"- placement: {r.Config.Placement}"));
        }
        foreach (string note in r.Config.Notes)
        {
            sb.AppendLine(Inv($"- note: {note}"));
        }
        sb.AppendLine();

        foreach (SloReport slo in r.Slos ?? (r.Slo is null ? [] : [r.Slo]))
        {
            AppendSlo(sb, r, slo);
        }

        sb.AppendLine("## Points");
        sb.AppendLine();
        sb.AppendLine("| system | load | offered krps | achieved krps | completed | dropped | unfinished | preemptions | B/req | class | n | p50 µs | p99 µs | p99.9 µs | p99 slowdown | p99.9 slowdown |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (PointReport p in r.Points)
        {
            string load = double.IsNaN(p.OfferedLoad) ? "max" : Inv($"{p.OfferedLoad:0.###}");
            string offered = double.IsInfinity(p.OfferedRps) || double.IsNaN(p.OfferedRps) ? "max" : Inv($"{p.OfferedRps / 1000:0.#}");
            bool first = true;
            foreach (ClassReport c in new[] { p.All }.Concat(p.Types.Count > 1 ? p.Types : []))
            {
                string head = first
                    ? Inv($"| {p.Label}{(p.GeneratorFlags is { } flags ? $" (generator: {flags})" : "")} | {load} | {offered} | {p.AchievedRps / 1000:0.#} | {p.Completed} | {p.Dropped} | {p.Unfinished} | {p.Preemptions} | {p.AllocatedBytesPerRequest:0.#} ")
                    : "| | | | | | | | | ";
                sb.AppendLine(head + Inv($"| {c.Name} | {c.Count} | {c.LatencyUs.P50:0.#} | {c.LatencyUs.P99:0.#} | {c.LatencyUs.P999:0.#} | {c.Slowdown.P99:0.#} | {c.Slowdown.P999:0.#} |"));
                first = false;
            }
        }
        AppendCeilings(sb, r);
        AppendNetworkCounts(sb, r);
        AppendStalls(sb, r);
        TheorySection.Append(sb, r);
        KvSection.Append(sb, r);
        ModelSection.Append(sb, r);
        List<PointReport> withPreemption = r.Points.Where(p => p.PreemptionLatencyNs is { Count: > 0 }).ToList();
        if (withPreemption.Count > 0)
        {
            Section(sb, "Preemption cost (word written → next green thread running)");
            sb.AppendLine("| system | load | preemptions measured | p50 ns | p99 ns |");
            sb.AppendLine("|---|---:|---:|---:|---:|");
            foreach (PointReport p in withPreemption)
            {
                sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {p.PreemptionLatencyNs!.Count} | {p.PreemptionLatencyNs.P50:0} | {p.PreemptionLatencyNs.P99:0} |"));
            }
        }
        return sb.ToString();
    }

    /// <summary>The SLO's section: each system's highest load over all requests and over the
    /// untouched ones, the generator's flags beside them, and the ratios between systems.</summary>
    private static void AppendSlo(StringBuilder sb, RunReport r, SloReport slo)
    {
        sb.AppendLine(Inv($"## SLO: {slo.Slo}"));
        sb.AppendLine();
        sb.AppendLine("Judged on latency alone, over all requests and over the untouched ones (no stall in their busy period). " +
            "A point holds it only if the server also answered every request it was sent (none dropped, rejected, unanswered or unfinished). " +
            "What the generator did not do (keep its schedule, send every request, keep every answer its socket received) is flagged beside it, " +
            "never counted as the server's miss.");
        sb.AppendLine();
        sb.AppendLine("| system | all requests: highest load holding it | krps | value there | untouched: highest load holding it | krps | value there | generator flags |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (SloRow row in slo.Rows)
        {
            var all = new SloVerdict { MaxLoad = row.MaxLoad, MaxRps = row.MaxRps, ValueAtMax = row.ValueAtMax, MissedBelow = row.MissedBelow };
            string flags = row.Flagged.Count == 0 ? "–"
                : string.Join("; ", row.Flagged.Select(f => Inv($"{f.Load:0.###}: {f.Flags}")));
            sb.AppendLine($"| {row.Label} | {Verdict(r, row.Label, all)} | {Verdict(r, row.Label, row.Untouched)} | {flags} |");
        }
        sb.AppendLine();
        AppendRatios(sb, r, slo, "all requests", row => row.MaxRps, row => row.MaxLoad);
        AppendRatios(sb, r, slo, "untouched", row => row.Untouched?.MaxRps, row => row.Untouched?.MaxLoad);
    }

    /// <summary>Three cells: the highest load (with the misses below it), its krps, the value there.</summary>
    private static string Verdict(RunReport r, string label, SloVerdict? v) => v switch
    {
        null => "– | – | –",
        { MaxLoad: null } => "none | – | –",
        _ => Inv($"{v.MaxLoad:0.###}{(HeldAtHighest(r, label, v.MaxLoad) ? " (every load tested)" : "")}{Missed(v.MissedBelow)} | {v.MaxRps / 1000:0.#} | {v.ValueAtMax:0.##}"),
    };

    /// <summary>
    /// Between every two systems that both held the SLO at some load: the ratio of the highest
    /// request rates they held it at. A system that held it at every load tested may hold it higher,
    /// so a ratio involving one is a bound, and says which way.
    /// </summary>
    private static void AppendRatios(StringBuilder sb, RunReport r, SloReport slo, string over, Func<SloRow, double?> maxRps, Func<SloRow, double?> maxLoad)
    {
        List<SloRow> held = slo.Rows.Where(row => maxRps(row) is > 0).ToList();
        if (held.Count < 2)
        {
            return;
        }
        for (int i = 0; i < held.Count; i++)
        {
            for (int j = i + 1; j < held.Count; j++)
            {
                SloRow a = held[i], b = held[j];
                double ratio = maxRps(a)!.Value / maxRps(b)!.Value;
                bool aOpen = HeldAtHighest(r, a.Label, maxLoad(a)), bOpen = HeldAtHighest(r, b.Label, maxLoad(b));
                string bound = (aOpen, bOpen) switch
                {
                    (true, false) => " (at least: " + a.Label + " held it at every load tested)",
                    (false, true) => " (at most: " + b.Label + " held it at every load tested)",
                    (true, true) => " (both held it at every load tested: no ranking)",
                    _ => "",
                };
                sb.AppendLine(Inv($"- {over}: {a.Label} / {b.Label}: {ratio:0.##}×{bound}"));
            }
        }
        sb.AppendLine();
    }

    private static bool HeldAtHighest(RunReport r, string label, double? maxLoad)
    {
        double highest = r.Points.Where(p => p.Label == label && !double.IsNaN(p.OfferedLoad)).Select(p => p.OfferedLoad).DefaultIfEmpty(double.NaN).Max();
        return maxLoad is { } max && max >= highest;
    }

    /// <summary>Per point: every class over all requests and over the untouched ones, and per core
    /// the stalls the watching threads saw over the measured window.</summary>
    private static void AppendStalls(StringBuilder sb, RunReport r)
    {
        List<PointReport> watched = r.Points.Where(p => p.Stalls is not null).ToList();
        if (watched.Count == 0)
        {
            return;
        }
        Section(sb, "Stalls, and the requests no stall touched");
        foreach ((double threshold, string seenBy) in watched.Select(p => (p.Stalls!.ThresholdUs, p.Stalls.SeenBy)).Distinct())
        {
            sb.AppendLine(Inv($"- a stall: a gap over {threshold:0.#} µs in a watching thread's own clock reads; watched: {seenBy}"));
        }
        sb.AppendLine("- a busy period is a stretch with some request in flight; every request of a busy period that a stall on any watched core overlapped " +
            "is left out of the untouched figures (\"left out\"), so they show the scheduler without the machine's pauses, and the share left out says how much of the run that is");
        sb.AppendLine();
        sb.AppendLine("| system | load | class | n | left out | p50 µs all / untouched | p99 µs all / untouched | p99.9 µs all / untouched | p99 slowdown all / untouched | p99.9 slowdown all / untouched |");
        sb.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PointReport p in watched)
        {
            foreach (ClassReport c in new[] { p.All }.Concat(p.Types.Count > 1 ? p.Types : []))
            {
                UntouchedClass? u = c.Untouched;
                string leftOut = u is null ? "–" : c.Count == 0 ? "0" : Inv($"{u.LeftOut} ({(double)u.LeftOut / Math.Max(1, u.LeftOut + u.Count):P1})");
                sb.AppendLine(Inv($"| {p.Label} | {LoadText(p)} | {c.Name} | {c.Count} | {leftOut} | {Pair(c.LatencyUs.P50, u?.LatencyUs.P50, u)} | {Pair(c.LatencyUs.P99, u?.LatencyUs.P99, u)} | {Pair(c.LatencyUs.P999, u?.LatencyUs.P999, u)} | {Pair(c.Slowdown.P99, u?.Slowdown.P99, u)} | {Pair(c.Slowdown.P999, u?.Slowdown.P999, u)} |"));
            }
        }
        sb.AppendLine();
        sb.AppendLine("Stalls that began in the measured window, per core (overlapping stalls of two threads on a core counted once in the total). " +
            "Steal: the time the hypervisor took from the core in the window (/proc/stat, 10 ms ticks): stall time with steal beside it is the host's, " +
            "the rest the guest kernel's (interrupts, other threads) or the runtime's.");
        sb.AppendLine();
        sb.AppendLine("| system | load | core | threads | stalls | per second | total ms | share of window | longest ms | steal ms | busy periods touched | not kept |");
        sb.AppendLine("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PointReport p in watched)
        {
            StallReport st = p.Stalls!;
            string touched = st.BusyPeriods == 0 ? "–" : Inv($"{st.TouchedBusyPeriods} of {st.BusyPeriods}");
            foreach (CoreStalls c in st.Cores)
            {
                string core = c.Core < 0 ? "unpinned" : c.Core.ToString(CultureInfo.InvariantCulture);
                double perSecond = st.WindowS > 0 ? c.Count / st.WindowS : 0;
                string steal = p.StealMsPerCore is { } ms && c.Core >= 0 && c.Core < ms.Count ? Inv($"{ms[c.Core]:0}") : "–";
                sb.AppendLine(Inv($"| {p.Label} | {LoadText(p)} | {core} | {c.Threads} | {c.Count} | {perSecond:0.#} | {c.TotalUs / 1000:0.###} | {c.ShareOfWindow:P2} | {c.LongestUs / 1000:0.###} | {steal} | {touched} | {st.NotKept} |"));
            }
        }
        if (watched.Any(p => p.Stalls!.NotLogged > 0))
        {
            sb.AppendLine();
            sb.AppendLine(Inv($"Some requests did not fit their recorder's log ({watched.Sum(p => p.Stalls!.NotLogged)} in all): they are in neither the untouched figures nor the left-out count."));
        }
    }

    private static string Pair(double all, double? untouched, UntouchedClass? u) =>
        u is { Count: > 0 } && untouched is { } v ? Inv($"{all:0.#} / {v:0.#}") : Inv($"{all:0.#} / –");

    // Saturation points: the ceiling in requests/s and in requests per cross-core round trip.
    private static void AppendCeilings(StringBuilder sb, RunReport r)
    {
        List<PointReport> ceilings = r.Points.Where(p => p.RequestsPerRoundTrip is not null).ToList();
        if (ceilings.Count == 0)
        {
            return;
        }
        Section(sb, "Ceiling per cross-core round trip",
            "Requests completed per IOKernel-to-worker cache-line round trip (measured just before each point): the" + Environment.NewLine +
            "dispatcher's ceiling without the machine's round trip in it. The round trip is measured again just after" + Environment.NewLine +
            "the point; where the two differ by more than half, the machine changed under the point (a VM's vCPUs" + Environment.NewLine +
            "moved between host cores) and its per-round-trip figure does not describe it (\"moved\").");
        sb.AppendLine("| system | JBSQ k | achieved M/s | round trip ns before / after | requests per round trip |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (PointReport p in ceilings)
        {
            string after = p.CrossCoreRoundTripAfterNs is { } a ? Inv($"{a:0}") : "–";
            string moved = p.RoundTripMoved ? " (moved)" : "";
            sb.AppendLine(Inv($"| {p.Label} | {p.MailboxDepth} | {p.AchievedRps / 1e6:0.###} | {p.CrossCoreRoundTripNs:0} / {after} | {p.RequestsPerRoundTrip:0.##}{moved} |"));
        }
    }

    private static string LoadText(PointReport p) => double.IsNaN(p.OfferedLoad) ? "max" : Inv($"{p.OfferedLoad:0.###}");

    /// <summary>Network runs: what the generator sent and what came back, and how well it kept its schedule.</summary>
    private static void AppendNetworkCounts(StringBuilder sb, RunReport r)
    {
        List<PointReport> network = r.Points.Where(p => p.Sent is not null).ToList();
        if (network.Count == 0)
        {
            return;
        }
        Section(sb, "Requests and the generator (whole point, warm-up included)", "sent = ok + rejected + failed + lost. Lost: no answer within the grace after the last send; of those, the server's are the ones " +
            "its answer never reached the generator for (less the sends the generator's socket refused and the answers its own socket dropped, which are the generator's). " +
            "Lateness: actual − intended send time over the measured window. A point marked **behind** measures the generator as well as the server; " +
            "its latency is still judged, and the flag shown beside it.");
        sb.AppendLine("| system | load | offered krps | scheduled | sent | ok | rejected | failed | lost | of which the server's | send errors | dropped at the generator | duplicates | unknown | lateness p50 µs | p99 µs | max µs | generator B/req | generator |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (PointReport p in network)
        {
            Summary late = p.GeneratorLatenessUs ?? new Summary();
            string state = p.GeneratorFellBehind == true ? "**behind**" : "kept up";
            string dropped = p.GeneratorDropped is { } d ? d.ToString(CultureInfo.InvariantCulture) : "?";
            sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {p.OfferedRps / 1000:0.#} | {p.Scheduled} | {p.Sent} | {p.Ok} | {p.Rejected} | {p.Failed} | {p.Lost} | {p.UnansweredByServer} | {p.SendErrors} | {dropped} | {p.Duplicates} | {p.UnknownResponses} | {late.P50:0.#} | {late.P99:0.#} | {late.Max:0.#} | {p.GeneratorAllocatedBytesPerRequest:0.#} | {state} |"));
        }
    }

    /// <summary>" (missed at 0.1, 0.3)" when lower loads missed the SLO.</summary>
    public static string Missed(SloRow row) => Missed(row.MissedBelow);

    /// <summary>" (missed at 0.1, 0.3)" for these loads, "" for none.</summary>
    public static string Missed(IReadOnlyList<double> missedBelow) => missedBelow.Count == 0
        ? ""
        : " (missed at " + string.Join(", ", missedBelow.Select(l => l.ToString("0.###", CultureInfo.InvariantCulture))) + ")";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
