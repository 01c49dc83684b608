// The NetStack Meter's observable instruments report what the kernel counted, read at collection time.
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Tests.Support;
using Xunit;
using N = NetStack.IOKernel.Telemetry.Metrics.NetStackMetrics.Names;

namespace NetStack.Tests.Telemetry;

public class NetStackMetricsTests
{
    [Fact]
    public void ObservableInstrumentsReportTheKernelsCountersAndCoresPerApp()
    {
        using var metrics = new NetStackMetrics();
        // 60 requests of 20 µs at once into a queue of 8: some run, the rest are turned away as queue-full.
        var nic = new ScriptedNic(Enumerable.Range(0, 60).Select(_ => (0, 20_000L)).ToArray());
        var options = TestKernel.Options("cfcfs");
        options.QueueCapacity = 8;
        var kernel = new Kernel(options, nic, new global::NetStack.Apps.Spin.SpinApp(), LatencyBucketRecorder.Factory(1)) { StopWhenExhausted = true };
        using IDisposable registration = metrics.Register(kernel);
        TestKernel.RunToEnd(kernel);

        var c = kernel.Counters;
        var seen = MetricsCollector.Collect(metrics);
        Assert.Equal(60, seen.Value(N.Received));
        Assert.Equal(c.Completed, seen.Value(N.Completed));
        Assert.True(c.Rejected > 0);
        Assert.Equal(c.Rejected, seen.Value(N.Rejected));
        Assert.Equal(c.Rejected, seen.Value(N.Dropped, ("reason", "queue-full")));
        Assert.Equal(0, seen.Value(N.Dropped, ("reason", "no-app")));
        Assert.Equal(c.Errors, seen.Value(N.Errors));
        Assert.Equal(c.Dispatches, seen.Value(N.Dispatches));
        Assert.Equal(kernel.Carriers.Sum(k => k.Slices), seen.Value(N.WorkerSlices));
        Assert.Equal(kernel.Carriers.Sum(k => k.Completed), seen.Value(N.WorkerCompleted, ("core", "1")));
        // The single-app kernel holds its one worker core statically: one initial grant, no moves.
        Assert.Equal(1, seen.Value(N.Cores, ("app", "app")));
        Assert.Equal(0, seen.Value(N.Cores, ("app", "none")));
        Assert.Equal(1, seen.Value(N.Grants, ("app", "app"), ("reason", "initial")));
        Assert.Equal(0, seen.Value(N.CoreMoves));
        Assert.Equal(0, seen.Value(N.QueueDepth, ("app", "app")));
        Assert.Equal(0, seen.Value(N.InFlight));
        // Every completion is in the cumulative buckets' +Inf series, and the buckets never decrease.
        Assert.Equal(c.Completed, seen.Value(N.LatencyBuckets, ("app", "app"), ("le", "+Inf")));
        double[] cumulative = seen[N.LatencyBuckets].Select(o => o.Value).ToArray();
        Assert.Equal(cumulative.Order(), cumulative);
    }

    [Fact]
    public void LatencyQuantilesCoverTheCompletionsSinceThePreviousCollection()
    {
        using var metrics = new NetStackMetrics();
        var nic = new ScriptedNic(Enumerable.Range(0, 20).Select(_ => (0, 20_000L)).ToArray());
        var kernel = new Kernel(TestKernel.Options("cfcfs"), nic, new global::NetStack.Apps.Spin.SpinApp(), LatencyBucketRecorder.Factory(1)) { StopWhenExhausted = true };
        using IDisposable registration = metrics.Register(kernel);
        TestKernel.RunToEnd(kernel);

        var first = MetricsCollector.Collect(metrics)[N.Latency];
        double p50 = first.Single(o => o.Has(("app", "app"), ("quantile", "0.5"))).Value;
        double p99 = first.Single(o => o.Has(("quantile", "0.99"))).Value;
        double p999 = first.Single(o => o.Has(("quantile", "0.999"))).Value;
        // Each request spun 20 µs after it arrived: no latency is below the bucket that holds 20 µs.
        Assert.True(p50 >= 16.384, $"p50 {p50} µs");
        Assert.True(p50 <= p99 && p99 <= p999);
        // Nothing completed since: the gauge reports no value rather than a latency that never happened.
        Assert.False(MetricsCollector.Collect(metrics).ContainsKey(N.Latency));
    }

    [Fact]
    public void CountersKeepTheirTotalsAcrossKernelsThatComeAndGo()
    {
        using var metrics = new NetStackMetrics();
        long completed = 0;
        for (int run = 0; run < 2; run++)
        {
            var nic = new ScriptedNic(Enumerable.Range(0, 10).Select(_ => (0, 1_000L)).ToArray());
            var kernel = new Kernel(TestKernel.Options("ps"), nic, new global::NetStack.Apps.Spin.SpinApp(), LatencyBucketRecorder.Factory(1)) { StopWhenExhausted = true };
            using (metrics.Register(kernel))
            {
                TestKernel.RunToEnd(kernel);
            }
            completed += kernel.Counters.Completed;
        }
        var seen = MetricsCollector.Collect(metrics);
        Assert.Equal(20, completed);
        Assert.Equal(completed, seen.Value(N.Completed));
        Assert.Equal(completed, seen.Value(N.LatencyBuckets, ("app", "app"), ("le", "+Inf")));
        // Gauges describe live kernels only: none is registered now.
        Assert.False(seen.ContainsKey(N.Cores));
    }

    [Fact]
    public void KernelWithoutBucketRecordersReportsCountersButNoLatency()
    {
        using var metrics = new NetStackMetrics();
        var nic = new ScriptedNic((0, 1_000L), (0, 1_000L));
        var kernel = new Kernel(TestKernel.Options("cfcfs"), nic, new global::NetStack.Apps.Spin.SpinApp()) { StopWhenExhausted = true };
        using IDisposable registration = metrics.Register(kernel);
        TestKernel.RunToEnd(kernel);

        var seen = MetricsCollector.Collect(metrics);
        Assert.Equal(2, seen.Value(N.Completed));
        Assert.False(seen.ContainsKey(N.LatencyBuckets));
        Assert.False(seen.ContainsKey(N.Latency));
    }
}
