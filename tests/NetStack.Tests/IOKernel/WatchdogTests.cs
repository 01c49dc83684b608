// The watchdog: a slice that never reaches a checkpoint, or a batch job that never yields, is reported, its core counted lost, and taken back on return.
using NetStack.IOKernel;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class WatchdogTests
{
    [Fact]
    public void TheRecordOfWhatAWorkerHoldsRetiresTheRequestThatCameBackAndKeepsTheOthersInOrder()
    {
        // A worker that keeps a yielded request (WorkerHoldsYielded) returns a later one first.
        var registry = new NetStack.Runtime.Threading.GreenThreadRegistry(8);
        var watch = new SliceWatchdog(workers: 2, depth: 4, registry);
        GreenThread a = new(), b = new(), c = new();
        registry.Register(a);
        registry.Register(b);
        registry.Register(c);
        watch.Dispatched(1, a);
        watch.Dispatched(1, b);
        watch.Dispatched(1, c);
        watch.Retire(1, b);
        Assert.Same(a, watch.Running(1));
        watch.Retire(1, a);
        Assert.Same(c, watch.Running(1));
        watch.Dispatched(1, b); // wraps around the worker's slots
        watch.Retire(1, new GreenThread()); // not recorded (a detached one): the oldest
        Assert.Same(b, watch.Running(1));
        watch.Retire(1, null);
        Assert.Null(watch.Running(1));
        Assert.Null(watch.Running(0));
    }

    [Fact]
    public void SliceWithoutACheckpointIsReportedItsWorkerSkippedAndTakenBackWhenItReturns()
    {
        var handler = new StuckOnTypeOne();
        var nic = new ScriptedNic((1, 0));
        var options = Tcp.NetworkTestHost.Options("ps", 2);
        options.WatchdogMillis = 20;
        var kernel = new Kernel(options, nic, handler);
        kernel.Start();
        try
        {
            Assert.True(handler.Stuck.Running.Wait(TimeSpan.FromSeconds(10)));
            WatchdogEvent stuck = Next(kernel, WatchdogEventKind.StuckSlice);
            Assert.Equal("app", stuck.App);
            Assert.Equal(1, stuck.RequestType);
            Assert.Contains("without a checkpoint", stuck.ToString());
            Assert.True(Clock.ToMicros(stuck.ForTicks) >= 20_000);

            // The other worker serves everything that arrives meanwhile.
            for (int i = 0; i < 50; i++)
            {
                nic.Later.Enqueue((0, 10_000));
            }
            Assert.True(Tcp.NetworkTestHost.Eventually(() => nic.Answers.Count >= 49));
            Assert.Equal(1, kernel.Counters.StuckSlices);

            handler.Stuck.Release.Set();
            WatchdogEvent back = Next(kernel, WatchdogEventKind.SliceRecovered);
            Assert.Equal(stuck.Worker, back.Worker);
            Assert.True(Tcp.NetworkTestHost.Eventually(() => nic.Answers.Count == 51));
        }
        finally
        {
            handler.Stuck.Release.Set();
            kernel.Stop();
        }
        Assert.All(nic.Answers, a => Assert.Equal(RequestStatus.Ok, a.Status));
    }

    [Fact]
    public void BatchJobThatNeverYieldsIsReportedAndItsCoreTakenBackWhenItDoes()
    {
        var job = new NeverYields();
        var nic = new ScriptedNic();
        var options = Tcp.NetworkTestHost.Options("cfcfs", 1);
        options.CoreAllocation = "standing-queue";
        options.WatchdogMillis = 20;
        var kernel = new Kernel(options, nic,
        [
            AppRegistration.LatencyCritical(new AppOptions { Name = "lc", Policy = "cfcfs" }, new global::NetStack.Apps.Spin.SpinApp()),
            AppRegistration.Batch(new AppOptions { Name = "stubborn" }, job),
        ]);
        kernel.Start();
        try
        {
            Assert.True(job.Running.Wait(TimeSpan.FromSeconds(10)), "the batch job never got the core");
            nic.Later.Enqueue((0, 1_000));
            WatchdogEvent stuck = Next(kernel, WatchdogEventKind.StuckBatch);
            Assert.Equal("stubborn", stuck.App);
            Assert.Contains("does not check ShouldYield", stuck.ToString());
            Assert.Equal(1, kernel.Counters.StuckBatchSlices);

            job.Release.Set();
            Next(kernel, WatchdogEventKind.BatchRecovered);
            Assert.True(Tcp.NetworkTestHost.Eventually(() => nic.Answers.Count == 1));
        }
        finally
        {
            job.Release.Set();
            kernel.Stop();
        }
    }

    private static WatchdogEvent Next(Kernel kernel, WatchdogEventKind kind)
    {
        WatchdogEvent found = default;
        Assert.True(Tcp.NetworkTestHost.Eventually(() =>
        {
            while (kernel.TryReadWatchdogEvent(out WatchdogEvent e))
            {
                if (e.Kind == kind)
                {
                    found = e;
                    return true;
                }
            }
            return false;
        }), $"no {kind} event");
        return found;
    }

    private sealed class StuckOnTypeOne : IRequestHandler
    {
        public readonly ShutdownTests.NeverChecks Stuck = new();
        private readonly global::NetStack.Apps.Spin.SpinApp _spin = new();

        public ValueTask HandleAsync(RequestContext ctx) => ctx.Type == 1 ? Stuck.HandleAsync(ctx) : _spin.HandleAsync(ctx);
    }

    /// <summary>Works without ever looking at ShouldYield until released (bounded by a minute).</summary>
    private sealed class NeverYields : IBatchJob
    {
        public readonly ManualResetEventSlim Running = new();
        public readonly ManualResetEventSlim Release = new();

        public string Name => "stubborn";
        public string UnitName => "waits";

        public void Run(BatchContext context)
        {
            Running.Set();
            Release.Wait(TimeSpan.FromMinutes(1));
            context.Completed(1);
        }
    }
}
