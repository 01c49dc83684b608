// Receive buffers in native memory, by size class and reference-counted: a request's bytes stay where they arrived until it completes.
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using NetStack.Runtime;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// The blocks NICs receive into. A block is named by a handle (an int, carried in
/// <see cref="Arrival.Buffer"/>); every request framed from a block holds a reference to it, so its
/// bytes stay valid, in place and uncopied, until the request completes, and the block returns to
/// its class when the last reference goes. Blocks are native, cache-line aligned, made when a class
/// is first short and kept for reuse; the pool holds at most <see cref="MaxBytes"/>. A class short
/// at the bound takes the memory of other classes' free blocks (<see cref="Reclaim"/>): an overload
/// of small requests can fill the bound with small blocks, and a larger request must still find
/// one once they are free. Past that a rent fails (the NIC then waits, which is backpressure, not
/// loss). IOKernel thread only.
/// </summary>
internal sealed unsafe class ReceiveBufferPool : IDisposable
{
    private readonly int _minShift;
    private readonly int _classes;
    private readonly Stack<int>[] _free;
    private nint[] _pointer = new nint[256];
    private int[] _class = new int[256];
    private int[] _refs = new int[256];
    private readonly int[] _blocksOfClass;
    // Handles whose block was freed to make room in another class, for the next new block.
    private readonly Stack<int> _vacant = new();
    private int _blocks;
    private bool _disposed;

    /// <param name="minBlockBytes">The smallest block (a power of two).</param>
    /// <param name="maxBlockBytes">The largest block (a power of two): the largest request a stream can frame.</param>
    /// <param name="maxBytes">Native bytes the pool may hold, in use and free.</param>
    public ReceiveBufferPool(int minBlockBytes, int maxBlockBytes, long maxBytes)
    {
        if (!BitOperations.IsPow2(minBlockBytes) || !BitOperations.IsPow2(maxBlockBytes) || maxBlockBytes < minBlockBytes)
        {
            throw new ArgumentException("block sizes must be powers of two, the largest at least the smallest");
        }
        _minShift = BitOperations.Log2((uint)minBlockBytes);
        _classes = BitOperations.Log2((uint)maxBlockBytes) - _minShift + 1;
        _free = new Stack<int>[_classes];
        _blocksOfClass = new int[_classes];
        for (int c = 0; c < _classes; c++)
        {
            _free[c] = new Stack<int>();
        }
        MinBlockBytes = minBlockBytes;
        MaxBlockBytes = maxBlockBytes;
        MaxBytes = maxBytes;
    }

    /// <summary>The smallest block.</summary>
    public int MinBlockBytes { get; }

    /// <summary>The largest block.</summary>
    public int MaxBlockBytes { get; }

    /// <summary>The pool's bound.</summary>
    public long MaxBytes { get; }

    /// <summary>Native bytes made so far.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>Bytes in blocks someone holds.</summary>
    public long InUseBytes { get; private set; }

    /// <summary>Blocks someone holds.</summary>
    public int InUseBlocks { get; private set; }

    /// <summary>Free blocks whose memory went to a block of another size (<see cref="Reclaim"/>).</summary>
    public long ReclaimedBlocks { get; private set; }

    /// <summary>A block of at least <paramref name="bytes"/> with one reference, or -1 when none can be had.</summary>
    public int TryRent(int bytes)
    {
        if (bytes > MaxBlockBytes)
        {
            return -1;
        }
        int c = bytes <= MinBlockBytes ? 0 : BitOperations.Log2((uint)(bytes - 1)) + 1 - _minShift;
        int handle;
        if (!_free[c].TryPop(out handle))
        {
            long size = SizeOfClass(c);
            if (AllocatedBytes + size > MaxBytes && !Reclaim(AllocatedBytes + size - MaxBytes, c))
            {
                return -1;
            }
            handle = NewBlock(c, size);
        }
        Debug.Assert(_refs[handle] == 0, "a free block has no references");
        _refs[handle] = 1;
        InUseBytes += SizeOfClass(c);
        InUseBlocks++;
        return handle;
    }

    /// <summary>Where block <paramref name="handle"/> starts.</summary>
    public byte* Pointer(int handle) => (byte*)_pointer[handle];

    /// <summary>Its size.</summary>
    public int Size(int handle) => SizeOfClass(_class[handle]);

    /// <summary>References it has now.</summary>
    public int References(int handle) => _refs[handle];

    /// <summary>One more holder.</summary>
    public void Retain(int handle)
    {
        Debug.Assert(_refs[handle] > 0, "retaining a free block");
        _refs[handle]++;
    }

    /// <summary>One holder fewer; the last one returns the block to its class.</summary>
    public void Release(int handle)
    {
        Debug.Assert(_refs[handle] > 0, "releasing a free block");
        if (--_refs[handle] == 0)
        {
            InUseBytes -= Size(handle);
            InUseBlocks--;
            _free[_class[handle]].Push(handle);
        }
    }

    /// <summary>Frees every block. Only once nothing refers to any.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        for (int i = 0; i < _blocks; i++)
        {
            if (_pointer[i] != 0)
            {
                NativeMemory.AlignedFree((void*)_pointer[i]);
            }
        }
        _blocks = 0;
    }

    private int SizeOfClass(int c) => 1 << (_minShift + c);

    /// <summary>
    /// Frees other classes' free blocks, largest class first (fewest frees), until
    /// <paramref name="bytes"/> have gone; false, freeing nothing, when their free blocks together
    /// hold less. Their handles are kept for the blocks made next.
    /// </summary>
    private bool Reclaim(long bytes, int forClass)
    {
        long free = 0;
        for (int d = 0; d < _classes; d++)
        {
            if (d != forClass)
            {
                free += (long)_free[d].Count * SizeOfClass(d);
            }
        }
        if (free < bytes)
        {
            return false;
        }
        using PoolGrowth.Scope growth = PoolGrowth.Measure();
        for (int d = _classes - 1; d >= 0 && bytes > 0; d--)
        {
            while (d != forClass && bytes > 0 && _free[d].TryPop(out int handle))
            {
                NativeMemory.AlignedFree((void*)_pointer[handle]);
                _pointer[handle] = 0;
                _blocksOfClass[d]--;
                AllocatedBytes -= SizeOfClass(d);
                bytes -= SizeOfClass(d);
                _vacant.Push(handle);
                ReclaimedBlocks++;
            }
        }
        return true;
    }

    private int NewBlock(int c, long size)
    {
        using PoolGrowth.Scope growth = PoolGrowth.Measure();
        // Room in the class's free stack for every block it has, so that a release never grows it.
        _free[c].EnsureCapacity(++_blocksOfClass[c]);
        if (_vacant.TryPop(out int handle))
        {
            _pointer[handle] = (nint)NativeMemory.AlignedAlloc((nuint)size, CacheLine.Size);
            _class[handle] = c;
            AllocatedBytes += size;
            return handle;
        }
        if (_blocks == _pointer.Length)
        {
            Array.Resize(ref _pointer, _blocks * 2);
            Array.Resize(ref _class, _blocks * 2);
            Array.Resize(ref _refs, _blocks * 2);
        }
        handle = _blocks++;
        _pointer[handle] = (nint)NativeMemory.AlignedAlloc((nuint)size, CacheLine.Size);
        _class[handle] = c;
        AllocatedBytes += size;
        return handle;
    }
}
