// Exactly one answer per request, with two or more workers, across overload, core reallocation, detached completion, handler exceptions and shutdown.
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Workloads;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class ExactlyOnceTests
{
    private const int Max = 3000;

    [Theory]
    [InlineData("overload")]
    [InlineData("reallocation")]
    [InlineData("detached")]
    [InlineData("exceptions")]
    [InlineData("shutdown")]
    public void EveryRequestGetsExactlyOneAnswerWithThreeWorkers(string scenario)
    {
        // high-bimodal: two types (type 1 throws in the exceptions scenario), and 100 µs requests that ps preempts.
        Workload.TryGet(scenario == "exceptions" ? "high-bimodal" : "exp-10", out Workload? workload);
        double load = scenario == "overload" ? 3.0 : 0.6;
        var synthetic = new SyntheticNic(workload!, workload!.RateFor(load, 1), Clock.Now(), Clock.FromMicros(1_000_000), seed: 11, maxRequests: Max);
        var nic = new CountingNic(synthetic, Max);
        KernelOptions options = Tcp.NetworkTestHost.Options("ps", 3);
        IRequestHandler handler = scenario switch
        {
            "detached" => new DetachesEveryThird(),
            "exceptions" => new ThrowingForTypeOne(),
            _ => new global::NetStack.Apps.Spin.SpinApp(),
        };
        AppRegistration[] apps = [AppRegistration.LatencyCritical(new AppOptions { Name = "lc", GuaranteedCores = 3, MaxCores = 3 }, handler)];
        if (scenario == "overload")
        {
            options.QueueCapacity = 16;
        }
        if (scenario == "reallocation")
        {
            // Cores move between the app and a batch job as its queue stands and empties.
            options.CoreAllocation = "standing-queue";
            apps = [AppRegistration.LatencyCritical(new AppOptions { Name = "lc", MaxCores = 3 }, handler),
                AppRegistration.Batch(new AppOptions { Name = "batch" }, new global::NetStack.Apps.Batch.HashChainJob(3))];
        }
        if (scenario == "shutdown")
        {
            options.DrainTimeoutMillis = 20;
        }
        var kernel = new Kernel(options, nic, apps) { StopWhenExhausted = scenario != "shutdown" };
        if (scenario == "shutdown")
        {
            kernel.Start();
            Assert.True(Tcp.NetworkTestHost.Eventually(() => nic.Received >= Max / 3));
            Assert.True(kernel.Stop());
        }
        else
        {
            TestKernel.RunToEnd(kernel);
        }

        KernelCounters c = kernel.Counters;
        Assert.Equal(nic.Received, c.Received);
        Assert.Equal(0, c.Unfinished);
        for (int id = 0; id < nic.Received; id++)
        {
            Assert.Equal(1, nic.AnswersPerId[id]);
        }
        Assert.Equal(c.Received, c.Completed + c.Rejected + c.ShutdownRefusals);
        switch (scenario)
        {
            case "overload": Assert.True(c.Rejected > 0, "the small queue should have turned requests away"); break;
            case "reallocation": Assert.True(c.CoreMoves > 0, "cores should have moved"); break;
            case "detached": Assert.True(c.DetachedCompletions > 0, "some requests should have completed off the carriers"); break;
            case "exceptions": Assert.True(c.Errors > 0, "type-1 handlers throw"); break;
            case "shutdown": Assert.True(c.ShutdownRefusals > 0 || c.Completed == nic.Received, "the stop should have refused what it did not finish"); break;
        }
    }

    /// <summary>Every third request awaits a timer (real I/O) before spinning; the others spin.</summary>
    private sealed class DetachesEveryThird : IRequestHandler
    {
        private readonly global::NetStack.Apps.Spin.SpinApp _spin = new();

        public async ValueTask HandleAsync(RequestContext ctx)
        {
            if (ctx.Id % 3 == 0)
            {
                await Task.Yield();
            }
            await _spin.HandleAsync(ctx);
        }
    }
}
