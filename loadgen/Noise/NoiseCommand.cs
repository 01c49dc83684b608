// The `noise` verb: how often this machine takes a core away from a pinned spinning thread, and for how long.
using System.CommandLine;
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
/// and each other one (<see cref="CrossCoreProbe"/>), and how far the first core's caches reach
/// (<see cref="MemoryProbe"/>). No scheduler can beat this floor on this machine: a p99.9 of a
/// few µs is out of reach when every core stalls for more than 100 µs several times a second.
/// </summary>
internal static class NoiseCommand
{
    /// <summary>What the verb does, for help.</summary>
    public const string Description = "this machine's own floor: how often the OS or the hypervisor takes each core away from a pinned " +
        "spinning thread, and for how long, then the cross-core cache-line round trip and a pointer chase per buffer size (how far the caches reach); no scheduler beats it here";

    /// <summary>The verb, for the program's root command.</summary>
    public static Command Create()
    {
        Option<int[]?> coresOption = CliOption.Parsed("cores", "C1,C2,...", "the cores to watch, all at once [default: every core this process may use]",
            text => text.Split(',').Select(c => int.TryParse(c, CultureInfo.InvariantCulture, out int v) ? v : throw new UsageException($"noise: '{c}' is not a core")).ToArray());
        Option<double> durationOption = CommonOptions.DurationS(2, 0.1, 600, "seconds to watch the cores");
        return VerbParser.WithAction(CliOption.Command("noise", Description, [coresOption, durationOption]), result =>
        {
            // An absent array-typed option reads as an empty array, not null; a given one is never empty.
            int[] cores = result.GetValue(coresOption) is { Length: > 0 } given ? given : [.. Affinity.AvailableCores()];
            Print(cores, result.GetValue(durationOption), Console.Out);
        });
    }

    /// <summary>Measures <paramref name="cores"/> for <paramref name="seconds"/> and writes one line per core, then each round trip from the first.</summary>
    public static void Print(IReadOnlyList<int> cores, double seconds, TextWriter output)
    {
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
            output.WriteLine(n);
        }
        for (int i = 1; i < cores.Count; i++)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cores {cores[0]}<->{cores[i]}: cache-line round trip {CrossCoreProbe.RoundTripNs(cores[0], cores[i]):0} ns (median of 5 × 100k)"));
        }
        // How far the caches reach (a VM's L3 is shared with other tenants): a dependent chase per size.
        int[] sizes = [256, 1024, MemoryProbe.ReportKiB, 65536];
        output.WriteLine($"core {cores[0]}: pointer chase, ns per load: " + string.Join(", ",
            sizes.Select(kib => string.Create(CultureInfo.InvariantCulture, $"{Size(kib)} {MemoryProbe.ChaseNs(kib, cores[0]):0.#}"))));

        static string Size(int kib) => kib >= 1024 ? $"{kib / 1024} MiB" : $"{kib} KiB";
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
