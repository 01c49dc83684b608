// Renders a RunReport as report.md: the run, the machine, a row per point, and the SLO table.
using System.Globalization;
using System.Text;
using NetStack.IOKernel.Telemetry.Reports;

namespace NetStack.LoadGen.Reports;

/// <summary>Writes the human-readable twin of report.json.</summary>
public static class MarkdownReport
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
            sb.AppendLine(Inv($"## SLO: {slo.Slo}"));
            sb.AppendLine();
            sb.AppendLine("| system | highest load holding the SLO | krps | value there |");
            sb.AppendLine("|---|---:|---:|---:|");
            foreach (SloRow row in slo.Rows)
            {
                sb.AppendLine(row.MaxLoad is null
                    ? Inv($"| {row.Label} | none | – | – |")
                    : Inv($"| {row.Label} | {row.MaxLoad:0.###}{(HeldAtHighest(r, row) ? " (every load tested)" : "")}{Missed(row)} | {row.MaxRps / 1000:0.#} | {row.ValueAtMax:0.##} |"));
            }
            sb.AppendLine();
            AppendRatios(sb, r, slo);
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
                    ? Inv($"| {p.Label}{(p.GeneratorFellBehind == true ? " (generator behind)" : "")} | {load} | {offered} | {p.AchievedRps / 1000:0.#} | {p.Completed} | {p.Dropped} | {p.Unfinished} | {p.Preemptions} | {p.AllocatedBytesPerRequest:0.#} ")
                    : "| | | | | | | | | ";
                sb.AppendLine(head + Inv($"| {c.Name} | {c.Count} | {c.LatencyUs.P50:0.#} | {c.LatencyUs.P99:0.#} | {c.LatencyUs.P999:0.#} | {c.Slowdown.P99:0.#} | {c.Slowdown.P999:0.#} |"));
                first = false;
            }
        }
        AppendNetworkCounts(sb, r);
        KvSection.Append(sb, r);
        ModelSection.Append(sb, r);
        List<PointReport> withPreemption = r.Points.Where(p => p.PreemptionLatencyNs is { Count: > 0 }).ToList();
        if (withPreemption.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Preemption cost (word written → next green thread running)");
            sb.AppendLine();
            sb.AppendLine("| system | load | preemptions measured | p50 ns | p99 ns |");
            sb.AppendLine("|---|---:|---:|---:|---:|");
            foreach (PointReport p in withPreemption)
            {
                sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {p.PreemptionLatencyNs!.Count} | {p.PreemptionLatencyNs.P50:0} | {p.PreemptionLatencyNs.P99:0} |"));
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Between every two systems that both held the SLO at some load: the ratio of the highest
    /// request rates they held it at. A system that held it at every load tested may hold it higher,
    /// so a ratio involving one is a bound, and says which way.
    /// </summary>
    private static void AppendRatios(StringBuilder sb, RunReport r, SloReport slo)
    {
        List<SloRow> held = slo.Rows.Where(row => row.MaxRps is > 0).ToList();
        if (held.Count < 2)
        {
            return;
        }
        for (int i = 0; i < held.Count; i++)
        {
            for (int j = i + 1; j < held.Count; j++)
            {
                SloRow a = held[i], b = held[j];
                double ratio = a.MaxRps!.Value / b.MaxRps!.Value;
                bool aOpen = HeldAtHighest(r, a), bOpen = HeldAtHighest(r, b);
                string bound = (aOpen, bOpen) switch
                {
                    (true, false) => " (at least: " + a.Label + " held it at every load tested)",
                    (false, true) => " (at most: " + b.Label + " held it at every load tested)",
                    (true, true) => " (both held it at every load tested: no ranking)",
                    _ => "",
                };
                sb.AppendLine(Inv($"- {a.Label} / {b.Label}: {ratio:0.##}×{bound}"));
            }
        }
        sb.AppendLine();
    }

    private static bool HeldAtHighest(RunReport r, SloRow row)
    {
        double highest = r.Points.Where(p => p.Label == row.Label && !double.IsNaN(p.OfferedLoad)).Select(p => p.OfferedLoad).DefaultIfEmpty(double.NaN).Max();
        return row.MaxLoad is { } max && max >= highest;
    }

    /// <summary>Network runs: what the generator sent and what came back, and how well it kept its schedule.</summary>
    private static void AppendNetworkCounts(StringBuilder sb, RunReport r)
    {
        List<PointReport> network = r.Points.Where(p => p.Sent is not null).ToList();
        if (network.Count == 0)
        {
            return;
        }
        sb.AppendLine();
        sb.AppendLine("## Requests and the generator (whole point, warm-up included)");
        sb.AppendLine();
        sb.AppendLine("sent = ok + rejected + failed + lost. Lost: no answer within the grace after the last send. " +
            "Lateness: actual − intended send time over the measured window. A point marked **behind** measures the generator, not the server.");
        sb.AppendLine();
        sb.AppendLine("| system | load | offered krps | scheduled | sent | ok | rejected | failed | lost | send errors | duplicates | unknown | lateness p50 µs | p99 µs | max µs | generator B/req | generator |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (PointReport p in network)
        {
            Summary late = p.GeneratorLatenessUs ?? new Summary();
            string state = p.GeneratorFellBehind == true ? "**behind**" : "kept up";
            sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {p.OfferedRps / 1000:0.#} | {p.Scheduled} | {p.Sent} | {p.Ok} | {p.Rejected} | {p.Failed} | {p.Lost} | {p.SendErrors} | {p.Duplicates} | {p.UnknownResponses} | {late.P50:0.#} | {late.P99:0.#} | {late.Max:0.#} | {p.GeneratorAllocatedBytesPerRequest:0.#} | {state} |"));
        }
    }

    /// <summary>" (missed at 0.1, 0.3)" when lower loads missed the SLO.</summary>
    public static string Missed(SloRow row) => row.MissedBelow.Count == 0
        ? ""
        : " (missed at " + string.Join(", ", row.MissedBelow.Select(l => l.ToString("0.###", CultureInfo.InvariantCulture))) + ")";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
