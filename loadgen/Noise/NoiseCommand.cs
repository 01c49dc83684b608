// The `noise` verb: how often this machine takes a core away from a pinned spinning thread, and for how long.
using System.Globalization;
using NetStack.LoadGen.Cli;
using NetStack.Runtime;

namespace NetStack.LoadGen.Noise;

/// <summary>One core's stalls: gaps between consecutive clock reads of a pinned spin loop.</summary>
internal sealed record CoreNoise(int Core, double Seconds, long Over10Us, long Over100Us, long Over1Ms, double MaxUs, double StolenFraction)
{
    /// <summary>One line for reports.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"core {Core}: per second {Over10Us / Seconds:0} stalls >10 µs, {Over100Us / Seconds:0.#} >100 µs, {Over1Ms / Seconds:0.##} >1 ms; longest {MaxUs:0} µs; {StolenFraction:P2} of the time lost");
}

/// <summary>
/// <c>noise [--cores 0,1] [--duration-s 2]</c>: spins a pinned thread on each core (all at once, as
/// the IOKernel and carriers do) reading the clock, and counts the gaps: time the OS or the
/// hypervisor took the core away. Then measures the cache-line round trip between the first core
/// and each other one (<see cref="CrossCoreProbe"/>). No scheduler can beat this floor on this machine: a p99.9 of a
/// few µs is out of reach when every core stalls for more than 100 µs several times a second.
/// </summary>
internal static class NoiseCommand
{
    /// <summary>Usage line.</summary>
    public const string Usage = "noise [--cores 0,1] [--duration-s 2]";

    /// <summary>Runs the probe.</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        var a = new ArgParser("noise", args, ["cores", "duration-s"]);
        double seconds = a.GetDouble("duration-s", 2, 0.1, 600);
        int[] cores = a.Get("cores") is { } list
            ? list.Split(',').Select(c => int.TryParse(c, CultureInfo.InvariantCulture, out int v) ? v : throw new UsageException($"noise: '{c}' is not a core")).ToArray()
            : [.. Affinity.AvailableCores()];
        try
        {
            Affinity.Validate(cores);
        }
        catch (CoreNotAvailableException e)
        {
            throw new UsageException(e.Message);
        }
        foreach (CoreNoise n in Measure(cores, seconds))
        {
            Console.WriteLine(n);
        }
        for (int i = 1; i < cores.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cores {cores[0]}<->{cores[i]}: cache-line round trip {CrossCoreProbe.RoundTripNs(cores[0], cores[i]):0} ns (median of 5 × 100k)"));
        }
        return 0;
    }

    /// <summary>Measures every core at once for <paramref name="seconds"/>.</summary>
    public static IReadOnlyList<CoreNoise> Measure(IReadOnlyList<int> cores, double seconds)
    {
        var results = new CoreNoise[cores.Count];
        var threads = cores.Select((core, i) => new Thread(() => results[i] = Spin(core, seconds)) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return results;
    }

    private static CoreNoise Spin(int core, double seconds)
    {
        Affinity.PinCurrentThread(core);
        long threshold = Clock.FromMicros(10);
        long over10 = 0, over100 = 0, over1ms = 0, max = 0, lost = 0;
        long start = Clock.Now();
        long end = start + Clock.FromMicros(seconds * 1e6);
        long last = start;
        while (last < end)
        {
            long now = Clock.Now();
            long gap = now - last;
            if (gap > threshold)
            {
                over10++;
                lost += gap;
                if (gap > Clock.FromMicros(100))
                {
                    over100++;
                }
                if (gap > Clock.FromMicros(1000))
                {
                    over1ms++;
                }
                max = Math.Max(max, gap);
            }
            last = now;
        }
        double elapsed = Clock.ToMicros(last - start) / 1e6;
        return new CoreNoise(core, elapsed, over10, over100, over1ms, Clock.ToMicros(max), Clock.ToMicros(lost) / 1e6 / elapsed);
    }
}
