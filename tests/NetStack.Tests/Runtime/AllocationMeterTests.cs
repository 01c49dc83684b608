// The data path's allocation meter: it counts one thread's bytes over the measured window, not to the thread's exit.
using NetStack.Runtime.Threading;
using Xunit;

namespace NetStack.Tests.Runtime;

public class AllocationMeterTests
{
    [Fact]
    public void CountingStopsAtTheWindowsEndNotAtTheThreadsStop()
    {
        var meter = new AllocationMeter { FromTicks = 10, UntilTicks = 20 };
        meter.Tick(5);
        GC.KeepAlive(new byte[50_000]);   // before the window
        meter.Tick(10);
        GC.KeepAlive(new byte[1_000]);    // inside
        meter.Tick(15);
        meter.Tick(20);
        GC.KeepAlive(new byte[100_000]);  // after the window: the drain, the shutdown
        meter.Stop();

        Assert.InRange(meter.Bytes, 1_000, 49_999);
    }

    [Fact]
    public void WithoutAnEndTheMeterCountsUntilStop()
    {
        var meter = new AllocationMeter { FromTicks = 10 };
        meter.Tick(10);
        GC.KeepAlive(new byte[100_000]);
        meter.Tick(1_000_000);
        meter.Stop();

        Assert.True(meter.Bytes >= 100_000);
    }
}
