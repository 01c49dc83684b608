// One TCP connection as the IOKernel keeps it: its unframed bytes, its reorder window of replies, its fate.
using System.Runtime.InteropServices;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>Where a reply slot of the reorder window is.</summary>
internal enum SlotState : byte
{
    /// <summary>Unused.</summary>
    Empty,
    /// <summary>Its request was framed and is being served.</summary>
    Pending,
    /// <summary>Its reply is ready: a green thread's, or a short one in the slot's own bytes.</summary>
    Ready,
}

/// <summary>Where an io_uring connection's multishot receive is.</summary>
internal enum ReceiveState : byte
{
    /// <summary>None in the kernel (not yet armed, or its last completion came).</summary>
    Idle,
    /// <summary>Armed: completions bring bytes until one comes without IORING_CQE_F_MORE.</summary>
    Armed,
    /// <summary>A cancel was asked for; its last completion is still to come.</summary>
    Cancelling,
}

/// <summary>
/// The state of one connection, used by the IOKernel thread only. Requests are numbered in the
/// order they were framed; each takes the slot of its number in the reorder window, and replies
/// leave from the head of the window in that order, however their requests completed (preempted,
/// on several workers, detached). A connection object is reused after its descriptor is closed and
/// every request it admitted has come back.
/// </summary>
internal sealed unsafe class TcpConnection : IDisposable
{
    private readonly byte* _failureBytes;

    /// <param name="index">Its index in the NIC's table.</param>
    /// <param name="window">The reorder window (a power of two).</param>
    /// <param name="sendIov">Gather-list entries of its own (with a msghdr), for writes that outlive the
    /// call that makes them (io_uring); 0: none.</param>
    public TcpConnection(int index, int window, int sendIov = 0)
    {
        Index = index;
        Threads = new GreenThread?[window];
        States = new SlotState[window];
        FailureLength = new byte[window];
        CloseAfter = new bool[window];
        Mask = window - 1;
        _failureBytes = (byte*)NativeMemory.AlignedAlloc((nuint)(window * AppProtocol.MaxFailureReplyBytes), 64);
        if (sendIov > 0)
        {
            SendIov = (IoVec*)NativeMemory.AlignedAlloc((nuint)(sendIov * sizeof(IoVec)), 64);
            SendMsg = (MsgHdr*)NativeMemory.AlignedAlloc((nuint)sizeof(MsgHdr), 64);
            NativeMemory.Clear(SendMsg, (nuint)sizeof(MsgHdr));
        }
    }

    /// <summary>Its index in the NIC's table (the high half of its requests' tokens).</summary>
    public int Index { get; }

    // ---- identity, set when accepted ----
    /// <summary>Its socket's descriptor, owned by the connection until <see cref="CloseFd"/> (-1: none).
    /// A number, not a SafeHandle: a connection object is reused, and a handle per accept would be an
    /// allocation per connection on the IOKernel thread. The NIC's Dispose closes what is still open.</summary>
    public int FdNumber = -1;

    /// <summary>True while it holds an open descriptor.</summary>
    public bool HasFd => FdNumber >= 0;

    /// <summary>Closes its descriptor, if it holds one (closing also takes it out of an epoll set).</summary>
    public void CloseFd()
    {
        if (FdNumber >= 0)
        {
            NativeTcp.Close(FdNumber);
            FdNumber = -1;
        }
    }
    public int Listener;
    public long Serial;
    public PeerAddress Peer;
    public int LocalPort;
    public uint FlowHash;
    public ulong FramerState;

    // ---- the read side ----
    /// <summary>The receive block, or -1: an idle connection holds none.</summary>
    public int Block = -1;
    /// <summary>Unframed bytes are [Start, End) of the block.</summary>
    public int Start;
    public int End;
    /// <summary>Bytes still to discard (a frame's SkipAfter).</summary>
    public long Skip;
    /// <summary>The length the framer said the request at <see cref="Start"/> needs (its last Incomplete hint; 0: unknown).</summary>
    public int NeedBytes;
    /// <summary>The socket may have bytes (an edge was seen and no read has hit EAGAIN since).</summary>
    public bool Readable;
    /// <summary>The peer closed its side: no more bytes will come.</summary>
    public bool PeerClosed;
    /// <summary>Read no more; close once every admitted request is answered on the wire.</summary>
    public bool Closing;
    /// <summary>The descriptor is closed; the object waits for its in-flight requests to come back.</summary>
    public bool Closed;
    /// <summary>In the NIC's ready list.</summary>
    public bool InReadyList;
    /// <summary>Paused because a bound was reached (counted once per pause).</summary>
    public bool Backpressured;

    // ---- the write side: the reorder window ----
    public readonly GreenThread?[] Threads;
    public readonly SlotState[] States;
    public readonly byte[] FailureLength;
    public readonly bool[] CloseAfter;
    public readonly int Mask;
    /// <summary>The next request's number.</summary>
    public uint NextSeq;
    /// <summary>The number of the reply at the head of the window.</summary>
    public uint SendSeq;
    /// <summary>Bytes of the head reply already written.</summary>
    public long SendOffset;
    /// <summary>Slots in use (framed, not yet written whole).</summary>
    public int InFlight;
    /// <summary>Bytes of ready replies not yet written.</summary>
    public long UnsentBytes;
    /// <summary>The socket's send buffer was full: wait for EPOLLOUT.</summary>
    public bool WriteBlocked;
    /// <summary>In the NIC's write list.</summary>
    public bool InWriteList;
    /// <summary>The one word a carrier touches (<see cref="TcpNic.TrySend"/>): 0 open, 1 while a carrier
    /// writes a reply, 2 once the IOKernel has closed the connection (it waits out a 1 first, so a carrier
    /// never writes to a descriptor closed, or reused, under it).</summary>
    public int SendGate;

    // ---- the io_uring backend's (unused on epoll) ----
    /// <summary>Chunks received and not yet framed: receive blocks, first and last, linked through the NIC's chunk table (-1: none).</summary>
    public int ChunkHead = -1;
    public int ChunkTail = -1;
    /// <summary>Bytes in the queued chunks: past a bound the receive is paused, as epoll reads only what it frames.</summary>
    public int QueuedBytes;
    /// <summary>The multishot receive.</summary>
    public ReceiveState Receive;
    /// <summary>The peer's end of stream came after the queued chunks: seen once they are framed.</summary>
    public bool EndQueued;
    /// <summary>The receive failed (ECONNRESET...) after the queued chunks: the connection resets once they are framed.</summary>
    public bool FailureQueued;
    /// <summary>In the NIC's list of receives to re-arm once provided buffers are back.</summary>
    public bool InRearmList;
    /// <summary>A write's SQE is out: its buffers (the head replies, <see cref="SendIov"/>) are the kernel's until it completes.</summary>
    public bool SendInFlight;
    /// <summary>Requests in the kernel on this descriptor (the receive, a write): it is closed, and the object reused, only at 0.</summary>
    public int KernelOps;
    /// <summary>The gather list and msghdr of the write in flight (io_uring), allocated with the object.</summary>
    public readonly IoVec* SendIov;
    public readonly MsgHdr* SendMsg;

    /// <summary>The window's size.</summary>
    public int Window => Threads.Length;

    /// <summary>The short reply bytes of slot <paramref name="slot"/>.</summary>
    public byte* FailureBytes(int slot) => _failureBytes + (long)slot * AppProtocol.MaxFailureReplyBytes;

    /// <summary>Clears it for a new connection.</summary>
    public void Reset()
    {
        FdNumber = -1; Listener = 0; Serial = 0; Peer = default; LocalPort = 0; FlowHash = 0; FramerState = 0;
        Block = -1; Start = 0; End = 0; Skip = 0; NeedBytes = 0;
        Readable = false; PeerClosed = false; Closing = false; Closed = false; InReadyList = false; Backpressured = false;
        NextSeq = 0; SendSeq = 0; SendOffset = 0; InFlight = 0; UnsentBytes = 0; WriteBlocked = false; InWriteList = false;
        ChunkHead = -1; ChunkTail = -1; QueuedBytes = 0; Receive = ReceiveState.Idle; EndQueued = false; FailureQueued = false;
        InRearmList = false; SendInFlight = false; KernelOps = 0; SendGate = 0;
        Array.Clear(Threads);
        Array.Clear(States);
        Array.Clear(CloseAfter);
    }

    /// <summary>Frees the short-reply bytes and the gather list.</summary>
    public void Dispose()
    {
        NativeMemory.AlignedFree(_failureBytes);
        if (SendIov is not null)
        {
            NativeMemory.AlignedFree(SendIov);
            NativeMemory.AlignedFree(SendMsg);
        }
    }
}
