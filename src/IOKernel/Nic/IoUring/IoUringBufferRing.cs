// A provided-buffer ring: buffers the kernel picks from as data arrives, handed back in batches with one tail store per loop.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// A registered provided-buffer ring (IORING_REGISTER_PBUF_RING) and its buffers, all in native
/// memory allocated once and freed by the owning <see cref="IoUringRing"/>'s Dispose. The kernel
/// takes a buffer from the head for each receive completion and names it in the CQE; the poller
/// hands it back with <see cref="Recycle"/> once done with the bytes, and <see cref="Publish"/>
/// makes every buffer recycled since the last call visible to the kernel with one store. Used by
/// the ring's single issuer only.
/// </summary>
/// <remarks>
/// A buffer belongs to the kernel from the moment it is published until a CQE names it, and to the
/// poller from then until it is recycled. Recycling a buffer twice, or one the poller does not hold,
/// would hand the kernel a buffer in use: the DEBUG build tracks ownership and asserts.
/// <para>
/// With external buffers (<see cref="IoUringRing.RegisterExternalBufferRing"/>) the ring owns no
/// buffer memory: each id is given an address with <see cref="Provide"/>, and may be given another
/// each time it comes back. A NIC backs the ids with its receive-pool blocks this way, so a block
/// that became a request stays with the request while its id goes back to the kernel at once with
/// a fresh block.
/// </para>
/// </remarks>
internal sealed unsafe class IoUringBufferRing
{
    private readonly IoUringBuf* _ring;
    private readonly nuint _ringBytes;
    private readonly byte* _buffers;
    private readonly nint[]? _addresses;
    private readonly ushort _mask;
    private ushort _tail;
    private ushort _publishedTail;
#if DEBUG
    private readonly bool[] _heldByPoller;
#endif

    internal IoUringBufferRing(ushort group, int count, int bufferBytes, bool external = false)
    {
        Group = group;
        Count = count;
        BufferBytes = bufferBytes;
        _mask = (ushort)(count - 1);
        // The kernel requires the ring itself to start on a page.
        nuint page = (nuint)Environment.SystemPageSize;
        _ringBytes = ((nuint)(count * sizeof(IoUringBuf)) + page - 1) / page * page;
        _ring = (IoUringBuf*)NativeMemory.AlignedAlloc(_ringBytes, page);
        NativeMemory.Clear(_ring, _ringBytes);
        if (external)
        {
            _addresses = new nint[count];
        }
        else
        {
            // Page-aligned too, so each buffer starts on a cache line whatever its size's alignment.
            _buffers = (byte*)NativeMemory.AlignedAlloc((nuint)count * (nuint)bufferBytes, page);
        }
#if DEBUG
        _heldByPoller = new bool[count];
        // External ids start with the poller: none has an address until it is provided.
        Array.Fill(_heldByPoller, external);
#endif
    }

    /// <summary>True when the ids are backed by memory the caller provides (<see cref="Provide"/>).</summary>
    public bool IsExternal => _addresses is not null;

    /// <summary>The buffer group id a receive names in <see cref="IoUringSqe.BufGroup"/>.</summary>
    public ushort Group { get; }

    /// <summary>Buffers in the ring (a power of two).</summary>
    public int Count { get; }

    /// <summary>Bytes per buffer.</summary>
    public int BufferBytes { get; }

    /// <summary>Buffers recycled and not yet published.</summary>
    public int Unpublished => (ushort)(_tail - _publishedTail);

    /// <summary>Where the ring's entries start: the address registered with the kernel.</summary>
    internal IoUringBuf* RingAddress => _ring;

    /// <summary>Buffer <paramref name="id"/>'s first <paramref name="length"/> bytes (from a CQE's result).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Buffer(ushort id, int length)
    {
        Debug.Assert(id < Count && (uint)length <= (uint)BufferBytes);
        return new Span<byte>(BufferAddress(id), length);
    }

    /// <summary>Buffer <paramref name="id"/>'s start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* BufferAddress(ushort id) => _addresses is null ? _buffers + (nint)id * BufferBytes : (byte*)_addresses[id];

    /// <summary>Records that a CQE handed buffer <paramref name="id"/> to the poller (DEBUG ownership check only).</summary>
    [Conditional("DEBUG")]
    public void OnDelivered(ushort id)
    {
#if DEBUG
        Debug.Assert(!_heldByPoller[id], $"buffer {id} of group {Group} delivered while the poller still holds it");
        _heldByPoller[id] = true;
#endif
    }

    /// <summary>Hands buffer <paramref name="id"/> back; the kernel sees it at the next <see cref="Publish"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Recycle(ushort id)
    {
#if DEBUG
        Debug.Assert(_heldByPoller[id], $"buffer {id} of group {Group} recycled but not held by the poller");
        _heldByPoller[id] = false;
#endif
        AddEntry(id);
    }

    /// <summary>
    /// Hands id <paramref name="id"/> back backed by <paramref name="address"/>, at least
    /// <see cref="BufferBytes"/> long (external buffers only); the kernel sees it at the next
    /// <see cref="Publish"/> and may write into it from then until a CQE names the id again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Provide(ushort id, byte* address)
    {
        Debug.Assert(_addresses is not null, "Provide is for external buffers");
#if DEBUG
        Debug.Assert(_heldByPoller[id], $"buffer {id} of group {Group} provided but not held by the poller");
        _heldByPoller[id] = false;
#endif
        _addresses![id] = (nint)address;
        AddEntry(id);
    }

    /// <summary>
    /// Publishes every buffer recycled since the last call with one store of the ring's tail. Call
    /// once per loop, before the loop's io_uring_enter. Returns true when it published anything.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Publish()
    {
        if (_tail == _publishedTail)
        {
            return false;
        }
        // Release: the entries AddEntry wrote are visible to the kernel before the tail that hands them over.
        Volatile.Write(ref *(ushort*)((byte*)_ring + IoUringBuf.RingTailOffset), _tail);
        _publishedTail = _tail;
        return true;
    }

    /// <summary>Puts every buffer in the ring and publishes them: called once, just after registration.</summary>
    internal void FillAndPublish()
    {
        for (int id = 0; id < Count; id++)
        {
            AddEntry((ushort)id);
        }
        Publish();
    }

    /// <summary>Frees the ring and the buffers; only after the kernel let go of them (unregistered, or the ring closed).</summary>
    internal void FreeMemory()
    {
        NativeMemory.AlignedFree(_ring);
        if (_buffers is not null)
        {
            NativeMemory.AlignedFree(_buffers);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AddEntry(ushort id)
    {
        ref IoUringBuf entry = ref _ring[_tail & _mask];
        // Field by field, never Resv: entry 0's Resv is the ring's tail, which only Publish may write.
        entry.Addr = (ulong)BufferAddress(id);
        entry.Len = (uint)BufferBytes;
        entry.Bid = id;
        _tail++;
    }
}
