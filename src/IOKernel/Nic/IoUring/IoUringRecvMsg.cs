// A datagram as multishot recvmsg lays it out in a provided buffer: io_uring_recvmsg_out, name, control data, payload.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// A view of one multishot recvmsg completion's buffer, parsed in place. The kernel writes
/// <c>struct io_uring_recvmsg_out</c>, then exactly <c>msg_namelen</c> bytes of room for the
/// address, then <c>msg_controllen</c> bytes for control data, then as much of the payload as fits
/// (the msghdr's lengths are the ones the multishot was armed with, not the address's own length).
/// </summary>
internal readonly ref struct IoUringRecvMsg
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _nameRoom;
    private readonly int _controlRoom;

    private IoUringRecvMsg(ReadOnlySpan<byte> buffer, int nameRoom, int controlRoom)
    {
        _buffer = buffer;
        _nameRoom = nameRoom;
        _controlRoom = controlRoom;
    }

    /// <summary>
    /// Parses the first <c>cqe.Res</c> bytes of a provided buffer. <paramref name="nameRoom"/> and
    /// <paramref name="controlRoom"/> are the armed msghdr's <c>msg_namelen</c> and <c>msg_controllen</c>.
    /// False when the buffer is too short to hold the header and that room (a buffer smaller than the layout).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParse(ReadOnlySpan<byte> buffer, int nameRoom, int controlRoom, out IoUringRecvMsg message)
    {
        if (buffer.Length < Unsafe.SizeOf<IoUringRecvMsgOut>() + nameRoom + controlRoom)
        {
            message = default;
            return false;
        }
        message = new IoUringRecvMsg(buffer, nameRoom, controlRoom);
        return true;
    }

    /// <summary>The header the kernel wrote.</summary>
    public ref readonly IoUringRecvMsgOut Header => ref MemoryMarshal.AsRef<IoUringRecvMsgOut>(_buffer);

    /// <summary>The peer's address: as much of it as the room held.</summary>
    public ReadOnlySpan<byte> Name =>
        _buffer.Slice(Unsafe.SizeOf<IoUringRecvMsgOut>(), (int)Math.Min(Header.NameLen, (uint)_nameRoom));

    /// <summary>The peer as an IPv4 address (valid when the socket is IPv4 and the room is at least 16 bytes).</summary>
    public ref readonly SockAddrIn PeerIPv4 =>
        ref MemoryMarshal.AsRef<SockAddrIn>(_buffer.Slice(Unsafe.SizeOf<IoUringRecvMsgOut>(), Unsafe.SizeOf<SockAddrIn>()));

    /// <summary>Control data (ancillary messages), as much as the room held.</summary>
    public ReadOnlySpan<byte> Control =>
        _buffer.Slice(Unsafe.SizeOf<IoUringRecvMsgOut>() + _nameRoom, (int)Math.Min(Header.ControlLen, (uint)_controlRoom));

    /// <summary>The payload bytes the buffer holds.</summary>
    public ReadOnlySpan<byte> Payload => _buffer[(Unsafe.SizeOf<IoUringRecvMsgOut>() + _nameRoom + _controlRoom)..];

    /// <summary>True when the datagram was longer than the buffer's room for it (MSG_TRUNC): <see cref="Payload"/> is its start only.</summary>
    public bool Truncated => (Header.Flags & NativeIoUring.MsgTrunc) != 0 || Header.PayloadLen > (uint)Payload.Length;
}
