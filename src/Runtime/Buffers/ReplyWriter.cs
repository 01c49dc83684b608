// Where a handler writes its reply: the green thread's inline buffer, then chained pooled segments, up to a bound.
using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetStack.Runtime.Buffers;

/// <summary>A reply grew past its bound: the request fails, and nothing of what was written is sent.</summary>
public sealed class ReplyTooLargeException(int limit) : InvalidOperationException(
    $"the reply grew past its bound of {limit} bytes (NetStack:MaxReplyBytes); nothing of it is sent")
{
    /// <summary>The bound.</summary>
    public int Limit { get; } = limit;
}

/// <summary>
/// The reply of one request, as its handler writes it (<see cref="IBufferWriter{T}"/>). The bytes go
/// to a native buffer that belongs to the request's green thread (inline, typically 2 KiB), and past
/// it to segments of doubling size from a <see cref="ReplySegmentPool"/>; the transport sends them
/// from where they lie (sendmmsg, writev), so a reply is never copied. The first
/// <see cref="HeaderBytes"/> of the inline buffer are kept for the protocol's reply header, which the
/// transport writes at completion. A reply may grow to <see cref="MaxBodyBytes"/>; past it, the
/// write throws <see cref="ReplyTooLargeException"/>, the writer stays <see cref="Overflowed"/>, and
/// the request ends with an error status and the protocol's failure reply instead of its body.
/// </summary>
/// <remarks>Used by one thread at a time: the carrier running the handler, then the IOKernel sending it.</remarks>
public sealed unsafe class ReplyWriter : IBufferWriter<byte>, IDisposable
{
    /// <summary>Segments after the inline buffer, at most: 16 KiB doubling twelve times is 64 MiB.</summary>
    private const int MaxSegments = 13;

    private readonly byte* _inline;
    private readonly int _inlineBytes;
    private readonly bool _ownsInline;
    private readonly ReplySegmentPool? _pool;
    private readonly nint[] _segments = new nint[MaxSegments];
    private readonly int[] _segmentUsed = new int[MaxSegments];
    private readonly NativeMemoryManager _memory = new();
    private int _segmentCount;
    private int _headerBytes;
    private int _inlineUsed;
    private int _maxBodyBytes;
    private int _bodyBytes;
    private bool _overflowed;

    /// <summary>A writer over a native inline buffer that its owner (a green-thread pool) frees.</summary>
    internal ReplyWriter(byte* inline, int inlineBytes, ReplySegmentPool? pool)
    {
        _inline = inline;
        _inlineBytes = inlineBytes;
        _pool = pool;
        Begin(0, inlineBytes);
    }

    /// <summary>A standalone writer (a baseline server, a test) with its own inline buffer.</summary>
    /// <param name="inlineBytes">Bytes before overflow segments are needed.</param>
    /// <param name="maxBodyBytes">The reply's bound.</param>
    /// <param name="pool">Where overflow segments come from; null: the reply must fit inline.</param>
    internal ReplyWriter(int inlineBytes, int maxBodyBytes, ReplySegmentPool? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inlineBytes, AppProtocolLimits.MinInlineReplyBytes);
        _inline = (byte*)NativeMemory.AlignedAlloc((nuint)inlineBytes, CacheLine.Size);
        _inlineBytes = inlineBytes;
        _ownsInline = true;
        _pool = pool;
        Begin(0, maxBodyBytes);
    }

    /// <summary>Bytes reserved in front of the body for the protocol's header.</summary>
    internal int HeaderBytes => _headerBytes;

    /// <summary>Bytes of body written.</summary>
    public int WrittenBytes => _bodyBytes;

    /// <summary>The body's bound.</summary>
    public int MaxBodyBytes => _maxBodyBytes;

    /// <summary>True once a write went past <see cref="MaxBodyBytes"/> (or reply memory ran out): the
    /// request fails whatever its handler does next.</summary>
    public bool Overflowed => _overflowed;

    /// <summary>True when the reply took overflow segments, which go back to the pool once it is sent.</summary>
    internal bool HasSegments => _segmentCount > 0;

    /// <summary>Header and body together.</summary>
    internal int TotalBytes => _headerBytes + _bodyBytes;

    /// <summary>Clears the writer for a new request, keeping <paramref name="headerBytes"/> in front.</summary>
    internal void Begin(int headerBytes, int maxBodyBytes)
    {
        ReleaseSegments();
        Debug.Assert(headerBytes <= _inlineBytes - AppProtocolLimits.MinInlineReplyBytes / 2, "the header must leave room for a body");
        _headerBytes = headerBytes;
        _inlineUsed = headerBytes;
        _maxBodyBytes = maxBodyBytes;
        _bodyBytes = 0;
        _overflowed = false;
    }

    /// <summary>Drops what the handler wrote (it failed): the transport sends a failure reply instead.</summary>
    public void Discard() => Begin(_headerBytes, _maxBodyBytes);

    /// <inheritdoc />
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)_bodyBytes + count > _maxBodyBytes)
        {
            Overflow();
        }
        if (_segmentCount == 0)
        {
            if (_inlineUsed + count > _inlineBytes)
            {
                ThrowAdvancedTooFar();
            }
            _inlineUsed += count;
        }
        else
        {
            int last = _segmentCount - 1;
            if (_segmentUsed[last] + count > SegmentCapacity(last))
            {
                ThrowAdvancedTooFar();
            }
            _segmentUsed[last] += count;
        }
        _bodyBytes += count;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        (nint start, int free) = Current();
        if (free >= Math.Max(sizeHint, 1))
        {
            return new Span<byte>((byte*)start, free);
        }
        return GetSpanSlow(sizeHint);
    }

    /// <inheritdoc />
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Span<byte> span = GetSpan(sizeHint);
        fixed (byte* p = span)
        {
            _memory.Reset(p, span.Length);
        }
        return _memory.MemoryOf(span.Length);
    }

    /// <summary>Appends <paramref name="bytes"/>, across segments as needed.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            Span<byte> span = GetSpan(1);
            int n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            Advance(n);
            bytes = bytes[n..];
        }
    }

    /// <summary>The reserved header, in front of the body.</summary>
    internal Span<byte> Header => new(_inline, _headerBytes);

    /// <summary>Pieces of the reply in order, header first: the inline buffer, then each segment.</summary>
    internal int PieceCount => 1 + _segmentCount;

    /// <summary>Piece <paramref name="index"/>: where it starts and how many bytes it holds.</summary>
    internal (nint Start, int Length) Piece(int index) =>
        index == 0 ? ((nint)_inline, _inlineUsed) : (_segments[index - 1], _segmentUsed[index - 1]);

    /// <summary>Copies header and body into <paramref name="destination"/> (a baseline's send buffer,
    /// a test); returns the bytes copied.</summary>
    public int CopyTo(Span<byte> destination)
    {
        int at = 0;
        for (int i = 0; i < PieceCount; i++)
        {
            (nint start, int length) = Piece(i);
            new ReadOnlySpan<byte>((void*)start, length).CopyTo(destination[at..]);
            at += length;
        }
        return at;
    }

    /// <summary>The whole reply as a new array (tests).</summary>
    public byte[] ToArray()
    {
        byte[] bytes = new byte[TotalBytes];
        CopyTo(bytes);
        return bytes;
    }

    /// <summary>Returns overflow segments to the pool.</summary>
    internal void ReleaseSegments()
    {
        for (int i = 0; i < _segmentCount; i++)
        {
            _pool!.Return((byte*)_segments[i], ClassOfSegment(i));
            _segments[i] = 0;
            _segmentUsed[i] = 0;
        }
        _segmentCount = 0;
    }

    /// <summary>Frees the inline buffer of a standalone writer.</summary>
    public void Dispose()
    {
        ReleaseSegments();
        if (_ownsInline)
        {
            NativeMemory.AlignedFree(_inline);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (nint Start, int Free) Current()
    {
        if (_segmentCount == 0)
        {
            return ((nint)(_inline + _inlineUsed), _inlineBytes - _inlineUsed);
        }
        int last = _segmentCount - 1;
        return (_segments[last] + _segmentUsed[last], SegmentCapacity(last) - _segmentUsed[last]);
    }

    /// <summary>Segment i's class: each one doubles, and one asked for more starts at the class that holds it.</summary>
    private int ClassOfSegment(int i) => ReplySegmentPool.ClassOf(SegmentCapacity(i));

    private int SegmentCapacity(int i) => _segmentSizes[i];

    private readonly int[] _segmentSizes = new int[MaxSegments];

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Span<byte> GetSpanSlow(int sizeHint)
    {
        if ((long)_bodyBytes + Math.Max(sizeHint, 1) > _maxBodyBytes)
        {
            Overflow();
        }
        if (_pool is null || _segmentCount == MaxSegments)
        {
            OutOfReplyMemory();
        }
        int size = _segmentCount == 0 ? ReplySegmentPool.MinSegmentBytes : _segmentSizes[_segmentCount - 1] * 2;
        // Never more than the bound can use, never less than the caller asked for.
        size = Math.Max(Math.Min(size, SizeAtLeast(_maxBodyBytes - _bodyBytes)), SizeAtLeast(sizeHint));
        int sizeClass = ReplySegmentPool.ClassOf(size);
        byte* segment = _pool!.TryRent(sizeClass);
        if (segment is null)
        {
            OutOfReplyMemory();
        }
        _segments[_segmentCount] = (nint)segment;
        _segmentUsed[_segmentCount] = 0;
        _segmentSizes[_segmentCount] = ReplySegmentPool.SizeOf(sizeClass);
        _segmentCount++;
        return new Span<byte>(segment, ReplySegmentPool.SizeOf(sizeClass));
    }

    private static int SizeAtLeast(int bytes) => ReplySegmentPool.SizeOf(ReplySegmentPool.ClassOf(Math.Max(bytes, 1)));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Overflow()
    {
        _overflowed = true;
        throw new ReplyTooLargeException(_maxBodyBytes);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OutOfReplyMemory()
    {
        _overflowed = true;
        throw new InsufficientMemoryException("no reply memory left (NetStack:ReplyPoolMegabytes); the request fails");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowAdvancedTooFar() =>
        throw new InvalidOperationException("Advance went past the span GetSpan returned");
}

/// <summary>Sizes the reply machinery depends on.</summary>
internal static class AppProtocolLimits
{
    /// <summary>The smallest inline reply buffer: room for the largest header and a failure reply.</summary>
    public const int MinInlineReplyBytes = 128;
}
