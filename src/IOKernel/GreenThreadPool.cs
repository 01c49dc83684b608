// The pool of green threads: made as the load first needs them, reused after, never more than a bound.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel;

/// <summary>
/// A stack of free green threads, used by the IOKernel thread only. Each green thread comes with an
/// inline reply buffer in native memory; both are made in chunks when the pool is first short, so a
/// lightly loaded host holds a few hundred, and after warm-up (the highest number in flight so far)
/// nothing is allocated. An admitted request reserves its green thread (<see cref="TryReserve"/>) and
/// takes it only when dispatched (<see cref="RentReserved"/>): a queued request holds none, so a deep
/// queue keeps only the few in flight warm. At <see cref="Capacity"/> reserved or in use, new requests
/// are refused.
/// </summary>
internal sealed unsafe class GreenThreadPool : IDisposable
{
    /// <summary>Green threads made at a time.</summary>
    private const int ChunkThreads = 64;

    // Registry indexes, not references: a reference stored into an array is a GC write barrier, and
    // the stack and the lag take two stores per request.
    private readonly int[] _free;
    private readonly List<nint> _slabs = [];
    private readonly Action<GreenThread> _onDetachedCompletion;
    private readonly ReplySegmentPool _segments;
    private readonly int _inlineReplyBytes;
    private int _count;
    private int _created;
    private int _reserved;
    private readonly int[] _lag = new int[ReturnLag]; // -1: empty
    private int _lagNext;
    private int _lagged;

    /// <summary>Returns a green thread waits behind before it can be rented again (a power of two).</summary>
    internal const int ReturnLag = 8;

    /// <param name="capacity">Green threads at most.</param>
    /// <param name="inlineReplyBytes">Each one's inline reply buffer.</param>
    /// <param name="segments">Where replies that outgrow it take their segments.</param>
    /// <param name="onDetachedCompletion">Called, on the completing thread, when a detached handler finishes.</param>
    public GreenThreadPool(int capacity, int inlineReplyBytes, ReplySegmentPool segments, Action<GreenThread> onDetachedCompletion)
    {
        Registry = new Runtime.Threading.GreenThreadRegistry(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(inlineReplyBytes, AppProtocolLimits.MinInlineReplyBytes);
        _free = new int[capacity];
        Array.Fill(_lag, -1);
        _inlineReplyBytes = (inlineReplyBytes + CacheLine.Size - 1) / CacheLine.Size * CacheLine.Size;
        _segments = segments;
        _onDetachedCompletion = onDetachedCompletion;
        Capacity = capacity;
    }

    /// <summary>Green threads at most.</summary>
    public int Capacity { get; }

    /// <summary>Every green thread made, by the index the workers' rings carry.</summary>
    public Runtime.Threading.GreenThreadRegistry Registry { get; }

    /// <summary>Green threads made so far.</summary>
    public int Created => _created;

    /// <summary>Green threads in use (at workers, queued after a slice, holding a reply being sent) or
    /// reserved by a queued request.</summary>
    public int InUse => _created - _count - _lagged + _reserved;

    /// <summary>Reserves a green thread for an admitted request; false when all <see cref="Capacity"/>
    /// are in use or reserved.</summary>
    public bool TryReserve()
    {
        if (InUse >= Capacity)
        {
            return false;
        }
        _reserved++;
        return true;
    }

    /// <summary>Gives back a reservation that will not be taken (the queue refused the request).</summary>
    public void Unreserve()
    {
        Debug.Assert(_reserved > 0, "unreserve without a reservation");
        _reserved--;
    }

    /// <summary>Takes the green thread a reservation holds: it cannot fail, since every reservation
    /// counts against <see cref="Capacity"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public GreenThread RentReserved()
    {
        Debug.Assert(_reserved > 0, "rent without a reservation");
        _reserved--;
        if (_count == 0)
        {
            Refill();
        }
        return Registry[_free[--_count]];
    }

    /// <summary>The stack is empty: the oldest lagged green thread, or a new chunk.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Refill()
    {
        if (!TakeLagged() && !Grow())
        {
            throw new InvalidOperationException("green-thread pool: a reservation found no green thread");
        }
    }

    /// <summary>
    /// Returns a green thread, cleared for its next request. It becomes rentable only after
    /// <see cref="ReturnLag"/> more returns: the carrier wrote its lines last, and a rent right after the
    /// return (a stack's next rent is the last return) would wait for them in the dispatch that binds
    /// it. The lines that bind reads and writes are asked for now, and arrive while the lag passes;
    /// the few green threads in flight plus the lag stay warm, the rest of the stack is not touched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(GreenThread thread)
    {
        Debug.Assert((uint)thread.RingIndex < (uint)_created && ReferenceEquals(Registry[thread.RingIndex], thread),
            "a green thread returned to a pool that did not make it");
        thread.MoveTo(GreenThreadState.Free);
        thread.ResetState();
        thread.PrefetchAppLines();
        thread.PrefetchDispatchLines();
        ref int slot = ref _lag[_lagNext];
        _lagNext = (_lagNext + 1) & (ReturnLag - 1);
        if (slot >= 0)
        {
            _free[_count++] = slot;
            _lagged--;
        }
        slot = thread.RingIndex;
        _lagged++;
    }

    /// <summary>The stack ran dry: the oldest lagged green thread is rentable at once, before the pool grows.</summary>
    private bool TakeLagged()
    {
        for (int i = 0; i < ReturnLag && _lagged > 0; i++)
        {
            ref int slot = ref _lag[_lagNext];
            _lagNext = (_lagNext + 1) & (ReturnLag - 1);
            if (slot >= 0)
            {
                _free[_count++] = slot;
                slot = -1;
                _lagged--;
                return true;
            }
        }
        return false;
    }

    private bool Grow()
    {
        int n = Math.Min(ChunkThreads, Capacity - _created);
        if (n <= 0)
        {
            return false;
        }
        using PoolGrowth.Scope growth = PoolGrowth.Measure();
        var slab = (byte*)NativeMemory.AlignedAlloc((nuint)(n * _inlineReplyBytes), CacheLine.Size);
        _slabs.Add((nint)slab);
        for (int i = 0; i < n; i++)
        {
            var thread = new GreenThread(new ReplyWriter(slab + (long)i * _inlineReplyBytes, _inlineReplyBytes, _segments))
            {
                DetachedCompletion = _onDetachedCompletion,
            };
            Registry.Register(thread);
            _free[_count++] = thread.RingIndex;
        }
        _created += n;
        return true;
    }

    /// <summary>Frees the inline reply buffers. Only after the IOKernel and its carriers have stopped.</summary>
    public void Dispose()
    {
        foreach (nint slab in _slabs)
        {
            NativeMemory.AlignedFree((void*)slab);
        }
        _slabs.Clear();
    }
}
