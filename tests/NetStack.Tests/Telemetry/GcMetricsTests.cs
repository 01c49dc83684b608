// The GC instruments report the runtime's collections by generation and its total pause time.
using NetStack.IOKernel.Telemetry.Metrics;
using Xunit;
using N = NetStack.IOKernel.Telemetry.Metrics.NetStackMetrics.Names;

namespace NetStack.Tests.Telemetry;

public class GcMetricsTests
{
    [Fact]
    public void CollectionsAreCountedUnderTheOldestGenerationTheyCollectedAndPausesAddUp()
    {
        using var metrics = new NetStackMetrics();
        var before = MetricsCollector.Collect(metrics);
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        var after = MetricsCollector.Collect(metrics);

        double Delta(string generation) =>
            after.Value(N.GcCollections, ("generation", generation)) - before.Value(N.GcCollections, ("generation", generation));
        // At least the two forced ones (the test runner's threads may add collections of their own, and
        // the runtime may raise a requested gen-0 collection to an older generation, so only the full one
        // is sure to land under "2").
        Assert.True(Delta("0") + Delta("1") + Delta("2") >= 2, $"gen0 {Delta("0")} gen1 {Delta("1")} gen2 {Delta("2")}");
        Assert.True(Delta("2") >= 1, $"gen2 {Delta("2")}");
        Assert.True(Delta("0") >= 0 && Delta("1") >= 0);
        // Each collection is counted once: the series add up to the runtime's count of gen-0 collections.
        double sum = after[N.GcCollections].Sum(o => o.Value);
        Assert.True(sum >= before[N.GcCollections].Sum(o => o.Value) + 2 && sum <= GC.CollectionCount(0), $"{sum} against {GC.CollectionCount(0)}");
        Assert.Equal(GC.MaxGeneration + 1, after[N.GcCollections].Count);
        // Pause time is cumulative: it never goes back, and a blocking full collection pauses.
        Assert.True(after.Value(N.GcPauseTime) > before.Value(N.GcPauseTime));
        Assert.True(after.Value(N.GcPauseTime) <= GC.GetTotalPauseDuration().TotalSeconds);
    }

    [Fact]
    public void TheShutdownLineNamesTheCollectionsAndTheModeTheProcessRunsIn()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        string line = GcMetrics.Describe();
        Assert.StartsWith("gc (workstation, ", line);
        Assert.Contains("collections gen0 ", line);
        Assert.Contains(" ms in all", line);
        Assert.True(GcMetrics.Collections(2) >= 1);
    }
}
