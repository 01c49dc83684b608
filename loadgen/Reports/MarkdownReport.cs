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
        sb.AppendLine(Inv($"- each point: {r.Config.DurationS:0.##} s, first {r.Config.WarmupFraction:P0} not recorded; IOKernel on core {r.Config.IOKernelCore}, workers on cores {cores}; idle: IOKernel {r.Config.IOKernelIdle}, carriers {r.Config.CarrierIdle}; seed {r.Config.Seed}"));
        if (r.Config.Placement is not null)
        {
            sb.AppendLine(Inv($"- placement: {r.Config.Placement}"));
        }
        foreach (string note in r.Config.Notes)
        {
            sb.AppendLine(Inv($"- note: {note}"));
        }
        sb.AppendLine();

        if (r.Slo is not null)
        {
            sb.AppendLine(Inv($"## SLO: {r.Slo.Slo}"));
            sb.AppendLine();
            sb.AppendLine("| system | highest load holding the SLO | krps | value there |");
            sb.AppendLine("|---|---:|---:|---:|");
            foreach (SloRow row in r.Slo.Rows)
            {
                sb.AppendLine(row.MaxLoad is null
                    ? Inv($"| {row.Label} | none | – | – |")
                    : Inv($"| {row.Label} | {row.MaxLoad:0.###} | {row.MaxRps / 1000:0.#} | {row.ValueAtMax:0.##} |"));
            }
            sb.AppendLine();
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

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
