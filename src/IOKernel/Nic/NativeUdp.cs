// libc's batched datagram calls (recvmmsg, sendmmsg) and the Linux x86-64 structs they take.
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic;

/// <summary><c>struct iovec</c>: one buffer of a scatter/gather list (16 bytes on x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    /// <summary>Start of the buffer.</summary>
    public void* Base;
    /// <summary>Its length in bytes.</summary>
    public nuint Length;
}

/// <summary><c>struct msghdr</c> (56 bytes on x86-64: the int after <c>msg_namelen</c> and after
/// <c>msg_flags</c> are padding the compiler inserts, which Sequential layout reproduces).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    /// <summary>Peer address: written by the kernel on receive, read on send.</summary>
    public void* Name;
    /// <summary>Size of <see cref="Name"/>; the kernel overwrites it on receive, so it is reset before each call.</summary>
    public uint NameLength;
    /// <summary>The scatter/gather list.</summary>
    public IoVec* Iov;
    /// <summary>Entries in <see cref="Iov"/>.</summary>
    public nuint IovLength;
    /// <summary>Ancillary data (unused).</summary>
    public void* Control;
    /// <summary>Size of <see cref="Control"/>.</summary>
    public nuint ControlLength;
    /// <summary>Flags the kernel reports on receive (MSG_TRUNC).</summary>
    public int Flags;
}

/// <summary><c>struct mmsghdr</c>: one message of a batch and the bytes it moved (64 bytes on x86-64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MMsgHdr
{
    /// <summary>The message.</summary>
    public MsgHdr Header;
    /// <summary>Bytes received or sent for this message.</summary>
    public uint Length;
}

/// <summary><c>struct sockaddr_in</c> (16 bytes): an IPv4 peer, for code that only speaks IPv4 (the io_uring probe and tests).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockAddrIn
{
    /// <summary>AF_INET.</summary>
    public ushort Family;
    /// <summary>Port, network byte order.</summary>
    public ushort Port;
    /// <summary>IPv4 address, network byte order.</summary>
    public uint Address;
    /// <summary>sin_zero.</summary>
    public ulong Zero;
}

/// <summary>
/// <c>struct sockaddr_in</c> or <c>struct sockaddr_in6</c>, in the 28 bytes of the larger: the kernel
/// writes either into a receive slot, and a reply names the family it was given. Address and port
/// stay in network byte order: they travel from a received datagram to its reply uninterpreted.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct SockAddr
{
    /// <summary>sizeof(struct sockaddr_in6).</summary>
    public const int Size = 28;

    /// <summary>sizeof(struct sockaddr_in).</summary>
    public const int SizeIn = 16;

    /// <summary>AF_INET or AF_INET6.</summary>
    [FieldOffset(0)] public ushort Family;
    /// <summary>Port, network byte order (both families).</summary>
    [FieldOffset(2)] public ushort Port;
    /// <summary>IPv4: the address, network byte order.</summary>
    [FieldOffset(4)] public uint Address;
    /// <summary>IPv6: sin6_flowinfo.</summary>
    [FieldOffset(4)] public uint FlowInfo;
    /// <summary>IPv6: the first 8 address bytes.</summary>
    [FieldOffset(8)] public ulong Address6High;
    /// <summary>IPv6: the last 8 address bytes.</summary>
    [FieldOffset(16)] public ulong Address6Low;
    /// <summary>IPv6: sin6_scope_id.</summary>
    [FieldOffset(24)] public uint ScopeId;

    /// <summary>The length a send must pass for this family.</summary>
    public readonly uint Length => Family == NativeUdp.AfInet6 ? (uint)Size : SizeIn;

    /// <summary>The peer as a handler sees it.</summary>
    public readonly unsafe NetStack.Runtime.Scheduling.PeerAddress ToPeer()
    {
        if (Family == NativeUdp.AfInet6)
        {
            Span<byte> bytes = stackalloc byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, Address6High);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], Address6Low);
            return NetStack.Runtime.Scheduling.PeerAddress.FromIPv6(bytes, Port);
        }
        return NetStack.Runtime.Scheduling.PeerAddress.FromIPv4(Address, Port);
    }

    /// <summary>The socket address of a peer (for a reply to it).</summary>
    public static SockAddr FromPeer(in NetStack.Runtime.Scheduling.PeerAddress peer)
    {
        var a = new SockAddr { Port = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(peer.Port) };
        if (peer.Family == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            a.Family = NativeUdp.AfInet6;
            Span<byte> bytes = stackalloc byte[16];
            peer.WriteIPv6(bytes);
            a.Address6High = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            a.Address6Low = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        }
        else
        {
            a.Family = NativeUdp.AfInet;
            a.Address = peer.IPv4NetworkOrder;
        }
        return a;
    }
}

/// <summary>The libc entry points. Both calls move a whole batch in one system call, which is
/// what makes one IOKernel core enough for a NIC queue (PLATFORM.md: ~1.65 M datagrams/s).</summary>
internal static unsafe partial class NativeUdp
{
    /// <summary>AF_INET.</summary>
    public const ushort AfInet = 2;
    /// <summary>AF_INET6.</summary>
    public const ushort AfInet6 = 10;
    /// <summary>Return at once instead of blocking: the IOKernel polls.</summary>
    public const int MsgDontWait = 0x40;
    /// <summary>In <see cref="MsgHdr.Flags"/>: the datagram was longer than the buffer.</summary>
    public const int MsgTrunc = 0x20;
    /// <summary>Nothing to receive, or no room to send, right now.</summary>
    public const int EAgain = 11;
    /// <summary>Interrupted by a signal before anything moved.</summary>
    public const int EIntr = 4;
    /// <summary>The kernel ran out of buffer space for a send.</summary>
    public const int ENoBufs = 105;
    /// <summary>SOL_SOCKET.</summary>
    public const int SolSocket = 1;
    /// <summary>SO_REUSEPORT: several sockets on one port, the kernel spreading flows across them (one per NIC queue).</summary>
    public const int SoReusePort = 15;

    /// <summary>Receives up to <paramref name="vlen"/> datagrams; -1 with errno EAGAIN when none waits.</summary>
    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(int fd, MMsgHdr* msgvec, uint vlen, int flags, void* timeout);

    /// <summary>Sends up to <paramref name="vlen"/> datagrams; returns how many went, or -1 when the first failed.</summary>
    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(int fd, MMsgHdr* msgvec, uint vlen, int flags);
}
