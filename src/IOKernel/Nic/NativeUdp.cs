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

/// <summary><c>struct sockaddr_in</c> (16 bytes). Port and address stay in network byte order: they
/// only travel from a received datagram into a token and back into a reply, never interpreted.</summary>
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

/// <summary>The libc entry points. Both calls move a whole batch in one system call, which is
/// what makes one IOKernel core enough for a NIC queue (PLATFORM.md: ~1.65 M datagrams/s).</summary>
internal static unsafe partial class NativeUdp
{
    /// <summary>AF_INET.</summary>
    public const ushort AfInet = 2;
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
