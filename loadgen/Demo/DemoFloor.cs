// The demo's first step: this machine's floor (what `noise` measures), after waiting, if need be, for the machine to be quiet.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using NetStack.LoadGen.Noise;

namespace NetStack.LoadGen.Demo;

/// <summary>The floor the demo measured on its cores, and how long it waited for a quiet machine first.</summary>
/// <param name="Cores">Each core's stalls over the final probe.</param>
/// <param name="WaitedS">Seconds spent waiting for the machine to be quiet (0: it was, or no wait was asked for).</param>
internal sealed record DemoFloor(IReadOnlyList<CoreNoise> Cores, double WaitedS)
{
    /// <summary>
    /// A core that loses more than this share of its time to stalls is busy with another process: a
    /// pinned spinning thread loses 4–6 % of each core of the reference VM to the hypervisor when
    /// nothing else runs, and 20–31 % while a <c>dotnet run</c> parent process is still starting up (issue 10).
    /// </summary>
    public const double QuietLostFraction = 0.10;

    /// <summary>The probe while waiting: long enough to see a few stalls, short enough to poll.</summary>
    private const double CheckSeconds = 1;

    /// <summary>The pause between two checks, so the probe itself does not keep the cores busy.</summary>
    private static readonly TimeSpan s_checkPause = TimeSpan.FromSeconds(2);

    /// <summary>True when no core lost more than <see cref="QuietLostFraction"/> of its time.</summary>
    public bool Quiet => Busiest.StolenFraction <= QuietLostFraction;

    /// <summary>The core that lost the largest share of its time.</summary>
    public CoreNoise Busiest => Cores.MaxBy(c => c.StolenFraction)!;

    /// <summary>
    /// Waits up to <paramref name="maxWaitS"/> seconds for every core of <paramref name="cores"/> to be quiet
    /// (checking every few seconds, and saying so on <paramref name="log"/>), then measures the floor for
    /// <paramref name="probeS"/> seconds.
    /// </summary>
    public static DemoFloor Measure(IReadOnlyList<int> cores, double probeS, double maxWaitS, TextWriter log)
    {
        var waiting = Stopwatch.StartNew();
        bool waited = false;
        while (maxWaitS > 0)
        {
            var check = new DemoFloor(NoiseCommand.Measure(cores, CheckSeconds), 0);
            double left = maxWaitS - waiting.Elapsed.TotalSeconds;
            if (check.Quiet || left <= 0)
            {
                break;
            }
            log.WriteLine(Inv($"      the machine is busy (core {check.Busiest.Core} lost {check.Busiest.StolenFraction:P0} of its time): ") +
                Inv($"waiting for it to be quiet, {left:0} s at most"));
            waited = true;
            Thread.Sleep(s_checkPause);
        }
        double waitedS = waited ? waiting.Elapsed.TotalSeconds : 0;
        return new DemoFloor(NoiseCommand.Measure(cores, probeS), waitedS);
    }

    /// <summary>The summary's section: a row per core, and what it means for the tables after it.</summary>
    public void AppendTo(StringBuilder sb)
    {
        sb.AppendLine("## 0. This machine's floor (what `noise` measures)");
        sb.AppendLine();
        sb.AppendLine(Inv($"A pinned thread spun on each core for {Cores[0].Seconds:0.#} s, all at once, as the IOKernel and the worker do; ") +
            "a gap between two of its clock reads is time the OS or the hypervisor took the core away.");
        sb.AppendLine();
        sb.AppendLine("| core | time lost | stalls > 10 µs per s | > 100 µs per s | > 1 ms per s | longest, µs |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (CoreNoise c in Cores)
        {
            sb.AppendLine(Inv($"| {c.Core} | {c.StolenFraction:P1} | {c.Over10Us / c.Seconds:0} | {c.Over100Us / c.Seconds:0.#} | {c.Over1Ms / c.Seconds:0.##} | {c.MaxUs:0} |"));
        }
        sb.AppendLine();
        if (WaitedS > 0)
        {
            sb.AppendLine(Inv($"The demo waited {WaitedS:0} s for the machine to be quiet (no core losing more than {QuietLostFraction:P0} of its time) before measuring."));
            sb.AppendLine();
        }
        if (!Quiet)
        {
            sb.AppendLine(Inv($"**The machine is busy**: core {Busiest.Core} lost {Busiest.StolenFraction:P0} of its time, more than the ") +
                Inv($"{QuietLostFraction:P0} a quiet machine loses; another process shares these cores, and every figure below carries its load."));
            sb.AppendLine();
        }
        sb.AppendLine("A request in flight when its core stalls waits the stall out, under every policy: no scheduler beats this floor. " +
            "So the policies are compared below on what stalls barely move, the median and the p90, and on the p99 of the requests " +
            "no stall touched (untouched: outside every busy period in which a stall occurred).");
        sb.AppendLine();
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
