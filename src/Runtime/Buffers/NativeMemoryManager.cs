// A Memory<byte> over native memory, reused: request and reply bytes live outside the GC heap.
using System.Buffers;

namespace NetStack.Runtime.Buffers;

/// <summary>
/// Wraps a native block as <see cref="Memory{T}"/> without allocating per use: the owner points it
/// at a new block with <see cref="Reset"/>. A <see cref="Memory{T}"/> taken from it is valid until
/// the next <see cref="Reset"/>, which is what the request and reply APIs promise (valid until the
/// request completes, or until the next GetMemory).
/// </summary>
internal sealed unsafe class NativeMemoryManager : MemoryManager<byte>
{
    private byte* _pointer;
    private int _length;

    /// <summary>Points the manager at <paramref name="length"/> bytes at <paramref name="pointer"/>.</summary>
    public void Reset(byte* pointer, int length)
    {
        _pointer = pointer;
        _length = length;
    }

    /// <summary>The block as memory.</summary>
    public Memory<byte> MemoryOf(int length) => CreateMemory(length);

    /// <inheritdoc />
    public override Span<byte> GetSpan() => new(_pointer, _length);

    /// <inheritdoc />
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    /// <inheritdoc />
    public override void Unpin()
    {
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
    }
}
