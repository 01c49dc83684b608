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
}
