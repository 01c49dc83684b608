// Bounded single-producer single-consumer ring: the IOKernel's mailboxes and completion rings.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetStack.Runtime.Threading;

/// <summary>
/// A bounded ring between exactly one producer thread and one consumer thread, after the
/// Disruptor / Lamport queue: the producer owns the tail, the consumer the head, each on its
/// own cache line, and each side keeps a private copy of the other's index so that it touches
/// the other's line only when its copy says the ring looks full (or empty).
/// </summary>
internal sealed class SpscRing<T> where T : class
{
    private readonly T?[] _slots;
    private readonly long _mask;
    private RingProducerLine _producer;
    private RingConsumerLine _consumer;

    /// <summary>A ring of at least <paramref name="capacity"/> slots (rounded up to a power of two).</summary>
    public SpscRing(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)capacity);
        _slots = new T?[size];
        _mask = size - 1;
    }

    /// <summary>Slots in the ring.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Items in the ring, as seen from any thread (a snapshot; exact on either side).</summary>
    public int Count => (int)(Volatile.Read(ref _producer.Tail) - Volatile.Read(ref _consumer.Head));

    /// <summary>How many items were ever pushed (the tail). Snapshot it with <see cref="Head"/>
    /// to tell whether an item queued earlier is still here (Shenango's congestion test).</summary>
    public long Tail => Volatile.Read(ref _producer.Tail);

    /// <summary>How many items were ever popped (the head).</summary>
    public long Head => Volatile.Read(ref _consumer.Head);

    /// <summary>Producer only. False when the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPush(T item)
    {
        long tail = _producer.Tail;
        if (tail - _producer.CachedHead >= _slots.Length)
        {
            return TryPushSlow(item);
        }
        _slots[tail & _mask] = item;
        // Release: the slot write above is visible before the consumer can see the new tail.
        Volatile.Write(ref _producer.Tail, tail + 1);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryPushSlow(T item)
    {
        // Acquire: once we see the consumer's head, its reads of the slots before it are done.
        _producer.CachedHead = Volatile.Read(ref _consumer.Head);
        long tail = _producer.Tail;
        if (tail - _producer.CachedHead >= _slots.Length)
        {
            return false;
        }
        _slots[tail & _mask] = item;
        Volatile.Write(ref _producer.Tail, tail + 1); // release, as in TryPush
        return true;
    }

    /// <summary>Consumer only. False when the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPop([MaybeNullWhen(false)] out T item)
    {
        long head = _consumer.Head;
        if (head >= _consumer.CachedTail)
        {
            // Acquire: slot writes made before the producer published this tail are visible.
            _consumer.CachedTail = Volatile.Read(ref _producer.Tail);
            if (head >= _consumer.CachedTail)
            {
                item = null;
                return false;
            }
        }
        ref T? slot = ref _slots[head & _mask];
        item = slot!;
        slot = null; // the ring must not keep a recycled context alive or visible
        // Release: our read of the slot is done before the producer may reuse it.
        Volatile.Write(ref _consumer.Head, head + 1);
        AssertInvariants();
        return true;
    }

    /// <summary>Consumer only: true when an item is waiting, without taking it.</summary>
    public bool IsEmptyForConsumer()
    {
        long head = _consumer.Head;
        if (head < _consumer.CachedTail)
        {
            return false;
        }
        _consumer.CachedTail = Volatile.Read(ref _producer.Tail); // acquire, as in TryPop
        return head >= _consumer.CachedTail;
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        long count = Volatile.Read(ref _producer.Tail) - _consumer.Head;
        Debug.Assert(count >= 0 && count <= _slots.Length, "ring count out of range");
    }

    /// <summary>For the layout test: the distance in bytes from the producer's tail to the consumer's head.</summary>
    internal long DistanceTailToHead() => Math.Abs(Unsafe.ByteOffset(ref _producer.Tail, ref _consumer.Head).ToInt64());
}

/// <summary>A ring's producer line (outside the generic ring: generic types cannot have explicit layout): its index, and its copy of the consumer's.</summary>
[StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
internal struct RingProducerLine
{
    [FieldOffset(CacheLine.Size)] public long Tail;
    [FieldOffset(CacheLine.Size + 8)] public long CachedHead;
}

/// <summary>The consumer's line: its index, and its copy of the producer's.</summary>
[StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
internal struct RingConsumerLine
{
    [FieldOffset(CacheLine.Size)] public long Head;
    [FieldOffset(CacheLine.Size + 8)] public long CachedTail;
}
