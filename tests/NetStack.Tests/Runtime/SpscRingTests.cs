// The SPSC ring keeps order, respects its bound and loses nothing across threads.
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
