// Cache-line sizes and padded cells for anything two cores write.
using System.Runtime.InteropServices;

namespace NetStack.Runtime;

/// <summary>Cache-line geometry. Every padded type keeps its hot fields at least
/// <see cref="Size"/> bytes from anything another core writes; a unit test checks the offsets.</summary>
internal static class CacheLine
{
    /// <summary>One x86-64 / ARM64 cache line.</summary>
    public const int Size = 64;

    /// <summary>Two lines: the adjacent-line prefetcher pulls lines in pairs, so a padded cell
    /// spans 128 bytes and keeps its value in the second line.</summary>
    public const int PaddedSize = 2 * Size;

    /// <summary>
    /// Asks for the first <paramref name="lines"/> cache lines of <paramref name="o"/>'s object (its
    /// header and first fields) ahead of use, so that misses on lines another core wrote are issued
    /// together instead of one after another. A hint: if the collector moves the object meanwhile,
    /// nothing is wrong, only unhelped; without SSE it does nothing.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch(object o, int lines)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            byte* p = (byte*)System.Runtime.CompilerServices.Unsafe.As<object, nint>(ref o);
            for (int i = 0; i < lines; i++)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + i * Size);
            }
        }
    }
}

/// <summary>A long alone on its cache line: <see cref="Value"/> sits 64 bytes into a 128-byte cell.</summary>
[StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
internal struct PaddedLong
{
    /// <summary>The value.</summary>
    [FieldOffset(CacheLine.Size)] public long Value;
}
