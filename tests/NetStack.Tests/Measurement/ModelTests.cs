// The queueing model against queueing theory's closed forms, and the shapes the literature reports.
using NetStack.IOKernel.Nic;
using NetStack.Measurement.Model;
using NetStack.Runtime.Workloads;
using Xunit;
using Xunit.Abstractions;

namespace NetStack.Tests.Measurement;

/// <summary>
/// Every run has a fixed seed, so a test gives the same numbers every time; the tolerances say how
/// far an honest simulator of that many requests may be from the closed form. For M/M/1 they come
/// from Whitt's asymptotic variance ("Planning queueing simulations", Management Science 1989):
/// the relative standard error of a mean over n requests is √(2(1 + ρ) / n) / (1 − ρ), which the
/// spread over 12 seeds matched (docs/model.md); elsewhere from that measured spread. Four standard
/// errors: a correct simulator fails about one check in 16 000 on a fresh seed.
/// </summary>
public sealed class ModelTests(ITestOutputHelper output)
{
    private static Workload Named(string name) => Workload.TryGet(name, out Workload? w) ? w : throw new ArgumentException(name);

    private static ModelResult Run(Workload w, ModelPolicy policy, double load, long requests, int workers = 1,
        double quantumNs = 5_000, double dispatchNs = 0, double preemptNs = 0, int depth = 1, ulong seed = 42) =>
        QueueingSimulator.Run(new ModelConfig
        {
            Workload = w,
            Policy = policy,
            Load = load,
            Workers = workers,
            QuantumNs = quantumNs,
            DispatchNs = dispatchNs,
            PreemptNs = preemptNs,
            MailboxDepth = depth,
            DurationNs = ModelConfig.DurationNsFor(w, load, workers, requests),
            Seed = seed,
        });

    /// <summary>Whitt's relative standard error of an M/M/1 mean over <paramref name="n"/> requests.</summary>
    private static double MM1RelativeError(double rho, long n) => Math.Sqrt(2 * (1 + rho) / n) / (1 - rho);

    /// <summary>Asserts <paramref name="actual"/> is within a relative tolerance, and prints the comparison either way.</summary>
    private void Near(double expected, double actual, double relativeTolerance, string what)
    {
        string line = $"{what}: {actual:0.###} against {expected:0.###} ({(actual / expected - 1) * 100:+0.00;-0.00}%, tolerance ±{relativeTolerance * 100:0.##}%)";
        output.WriteLine(line);
        Assert.True(Math.Abs(actual / expected - 1) <= relativeTolerance, line);
    }

    private void Report(string what, ModelResult r) =>
        output.WriteLine($"{what}: {r.Arrivals} requests simulated at {r.SimulatedPerSecond / 1e6:0.0} M/s");

    // ---- closed forms ----

    [Theory]
    [InlineData(0.3, 1_000_000)]
    [InlineData(0.5, 1_000_000)]
    [InlineData(0.7, 1_000_000)]
    [InlineData(0.9, 2_000_000)]
    public void MM1ResponseTimeIsExponentialWithMeanSOver1MinusRho(double rho, long requests)
    {
        Workload w = Named("exp-10");
        ModelResult r = Run(w, ModelPolicy.CentralFcfs, rho, requests);
        Report($"M/M/1 at {rho}", r);

        double se = MM1RelativeError(rho, r.All.Count);
        // The p99's spread over seeds was 1.3–1.7 times the mean's: its standard error is taken as twice Whitt's.
        // HdrHistogram's 3 significant digits add 0.1 %.
        Near(ClosedForms.MM1MeanResponseNs(rho, w.MeanServiceNs), r.All.Latency.Mean, 4 * se, "mean");
        Near(ClosedForms.MM1ResponseQuantileNs(rho, w.MeanServiceNs, 0.50), r.All.Latency.P50, 4 * se + 0.001, "p50");
        Near(ClosedForms.MM1ResponseQuantileNs(rho, w.MeanServiceNs, 0.99), r.All.Latency.P99, 8 * se + 0.001, "p99");
    }

    [Theory]
    [InlineData(0.5, 0.005)]
    [InlineData(0.8, 0.01)]
    public void MD1MeanAndWaitingTimeMatchTheClosedForms(double rho, double cdfTolerance)
    {
        Workload w = Named("fixed-1");
        ModelResult r = Run(w, ModelPolicy.CentralFcfs, rho, 1_000_000);

        // M/D/1's estimate spreads less than M/M/1's (0.15 % against 0.37 % at 0.5): Whitt's bound is generous.
        Near(ClosedForms.MD1MeanResponseNs(rho, 1_000), r.All.Latency.Mean, 4 * MM1RelativeError(rho, r.All.Count), "mean");
        // Latency = wait + 1 µs, so the simulated p90 and p99 of latency put Erlang's waiting-time CDF at 0.90 and 0.99.
        double at90 = ClosedForms.MD1WaitCdf(rho, 1_000, r.All.Latency.P90 - 1_000);
        double at99 = ClosedForms.MD1WaitCdf(rho, 1_000, r.All.Latency.P99 - 1_000);
        output.WriteLine($"Erlang's CDF at the simulated p90 and p99: {at90:0.0000}, {at99:0.0000} (tolerance ±{cdfTolerance})");
        Assert.InRange(at90, 0.90 - cdfTolerance, 0.90 + cdfTolerance);
        Assert.InRange(at99, 0.99 - cdfTolerance, 0.99 + cdfTolerance);
    }

    [Theory]
    // Tolerance: 4 × the spread of the estimate over 12 seeds at this size (docs/model.md).
    [InlineData("high-bimodal", 0.5, 1_000_000, 0.02)]
    [InlineData("high-bimodal", 0.8, 1_000_000, 0.04)]
    [InlineData("tpcc", 0.5, 1_000_000, 0.025)]
    [InlineData("tpcc", 0.8, 1_000_000, 0.045)]
    [InlineData("extreme-bimodal", 0.5, 2_000_000, 0.11)]
    public void MG1MeanWaitIsPollaczekKhinchine(string workload, double rho, long requests, double tolerance)
    {
        Workload w = Named(workload);
        ModelResult r = Run(w, ModelPolicy.CentralFcfs, rho, requests);

        Near(ClosedForms.MG1MeanWaitNs(rho, w.MeanServiceNs, ClosedForms.SecondMomentNs2(w)), r.All.MeanWaitNs, tolerance, "mean wait");
    }

    [Theory]
    [InlineData(4, 0.8, 1_000_000, 0.05)]
    [InlineData(16, 0.9, 2_000_000, 0.12)]
    public void MMcMeanWaitIsErlangC(int workers, double rho, long requests, double tolerance)
    {
        Workload w = Named("exp-10");
        ModelResult r = Run(w, ModelPolicy.CentralFcfs, rho, requests, workers);
        Report($"M/M/{workers} at {rho}", r);

        Near(ClosedForms.MMcMeanWaitNs(workers, rho, w.MeanServiceNs), r.All.MeanWaitNs, tolerance, "mean wait");
    }

    [Theory]
    [InlineData(0.5, 0.03)]
    [InlineData(0.8, 0.06)]
    public void TinyQuantumGivesProcessorSharingsSlowdownOf1Over1MinusRho(double rho, double tolerance)
    {
        // A 20 ns slice is 1/50 of the service: round robin that fine sits within about 1 % of PS (bias below),
        // plus 4 × the spread over 8 seeds (0.3 % at 0.5, 1.2 % at 0.8).
        ModelResult r = Run(Named("fixed-1"), ModelPolicy.ProcessorSharing, rho, 200_000, quantumNs: 20);
        Report($"M/D/1-PS at {rho}, 20 ns quantum", r);

        Near(ClosedForms.PSMeanSlowdown(rho), r.All.Slowdown.Mean, tolerance, "mean slowdown");
        // c-FCFS on the same arrivals is far off: 1 + ρ / (2(1 − ρ)).
        Near(1 + rho / (2 * (1 - rho)), Run(Named("fixed-1"), ModelPolicy.CentralFcfs, rho, 200_000).All.Slowdown.Mean, tolerance, "c-FCFS mean slowdown");
    }

    [Fact]
    public void UnderProcessorSharingShortAndLongRequestsSlowDownAlike()
    {
        // M/G/1-PS: E[T(x)] = x / (1 − ρ) for every size x, so both types' mean slowdown is 1 / (1 − ρ) = 2;
        // c-FCFS makes the short ones pay (3.9 against 1.3 here). Tolerance: 4 × the spread over 8 seeds (0.7–1 %) + 1 % bias.
        var w = new Workload("bimodal-1-10", "90% 1 µs, 10% 10 µs", new RequestType("short", 0.9, 1_000), new RequestType("long", 0.1, 10_000));
        ModelResult ps = Run(w, ModelPolicy.ProcessorSharing, 0.5, 200_000, quantumNs: 20);
        ModelResult fcfs = Run(w, ModelPolicy.CentralFcfs, 0.5, 200_000);

        Near(2, ps.Types[0].Slowdown.Mean, 0.05, "short mean slowdown under ps");
        Near(2, ps.Types[1].Slowdown.Mean, 0.05, "long mean slowdown under ps");
        Assert.True(fcfs.Types[0].Slowdown.Mean > 3 && fcfs.Types[1].Slowdown.Mean < 1.5,
            $"c-FCFS: short {fcfs.Types[0].Slowdown.Mean:0.##}, long {fcfs.Types[1].Slowdown.Mean:0.##}");
    }

    [Fact]
    public void ShrinkingTheQuantumConvergesOnProcessorSharing()
    {
        Workload w = Named("fixed-1");
        double Error(double q) => Math.Abs(Run(w, ModelPolicy.ProcessorSharing, 0.5, 200_000, quantumNs: q).All.Slowdown.Mean - 2);

        double coarse = Error(200), medium = Error(50), fine = Error(20);
        Assert.True(coarse > medium && medium > fine, $"|mean slowdown − 2| at 200, 50, 20 ns: {coarse:0.###}, {medium:0.###}, {fine:0.###}");
    }

    [Fact]
    public void ClosedFormsAgreeWhereTheyOverlap()
    {
        // M/M/c with one server is M/M/1; P–K with exponential service is M/M/1; Erlang C with one server is ρ.
        Assert.Equal(0.7, ClosedForms.ErlangC(1, 0.7), 12);
        Assert.Equal(ClosedForms.MM1MeanResponseNs(0.7, 10_000) - 10_000, ClosedForms.MMcMeanWaitNs(1, 0.7, 10_000), 6);
        Assert.Equal(ClosedForms.MM1MeanResponseNs(0.7, 10_000), ClosedForms.MG1MeanResponseNs(0.7, Named("exp-10")), 6);
        Assert.Equal(ClosedForms.MD1MeanResponseNs(0.7, 1_000), ClosedForms.MG1MeanResponseNs(0.7, Named("fixed-1")), 6);
        // Erlang's M/D/1 CDF: an arrival finds the server idle with probability 1 − ρ.
        Assert.Equal(0.3, ClosedForms.MD1WaitCdf(0.7, 1_000, 0), 12);
        // 2 servers at a = 1 erlang: C = 1/3 (a textbook value).
        Assert.Equal(1.0 / 3, ClosedForms.ErlangC(2, 1), 12);
    }

    // ---- the policies' shapes (WORKLOADS.md's expected shape) ----

    [Fact]
    public void ExtremeBimodalShortRequestsTailIsHugeUnderCfcfsAndSmallUnderPs()
    {
        Workload w = Named("extreme-bimodal");
        ModelResult cfcfs = Run(w, ModelPolicy.CentralFcfs, 0.5, 1_000_000);
        ModelResult ps = Run(w, ModelPolicy.ProcessorSharing, 0.5, 1_000_000, preemptNs: 150);
        Report("extreme-bimodal ps", ps);

        // c-FCFS: a short request behind a 500 µs one waits ~1000 times its own length.
        Assert.True(cfcfs.Types[0].Slowdown.P999 > 1_000, $"cfcfs short p99.9 slowdown {cfcfs.Types[0].Slowdown.P999}");
        Assert.True(ps.Types[0].Slowdown.P999 < 200, $"ps short p99.9 slowdown {ps.Types[0].Slowdown.P999}");
        Assert.True(ps.Preemptions > 0);
    }

    [Fact]
    public void DistributedQueuesHaveAWorseTailThanOneCentralQueue()
    {
        // d-FCFS: a worker's queue can hold work while another worker idles (load imbalance).
        Workload w = Named("exp-10");
        ModelResult central = Run(w, ModelPolicy.CentralFcfs, 0.7, 1_000_000, workers: 16);
        ModelResult distributed = Run(w, ModelPolicy.DistributedFcfs, 0.7, 1_000_000, workers: 16);

        Assert.True(distributed.All.Latency.P99 > 2 * central.All.Latency.P99,
            $"p99: dfcfs {distributed.All.Latency.P99:0} ns, cfcfs {central.All.Latency.P99:0} ns");
        // With one worker there is nothing to balance: the two are the same system.
        Assert.Equal(Run(w, ModelPolicy.CentralFcfs, 0.7, 200_000).All.Latency, Run(w, ModelPolicy.DistributedFcfs, 0.7, 200_000).All.Latency);
    }

    [Fact]
    public void PsWithAQuantumLongerThanAnyRequestIsCfcfs()
    {
        Workload w = Named("extreme-bimodal");
        ModelResult cfcfs = Run(w, ModelPolicy.CentralFcfs, 0.6, 300_000);
        ModelResult ps = Run(w, ModelPolicy.ProcessorSharing, 0.6, 300_000, quantumNs: 1_000_000, preemptNs: 150);

        Assert.Equal(0, ps.Preemptions);
        Assert.Equal(cfcfs.All.Latency, ps.All.Latency);
        Assert.Equal(cfcfs.Types[0].Slowdown, ps.Types[0].Slowdown);
    }

    // ---- NetStack's overheads ----

    [Fact]
    public void TheDispatcherCapsThroughputAtOneRequestPerDispatchCost()
    {
        // 64 workers at extreme-bimodal's 3 µs mean could take 21 M requests/s; a 200 ns dispatcher passes 5 M.
        Workload w = Named("extreme-bimodal");
        ModelResult below = Run(w, ModelPolicy.CentralFcfs, 0.2, 1_000_000, workers: 64, dispatchNs: 200, depth: 2);
        ModelResult above = Run(w, ModelPolicy.CentralFcfs, 0.3, 1_000_000, workers: 64, dispatchNs: 200, depth: 2);
        Report("64 workers at the dispatcher's ceiling", above);

        Assert.Equal(0, below.Dropped);
        Near(below.Config.RatePerSecond, below.AchievedRps, 0.01, "achieved below the ceiling");
        Assert.True(above.Dropped > 0, "offered 6.4 M/s to a 5 M/s dispatcher: the queue must overflow");
        // From the first arrival to the end of the drain the dispatcher never rests: 1 / 200 ns completions a second.
        Near(5e6, above.Completed / (above.EndNs / 1e9), 0.01, "completions per simulated second");
        Assert.True(above.DispatcherBusyFraction > 0.99, $"dispatcher busy {above.DispatcherBusyFraction:0.###}");
    }

    [Fact]
    public void AMailboxOfTwoHidesTheDispatchCostFromTheWorker()
    {
        // JBSQ(1): the worker idles 200 ns for each dispatch, so 1 µs requests at 0.9 load need 1.08 of it.
        Workload w = Named("fixed-1");
        ModelResult k1 = Run(w, ModelPolicy.CentralFcfs, 0.9, 500_000, dispatchNs: 200, depth: 1);
        ModelResult k2 = Run(w, ModelPolicy.CentralFcfs, 0.9, 500_000, dispatchNs: 200, depth: 2);

        Assert.True(k1.Dropped > 0, "JBSQ(1) should overflow");
        Assert.Equal(0, k2.Dropped);
        Assert.InRange(k2.WorkerBusyFraction, 0.89, 0.91);
    }

    [Fact]
    public void PreemptionCostSlowsTheLongRequestsDown()
    {
        // Every preemption idles the worker: long requests (preempted ~100 times each) get slower.
        Workload w = Named("extreme-bimodal");
        ModelResult free = Run(w, ModelPolicy.ProcessorSharing, 0.5, 500_000);
        ModelResult costly = Run(w, ModelPolicy.ProcessorSharing, 0.5, 500_000, preemptNs: 1_000);

        Assert.True(costly.Types[1].Latency.Mean > free.Types[1].Latency.Mean * 1.05,
            $"long mean latency: {costly.Types[1].Latency.Mean:0} ns with a 1 µs preemption cost, {free.Types[1].Latency.Mean:0} ns without");
    }

    // ---- the same requests as the measured run; bookkeeping ----

    [Fact]
    public void TheModelDrawsTheSameRequestsAsTheSyntheticNic()
    {
        Workload w = Named("extreme-bimodal");
        double rate = w.RateFor(0.5, 1);
        const long durationNs = 100_000_000;
        var nic = new SyntheticNic(w, rate, startTicks: 0, durationTicks: NetStack.Runtime.Clock.FromNs(durationNs), seed: 7);
        var model = new PoissonArrivals(w, rate, durationNs, seed: 7);
        var batch = new Arrival[64];
        long compared = 0;
        while (true)
        {
            int n = nic.RxBurst(long.MaxValue, batch);
            if (n == 0)
            {
                break;
            }
            for (int i = 0; i < n; i++)
            {
                Assert.True(model.TryNext(out ModelArrival m), $"the model ran out at {compared}");
                Assert.Equal(batch[i].ServiceNs, m.ServiceNs);
                Assert.Equal(batch[i].Type, m.Type);
                Assert.Equal(batch[i].FlowHash, m.FlowHash);
                Assert.Equal(NetStack.Runtime.Clock.ToNs(batch[i].ArrivalTicks), m.AtNs);
                compared++;
            }
        }
        Assert.False(model.TryNext(out _), "the model drew more than the NIC");
        Assert.True(compared > 10_000, $"compared {compared}");
    }

    [Theory]
    [InlineData(nameof(ModelPolicy.CentralFcfs))]
    [InlineData(nameof(ModelPolicy.ProcessorSharing))]
    [InlineData(nameof(ModelPolicy.DistributedFcfs))]
    public void EveryArrivalCompletesOrIsDroppedAndTheCountsAddUp(string policyName)
    {
        // By name: the model's policy type is internal to NetStack.Measurement.
        var policy = Enum.Parse<ModelPolicy>(policyName);
        // 0.95 load on 4 workers with a small queue: drops happen, and still nothing goes missing.
        ModelResult r = QueueingSimulator.Run(new ModelConfig
        {
            Workload = Named("extreme-bimodal"), Policy = policy, Load = 0.95, Workers = 4, QueueCapacity = 64,
            DispatchNs = 150, PreemptNs = 150, MailboxDepth = 2, DurationNs = 50_000_000,
        });

        Assert.Equal(r.Arrivals, r.Completed + r.Dropped);
        Assert.Equal(r.All.Count, r.Types.Sum(t => t.Count));
        Assert.Equal(r.All.Preemptions, r.Types.Sum(t => t.Preemptions));
        Assert.True(r.All.Preemptions <= r.Preemptions);
        Assert.True(r.Dispatches >= r.Completed + r.Preemptions);
        Assert.True(r.All.Latency.P50 <= r.All.Latency.P90 && r.All.Latency.P90 <= r.All.Latency.P99
            && r.All.Latency.P99 <= r.All.Latency.P999 && r.All.Latency.P999 <= r.All.Latency.Max * 1.001);
        Assert.Equal(policy == ModelPolicy.ProcessorSharing, r.Preemptions > 0);
    }

    [Fact]
    public void TheEventLoopAllocatesNothingPerRequest()
    {
        // Building and summarizing allocate the same whatever the length; the loop itself nothing.
        static long Allocated(long requests)
        {
            var config = new ModelConfig
            {
                Workload = Named("extreme-bimodal"), Policy = ModelPolicy.ProcessorSharing, Load = 0.7, Workers = 4,
                DispatchNs = 100, PreemptNs = 150, MailboxDepth = 2, QuantumNs = 2_000,
                DurationNs = ModelConfig.DurationNsFor(Named("extreme-bimodal"), 0.7, 4, requests),
            };
            long before = GC.GetAllocatedBytesForCurrentThread();
            QueueingSimulator.Run(config);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Allocated(10_000);
        long small = Allocated(10_000), large = Allocated(500_000);
        output.WriteLine($"allocated: {small} B for 10 k requests, {large} B for 500 k");
        Assert.InRange(large - small, -1024, 1024);
    }

    [Fact]
    public void TheSameSeedGivesTheSameNumbers()
    {
        ModelResult a = Run(Named("tpcc"), ModelPolicy.ProcessorSharing, 0.8, 200_000, workers: 4, dispatchNs: 100, preemptNs: 150, depth: 2);
        ModelResult b = Run(Named("tpcc"), ModelPolicy.ProcessorSharing, 0.8, 200_000, workers: 4, dispatchNs: 100, preemptNs: 150, depth: 2);
        ModelResult c = Run(Named("tpcc"), ModelPolicy.ProcessorSharing, 0.8, 200_000, workers: 4, dispatchNs: 100, preemptNs: 150, depth: 2, seed: 43);

        Assert.Equal(a.All.Latency, b.All.Latency);
        Assert.Equal(a.Preemptions, b.Preemptions);
        Assert.NotEqual(a.All.Latency, c.All.Latency);
    }

    [Fact]
    public void BadSettingsAreRefusedNamingTheSetting()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => Run(Named("exp-10"), ModelPolicy.CentralFcfs, 0.5, 1000, depth: 9));
        Assert.Contains("mailbox depth 9", e.Message);
        e = Assert.Throws<ArgumentException>(() => Run(Named("zero"), ModelPolicy.CentralFcfs, 0.5, 1000));
        Assert.Contains("no service time", e.Message);
        Assert.Throws<ArgumentException>(() => ModelPolicies.Parse("lifo"));
    }
}
