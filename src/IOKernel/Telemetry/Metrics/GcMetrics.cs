// Garbage collection as the pinned threads feel it: collections per generation and time paused, read from the runtime's own counts when a reader collects.
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime;

namespace NetStack.IOKernel.Telemetry.Metrics;

/// <summary>
/// The GC instruments of the <c>NetStack</c> Meter. A collection suspends every managed thread, the
/// pinned IOKernel and carriers included, so its pauses are stalls of the data path (the stall log
/// sees them as gaps); the data path allocates nothing after warm-up, so collections come from the
/// host's other threads (start-up, logging, exporters). Read from <see cref="GC.CollectionCount"/>
/// and <see cref="GC.GetTotalPauseDuration"/> at collection time, on the reader's thread: nothing on
/// the data path. docs/metrics.md lists them; docs/design-notes.md says which GC configuration and why.
/// </summary>
internal static class GcMetrics
{
    /// <summary>Adds the GC instruments to <paramref name="meter"/>.</summary>
    public static void CreateInstruments(Meter meter)
    {
        meter.CreateObservableCounter(NetStackMetrics.Names.GcCollections, ObserveCollections, "{collection}",
            "Garbage collections by generation (the oldest generation each collected: a gen-2 collection counts once, under 2).");
        meter.CreateObservableCounter(NetStackMetrics.Names.GcPauseTime, static () => GC.GetTotalPauseDuration().TotalSeconds, "s",
            "Time every managed thread, the pinned ones included, was paused for garbage collection (GC.GetTotalPauseDuration).");
    }

    /// <summary>Collections whose oldest generation was <paramref name="generation"/> (0 to <see cref="GC.MaxGeneration"/>).</summary>
    public static long Collections(int generation) => Snapshot()[generation];

    /// <summary>
    /// Collections by oldest generation, from one consistent reading: <see cref="GC.CollectionCount"/>
    /// counts a gen-2 collection under 0, 1 and 2, so the counts are differences, and a collection
    /// between two reads would make a difference step back; every collection raises the gen-0 count,
    /// so a reading is retried until that count held still across it.
    /// </summary>
    private static long[] Snapshot()
    {
        var counts = new long[GC.MaxGeneration + 1];
        int before;
        do
        {
            before = GC.CollectionCount(0);
            for (int g = 0; g <= GC.MaxGeneration; g++)
            {
                counts[g] = GC.CollectionCount(g);
            }
        }
        while (GC.CollectionCount(0) != before);
        for (int g = 0; g < GC.MaxGeneration; g++)
        {
            counts[g] -= counts[g + 1];
        }
        return counts;
    }

    /// <summary>One line for shutdown summaries: collections per generation, time paused, the GC's mode.</summary>
    public static string Describe()
    {
        GCMemoryInfo last = GC.GetGCMemoryInfo(GCKind.Any);
        double lastPauseMicros = last.PauseDurations.Length > 0 ? last.PauseDurations[0].TotalMicroseconds : 0;
        // Batch latency is what a runtime with concurrent (background) collection turned off runs in.
        string mode = (GCSettings.IsServerGC ? "server" : "workstation") +
            (GCSettings.LatencyMode == GCLatencyMode.Batch ? ", non-concurrent" : ", concurrent");
        long[] n = Snapshot();
        return string.Create(CultureInfo.InvariantCulture,
            $"gc ({mode}): collections gen0 {n[0]}, gen1 {n[1]}, gen2 {n[2]}; paused {GC.GetTotalPauseDuration().TotalMilliseconds:0.###} ms in all, " +
            $"the last pause {lastPauseMicros:0} µs; heap {last.HeapSizeBytes / 1048576.0:0.#} MiB");
    }

    private static IEnumerable<Measurement<long>> ObserveCollections()
    {
        long[] n = Snapshot();
        var result = new Measurement<long>[n.Length];
        for (int g = 0; g < n.Length; g++)
        {
            result[g] = new Measurement<long>(n[g], new KeyValuePair<string, object?>("generation", g.ToString(CultureInfo.InvariantCulture)));
        }
        return result;
    }
}
