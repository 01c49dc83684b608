// The SPSC ring keeps order, respects its bound and loses nothing across threads.
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using Xunit;

namespace NetStack.Tests.Runtime;

public class SpscRingTests
{
    [Fact]
    public void CapacityRoundsUpToAPowerOfTwoAndFullRingRefusesPush()
    {
        var ring = new SpscRing<string>(3);
        Assert.Equal(4, ring.Capacity);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(ring.TryPush($"item {i}"));
        }
        Assert.False(ring.TryPush("one too many"));
        Assert.Equal(4, ring.Count);
    }

    [Fact]
    public void ItemsComeOutInTheOrderTheyWentIn()
    {
        var ring = new SpscRing<string>(8);
        for (int round = 0; round < 10; round++)
        {
            for (int i = 0; i < 5; i++)
            {
                Assert.True(ring.TryPush($"{round}.{i}"));
            }
            for (int i = 0; i < 5; i++)
            {
                Assert.True(ring.TryPop(out string? item));
                Assert.Equal($"{round}.{i}", item);
            }
            Assert.False(ring.TryPop(out _));
        }
    }

    [Fact]
    public void AMillionItemsCrossThreadsInOrderWithNoneLost()
    {
        const int Count = 1_000_000;
        var ring = new SpscRing<Box>(64);
        var boxes = Enumerable.Range(0, 1024).Select(i => new Box()).ToArray();
        var producer = new Thread(() =>
        {
            for (int i = 0; i < Count; i++)
            {
                Box b = boxes[i & 1023];
                b.Value = i;
                // Reuse a box only once the consumer has moved past it (64-slot ring, 1024 boxes).
                while (!ring.TryPush(b))
                {
                    Thread.SpinWait(1);
                }
            }
        });
        producer.Start();
        long expected = 0;
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (expected < Count && DateTime.UtcNow < deadline)
        {
            if (ring.TryPop(out Box? b))
            {
                Assert.Equal(expected, b.Value);
                expected++;
            }
        }
        producer.Join();
        Assert.Equal(Count, expected);
        Assert.Equal(Count, ring.Tail);
        Assert.Equal(Count, ring.Head);
    }

    private sealed class Box
    {
        public long Value;
    }
}

/// <summary>The one-word handoff ring: order, capacity, no loss across laps, and across threads.</summary>
public class HandoffRingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void FillsToItsCapacityInOrderAndRefusesMore(int asked)
    {
        var registry = new GreenThreadRegistry(64);
        var ring = new HandoffRing(asked, registry);
        var threads = Enumerable.Range(0, ring.Capacity + 1).Select(i => { var t = new GreenThread { Id = i }; registry.Register(t); return t; }).ToArray();
        for (int lap = 0; lap < 5; lap++)
        {
            for (int i = 0; i < ring.Capacity; i++)
            {
                Assert.True(ring.TryPush(threads[i]));
            }
            Assert.False(ring.TryPush(threads[^1]));
            Assert.Equal(ring.Capacity, ring.Count);
            for (int i = 0; i < ring.Capacity; i++)
            {
                Assert.True(ring.TryPop(out GreenThread? t));
                Assert.Same(threads[i], t);
            }
            Assert.False(ring.TryPop(out _));
            Assert.True(ring.IsEmptyForConsumer());
        }
        Assert.True(ring.Capacity >= Math.Max(2, asked));
        Assert.Equal(0, ring.FirstSlotLineOffset());
    }

    [Fact]
    public void PeekShowsWhatTheNextPopTakesAndLeavesItThere()
    {
        var registry = new GreenThreadRegistry(8);
        var ring = new HandoffRing(4, registry);
        var threads = Enumerable.Range(0, 3).Select(i => { var t = new GreenThread { Id = i }; registry.Register(t); return t; }).ToArray();
        Assert.False(ring.TryPeek(out _));
        for (int lap = 0; lap < 3; lap++)
        {
            Assert.True(ring.TryPush(threads[0]));
            Assert.True(ring.TryPush(threads[1]));
            Assert.True(ring.TryPeek(out GreenThread? first));
            Assert.Same(threads[0], first);
            Assert.True(ring.TryPeek(out GreenThread? again));
            Assert.Same(threads[0], again);
            Assert.Equal(2, ring.Count);
            Assert.True(ring.TryPop(out GreenThread? popped));
            Assert.Same(threads[0], popped);
            Assert.True(ring.TryPeek(out GreenThread? second));
            Assert.Same(threads[1], second);
            Assert.True(ring.TryPop(out _));
            Assert.False(ring.TryPeek(out _));
        }
    }

    [Fact]
    public void ProducerAndConsumerOnTwoThreadsLoseNothing()
    {
        const int N = 200_000;
        var registry = new GreenThreadRegistry(16);
        var threads = Enumerable.Range(0, 16).Select(i => { var t = new GreenThread { Id = i }; registry.Register(t); return t; }).ToArray();
        var ring = new HandoffRing(4, registry);
        long sum = 0;
        var consumer = new Thread(() =>
        {
            for (int got = 0; got < N;)
            {
                if (ring.TryPop(out GreenThread? t))
                {
                    sum += t.Id;
                    got++;
                }
            }
        });
        consumer.Start();
        for (int i = 0; i < N;)
        {
            if (ring.TryPush(threads[i % 16]))
            {
                i++;
            }
        }
        Assert.True(consumer.Join(TimeSpan.FromSeconds(60)));
        Assert.Equal(Enumerable.Range(0, N).Sum(i => (long)(i % 16)), sum);
        Assert.True(ring.DistanceTailToHead() >= CacheLine.Size);
    }
}
