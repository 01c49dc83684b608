// The carriers' latency buckets: every completion counted once, in the bucket that holds its latency.
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.Telemetry;

public class LatencyBucketTests
{
    [Fact]
    public void RecorderCountsEveryCompletionItForwardsInItsAppsBucket()
    {
        var inner = new CountingRecorder();
        var recorder = new LatencyBucketRecorder(inner, apps: 2);
        long[] latenciesNs = [0, 1, 3, 999, 1_000, 5_000, 20_000, 1_000_000, 1L << 45];
        foreach (long ns in latenciesNs)
        {
            recorder.RecordCompletion(Completion(app: 1, ns));
        }
        recorder.RecordCompletion(Completion(app: 0, 10_000));
        recorder.RecordPreemptionLatency(7);

        Assert.Equal(latenciesNs.Length + 1, recorder.Total);
        Assert.Equal(latenciesNs.Length + 1, inner.Completions);
        Assert.Equal(1, inner.PreemptionLatencies);
        var app1 = new long[LatencyBuckets.Count];
        recorder.AddTo(1, app1);
        Assert.Equal(latenciesNs.Length, app1.Sum());
        foreach (long ns in latenciesNs)
        {
            Assert.True(app1[LatencyBuckets.IndexOf(Clock.ToNs(Clock.FromNs(ns)))] > 0);
        }
        var app0 = new long[LatencyBuckets.Count];
        recorder.AddTo(0, app0);
        Assert.Equal(1, app0.Sum());
    }

    [Fact]
    public void EveryValueFallsInsideItsBucketsBoundsAndBucketsTileTheRange()
    {
        for (int i = 0; i + 1 < LatencyBuckets.Count; i++)
        {
            Assert.Equal(LatencyBuckets.UpperBoundNs(i), LatencyBuckets.LowerBoundNs(i + 1));
            Assert.True(LatencyBuckets.UpperBoundNs(i) > LatencyBuckets.LowerBoundNs(i));
        }
        foreach (long ns in new long[] { 0, 1, 2, 3, 4, 5, 7, 8, 100, 1023, 1024, 1025, 123_456_789, LatencyBuckets.MaxTrackableNs })
        {
            int index = LatencyBuckets.IndexOf(ns);
            Assert.InRange(ns, LatencyBuckets.LowerBoundNs(index), LatencyBuckets.UpperBoundNs(index) - 1);
            // Quarter-octave buckets: no bucket is wider than a quarter of its lower bound.
            Assert.True(LatencyBuckets.UpperBoundNs(index) - LatencyBuckets.LowerBoundNs(index) <= Math.Max(1, LatencyBuckets.LowerBoundNs(index) / 4));
        }
        Assert.Equal(LatencyBuckets.Count - 1, LatencyBuckets.IndexOf(long.MaxValue));
        Assert.Equal(0, LatencyBuckets.IndexOf(-5));
        Assert.Equal(LatencyBuckets.IndexOf(1L << 10), LatencyBuckets.CountBelowPowerOfTwo(10));
    }

    [Fact]
    public void QuantilesComeFromTheBucketThatHoldsTheRank()
    {
        var counts = new long[LatencyBuckets.Count];
        counts[LatencyBuckets.IndexOf(10_000)] = 98;    // 98 requests near 10 µs
        counts[LatencyBuckets.IndexOf(1_000_000)] = 2;  // 2 near 1 ms
        double p50 = LatencyBuckets.QuantileMicros(counts, 0.5);
        double p99 = LatencyBuckets.QuantileMicros(counts, 0.99);
        Assert.InRange(p50, 8.192, 10.24);
        Assert.InRange(p99, 917.504, 1048.576);
        Assert.True(double.IsNaN(LatencyBuckets.QuantileMicros(new long[LatencyBuckets.Count], 0.5)));
    }

    private static GreenThread Completion(int app, long latencyNs) =>
        new() { AppId = app, ArrivalTicks = 1_000, CompletionTicks = 1_000 + Clock.FromNs(latencyNs) };

    private sealed class CountingRecorder : CompletionRecorder
    {
        public int Completions;
        public int PreemptionLatencies;
        public override void RecordCompletion(in CompletionStamps request) => Completions++;
        public override void RecordPreemptionLatency(long ticks) => PreemptionLatencies++;
    }
}
