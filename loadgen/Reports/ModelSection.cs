// report.md's model sections: the model's parameters, and measured against model where a run has both.
using System.Globalization;
using System.Text;
using NetStack.Measurement.Reports;
using static NetStack.LoadGen.Reports.MarkdownText;

namespace NetStack.LoadGen.Reports;

/// <summary>What report.md says about points with System = "model".</summary>
internal static class ModelSection
{
    /// <summary>The header line of a model run: what each point is.</summary>
    public static string EachPoint(RunReport r) => Inv(
        $"- each point: simulated by the queueing model, no machine involved: Poisson arrivals from seed {r.Config.Seed}, first {r.Config.WarmupFraction:P0} of the simulated time not recorded");

    /// <summary>
    /// Appends the model's parameters per point and, for every measured point with a model twin
    /// (same policy, slice, workers and load), the measured / model ratios of p50 and p99 latency
    /// per class: how much the machine adds to the ideal system.
    /// </summary>
    public static void Append(StringBuilder sb, RunReport r)
    {
        List<PointReport> model = r.Points.Where(p => p.Model is not null).ToList();
        if (model.Count == 0)
        {
            return;
        }
        AppendRatios(sb, r, model);
        Section(sb, "Model parameters", "The dispatcher is one server: no more than 1e9 / dispatch ns dispatches a second get through, whatever the worker count; " +
            "under ps every resumption is a dispatch too. Busy near 100 %: the dispatcher, not the workers, is the bottleneck.");
        foreach (string source in model.Select(p => p.Model!.CostSource).Distinct())
        {
            sb.AppendLine($"- costs: {source}");
        }
        sb.AppendLine();
        sb.AppendLine("| system | load | dispatch ns | preemption ns | JBSQ k | queue bound | simulated requests | simulated s | dispatches | dispatcher busy | workers busy |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (PointReport p in model)
        {
            ModelPointInfo m = p.Model!;
            sb.AppendLine(Inv($"| {p.Label} | {p.OfferedLoad:0.###} | {m.DispatchNs:0.#} | {m.PreemptNs:0.#} | {p.MailboxDepth} | {m.QueueCapacity} | {m.Arrivals} | {m.SimulatedS:0.####} | {m.Dispatches} | {m.DispatcherBusyFraction:P1} | {p.WorkerBusyFraction:P1} |"));
        }
    }

    private static void AppendRatios(StringBuilder sb, RunReport r, List<PointReport> model)
    {
        var pairs = r.Points
            .Where(p => p.System == "netstack" && !double.IsNaN(p.OfferedLoad))
            .Select(p => (Measured: p, Model: model.FirstOrDefault(m => m.Policy == p.Policy && m.QuantumUs == p.QuantumUs
                && m.Workers == p.Workers && m.OfferedLoad == p.OfferedLoad)))
            .Where(x => x.Model is not null)
            .ToList();
        if (pairs.Count == 0)
        {
            return;
        }
        Section(sb, "Measured against the model", "Latency, µs, of the measured point and of the queueing model fed the same workload, seed, load and overheads; " +
            "ratio = measured / model (1 would be the ideal system; above it, what this machine and the implementation add), " +
            "over all requests and over the untouched ones (no stall in their busy period): the untouched ratio is the implementation's share, the rest the machine's.");
        sb.AppendLine("| policy | load | class | p50 measured | p50 model | p50 ratio | p50 untouched ratio | p99 measured | p99 model | p99 ratio | p99 untouched | p99 untouched ratio |");
        sb.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach ((PointReport measured, PointReport? twin) in pairs)
        {
            foreach (ClassReport c in new[] { measured.All }.Concat(measured.Types.Count > 1 ? measured.Types : []))
            {
                ClassReport? m = c.Name == "all" ? twin!.All : twin!.Types.FirstOrDefault(t => t.Name == c.Name);
                if (m is null || c.Count == 0 || m.Count == 0)
                {
                    continue;
                }
                UntouchedClass? u = c.Untouched is { Count: > 0 } kept ? kept : null;
                string u50 = u is null ? "–" : Ratio(u.LatencyUs.P50, m.LatencyUs.P50);
                string u99 = u is null ? "–" : Inv($"{u.LatencyUs.P99:0.##}");
                string u99Ratio = u is null ? "–" : Ratio(u.LatencyUs.P99, m.LatencyUs.P99);
                sb.AppendLine(Inv($"| {measured.Label} | {measured.OfferedLoad:0.###} | {c.Name} | {c.LatencyUs.P50:0.##} | {m.LatencyUs.P50:0.##} | {Ratio(c.LatencyUs.P50, m.LatencyUs.P50)} | {u50} | {c.LatencyUs.P99:0.##} | {m.LatencyUs.P99:0.##} | {Ratio(c.LatencyUs.P99, m.LatencyUs.P99)} | {u99} | {u99Ratio} |"));
            }
        }
    }

    private static string Ratio(double measured, double model) => model > 0 ? Inv($"{measured / model:0.##}×") : "–";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
