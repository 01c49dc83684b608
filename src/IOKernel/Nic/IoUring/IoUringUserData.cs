// user_data packing: what a completion is for (kind), which object (index) and which incarnation of it (tag), in 64 bits.
using System.Runtime.CompilerServices;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// Packs a completion's routing into an SQE's user_data, so the poller finds what a CQE is for with
/// shifts and no lookup table: bits 63-56 the kind (receive on a queue, accept, send slot, close…,
/// chosen by the backend), bits 55-32 a 24-bit tag (say, a connection's generation, so a late
/// completion for a recycled connection slot is recognised), bits 31-0 the index (socket, slot,
/// connection). Kind <see cref="RingKind"/> is the ring's own.
/// </summary>
internal static class IoUringUserData
{
    /// <summary>The kind the ring uses for its own requests (the teardown cancel); backends use 0-254.</summary>
    public const byte RingKind = 0xFF;

    /// <summary>Tags are 24 bits.</summary>
    public const uint MaxTag = (1u << 24) - 1;

    /// <summary>Packs <paramref name="kind"/>, <paramref name="index"/> and the low 24 bits of <paramref name="tag"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pack(byte kind, uint index, uint tag = 0) =>
        ((ulong)kind << 56) | ((ulong)(tag & MaxTag) << 32) | index;

    /// <summary>The kind of <paramref name="userData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Kind(ulong userData) => (byte)(userData >> 56);

    /// <summary>The 24-bit tag of <paramref name="userData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Tag(ulong userData) => (uint)(userData >> 32) & MaxTag;

    /// <summary>The index of <paramref name="userData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Index(ulong userData) => (uint)userData;
}
