// Benchmark 1: the SPSC ring against Channels and ConcurrentQueue, on one thread and between two cores.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using NetStack.MicroBenchmarks.Support;
using NetStack.Runtime;
using NetStack.Runtime.Threading;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// The cost of one item through a queue when producer and consumer are the same thread: a push
/// followed at once by a pop, per item. This is each queue's own instruction cost with every line in
/// the core's cache (no sharing), the part of a mailbox handoff that the ring's design can change.
/// Baseline: a bounded SingleReader/SingleWriter channel, the conventional .NET choice with the
/// ring's semantics.
/// </summary>
[MemoryDiagnoser]
public class SpscRingOneThreadBenchmarks
{
    private const int Items = 1024;
    private const int Capacity = 1024;
    private static readonly object s_item = new();

    private readonly RingQueue _ring = new(new SpscRing<object>(Capacity));
    private readonly ChannelQueue _bounded = ChannelQueue.Bounded(Capacity);
    private readonly ChannelQueue _unbounded = ChannelQueue.Unbounded();
    private readonly ConcurrentQueueQueue _concurrentQueue = new(new ConcurrentQueue<object>());

    /// <summary>Channel.CreateBounded, SingleReader and SingleWriter: TryWrite then TryRead.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public object? BoundedChannel() => PushPop(_bounded);

    /// <summary>Channel.CreateUnbounded, SingleReader and SingleWriter: TryWrite then TryRead.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public object? UnboundedChannel() => PushPop(_unbounded);

    /// <summary>ConcurrentQueue: Enqueue then TryDequeue.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public object? ConcurrentQueue() => PushPop(_concurrentQueue);

    /// <summary>SpscRing: TryPush then TryPop.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public object? SpscRing() => PushPop(_ring);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static object? PushPop<TQueue>(TQueue queue) where TQueue : struct, IItemQueue
    {
        object? last = null;
        for (int i = 0; i < Items; i++)
        {
            queue.TryPush(s_item);
            queue.TryPop(out last);
        }
        return last;
    }
}

/// <summary>
/// Throughput per item between two cores: a producer pinned to the partner core pushes a run of
/// items as fast as the queue takes them, and BenchmarkDotNet's thread, pinned to the main core,
/// pops them (both spin when the queue is full or empty). What is measured is the time per item
/// once the stream flows: how well each queue keeps the two cores from fighting over its lines
/// (the ring's cached indexes touch the other side's line only when full or empty). Bounded
/// queues hold <see cref="Capacity"/> items; the unbounded ones grow to the run's length, and
/// allocate as they do. Baseline: the bounded SingleReader/SingleWriter channel.
/// </summary>
[MemoryDiagnoser]
public class SpscRingTwoThreadBenchmarks
{
    private const int Items = 1 << 14;
    private const int Capacity = 1024;
    private static readonly object s_item = new();

    private readonly RoundSignal _rounds = new();
    private Cores.MainThreadPin? _pin;
    private PinnedThread? _producer;
    private RingQueue _ring;
    private ChannelQueue _bounded;
    private ChannelQueue _unbounded;
    private ConcurrentQueueQueue _concurrentQueue;

    /// <summary>The consumer's request for the next run of items, on its own line.</summary>
    private sealed class RoundSignal
    {
        public PaddedLong Requested;
    }

    [GlobalSetup(Target = nameof(BoundedChannel))]
    public void SetupBounded() => Start(_bounded = ChannelQueue.Bounded(Capacity));

    [GlobalSetup(Target = nameof(UnboundedChannel))]
    public void SetupUnbounded() => Start(_unbounded = ChannelQueue.Unbounded());

    [GlobalSetup(Target = nameof(ConcurrentQueue))]
    public void SetupConcurrentQueue() => Start(_concurrentQueue = new ConcurrentQueueQueue(new ConcurrentQueue<object>()));

    [GlobalSetup(Target = nameof(SpscRing))]
    public void SetupRing() => Start(_ring = new RingQueue(new SpscRing<object>(Capacity)));

    [GlobalCleanup]
    public void Cleanup()
    {
        _producer?.Stop();
        _producer = null;
        _pin?.Dispose();
        _pin = null;
    }

    /// <summary>Channel.CreateBounded(1024), SingleReader and SingleWriter.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public object? BoundedChannel() => Receive(_bounded);

    /// <summary>Channel.CreateUnbounded, SingleReader and SingleWriter.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public object? UnboundedChannel() => Receive(_unbounded);

    /// <summary>ConcurrentQueue.</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public object? ConcurrentQueue() => Receive(_concurrentQueue);

    /// <summary>SpscRing(1024).</summary>
    [Benchmark(OperationsPerInvoke = Items)]
    public object? SpscRing() => Receive(_ring);

    private void Start<TQueue>(TQueue queue) where TQueue : struct, IItemQueue
    {
        _pin = Cores.PinMainThread();
        RoundSignal rounds = _rounds;
        _producer = new PinnedThread("bench-producer", Cores.Partner, self => Produce(queue, rounds, self));
    }

    /// <summary>Asks for a run of items and pops it.</summary>
    private object? Receive<TQueue>(TQueue queue) where TQueue : struct, IItemQueue
    {
        // Release: nothing to order; the producer only needs to see the number change.
        Volatile.Write(ref _rounds.Requested.Value, _rounds.Requested.Value + 1);
        object? last = null;
        for (int i = 0; i < Items; i++)
        {
            while (!queue.TryPop(out last))
            {
            }
        }
        return last;
    }

    private static void Produce<TQueue>(TQueue queue, RoundSignal rounds, PinnedThread self) where TQueue : struct, IItemQueue
    {
        var backoff = new IdleBackoff();
        long done = 0;
        while (!self.StopRequested)
        {
            if (Volatile.Read(ref rounds.Requested.Value) == done) // acquire: pairs with the consumer's write
            {
                backoff.Idle();
                continue;
            }
            backoff.Reset();
            done++;
            for (int i = 0; i < Items; i++)
            {
                while (!queue.TryPush(s_item))
                {
                }
            }
        }
    }
}
