// The SPSC ring and its conventional rivals behind one struct interface: one generic loop measures each, with no delegate per item.
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using NetStack.Runtime.Threading;

namespace NetStack.MicroBenchmarks.Support;

/// <summary>A queue of one producer and one consumer. Implemented by structs, so a loop generic
/// over it is compiled once per queue and the calls inline (STYLE.md: struct generics, not delegates).</summary>
internal interface IItemQueue
{
    /// <summary>Producer: false when full.</summary>
    bool TryPush(object item);

    /// <summary>Consumer: false when empty.</summary>
    bool TryPop([MaybeNullWhen(false)] out object item);
}

/// <summary>NetStack's <see cref="SpscRing{T}"/>.</summary>
internal readonly struct RingQueue(SpscRing<object> ring) : IItemQueue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(object item) => ring.TryPush(item);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out object item) => ring.TryPop(out item);
}

/// <summary>A System.Threading.Channels channel, through its writer's TryWrite and reader's TryRead
/// (synchronous: no ValueTask, no waiter, as a polling consumer uses it).</summary>
internal readonly struct ChannelQueue(Channel<object> channel) : IItemQueue
{
    /// <summary>Bounded, SingleReader and SingleWriter: the conventional choice with the ring's semantics.</summary>
    public static ChannelQueue Bounded(int capacity) => new(Channel.CreateBounded<object>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait }));

    /// <summary>Unbounded, SingleReader and SingleWriter (the runtime's single-consumer channel).</summary>
    public static ChannelQueue Unbounded() => new(Channel.CreateUnbounded<object>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(object item) => channel.Writer.TryWrite(item);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out object item) => channel.Reader.TryRead(out item);
}

/// <summary><see cref="ConcurrentQueue{T}"/> (unbounded, multi-producer multi-consumer).</summary>
internal readonly struct ConcurrentQueueQueue(ConcurrentQueue<object> queue) : IItemQueue
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(object item)
    {
        queue.Enqueue(item);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out object item) => queue.TryDequeue(out item);
}
