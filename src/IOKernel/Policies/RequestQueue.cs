// A FIFO of green threads, IOKernel-private: a power-of-two ring that can also push at the head.
using System.Diagnostics;
using System.Numerics;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>A bounded FIFO used by one thread. Requeues of admitted requests go past the bound into
/// reserve room, so a yield never loses a request.</summary>
internal sealed class RequestQueue
{
    private readonly GreenThread?[] _items;
    private readonly int _mask;
    private readonly int _bound;
    private long _head;
    private long _tail;

    /// <param name="bound">Admissions stop at this many waiting.</param>
    /// <param name="reserve">Extra room for requeues (at least the contexts that can be out at workers).</param>
    public RequestQueue(int bound, int reserve)
    {
        _bound = bound;
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)(bound + reserve));
        _items = new GreenThread?[size];
        _mask = size - 1;
    }

    /// <summary>Waiting requests.</summary>
    public int Count => (int)(_tail - _head);

    /// <summary>Requests ever put in (monotonic, whichever end).</summary>
    public long TotalIn { get; private set; }

    /// <summary>Requests ever taken out (monotonic).</summary>
    public long TotalOut { get; private set; }

    /// <summary>The head, without taking it.</summary>
    public GreenThread? Peek => _head == _tail ? null : _items[_head & _mask];

    /// <summary>Admits at the tail; false when <c>bound</c> are waiting.</summary>
    public bool TryAdmit(GreenThread ctx)
    {
        if (_tail - _head >= _bound)
        {
            return false;
        }
        _items[_tail++ & _mask] = ctx;
        TotalIn++;
        return true;
    }

    /// <summary>Puts back at the tail (processor sharing's round robin).</summary>
    public void PushTail(GreenThread ctx)
    {
        Debug.Assert(_tail - _head < _items.Length, "requeue beyond reserve");
        _items[_tail++ & _mask] = ctx;
        TotalIn++;
    }

    /// <summary>Puts back at the head (run-to-completion policies: it was first).</summary>
    public void PushHead(GreenThread ctx)
    {
        Debug.Assert(_tail - _head < _items.Length, "requeue beyond reserve");
        _items[--_head & _mask] = ctx;
        TotalIn++;
    }

    /// <summary>How far past the head <see cref="TryTake"/> prefetches: a deep queue's requests are cold,
    /// and this many dispatches cover a fetch from memory.</summary>
    internal const int PrefetchDistance = 8;

    /// <summary>Takes the head, or null.</summary>
    public GreenThread? TryTake()
    {
        if (_head == _tail)
        {
            return null;
        }
        ref GreenThread? slot = ref _items[_head++ & _mask];
        GreenThread? ctx = slot;
        slot = null;
        TotalOut++;
        // Null past the tail (taken slots are cleared): nothing is fetched for a short queue's end.
        _items[(_head + PrefetchDistance - 1) & _mask]?.PrefetchDispatchLines();
        return ctx;
    }
}
