// The central queue holds new requests by value and requests that ran as their green threads, in one order; the pool reserves a green thread per queued request.
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Policies;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.IOKernel;

public class RequestQueueTests
{
    [Fact]
    public void ArrivalsAndRequestsThatRanComeOutInOneFifoOrderAcrossTheWrap()
    {
        // Bound 20, reserve 12: a 32-slot ring, driven around it several times, with heads and
        // tails of green threads between arrivals, and far enough ahead for both prefetch distances.
        var queue = new RequestQueue(20, 12);
        var expected = new LinkedList<long>();
        long next = 0;
        var random = new Random(7);
        for (int round = 0; round < 400; round++)
        {
            int op = random.Next(4);
            if (op == 0 && queue.Count < 20)
            {
                Assert.True(queue.TryAdmit(new Arrival { Id = next, FlowHash = (uint)next }, queuedTicks: 100 + next));
                expected.AddLast(next++);
            }
            else if (op == 1 && queue.Count < 28)
            {
                queue.PushTail(new GreenThread { Id = next, QueuedTicks = 100 + next });
                expected.AddLast(next++);
            }
            else if (op == 2 && queue.Count < 28)
            {
                queue.PushHead(new GreenThread { Id = next, QueuedTicks = 100 + next });
                expected.AddFirst(next++);
            }
            else if (expected.Count > 0)
            {
                Assert.Equal(100 + expected.First!.Value, queue.HeadQueuedTicks);
                ref QueuedRequest r = ref queue.TryTake();
                Assert.False(System.Runtime.CompilerServices.Unsafe.IsNullRef(ref r));
                Assert.Equal(expected.First.Value, r.Thread?.Id ?? r.Arrival.Id);
                Assert.Equal(100 + expected.First.Value, r.QueuedTicks);
                expected.RemoveFirst();
            }
            Assert.Equal(expected.Count, queue.Count);
        }
        Assert.Equal(queue.TotalIn - queue.TotalOut, queue.Count);
    }

    [Fact]
    public void AQueuedRequestTakesAtMostThreeCacheLines()
    {
        // What a deep queue costs the caches per waiting request (docs/configuration.md, QueueCapacity):
        // a field added to Arrival grows every slot, and past three lines each dispatch reads a fourth.
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<QueuedRequest>();
        Assert.True(size <= 3 * NetStack.Runtime.CacheLine.Size, $"a queue slot is {size} bytes");
        Assert.Equal(152, size);
    }

    [Fact]
    public void AFullQueueRefusesArrivalsButTakesBackWhatRan()
    {
        var queue = new RequestQueue(4, 4);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(queue.TryAdmit(new Arrival { Id = i }, queuedTicks: 1));
        }
        Assert.False(queue.TryAdmit(new Arrival { Id = 99 }, queuedTicks: 1));
        var ran = new GreenThread { Id = 4, FlowHash = 17 };
        queue.PushHead(ran);
        Assert.Equal(5, queue.Count);
        ref QueuedRequest head = ref queue.TryTake();
        Assert.Same(ran, head.Thread);
        Assert.Equal(17u, head.FlowHash);
        // The slot an arrival reuses holds no green thread of the request that had it before.
        for (int i = 0; i < 4; i++)
        {
            queue.TryTake();
        }
        Assert.Equal(0, queue.HeadQueuedTicks);
        Assert.True(System.Runtime.CompilerServices.Unsafe.IsNullRef(ref queue.TryTake()));
        for (int i = 0; i < 8; i++)
        {
            if (queue.Count < 4)
            {
                Assert.True(queue.TryAdmit(new Arrival { Id = 10 + i }, queuedTicks: 1));
            }
            Assert.Null(queue.TryTake().Thread);
        }
    }

    [Fact]
    public void APoolHoldsAReservationPerQueuedRequestAndRefusesPastItsCapacity()
    {
        using var pool = new GreenThreadPool(3, AppProtocolLimits.MinInlineReplyBytes, new ReplySegmentPool(1 << 20), static _ => { });
        Assert.True(pool.TryReserve());
        Assert.True(pool.TryReserve());
        Assert.Equal(0, pool.Created); // reserved, not made
        GreenThread a = pool.RentReserved();
        Assert.Equal(2, pool.InUse);
        Assert.True(pool.TryReserve());
        Assert.False(pool.TryReserve()); // two reserved and one rented: at capacity
        pool.Unreserve();
        Assert.True(pool.TryReserve());
        GreenThread b = pool.RentReserved();
        GreenThread c = pool.RentReserved();
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        Assert.Equal(3, pool.InUse);
        ReturnDone(pool, b);
        Assert.Equal(2, pool.InUse);
        Assert.True(pool.TryReserve());
        Assert.Same(b, pool.RentReserved()); // the stack ran dry: a lagged one before the pool grows
        Assert.Equal(3, pool.Created);
    }

    [Fact]
    public void AReturnedGreenThreadIsRentedAgainOnlyAfterTheLag()
    {
        using var pool = new GreenThreadPool(64, AppProtocolLimits.MinInlineReplyBytes, new ReplySegmentPool(1 << 20), static _ => { });
        var rented = new List<GreenThread>();
        for (int i = 0; i <= GreenThreadPool.ReturnLag; i++)
        {
            Assert.True(pool.TryReserve());
            rented.Add(pool.RentReserved());
        }
        foreach (GreenThread t in rented)
        {
            ReturnDone(pool, t);
        }
        Assert.Equal(0, pool.InUse);
        // The first returned has waited out the lag and is rented first (the top of the stack);
        // the ones behind it are not: the next rent is a green thread nobody has used.
        Assert.True(pool.TryReserve());
        Assert.Same(rented[0], pool.RentReserved());
        Assert.True(pool.TryReserve());
        Assert.DoesNotContain(pool.RentReserved(), rented);
        Assert.Equal(2, pool.InUse);
    }

    /// <summary>Returns a rented green thread the way the kernel does, after its request was queued and
    /// answered (its state machine checks the moves in Debug builds).</summary>
    private static void ReturnDone(GreenThreadPool pool, GreenThread t)
    {
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.Done);
        pool.Return(t);
    }
}
