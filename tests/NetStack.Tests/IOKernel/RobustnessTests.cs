// What issue "nothing lost, nothing stuck" found, each held by a test: refused pushes, pin failures, stranded d-FCFS flows, bad options, many apps, parks, defaults.
using NetStack.IOKernel;
using NetStack.IOKernel.Policies;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;
using NetStack.IOKernel.Nic;
using Microsoft.Extensions.Configuration;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class RobustnessTests
{
    [Fact]
    public void MailboxThatRefusesAPushPutsTheRequestBackInsteadOfDroppingIt()
    {
        var registry = new GreenThreadRegistry(8);
        var mailbox = new HandoffRing(1, registry, counted: true);
        for (int i = 0; i < mailbox.Capacity; i++)
        {
            var filler = new GreenThread();
            registry.Register(filler);
            mailbox.Push(filler, 0);
        }
        var policy = new CentralFcfsPolicy();
        policy.Initialize(1, 16);
        var t = global::NetStack.Tests.Runtime.GreenThreadTests.Ready(new GreenThread { Id = 9 });
        registry.Register(t);

        // A broken count (the worker said to hold as many as the mailbox has slots): nothing is
        // overwritten, and the request goes back to its queue.
        Assert.False(Kernel.HandOff(mailbox, mailbox.Capacity, t, policy));
        Assert.Equal(mailbox.Capacity, mailbox.Count);
        for (int i = 0; i < mailbox.Capacity; i++)
        {
            Assert.True(mailbox.TryPop(out GreenThread? kept));
            Assert.NotSame(t, kept);
        }
        Assert.Equal(1, policy.Count);
        Assert.Same(t, policy.Next(0).Thread);
        Assert.Equal(GreenThreadState.Queued, t.State);
    }

    [Fact]
    public void CarrierThatCannotPinStopsTheOnesStartedBeforeIt()
    {
        var options = TestKernel.Options("cfcfs");
        options.WorkerCores = [1, Affinity.Unpinned];
        options.CoreAllocation = "static";
        var kernel = new Kernel(options, new ScriptedNic(), new global::NetStack.Apps.Spin.SpinApp());
        Affinity.BeforePinForTests = core =>
        {
            if (core == Affinity.Unpinned)
            {
                throw new CoreNotAvailableException("refused for the test");
            }
        };
        try
        {
            Assert.Throws<CoreNotAvailableException>(kernel.Start);
        }
        finally
        {
            Affinity.BeforePinForTests = null;
        }
        Assert.True(kernel.Carriers[0].Stopped, "carrier 0 kept running after carrier 1 failed to pin");
    }

    [Fact]
    public void DfcfsAppOwningFewerCoresThanWorkersStrandsNothing()
    {
        // Two workers, the app may hold one: without binding flows to owned workers, half the flows
        // would wait for a worker the app never gets.
        Workload.TryGet("exp-1", out Workload? workload);
        const int Max = 2000;
        var nic = new CountingNic(new SyntheticNic(workload!, workload!.RateFor(0.3, 1), Clock.Now(), Clock.FromMicros(1_000_000), maxRequests: Max), Max);
        var options = Tcp.NetworkTestHost.Options("dfcfs", 2);
        var kernel = new Kernel(options, nic,
            [AppRegistration.LatencyCritical(new AppOptions { Name = "d", MaxCores = 1, GuaranteedCores = 1 }, new global::NetStack.Apps.Spin.SpinApp())])
        { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);
        Assert.Equal(Max, kernel.Counters.Completed + kernel.Counters.Rejected);
        Assert.Equal(0, kernel.Counters.Unfinished);
        Assert.All(nic.AnswersPerId, n => Assert.Equal(1, n));
    }

    [Fact]
    public void DfcfsRebindsWaitingFlowsWhenTheAppLosesACore()
    {
        var policy = new DistributedFcfsPolicy();
        policy.Initialize(4, 64);
        policy.OwnersChanged([0, 1, 2, 3]);
        // Half wait by value (never ran), half as green threads (came back from a slice): both move.
        for (int i = 0; i < 40; i++)
        {
            uint flow = (uint)(i * 2654435761u);
            if (i % 2 == 0)
            {
                Assert.True(policy.Enqueue(new Arrival { Id = i, FlowHash = flow }, queuedTicks: 1));
            }
            else
            {
                policy.Requeue(new GreenThread { Id = i, FlowHash = flow });
            }
        }
        policy.OwnersChanged([1, 3]);
        Assert.False(policy.HasWaiting(0));
        Assert.False(policy.HasWaiting(2));
        var drained = new List<long>();
        foreach (int w in new[] { 1, 3 })
        {
            while (policy.HasWaiting(w))
            {
                ref QueuedRequest r = ref policy.Next(w);
                drained.Add(r.Thread?.Id ?? r.Arrival.Id);
            }
        }
        Assert.Equal(40, drained.Distinct().Count());
        Assert.Equal(0, policy.Count);
    }

    [Theory]
    [InlineData(nameof(KernelOptions.IdleSpinMicros), -1.0)]
    [InlineData(nameof(KernelOptions.DrainTimeoutMillis), -1.0)]
    [InlineData(nameof(KernelOptions.TraceCapacity), -1.0)]
    [InlineData(nameof(KernelOptions.IdleParkMicros), 0.0)]
    [InlineData(nameof(KernelOptions.WatchdogMillis), 0.0)]
    public void NegativeOrZeroTunablesAreRefusedNamingThemselves(string key, double value)
    {
        var options = TestKernel.Options("ps");
        typeof(KernelOptions).GetProperty(key)!.SetValue(options, key == nameof(KernelOptions.TraceCapacity) ? (object)(int)value : value);
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(key, e.Message);
    }

    [Fact]
    public void MoreThanSixtyFourAppsRunUnderTheStandingQueueAllocation()
    {
        var options = TestKernel.Options("cfcfs");
        options.CoreAllocation = "standing-queue";
        var apps = Enumerable.Range(0, 80)
            .Select(i => AppRegistration.LatencyCritical(new AppOptions { Name = $"app{i}" }, new global::NetStack.Apps.Spin.SpinApp()))
            .ToArray();
        var nic = new ScriptedNic((0, 1_000));
        var kernel = new Kernel(options, nic, apps) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);
        Assert.Equal(1, kernel.Counters.Completed);
    }

    [Fact]
    public void ParkTimesOutInMicrosecondsNotMilliseconds()
    {
        var idle = new IdleStrategy(IdleStrategyKind.SpinPark, 0, 0, parkMicros: 200, hasWork: () => false);
        Assert.Equal(200_000, idle.ParkTimeoutNs);
    }

    [Fact]
    public void ParkedThreadIsWokenByItsProducer()
    {
        bool work = false;
        var idle = new IdleStrategy(IdleStrategyKind.SpinPark, 0, 0, parkMicros: 30_000_000, hasWork: () => Volatile.Read(ref work));
        var parked = new Thread(() =>
        {
            idle.Idle(); // starts the idle period
            idle.Idle(); // parks: up to 30 s unless woken
        });
        parked.Start();
        Thread.Sleep(50);
        Volatile.Write(ref work, true);
        idle.WakeIfParked();
        Assert.True(parked.Join(TimeSpan.FromSeconds(10)), "the parked thread was not woken");
    }

    [Fact]
    public void AppsettingsOnlyOverridesTheDefaultsOfTheOptionsTypes()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var config = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddJsonFile(path).Build();
        foreach (var (section, fresh) in new (string, object)[]
        {
            ("NetStack", new KernelOptions()), ("Udp", new UdpNicOptions()), ("Tcp", new TcpNicOptions()),
            ("Apps", new global::NetStack.Apps.Hosting.AppsOptions()), ("Server", new global::NetStack.Apps.Hosting.ServerOptions()),
        })
        {
            foreach (var entry in config.GetSection(section).AsEnumerable(makePathsRelative: true).Where(e => e.Value is not null))
            {
                var property = fresh.GetType().GetProperty(entry.Key.Split(':')[0]);
                Assert.NotNull(property);
                Assert.NotEqual(Convert.ToString(property!.GetValue(fresh), System.Globalization.CultureInfo.InvariantCulture), entry.Value);
            }
        }
    }
}
