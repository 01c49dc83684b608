// Shutdown in bounded time: new requests refused, queued ones refused at the drain's end, stuck carriers named, every request answered once.
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class ShutdownTests
{
    [Theory]
    [InlineData("cfcfs", 1)]
    [InlineData("ps", 1)]
    [InlineData("ps", 2)]
    [InlineData("dfcfs", 2)]
    public void StopRefusesWhatItCannotFinishAndAnswersEveryRequestOnce(string policy, int workers)
    {
        // 200 requests, 2 ms each but every tenth 1 us: a 50 ms drain finishes a few dozen; the rest are
        // queued, preempted or at a worker unstarted when it ends, and must each get a shutting-down answer.
        // The short ones are what ps finishes: under a 5 us quantum the long ones share the worker round
        // robin and none ends within 50 ms (which ones finish under ps used to depend on how many were
        // dispatched before the rest arrived, and the test failed when that was none).
        var nic = new ScriptedNic(Enumerable.Range(0, 200).Select(i => (0, i % 10 == 9 ? 1_000L : 2_000_000L)).ToArray());
        var options = Tcp.NetworkTestHost.Options(policy, workers);
        options.DrainTimeoutMillis = 50;
        var kernel = new Kernel(options, nic, new global::NetStack.Apps.Spin.SpinApp());
        kernel.Start();
        Assert.True(Tcp.NetworkTestHost.Eventually(() => kernel.Counters.Received == 200));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(kernel.Stop(), "the kernel did not stop within its bound");
        Assert.True(watch.Elapsed < kernel.StopBound, $"stopped in {watch.Elapsed}, more than the bound {kernel.StopBound}");
        nic.Later.Enqueue((0, 1_000)); // too late: the loop has ended

        var answers = nic.Answers.ToArray();
        Assert.Equal(200, answers.Length);
        Assert.Equal(200, answers.Select(a => a.Id).Distinct().Count());
        Assert.True(answers.Any(a => a.Status == RequestStatus.Ok),
            "no request finished; first answers (id:status:preemptions) " + string.Join(" ", answers.Take(8).Select(a => $"{a.Id}:{a.Status}:{a.Preemptions}")));
        Assert.Contains(answers, a => a.Status == RequestStatus.ShuttingDown);
        Assert.Equal(answers.Count(a => a.Status == RequestStatus.ShuttingDown), kernel.Counters.ShutdownRefusals);
        Assert.Equal(0, kernel.Counters.Unfinished);
        Assert.Empty(kernel.StuckCarriers);
    }

    [Fact]
    public void RequestsArrivingWhileDrainingAreRefusedNotDropped()
    {
        var nic = new ScriptedNic((0, 200_000_000L)); // one 200 ms request keeps the drain going
        var options = Tcp.NetworkTestHost.Options("cfcfs", 1);
        options.DrainTimeoutMillis = 2_000;
        var kernel = new Kernel(options, nic, new global::NetStack.Apps.Spin.SpinApp());
        kernel.Start();
        Assert.True(Tcp.NetworkTestHost.Eventually(() => kernel.Counters.Dispatches == 1));
        kernel.RequestStop();
        for (int i = 0; i < 10; i++)
        {
            nic.Later.Enqueue((0, 1_000));
        }
        Assert.True(kernel.Wait(kernel.StopBound));
        Assert.Equal(10, nic.RejectionStatuses.Count(s => s == RequestStatus.ShuttingDown));
        Assert.Equal(RequestStatus.Ok, Assert.Single(nic.Answers).Status); // the one admitted before the stop finished
    }

    [Fact]
    public void StuckCarrierIsNamedAndTheStopStaysWithinItsBound()
    {
        var handler = new NeverChecks();
        var nic = new ScriptedNic((0, 0), (0, 0), (0, 0));
        var options = Tcp.NetworkTestHost.Options("ps", 1);
        options.DrainTimeoutMillis = 100;
        var kernel = new Kernel(options, nic, handler);
        kernel.Start();
        try
        {
            Assert.True(handler.Running.Wait(TimeSpan.FromSeconds(10)));
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(kernel.Stop());
            Assert.True(watch.Elapsed < kernel.StopBound, $"stopped in {watch.Elapsed}");
            Assert.Single(kernel.StuckCarriers);
            // The stuck request is not answered (it is still running); the other two were never
            // started, and are refused.
            Assert.Equal(1, kernel.Counters.Unfinished);
            Assert.Equal(2, nic.Answers.Count(a => a.Status == RequestStatus.ShuttingDown));
        }
        finally
        {
            handler.Release.Set();
        }
    }

    /// <summary>Spins without a checkpoint until released (bounded by a minute, so a broken test ends).</summary>
    internal sealed class NeverChecks : IRequestHandler
    {
        public readonly ManualResetEventSlim Running = new();
        public readonly ManualResetEventSlim Release = new();

        public ValueTask HandleAsync(RequestContext ctx)
        {
            Running.Set();
            Release.Wait(TimeSpan.FromMinutes(1));
            return ValueTask.CompletedTask;
        }
    }
}
