// The recorders: which requests a window records, and what it counts as its throughput.
using NetStack.Measurement.Recording;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.Measurement;

public class RecorderTests
{
    private static readonly long s_from = Clock.FromMicros(1_000);
    private static readonly long s_until = Clock.FromMicros(2_000);

    private static GreenThread Request(double arrivalUs, double completionUs, long serviceNs = 10_000) => new()
    {
        ArrivalTicks = Clock.FromMicros(arrivalUs),
        CompletionTicks = Clock.FromMicros(completionUs),
        ServiceNs = serviceNs,
        Status = RequestStatus.Ok,
    };

    [Fact]
    public void TheWindowsThroughputCountsItsCompletionsAndItsLatencyItsArrivals()
    {
        var r = new LatencyRecorder(1, s_from, s_until);
        r.RecordCompletion(Request(900, 1_100));   // arrived in warm-up, completed in the window
        r.RecordCompletion(Request(1_500, 1_510)); // both inside
        r.RecordCompletion(Request(1_990, 2_300)); // arrived inside, completed in the drain

        // Latency: the window's two arrivals. Throughput: the window's two completions, not the same two.
        Assert.Equal(2, r.Latency[0].TotalCount);
        Assert.Equal(1, r.Outside);
        Assert.Equal(2, r.CompletedInWindow);

        var merged = new LatencyRecorder(1);
        merged.Merge(r);
        merged.Merge(r);
        Assert.Equal(4, merged.CompletedInWindow);
    }

    [Fact]
    public void EveryCompletionIsLoggedWithItsStampsAndAFullLogCountsWhatItCouldNotKeep()
    {
        var r = new LatencyRecorder(2, s_from, s_until, logCapacity: 2);
        GreenThread warm = Request(900, 1_100);
        r.RecordCompletion(warm);
        r.RecordCompletion(Request(1_500, 1_510, serviceNs: 3_000_000_000)); // a service time past int: clamped
        r.RecordCompletion(Request(1_600, 1_700));

        Assert.Equal(2, r.Log!.Count);
        Assert.Equal(1, r.Log.Overflowed);
        // Warm-up completions are logged too: a busy period that began there still delays the window.
        Assert.Equal(new RequestRecord(warm.ArrivalTicks, warm.CompletionTicks, 10_000, 0), r.Log.Records[0]);
        Assert.Equal(int.MaxValue, r.Log.Records[1].ServiceNs);
    }

    [Fact]
    public void RecordingARequestAllocatesNothingOnceTheRecorderIsBuilt()
    {
        var r = new LatencyRecorder(1, s_from, s_until, logCapacity: 20_000);
        GreenThread request = Request(1_500, 1_510);
        r.RecordCompletion(request); // first call: JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            r.RecordCompletion(request);
        }
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(10_001, r.Log!.Count);
    }

    [Theory]
    [InlineData(100_000, 1, 100_000)]
    [InlineData(100_000, 4, 50_000)]
    [InlineData(double.PositiveInfinity, 1, 0)]
    [InlineData(0, 1, 0)]
    public void ALogIsSizedFromTheExpectedCountWithRoomForItsSpread(double expected, int logs, int atLeast)
    {
        int capacity = RequestLog.CapacityFor(expected, logs);
        Assert.True(capacity >= atLeast, $"{capacity} < {atLeast}");
        Assert.True(capacity <= RequestLog.MaxRecordsPerRun / logs);
        if (atLeast > 0)
        {
            Assert.True(capacity >= atLeast + 5 * Math.Sqrt(atLeast), "room for a Poisson count's spread");
        }
    }
}
