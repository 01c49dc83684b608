// LC load patterns for colocated runs: steady, a step up, or bursts.
using System.Globalization;
using NetStack.IOKernel.Nic;
using NetStack.LoadGen.Cli;
using NetStack.Runtime;

namespace NetStack.LoadGen.Colocate;

/// <summary>A named phase of a pattern, with its share of the run and its LC load (fraction of one core).</summary>
internal sealed record PatternPhase(string Name, double StartS, double EndS, double Load);

/// <summary>Builds the phase list of a pattern.</summary>
internal static class LoadPattern
{
    /// <summary>Valid pattern names.</summary>
    public const string Names = "steady, step, bursts";

    /// <summary>
    /// steady: <paramref name="high"/> throughout. step: <paramref name="low"/> for the first half,
    /// then <paramref name="high"/>. bursts: <paramref name="low"/> and <paramref name="high"/>
    /// alternating every <paramref name="burstS"/> seconds.
    /// </summary>
    public static List<PatternPhase> Build(string pattern, double durationS, double high, double low, double burstS)
    {
        var phases = new List<PatternPhase>();
        switch (pattern)
        {
            case "steady":
                phases.Add(new PatternPhase("steady", 0, durationS, high));
                break;
            case "step":
                phases.Add(new PatternPhase("low", 0, durationS / 2, low));
                phases.Add(new PatternPhase("high", durationS / 2, durationS, high));
                break;
            case "bursts":
                bool burst = false;
                for (double t = 0; t < durationS - 1e-9; t += burstS, burst = !burst)
                {
                    phases.Add(new PatternPhase(burst ? "burst" : "calm", t, Math.Min(durationS, t + burstS), burst ? high : low));
                }
                break;
            default:
                throw new UsageException($"colocate: unknown pattern '{pattern}'; valid: {Names}");
        }
        return phases;
    }

    /// <summary>The NIC's rate schedule for these phases.</summary>
    public static List<RatePhase> Rates(IEnumerable<PatternPhase> phases, double meanServiceNs, int lcCores) =>
        phases.Select(p => new RatePhase(Clock.FromMicros((p.EndS - p.StartS) * 1e6), p.Load * lcCores * 1e9 / meanServiceNs)).ToList();

    /// <summary>"steady 0.5" or "step 0.1→0.5" for labels.</summary>
    public static string Describe(string pattern, double high, double low) => pattern == "steady"
        ? string.Create(CultureInfo.InvariantCulture, $"steady {high:0.##}")
        : string.Create(CultureInfo.InvariantCulture, $"{pattern} {low:0.##}/{high:0.##}");
}
