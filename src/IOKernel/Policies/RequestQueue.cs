// A FIFO of waiting requests, IOKernel-private: a power-of-two ring of slots that can also push at the head.
using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Policies;

/// <summary>A bounded FIFO used by one thread. Requeues of admitted requests go past the bound into
/// reserve room, so a yield never loses a request.</summary>
internal sealed class RequestQueue
{
    private readonly QueuedRequest[] _items;
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
        _items = new QueuedRequest[size];
        _mask = size - 1;
    }

    /// <summary>Waiting requests.</summary>
    public int Count => (int)(_tail - _head);

    /// <summary>Requests ever put in (monotonic, whichever end).</summary>
    public long TotalIn { get; private set; }

    /// <summary>Requests ever taken out (monotonic).</summary>
    public long TotalOut { get; private set; }

    /// <summary>When the head joined (<see cref="QueuedRequest.QueuedTicks"/>), or 0 when none waits.</summary>
    public long HeadQueuedTicks => _head == _tail ? 0 : _items[_head & _mask].QueuedTicks;

    /// <summary>Admits a new request at the tail, by value; false when <c>bound</c> are waiting.</summary>
    public bool TryAdmit(in Nic.Arrival arrival, long queuedTicks)
    {
        if (_tail - _head >= _bound)
        {
            return false;
        }
        ref QueuedRequest slot = ref _items[_tail++ & _mask];
        slot.Arrival = arrival;
        slot.QueuedTicks = queuedTicks;
        slot.Thread = null;
        TotalIn++;
        // The slots ahead were last written a whole ring ago: fetched now, they are here to be written
        // (only this thread touches them, so a read's fetch leaves them writable without another miss).
        PrefetchSlot(ref _items[(_tail + 2 * PrefetchDistance - 1) & _mask]);
        return true;
    }

    /// <summary>Puts a request that ran back at the tail (processor sharing's round robin).</summary>
    public void PushTail(GreenThread ctx) => Fill(ref _items[_tail++ & _mask], ctx);

    /// <summary>Puts a request that ran back at the head (run-to-completion policies: it was first).</summary>
    public void PushHead(GreenThread ctx) => Fill(ref _items[--_head & _mask], ctx);

    /// <summary>Moves a waiting request, as it waits, to the tail (d-FCFS rebinding a flow).</summary>
    public void PushTail(in QueuedRequest request)
    {
        Debug.Assert(_tail - _head < _items.Length, "requeue beyond reserve");
        _items[_tail++ & _mask] = request;
        TotalIn++;
    }

    private void Fill(ref QueuedRequest slot, GreenThread ctx)
    {
        Debug.Assert(_tail - _head <= _items.Length, "requeue beyond reserve");
        slot.Thread = ctx;
        slot.QueuedTicks = ctx.QueuedTicks;
        slot.Arrival.FlowHash = ctx.FlowHash;
        TotalIn++;
    }

    /// <summary>How far past the head <see cref="TryTake"/> prefetches: a deep queue's requests are cold,
    /// and this many dispatches cover a fetch from memory. The slots themselves are fetched twice as far
    /// ahead, so that the green thread a slot names can be read from a line already here.</summary>
    internal const int PrefetchDistance = 8;

    /// <summary>
    /// Takes the head: a reference to its slot, valid until the next push (the caller binds or hands
    /// on what it holds first), or a null reference when none waits. The slot keeps what it held: a
    /// green thread left there is pooled anyway, and every push overwrites <see cref="QueuedRequest.Thread"/>.
    /// </summary>
    public ref QueuedRequest TryTake()
    {
        if (_head == _tail)
        {
            return ref Unsafe.NullRef<QueuedRequest>();
        }
        ref QueuedRequest slot = ref _items[_head++ & _mask];
        TotalOut++;
        long waiting = _tail - _head;
        if (waiting >= PrefetchDistance)
        {
            // Past the tail a slot holds what it last held: only the live part is fetched.
            _items[(_head + PrefetchDistance - 1) & _mask].Thread?.PrefetchDispatchLines();
            if (waiting >= 2 * PrefetchDistance)
            {
                PrefetchSlot(ref _items[(_head + 2 * PrefetchDistance - 1) & _mask]);
            }
        }
        return ref slot;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchSlot(ref QueuedRequest slot)
    {
        if (Sse.IsSupported)
        {
            // A hint on an address in a large array: if the collector moved it meanwhile, only unhelped.
            // A slot spans three or four lines, as it falls: each of them.
            byte* p = (byte*)Unsafe.AsPointer(ref slot);
            for (int offset = 0; offset < Unsafe.SizeOf<QueuedRequest>(); offset += Runtime.CacheLine.Size)
            {
                Sse.Prefetch0(p + offset);
            }
            Sse.Prefetch0(p + Unsafe.SizeOf<QueuedRequest>() - 1);
        }
    }
}
