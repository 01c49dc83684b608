// libc's stream calls the TCP NIC polls with (epoll, accept4, recv, sendmsg) and the Linux x86-64 structs they take.
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic;

/// <summary><c>struct epoll_event</c>: packed on x86-64, 12 bytes (a u32 of events, then a u64 of data).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEvent
{
    /// <summary>EPOLLIN, EPOLLOUT, ...</summary>
    public uint Events;
    /// <summary>What the caller registered with the descriptor (our connection or listener index).</summary>
    public ulong Data;
}

/// <summary>A file descriptor that closes itself: every descriptor the TCP NIC opens is one of these.</summary>
internal sealed class FileDescriptor : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/>.</summary>
    public FileDescriptor(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc />
    public override bool IsInvalid => handle == -1;

    /// <summary>The descriptor's number.</summary>
    public int Number => (int)handle;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => NativeTcp.Close((int)handle) == 0;
}

/// <summary>The named results of the calls below: errno is turned into one of these at the boundary.</summary>
internal enum IoResult
{
    /// <summary>It moved bytes (or accepted).</summary>
    Done,
    /// <summary>Nothing to do now (EAGAIN).</summary>
    WouldBlock,
    /// <summary>The peer closed its side (a read of 0 bytes).</summary>
    EndOfStream,
    /// <summary>The peer reset the connection (ECONNRESET, EPIPE).</summary>
    Reset,
    /// <summary>The process or system is out of descriptors (EMFILE, ENFILE).</summary>
    OutOfDescriptors,
    /// <summary>Anything else: the connection is unusable.</summary>
    Failed,
}

/// <summary>The libc entry points, each one system call. The IOKernel makes them without blocking:
/// every descriptor is non-blocking, and epoll_wait is called with a zero timeout.</summary>
internal static unsafe partial class NativeTcp
{
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    /// <summary>Edge-triggered: an event when readiness changes, not every poll while it lasts. The NIC
    /// remembers readiness itself (it reads until EAGAIN, or keeps a backpressured connection marked).</summary>
    public const uint EpollEt = 1u << 31;
    public const int EpollCtlAdd = 1;
    public const int EpollCtlDel = 2;
    public const int EpollCloexec = 0x80000;
    public const int SockNonBlock = 0x800;
    public const int SockCloexec = 0x80000;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;
    /// <summary>sendmsg: no SIGPIPE on a peer that went away, just EPIPE.</summary>
    public const int MsgNoSignal = 0x4000;
    public const int MsgDontWait = 0x40;
    public const int ShutWrite = 1;

    private const int EAgain = 11;
    private const int EIntr = 4;
    private const int EPipe = 32;
    private const int EConnReset = 104;
    private const int EConnAborted = 103;
    private const int EMFile = 24;
    private const int ENFile = 23;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc", EntryPoint = "accept4", SetLastError = true)]
    private static partial int Accept4(int fd, SockAddr* addr, uint* addrlen, int flags);

    [LibraryImport("libc", EntryPoint = "getpeername", SetLastError = true)]
    private static partial int GetPeerName(int fd, SockAddr* addr, uint* addrlen);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static partial nint Recv(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int SetSockOpt(int fd, int level, int name, int* value, uint length);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>Accepts one connection, non-blocking; <paramref name="fd"/> is -1 unless Done.</summary>
    public static IoResult Accept(int listener, out int fd, out SockAddr peer)
    {
        SockAddr addr = default;
        uint length = SockAddr.Size;
        fd = Accept4(listener, &addr, &length, SockNonBlock | SockCloexec);
        peer = addr;
        if (fd >= 0)
        {
            return IoResult.Done;
        }
        return Marshal.GetLastPInvokeError() switch
        {
            EAgain or EIntr or EConnAborted => IoResult.WouldBlock,
            EMFile or ENFile => IoResult.OutOfDescriptors,
            _ => IoResult.Failed,
        };
    }

    /// <summary>The peer of a connected socket (for a connection accepted without its address, as io_uring's
    /// multishot accept does); false when the connection is already gone.</summary>
    public static bool PeerOf(int fd, out SockAddr peer)
    {
        SockAddr addr = default;
        uint length = SockAddr.Size;
        bool ok = GetPeerName(fd, &addr, &length) == 0;
        peer = addr;
        return ok;
    }

    /// <summary>Reads what is there, up to <paramref name="length"/> bytes, without waiting.</summary>
    public static IoResult Receive(int fd, byte* buffer, int length, out int received)
    {
        nint r = Recv(fd, buffer, length, MsgDontWait);
        received = r > 0 ? (int)r : 0;
        if (r > 0)
        {
            return IoResult.Done;
        }
        return r == 0 ? IoResult.EndOfStream : Classify(Marshal.GetLastPInvokeError());
    }

    /// <summary>Writes a gather list (several replies at once), without waiting; <paramref name="sent"/>
    /// may be less than asked (the socket's buffer filled).</summary>
    public static IoResult Send(int fd, IoVec* iov, int count, out long sent)
    {
        MsgHdr msg = default;
        msg.Iov = iov;
        msg.IovLength = (nuint)count;
        nint r = SendMsg(fd, &msg, MsgNoSignal | MsgDontWait);
        sent = r > 0 ? r : 0;
        return r >= 0 ? IoResult.Done : Classify(Marshal.GetLastPInvokeError());
    }

    /// <summary>Turns Nagle off: replies are batched by the IOKernel already, and a reply held back
    /// for an acknowledgement costs the client tens of milliseconds.</summary>
    public static void NoDelay(int fd)
    {
        int one = 1;
        SetSockOpt(fd, IpProtoTcp, TcpNoDelay, &one, sizeof(int));
    }

    private static IoResult Classify(int errno) => errno switch
    {
        EAgain or EIntr => IoResult.WouldBlock,
        EPipe or EConnReset => IoResult.Reset,
        _ => IoResult.Failed,
    };
}
