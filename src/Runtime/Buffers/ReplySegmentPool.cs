// Native segments for replies that outgrow their green thread's inline buffer: pooled by size class, shared by all carriers.
using System.Numerics;
using System.Runtime.InteropServices;

namespace NetStack.Runtime.Buffers;

/// <summary>
/// Overflow segments for reply writers. A reply first fills the inline buffer of its green thread;
/// past it, it takes segments of doubling size (16 KiB, 32 KiB, ...), so a 1 MiB reply needs seven
/// and a 32 MiB one twelve. Segments are native, cache-line aligned, allocated when a size class is
/// first short and kept for reuse: after warm-up a large reply allocates nothing. Carriers rent
/// (while a handler writes) and the IOKernel returns (after the reply is sent), so the classes are
/// guarded by a spin lock; this is the rare path, taken only by replies larger than the inline buffer.
/// The pool holds at most <see cref="MaxBytes"/>: past it a rent fails and the reply fails with it.
/// </summary>
internal sealed unsafe class ReplySegmentPool : IDisposable
{
    /// <summary>The smallest segment.</summary>
    public const int MinSegmentBytes = 16 << 10;

    /// <summary>The largest class: 2^30 bytes.</summary>
    private const int Classes = 17;

    // A spin lock, not a Lock: the IOKernel returns segments, and a Lock's waiter may sleep, and allocates
    // the first time one waits (Threading.SpinLocks). Its sections are short but for a growth.
    private readonly Threading.SpinLocks _lock = new(1);
    private readonly Stack<nint>[] _free = new Stack<nint>[Classes];
    private readonly List<nint> _all = [];
    private readonly int[] _segmentsOfClass = new int[Classes];
    private long _allocatedBytes;
    private bool _disposed;

    /// <param name="maxBytes">The most native memory the pool may hold, rented and free together.</param>
    public ReplySegmentPool(long maxBytes = 256L << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, MinSegmentBytes);
        MaxBytes = maxBytes;
        for (int c = 0; c < Classes; c++)
        {
            _free[c] = new Stack<nint>();
        }
    }

    /// <summary>The pool's bound.</summary>
    public long MaxBytes { get; }

    /// <summary>Native bytes allocated so far (rented and free).</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>The size of the class that holds at least <paramref name="bytes"/>.</summary>
    public static int ClassOf(int bytes) =>
        bytes <= MinSegmentBytes ? 0 : BitOperations.Log2((uint)(bytes - 1)) + 1 - BitOperations.Log2(MinSegmentBytes);

    /// <summary>The bytes of class <paramref name="sizeClass"/>.</summary>
    public static int SizeOf(int sizeClass) => MinSegmentBytes << sizeClass;

    /// <summary>Rents a segment of class <paramref name="sizeClass"/>; null when the pool is at its bound.</summary>
    public byte* TryRent(int sizeClass)
    {
        if ((uint)sizeClass >= Classes)
        {
            return null;
        }
        _lock.Enter(0);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free[sizeClass].TryPop(out nint segment))
            {
                return (byte*)segment;
            }
            long bytes = SizeOf(sizeClass);
            if (_allocatedBytes + bytes > MaxBytes)
            {
                return null;
            }
            using Threading.PoolGrowth.Scope growth = Threading.PoolGrowth.Measure();
            var p = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, CacheLine.Size);
            _all.Add((nint)p);
            // Room in the class's free stack for every segment it has, so that a return never grows it.
            _free[sizeClass].EnsureCapacity(++_segmentsOfClass[sizeClass]);
            _allocatedBytes += bytes;
            return p;
        }
        finally
        {
            _lock.Exit(0);
        }
    }

    /// <summary>Gives a segment back to its class.</summary>
    public void Return(byte* segment, int sizeClass)
    {
        _lock.Enter(0);
        if (!_disposed)
        {
            _free[sizeClass].Push((nint)segment);
        }
        _lock.Exit(0);
    }

    /// <summary>Frees every segment. Only when no writer holds one any more.</summary>
    public void Dispose()
    {
        _lock.Enter(0);
        try
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (nint p in _all)
            {
                NativeMemory.AlignedFree((void*)p);
            }
            _all.Clear();
        }
        finally
        {
            _lock.Exit(0);
        }
    }
}
