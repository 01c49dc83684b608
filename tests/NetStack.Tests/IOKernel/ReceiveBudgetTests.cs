// The IOKernel's receive budget: a whole batch unless the IOKernel is what is short, then only what it handed the workers; nothing lost either way.
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class ReceiveBudgetTests
{
    private const int Batch = 32;
    private const int LongQueue = 2048;

    [Fact]
    public void TheLongQueueIsAQuarterOfTheBoundAndAtLeastABatch()
    {
        Assert.Equal(2048, ReceiveBudget.LongQueue(8192, Batch));
        Assert.Equal(Batch, ReceiveBudget.LongQueue(16, Batch));
    }

    [Fact]
    public void AWholeBatchWhileTheQueueIsShorterThanLong()
    {
        var budget = new ReceiveBudget();
        Assert.Equal(Batch, budget.Next(Batch, LongQueue, dispatches: 2, dryDispatches: 1, queued: LongQueue - 1));
        Assert.Equal(Batch, budget.Next(Batch, LongQueue, dispatches: 4, dryDispatches: 2, queued: 0));
    }

    [Fact]
    public void AWholeBatchIntoAFullQueueWhenNoWorkerRanDry()
    {
        // The workers are what is short: the queue fills and rejects, from the IOKernel's spare time.
        var budget = new ReceiveBudget();
        for (int loop = 1; loop <= 100; loop++)
        {
            Assert.Equal(Batch, budget.Next(Batch, LongQueue, dispatches: loop, dryDispatches: 0, queued: 8192));
        }
    }

    [Fact]
    public void OnlyWhatThePreviousLoopHandedOutOnceAWorkerRanDryWithABatchWaiting()
    {
        var budget = new ReceiveBudget();
        Assert.Equal(10, budget.Next(Batch, LongQueue, dispatches: 10, dryDispatches: 1, queued: 5000));
        Assert.Equal(2, budget.Next(Batch, LongQueue, dispatches: 12, dryDispatches: 2, queued: 5000));
        // Nothing handed out, nothing read: the queue is already a batch long.
        Assert.Equal(0, budget.Next(Batch, LongQueue, dispatches: 12, dryDispatches: 2, queued: 5000));
        // Never more than a batch, however many went out.
        Assert.Equal(Batch, budget.Next(Batch, LongQueue, dispatches: 112, dryDispatches: 3, queued: 5000));
    }

    [Fact]
    public void ARunDryCountsForDryMemoryLoopsThenAWholeBatchAgain()
    {
        var budget = new ReceiveBudget();
        long dispatches = 0;
        Assert.Equal(1, budget.Next(Batch, LongQueue, ++dispatches, dryDispatches: 1, queued: 5000));
        for (int loop = 1; loop < ReceiveBudget.DryMemoryLoops; loop++)
        {
            Assert.Equal(1, budget.Next(Batch, LongQueue, ++dispatches, dryDispatches: 1, queued: 5000));
        }
        Assert.Equal(Batch, budget.Next(Batch, LongQueue, ++dispatches, dryDispatches: 1, queued: 5000));
    }

    [Fact]
    public void AnOverloadedSlowNicIsReadOnlyAsFastAsServedAndEveryRequestIsAnsweredOnce()
    {
        // A NIC whose every read costs 30 µs (a receive system call and more) with requests always
        // waiting, and handlers that take no time: the worker runs dry between loops, the IOKernel is
        // what is short, and the queue is kept long instead of being filled and rejected.
        const int Max = 20_000;
        var slow = new SlowEndlessNic(Max, readCostNs: 30_000);
        var nic = new CountingNic(slow, Max);
        var options = TestKernel.Options("cfcfs", mailboxDepth: 2);
        options.QueueCapacity = 256; // the long queue is then 64
        var kernel = new Kernel(options, nic, new global::NetStack.Apps.Spin.SpinApp()) { StopWhenExhausted = true };
        TestKernel.RunToEnd(kernel);

        var c = kernel.Counters;
        Assert.Equal(Max, nic.Received);
        Assert.Equal(c.Received, c.Completed + c.Rejected);
        Assert.Equal(0, c.Unfinished);
        Assert.All(nic.AnswersPerId, n => Assert.Equal(1, n));
        Assert.True(c.BackloggedLoops > 0, "no loop read less than a batch, although the worker ran dry behind a long queue");
        Assert.True(slow.ShortReads > 0, "the NIC was never offered less than a whole batch");
        Assert.True(slow.LargestShortRead <= 2, $"a backlogged loop read {slow.LargestShortRead}, more than the k = 2 a loop can hand one worker");
    }

    /// <summary>Offers every read as many requests as it allows, until <c>max</c>, each read costing <c>readCostNs</c> of this thread.</summary>
    private sealed class SlowEndlessNic(int max, long readCostNs) : INicQueue
    {
        private int _next;
        private INicHost? _host;

        /// <summary>Reads offered less than a whole batch (the budget at work).</summary>
        public int ShortReads { get; private set; }

        /// <summary>The largest of those.</summary>
        public int LargestShortRead { get; private set; }

        public bool Exhausted => _next >= max;

        public bool Saturating => false;

        public void Attach(INicHost host) => _host = host;

        public int RxBurst(long now, Span<Arrival> batch)
        {
            if (batch.Length < Batch)
            {
                ShortReads++;
                LargestShortRead = Math.Max(LargestShortRead, batch.Length);
            }
            int n = 0;
            while (n < batch.Length && _next < max)
            {
                batch[n++] = new Arrival { Id = _next, Type = 0, ServiceNs = 0, ArrivalTicks = Clock.Now(), FlowHash = (uint)_next, Buffer = -1 };
                _next++;
            }
            if (n > 0)
            {
                long until = Clock.Now() + Clock.FromNs(readCostNs);
                while (Clock.Now() < until)
                {
                }
            }
            return n;
        }

        public void Transmit(GreenThread thread) => _host!.Recycle(thread);

        public void Reject(in Arrival arrival, RequestStatus status)
        {
        }

        public bool TxBurst() => false;
    }
}
