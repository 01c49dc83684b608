// A FIFO of request slot numbers: the model's queues and mailboxes, allocated once.
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NetStack.Measurement.Model;

/// <summary>A power-of-two ring of ints; the owner bounds what it pushes (room is asserted, not checked).</summary>
internal sealed class IndexRing
{
    private readonly int[] _items;
    private readonly int _mask;
    private long _head;
    private long _tail;

    /// <param name="capacity">Most items ever held at once.</param>
    public IndexRing(int capacity)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity));
        _items = new int[size];
        _mask = size - 1;
    }

    /// <summary>Items held.</summary>
    public int Count
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_tail - _head);
    }

    /// <summary>Appends at the tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushTail(int item)
    {
        Debug.Assert(_tail - _head < _items.Length, "ring overflow: the owner's bound is wrong");
        _items[_tail++ & _mask] = item;
    }

    /// <summary>Takes the head (the ring must not be empty).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PopHead()
    {
        Debug.Assert(_tail > _head, "pop from an empty ring");
        return _items[_head++ & _mask];
    }
}
