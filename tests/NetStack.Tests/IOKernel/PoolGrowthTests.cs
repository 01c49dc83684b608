// What the data path allocates once warm is only its pools growing past their high-water mark, and the meters say which part that is.
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

/// <summary>Alone in the process while it runs: the burst suspends handlers, whose boxes come from a
/// pool shared by every carrier of the process, and another test's carrier contending its lock for
/// the first time makes the lock allocate its wait event (once, but inside the measured window).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ExactAllocationCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "exact data-path allocations";
}

[Collection(ExactAllocationCollection.Name)]
public class PoolGrowthTests
{
    [OptimizedBuildFact]
    public void ABurstPastEveryEarlierOneAllocatesOnlyPoolGrowthOnTheDataPath()
    {
        // Warm with 64 requests (each preempted a few times, so that the suspension path's one-time
        // costs, its types' statics and this carrier's box cache, are paid), then, inside the measured window, 1000 at once, each 200 µs, under
        // processor sharing: a queued request holds no green thread, but one that has run a slice
        // and waits for its next does, and every one of the thousand runs a slice long before the
        // first finishes, so the green-thread pool must grow from its first chunk to about a
        // thousand. Every byte the IOKernel and the carrier allocate from then on must be that growth.
        var nic = new BurstNic(1064);
        long measureFrom = Clock.Now() + Clock.FromMicros(500_000);
        var kernel = new Kernel(TestKernel.Options("ps", mailboxDepth: 2), nic, new global::NetStack.Apps.Spin.SpinApp())
        {
            MeasureAllocationsFrom = measureFrom,
        };
        kernel.Start();
        try
        {
            nic.Release(64, serviceNs: 20_000); // longer than a slice: warm-up suspends handlers too
            WaitFor(() => nic.Answered == 64, "the warm-up requests were not answered");
            WaitFor(() => Clock.Now() > measureFrom + Clock.FromMicros(20_000), "the clock did not reach the measured window");
            nic.Release(1000, serviceNs: 200_000);
            WaitFor(() => nic.Answered == 1064, "the burst was not answered");
        }
        finally
        {
            kernel.RequestStop();
            Assert.True(kernel.Wait(TimeSpan.FromSeconds(30)));
        }

        Assert.Equal(1064, nic.Ok);
        Assert.True(kernel.DataPathPoolGrowthBytes > 0, "the burst should have grown the green-thread pool");
        Assert.Equal(kernel.DataPathPoolGrowthBytes, kernel.DataPathAllocatedBytes);
    }

    [Theory]
    [InlineData("cfcfs")]
    [InlineData("ps")]
    [InlineData("dfcfs")]
    public void AQueuedRequestHoldsNoGreenThread(string policy)
    {
        // A thousand requests at once, each shorter than a slice: nearly all wait in the queue, by
        // value, and get a green thread only as they are dispatched, so the pool never grows past
        // its first chunk (a worker holds two, and the NIC hands each back as it answers).
        var nic = new BurstNic(1000);
        var kernel = new Kernel(TestKernel.Options(policy, mailboxDepth: 2), nic, new global::NetStack.Apps.Spin.SpinApp());
        kernel.Start();
        try
        {
            nic.Release(1000, serviceNs: 2_000);
            WaitFor(() => nic.Answered == 1000, "the burst was not answered");
        }
        finally
        {
            kernel.RequestStop();
            Assert.True(kernel.Wait(TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(1000, nic.Ok);
        Assert.InRange(kernel.GreenThreadsMade, 1, 64);
        Assert.Equal(0, kernel.InFlight);
    }

    [Fact]
    public void AScopeCountsOnlyWhatItsThreadAllocatesInsideIt()
    {
        long before = PoolGrowth.OnThisThread;
        object kept;
        using (PoolGrowth.Measure())
        {
            kept = new byte[10_000];
        }
        _ = new byte[50_000]; // outside: not growth
        long counted = PoolGrowth.OnThisThread - before;
        Assert.InRange(counted, 10_000, 10_100);
        GC.KeepAlive(kept);
    }

    [OptimizedBuildFact]
    public void AThreadsFirstSuspendedHandlerBoxIsAllPoolGrowthItsThreadStaticsIncluded()
    {
        // A fresh kernel starts fresh carrier threads: each one's first box of a handler makes its cache, and
        // its first reads of the box type's thread statics allocate their storage (64 bytes), which was once
        // counted as the data path's own bytes (results.md 1n). A first thread makes the type and its pool.
        static (long Bytes, long Growth) FirstRentOnANewThread()
        {
            (long, long) measured = default;
            var thread = new Thread(() =>
            {
                long bytes = GC.GetAllocatedBytesForCurrentThread(), growth = PoolGrowth.OnThisThread;
                GreenThreadBox<FreshThreadMachine> box = GreenThreadBox<FreshThreadMachine>.Rent();
                measured = (GC.GetAllocatedBytesForCurrentThread() - bytes, PoolGrowth.OnThisThread - growth);
                GC.KeepAlive(box);
            });
            thread.Start();
            thread.Join();
            return measured;
        }
        FirstRentOnANewThread();
        for (int i = 0; i < 3; i++)
        {
            (long bytes, long growth) = FirstRentOnANewThread();
            Assert.True(bytes > 0, "a thread's first box allocates (its cache, its box)");
            Assert.Equal(bytes, growth);
        }
    }

    private struct FreshThreadMachine : System.Runtime.CompilerServices.IAsyncStateMachine
    {
        public readonly void MoveNext() { }

        public readonly void SetStateMachine(System.Runtime.CompilerServices.IAsyncStateMachine stateMachine) { }
    }

    /// <summary>Delivers the requests the test releases and counts answers, allocating nothing itself
    /// (a NIC that queued its answers in a collection would count as the IOKernel's allocations).</summary>
    private sealed class BurstNic(int max) : INicQueue
    {
        private readonly long[] _service = new long[max];
        private int _released;
        private int _next;
        private int _answered;
        private int _ok;
        private INicHost? _host;

        public int Answered => Volatile.Read(ref _answered);

        public int Ok => Volatile.Read(ref _ok);

        public bool Exhausted => false;

        public bool Saturating => false;

        /// <summary>Makes <paramref name="count"/> more requests of <paramref name="serviceNs"/> arrive (test thread).</summary>
        public void Release(int count, long serviceNs)
        {
            int from = Volatile.Read(ref _released);
            for (int i = from; i < from + count; i++)
            {
                _service[i] = serviceNs;
            }
            Volatile.Write(ref _released, from + count);
        }

        public void Attach(INicHost host) => _host = host;

        public int RxBurst(long now, Span<Arrival> batch)
        {
            int released = Volatile.Read(ref _released);
            int n = 0;
            while (n < batch.Length && _next < released)
            {
                batch[n++] = new Arrival { Id = _next, ServiceNs = _service[_next], ArrivalTicks = Clock.Now(), FlowHash = (uint)_next, Buffer = -1 };
                _next++;
            }
            return n;
        }

        public void Transmit(GreenThread thread)
        {
            if (thread.Status == RequestStatus.Ok)
            {
                Volatile.Write(ref _ok, _ok + 1);
            }
            Volatile.Write(ref _answered, _answered + 1);
            _host!.Recycle(thread);
        }

        public void Reject(in Arrival arrival, RequestStatus status) => Volatile.Write(ref _answered, _answered + 1);

        public bool TxBurst() => false;
    }

    private static void WaitFor(Func<bool> done, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new Xunit.Sdk.XunitException(what + " within a minute");
            }
            Thread.Sleep(5);
        }
    }
}
