// The pool of green threads: made as the load first needs them, reused after, never more than a bound.
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
/// nothing is allocated. At <see cref="Capacity"/> the pool is empty and new requests are refused.
/// </summary>
internal sealed unsafe class GreenThreadPool : IDisposable
{
    /// <summary>Green threads made at a time.</summary>
    private const int ChunkThreads = 64;

    private readonly GreenThread[] _free;
    private readonly List<nint> _slabs = [];
    private readonly Action<GreenThread> _onDetachedCompletion;
    private readonly ReplySegmentPool _segments;
    private readonly int _inlineReplyBytes;
    private int _count;
    private int _created;

    /// <param name="capacity">Green threads at most.</param>
    /// <param name="inlineReplyBytes">Each one's inline reply buffer.</param>
    /// <param name="segments">Where replies that outgrow it take their segments.</param>
    /// <param name="onDetachedCompletion">Called, on the completing thread, when a detached handler finishes.</param>
    public GreenThreadPool(int capacity, int inlineReplyBytes, ReplySegmentPool segments, Action<GreenThread> onDetachedCompletion)
    {
        Registry = new Runtime.Threading.GreenThreadRegistry(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfLessThan(inlineReplyBytes, AppProtocolLimits.MinInlineReplyBytes);
        _free = new GreenThread[capacity];
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

    /// <summary>Green threads in use (in queues, at workers, or holding a reply being sent).</summary>
    public int InUse => _created - _count;

    /// <summary>Takes a green thread, or null when all <see cref="Capacity"/> are in use.</summary>
    public GreenThread? TryRent()
    {
        if (_count == 0 && !Grow())
        {
            return null;
        }
        return _free[--_count];
    }

    /// <summary>Returns a green thread, cleared for its next request.</summary>
    public void Return(GreenThread thread)
    {
        thread.MoveTo(GreenThreadState.Free);
        thread.ResetState();
        thread.PrefetchAppLines(); // the next rent is this one (a stack), and SetApp reads those lines
        _free[_count++] = thread;
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
            _free[_count++] = thread;
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
