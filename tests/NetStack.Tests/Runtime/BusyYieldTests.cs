// A polling thread that shares its core offers it at a bounded interval while busy: the IOKernel's idle strategy and the generator's sender.
using NetStack.Runtime;
using NetStack.Runtime.Threading;
using Xunit;

namespace NetStack.Tests.Runtime;

public class BusyYieldTests
{
    private static readonly long Bound = Clock.FromMicros(50);

    [Theory]
    [InlineData(IdleStrategyKind.SpinYield)]
    [InlineData(IdleStrategyKind.SpinPark)]
    public void ABusyIdleStrategyYieldsOncePerBoundAndNotBetween(IdleStrategyKind kind)
    {
        var idle = new IdleStrategy(kind, spinMicros: 0, busyYieldMicros: 50);
        long t = 10 * Bound;
        idle.Worked(t); // never offered before: the bound has passed
        Assert.Equal(1, idle.BusyYields);
        Assert.Equal(t, idle.GaveUpTicks);
        idle.Worked(t + Bound - 1);
        Assert.Equal(1, idle.BusyYields);
        idle.Worked(t + Bound);
        Assert.Equal(2, idle.BusyYields);
        Assert.Equal(t + Bound, idle.GaveUpTicks);
    }

    [Fact]
    public void AnIdleYieldCountsAsOfferingTheCore()
    {
        var idle = new IdleStrategy(IdleStrategyKind.SpinYield, spinMicros: 0, busyYieldMicros: 1e6);
        Assert.Equal(0, idle.GaveUpTicks);
        idle.Idle(); // the first idle poll starts the idle period
        idle.Idle(); // the second, past a 0 µs spin, yields
        long gaveUp = idle.GaveUpTicks;
        Assert.True(gaveUp > 0);
        idle.Worked(gaveUp + Clock.FromMicros(999_000)); // within the bound of that yield
        Assert.Equal(0, idle.BusyYields);
    }

    [Theory]
    [InlineData(IdleStrategyKind.Spin, 50)]
    [InlineData(IdleStrategyKind.SpinYield, 0)]
    public void SpinOrABoundOfZeroNeverYieldsWhileBusy(IdleStrategyKind kind, double micros)
    {
        var idle = new IdleStrategy(kind, spinMicros: 0, busyYieldMicros: micros);
        for (int i = 1; i <= 100; i++)
        {
            idle.Worked(i * Bound);
        }
        Assert.Equal(0, idle.BusyYields);
    }

    [Fact]
    public void TheGeneratorsSenderYieldsOncePerBoundWhileItSendsWithoutWaiting()
    {
        var busy = new BusyYield(50);
        long t = 10 * Bound;
        busy.Running(t);
        Assert.Equal(1, busy.Yields);
        busy.Running(t + Bound / 2);
        Assert.Equal(1, busy.Yields);
        busy.GaveUp(t + Bound / 2); // a wait that yielded by itself restarts the bound
        busy.Running(t + Bound);
        Assert.Equal(1, busy.Yields);
        busy.Running(t + Bound / 2 + Bound);
        Assert.Equal(2, busy.Yields);

        var never = new BusyYield(0);
        never.Running(t);
        never.Running(t + 100 * Bound);
        Assert.Equal(0, never.Yields);
    }

    [Fact]
    public void TheKernelsOptionsRefuseANegativeBusyBoundAndDefaultToNone()
    {
        var options = new NetStack.IOKernel.KernelOptions();
        Assert.Equal(0, options.IOKernelBusyYieldMicros);
        Assert.False(options.HelperThreadsOffWorkers);
        options.IOKernelBusyYieldMicros = -1;
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("IOKernelBusyYieldMicros (-1)", e.Message);
    }
}
