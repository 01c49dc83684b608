// Prep helpers: fill a zeroed SQE (from IoUringRing.GetSqe) for each operation a NIC backend submits.
using System.Runtime.CompilerServices;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// Fills an SQE for one operation. The SQE comes zeroed from <see cref="IoUringRing.GetSqe"/>, so
/// each helper sets only what its operation reads. Memory an SQE points at (msghdr, iovecs,
/// payloads, addresses) must stay valid until the operation's last completion; the msghdr of a
/// multishot recvmsg is copied when the SQE is submitted, but NIC backends keep theirs for the ring's
/// lifetime anyway, allocated once.
/// </summary>
internal static unsafe class IoUringPrep
{
    /// <summary>A no-op: completes with res 0. Used to test the ring and to wake nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Nop(ref IoUringSqe sqe, ulong userData)
    {
        sqe.Opcode = IoUringOp.Nop;
        sqe.Fd = -1;
        sqe.UserData = userData;
    }

    /// <summary>
    /// Multishot recvmsg into provided buffers (UDP; 6.0): one submission, a CQE per datagram, each
    /// naming the buffer it filled with <see cref="IoUringRecvMsgOut"/>, the peer's address and the
    /// payload (parse with <see cref="IoUringRecvMsg.TryParse"/>). <paramref name="msg"/> gives only the
    /// room for the name and control data (<c>msg_namelen</c>, <c>msg_controllen</c>); its pointers and
    /// iovecs are unused. A CQE without <see cref="IoUringCqeFlags.More"/> ends it (ENOBUFS when the
    /// buffer ring ran dry, a CQ overflow, a cancel): submit it again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecvMsgMultishot(ref IoUringSqe sqe, int fd, MsgHdr* msg, ushort bufferGroup, ulong userData)
    {
        sqe.Opcode = IoUringOp.RecvMsg;
        sqe.Fd = fd;
        sqe.Addr = (ulong)msg;
        sqe.Len = 1;
        sqe.IoPrio = IoUringIoPrio.RecvMultishot;
        sqe.Flags = IoUringSqeFlags.BufferSelect;
        sqe.BufGroup = bufferGroup;
        sqe.UserData = userData;
    }

    /// <summary>sendmsg (a UDP reply: the peer in <c>msg_name</c>, the bytes in <c>msg_iov</c>). Completes with the bytes sent or an error.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SendMsg(ref IoUringSqe sqe, int fd, MsgHdr* msg, uint msgFlags, ulong userData)
    {
        sqe.Opcode = IoUringOp.SendMsg;
        sqe.Fd = fd;
        sqe.Addr = (ulong)msg;
        sqe.Len = 1;
        sqe.MsgFlags = msgFlags;
        sqe.UserData = userData;
    }

    /// <summary>
    /// Multishot accept (TCP; 5.19): one submission, a CQE per connection whose result is the new
    /// descriptor (created with <paramref name="acceptFlags"/>: <see cref="NativeIoUring.SockNonBlock"/>,
    /// <see cref="NativeIoUring.SockCloExec"/>). The peer's address is not collected: one shared
    /// address buffer would be overwritten by the next connection before the poller read it
    /// (getpeername gives it when wanted).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AcceptMultishot(ref IoUringSqe sqe, int listenFd, uint acceptFlags, ulong userData)
    {
        sqe.Opcode = IoUringOp.Accept;
        sqe.Fd = listenFd;
        sqe.IoPrio = IoUringIoPrio.AcceptMultishot;
        sqe.AcceptFlags = acceptFlags;
        sqe.UserData = userData;
    }

    /// <summary>
    /// Multishot recv into provided buffers (TCP; 6.0): a CQE per arrival of bytes, res the byte
    /// count in the named buffer; res 0 without <see cref="IoUringCqeFlags.More"/> is the peer's end of stream.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RecvMultishot(ref IoUringSqe sqe, int fd, ushort bufferGroup, ulong userData)
    {
        sqe.Opcode = IoUringOp.Recv;
        sqe.Fd = fd;
        // len 0: each receive may fill a whole provided buffer (a multishot recv must not fix a length).
        sqe.Len = 0;
        sqe.IoPrio = IoUringIoPrio.RecvMultishot;
        sqe.Flags = IoUringSqeFlags.BufferSelect;
        sqe.BufGroup = bufferGroup;
        sqe.UserData = userData;
    }

    /// <summary>send of one buffer. A TCP send may be short: the CQE's result is what went.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Send(ref IoUringSqe sqe, int fd, void* buffer, uint length, uint msgFlags, ulong userData)
    {
        sqe.Opcode = IoUringOp.Send;
        sqe.Fd = fd;
        sqe.Addr = (ulong)buffer;
        sqe.Len = length;
        sqe.MsgFlags = msgFlags;
        sqe.UserData = userData;
    }

    /// <summary>writev of <paramref name="count"/> iovecs (several replies to one connection in one operation; may be short on TCP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Writev(ref IoUringSqe sqe, int fd, IoVec* iov, uint count, ulong userData)
    {
        sqe.Opcode = IoUringOp.Writev;
        sqe.Fd = fd;
        sqe.Addr = (ulong)iov;
        sqe.Len = count;
        // Offset -1: "the current position"; a socket has none, so the kernel writes with no position, as writev(2) does.
        sqe.Off = ulong.MaxValue;
        sqe.UserData = userData;
    }

    /// <summary>close of a descriptor the caller owns and has stopped using (its SafeHandle must be released first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Close(ref IoUringSqe sqe, int fd, ulong userData)
    {
        sqe.Opcode = IoUringOp.Close;
        sqe.Fd = fd;
        sqe.UserData = userData;
    }

    /// <summary>Cancels the request submitted with <paramref name="target"/> as its user_data (a multishot
    /// then completes with ECANCELED and no More flag). The cancel's own CQE: 0, or ENOENT, or EALREADY.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CancelUserData(ref IoUringSqe sqe, ulong target, ulong userData)
    {
        sqe.Opcode = IoUringOp.AsyncCancel;
        sqe.Fd = -1;
        sqe.Addr = target;
        sqe.UserData = userData;
    }

    /// <summary>Cancels every request on descriptor <paramref name="fd"/> (a connection that is going away);
    /// the cancel's CQE counts them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CancelFd(ref IoUringSqe sqe, int fd, ulong userData)
    {
        sqe.Opcode = IoUringOp.AsyncCancel;
        sqe.Fd = fd;
        sqe.CancelFlags = (uint)(IoUringCancelFlags.Fd | IoUringCancelFlags.All);
        sqe.UserData = userData;
    }

    /// <summary>Cancels every request in flight (teardown); the cancel's CQE counts them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CancelAny(ref IoUringSqe sqe, ulong userData)
    {
        sqe.Opcode = IoUringOp.AsyncCancel;
        sqe.Fd = -1;
        sqe.CancelFlags = (uint)(IoUringCancelFlags.Any | IoUringCancelFlags.All);
        sqe.UserData = userData;
    }
}
