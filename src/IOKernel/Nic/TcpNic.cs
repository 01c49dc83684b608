// The TCP NIC: connections accepted, framed, ordered and written by the IOKernel itself; what every backend shares.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel.Nic;

/// <summary>One TCP port and the app it serves.</summary>
/// <param name="AppId">The app's id in the IOKernel.</param>
/// <param name="Protocol">The app's protocol: it finds the requests in each connection's bytes.</param>
/// <param name="Address">The address to listen on (IPv4 or IPv6).</param>
/// <param name="Port">The port; 0 lets the kernel choose (tests).</param>
internal sealed record TcpBinding(int AppId, AppProtocol Protocol, IPAddress Address, int Port);

/// <summary>
/// Serves apps over TCP with no thread per connection and no ThreadPool on the data path: the
/// IOKernel accepts, reads and writes every connection itself. This class is everything that does
/// not depend on how the kernel is asked: a connection whose bytes have arrived joins a ready list;
/// each burst frames up to a budget of requests from each ready connection out of a pooled receive
/// block (an idle connection holds no block); a request split across arrivals is made contiguous
/// once (<see cref="MakeRoom"/>). Requests are numbered per connection, and their replies wait in the
/// connection's reorder window until every earlier one has gone, then leave several at a time in
/// one gather write per connection. Bounds keep memory finite: requests in flight and unsent bytes
/// per connection (past them the connection is not read, so a client that never reads is only held
/// back by TCP's own flow control), connections in all, and receive memory. A backend supplies the
/// poll, the read and the write: <see cref="EpollTcpNic"/> (edge-triggered epoll, recv, sendmsg)
/// and <see cref="IoUringTcpNic"/> (multishot accept and recv into provided buffers, sendmsg SQEs).
/// </summary>
internal abstract unsafe class TcpNic : INicQueue, IReplySender, IDisposable
{
    /// <summary>Buffers one gather write takes at most (Linux's UIO_MAXIOV is 1024).</summary>
    private protected const int MaxIovPerSend = 64;

    private protected readonly TcpNicOptions _options;
    private protected readonly TcpBinding[] _bindings;
    private protected readonly Socket[] _listeners;
    private protected readonly TcpCounters[] _counters;
    private protected readonly ReceiveBufferPool _buffers;
    private protected readonly List<TcpConnection> _connections = [];
    private readonly Stack<TcpConnection> _freeConnections = new();
    private readonly Queue<TcpConnection> _ready = new();
    private readonly Queue<TcpConnection> _writes = new();
    private readonly int _sendIovPerConnection;
    private readonly bool _workerSends;
    /// <summary>The connections by index, for carriers (<see cref="TrySend"/>): a new array when the table
    /// grows, never an element changed, so a carrier reads it without a lock.</summary>
    private volatile TcpConnection[] _byIndex = [];
    private protected INicHost? _host;
    /// <summary>Set by a backend whose kernel may still use the connections' native memory at Dispose: it is not freed.</summary>
    private protected bool _keepNativeMemory;
    private long _nextSerial;
    private int _open;
    private bool _disposed;

    /// <summary>Listens on every binding (listening, non-blocking sockets the backend then polls).</summary>
    /// <param name="options">Limits and sizes (validated here).</param>
    /// <param name="bindings">The ports and the apps they serve.</param>
    /// <param name="sendIovPerConnection">Gather-list entries each connection keeps of its own, for a
    /// backend whose writes outlive the call that makes them (io_uring); 0: none.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">An address cannot be bound (in use, not local).</exception>
    private protected TcpNic(TcpNicOptions options, IReadOnlyList<TcpBinding> bindings, int sendIovPerConnection)
    {
        options.Validate();
        if (bindings.Count == 0)
        {
            throw new ArgumentException("a TCP NIC needs at least one port");
        }
        _options = options;
        _bindings = [.. bindings];
        _counters = _bindings.Select(b => new TcpCounters(b.Protocol.ErrorNames)).ToArray();
        int largest = _bindings.Max(b => b.Protocol.MaxRequestBytes);
        _buffers = new ReceiveBufferPool(options.ReceiveBlockBytes,
            (int)Math.Max(options.ReceiveBlockBytes, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)largest)),
            (long)options.ReceiveMemoryMegabytes << 20);
        _sendIovPerConnection = sendIovPerConnection;
        _workerSends = options.WorkerSends;
        _listeners = new Socket[_bindings.Length];
        var endpoints = new IPEndPoint[_bindings.Length];
        try
        {
            for (int i = 0; i < _bindings.Length; i++)
            {
                TcpBinding b = _bindings[i];
                var listener = new Socket(b.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                _listeners[i] = listener;
                if (b.Address.AddressFamily == AddressFamily.InterNetworkV6)
                {
                    listener.DualMode = false;
                }
                listener.Bind(new IPEndPoint(b.Address, b.Port));
                listener.Listen(options.Backlog);
                listener.Blocking = false;
                endpoints[i] = (IPEndPoint)listener.LocalEndPoint!;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        EndPoints = endpoints;
    }

    /// <summary>
    /// Listens on every binding on <paramref name="backend"/>. With <see cref="NicBackend.Auto"/>, a
    /// kernel or policy that refuses io_uring gets the epoll backend, and <see cref="FallbackReason"/> says why.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">An address cannot be bound (in use, not local).</exception>
    /// <exception cref="NicBackendException">io_uring was asked for and refused.</exception>
    public static TcpNic Open(TcpNicOptions options, IReadOnlyList<TcpBinding> bindings, NicBackend backend, IoUringOptions? ring = null)
    {
        if (backend == NicBackend.Syscalls)
        {
            return new EpollTcpNic(options, bindings);
        }
        if (IoUringTcpNic.TryOpen(options, bindings, ring ?? new IoUringOptions(), out IoUringTcpNic? nic, out string reason))
        {
            return nic;
        }
        if (backend == NicBackend.IoUring)
        {
            throw new NicBackendException($"the TCP NIC's backend is io_uring, but {reason}");
        }
        return new EpollTcpNic(options, bindings) { FallbackReason = reason };
    }

    /// <summary>The backend this NIC runs on.</summary>
    public abstract NicBackend Backend { get; }

    /// <summary>The backend in a few words, for the start-up line.</summary>
    public abstract string BackendDescription { get; }

    /// <summary>Each binding's endpoint, in order (the kernel's port where 0 was asked).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints { get; }

    /// <summary>What the NIC counted for its first port.</summary>
    public TcpCounters Counters => _counters[0];

    /// <summary>What it counted per port, in binding order.</summary>
    public IReadOnlyList<TcpCounters> CountersByPort => _counters;

    /// <summary>Why io_uring was not used, when it was tried (<see cref="NicBackend.Auto"/>) and refused; null otherwise.</summary>
    public string? FallbackReason { get; private protected init; }

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _open;

    /// <summary>Receive memory held now by connections and requests in flight (not the provided buffers lent to the kernel, <see cref="ProvidedBytes"/>).</summary>
    public long ReceiveBytesInUse => _buffers.InUseBytes - ProvidedBytes;

    /// <summary>Receive blocks held now by connections and requests in flight.</summary>
    public int ReceiveBlocksInUse => _buffers.InUseBlocks - ProvidedBlocks;

    /// <summary>Receive memory lent to the kernel to receive into (io_uring's provided buffers; 0 on epoll).</summary>
    public long ProvidedBytes => (long)ProvidedBlocks * _options.ReceiveBlockBytes;

    /// <summary>Receive blocks lent to the kernel.</summary>
    private protected virtual int ProvidedBlocks => 0;

    /// <inheritdoc />
    public bool Exhausted => false;

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public void Attach(INicHost host) => _host = host;

    /// <inheritdoc />
    public virtual void Detach()
    {
    }

    // ================================================================== receive

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        Poll();
        int n = 0;
        int turns = _ready.Count;
        while (turns-- > 0 && n < batch.Length)
        {
            TcpConnection c = _ready.Dequeue();
            c.InReadyList = false;
            if (c.Closed)
            {
                FreeIfDone(c);
                continue;
            }
            n += ServeReads(c, batch[n..], now);
        }
        return n;
    }

    /// <summary>Learns what the kernel has for the NIC: connections to admit (<see cref="Admit"/>),
    /// connections with bytes (<see cref="MarkReady"/>), writers that may write again (<see cref="MarkWrite"/>).</summary>
    private protected abstract void Poll();

    /// <summary>
    /// A connection the kernel accepted on listener <paramref name="listener"/>, or null when the
    /// limit is reached (then it is closed at once and counted refused). The backend then watches it.
    /// </summary>
    private protected TcpConnection? Admit(int fd, int listener, in SockAddr peer)
    {
        TcpCounters counters = _counters[listener];
        if (_open >= _options.MaxConnections)
        {
            NativeTcp.Close(fd);
            counters.Refused++;
            return null;
        }
        TcpConnection c = RentConnection();
        c.FdNumber = fd;
        c.Listener = listener;
        c.Serial = ++_nextSerial;
        c.Peer = peer.ToPeer();
        c.LocalPort = EndPoints[listener].Port;
        c.FlowHash = (uint)((ulong)c.Serial * 0x9E3779B97F4A7C15UL >> 32);
        NativeTcp.NoDelay(fd);
        _open++;
        counters.Accepted++;
        counters.Open++;
        _bindings[listener].Protocol.ConnectionOpened();
        return c;
    }

    /// <summary>Frames what the connection has buffered and reads more while it may, up to its budget
    /// and the batch's room. Returns the arrivals written.</summary>
    private int ServeReads(TcpConnection c, Span<Arrival> batch, long now)
    {
        TcpBinding binding = _bindings[c.Listener];
        TcpCounters counters = _counters[c.Listener];
        AppProtocol protocol = binding.Protocol;
        int budget = Math.Min(batch.Length, _options.RequestsPerConnectionPerBurst);
        int n = 0;
        bool again = false;
        while (!c.Closing && !c.Closed)
        {
            if (c.InFlight >= c.Window || c.UnsentBytes >= _options.MaxUnsentBytesPerConnection)
            {
                if (!c.Backpressured)
                {
                    c.Backpressured = true;
                    counters.Backpressured++;
                    StopReading(c);
                }
                break; // taken up again when replies go out (Flush)
            }
            if (c.Start < c.End)
            {
                if (c.Skip > 0)
                {
                    int discard = (int)Math.Min(c.Skip, c.End - c.Start);
                    c.Skip -= discard;
                    c.Start += discard;
                    continue;
                }
                if (n == budget)
                {
                    again = true;
                    break;
                }
                var buffered = new ReadOnlySpan<byte>(_buffers.Pointer(c.Block) + c.Start, c.End - c.Start);
                FrameStatus status = protocol.FrameStream(buffered, ref c.FramerState, out Frame frame);
                if (status == FrameStatus.Request)
                {
                    Emit(c, binding, frame, ref batch[n++], now);
                    counters.Requests++;
                    c.Start += frame.Length;
                    c.Skip = frame.SkipAfter;
                    continue;
                }
                if (status == FrameStatus.Invalid)
                {
                    counters.CountBadFrame(frame.Error);
                    AnswerInvalid(c, protocol, frame);
                    c.Start += Math.Max(frame.Length, 1);
                    c.Skip = frame.SkipAfter;
                    continue;
                }
                if (status == FrameStatus.Drop)
                {
                    counters.CountBadFrame(frame.Error);
                    counters.ClosedByServer++;
                    CloseWhenAnswered(c);
                    break;
                }
                // Incomplete: make room for the whole request if the block cannot hold it. A framer that
                // cannot find the end of a request within the protocol's largest is not going to.
                if (frame.Length > protocol.MaxRequestBytes || c.End - c.Start >= protocol.MaxRequestBytes)
                {
                    counters.CountBadFrame(protocol.ErrorNames.Count - 1);
                    counters.ClosedByServer++;
                    CloseWhenAnswered(c);
                    break;
                }
                if (!MakeRoom(c, frame.Length, counters))
                {
                    again = true; // no receive memory now: try again next burst
                    break;
                }
                c.NeedBytes = frame.Length;
            }
            if (c.PeerClosed)
            {
                break;
            }
            if (!c.Readable)
            {
                break;
            }
            if (!Read(c, counters))
            {
                break;
            }
        }
        if (c.PeerClosed && c.Start < c.End && c.Skip == 0 && !c.Closing && !again)
        {
            // The peer is gone and what it left does not make a request: it never will.
            counters.ClosedMidRequest++;
            c.Start = c.End;
        }
        ReleaseIdleBlock(c);
        if (c.PeerClosed && !c.Closing && !c.Closed)
        {
            counters.ClosedByPeer++;
            CloseWhenAnswered(c);
        }
        if (again && !c.Closing && !c.Closed)
        {
            MarkReady(c);
        }
        return n;
    }

    /// <summary>
    /// Brings more of the connection's bytes into its block, after <see cref="TcpConnection.End"/>
    /// (or as a block of their own when nothing is unframed). True when it did; false when nothing
    /// more can be had now (then <see cref="TcpConnection.Readable"/> is cleared, or the connection is
    /// marked ready again when it is memory that is short), when the peer closed its side
    /// (<see cref="TcpConnection.PeerClosed"/>), or when the connection failed and was closed.
    /// </summary>
    private protected abstract bool Read(TcpConnection c, TcpCounters counters);

    /// <summary>The connection is paused (a bound was reached) or closing: a backend that reads ahead of
    /// the framer (a multishot receive) stops, so the peer is held back by TCP's flow control.</summary>
    private protected virtual void StopReading(TcpConnection c)
    {
    }

    /// <summary>A paused connection may be read again.</summary>
    private protected virtual void ResumeReading(TcpConnection c)
    {
    }

    /// <summary>
    /// Makes the block able to hold a request of <paramref name="need"/> bytes (0: just some room) from
    /// <see cref="TcpConnection.Start"/>: the unframed tail moves to a new block when the request would
    /// run past the end of this one. This is the only copy on the receive path, and only a request
    /// split across reads that straddles a block's end pays it, once.
    /// </summary>
    private protected bool MakeRoom(TcpConnection c, int need, TcpCounters counters)
    {
        int size = _buffers.Size(c.Block);
        int pending = c.End - c.Start;
        bool fits = need == 0 ? c.End < size : c.Start + need <= size;
        if (fits)
        {
            return true;
        }
        if (c.Start == 0 && _buffers.References(c.Block) == 1 && need <= size && need != 0)
        {
            return true; // already at the start of a block of our own that holds it
        }
        int bytes = Math.Max(Math.Max(need, pending + 1), _options.ReceiveBlockBytes);
        int fresh = _buffers.TryRent(bytes);
        if (fresh < 0)
        {
            counters.ReceiveShortages++;
            return false;
        }
        if (pending > 0)
        {
            Buffer.MemoryCopy(_buffers.Pointer(c.Block) + c.Start, _buffers.Pointer(fresh), _buffers.Size(fresh), pending);
            counters.CopiedBytes += pending;
        }
        _buffers.Release(c.Block);
        c.Block = fresh;
        c.Start = 0;
        c.End = pending;
        return true;
    }

    /// <summary>An idle connection holds no receive block: with nothing unframed, the connection lets go of its reference.</summary>
    private void ReleaseIdleBlock(TcpConnection c)
    {
        if (c.Block >= 0 && c.Start == c.End)
        {
            _buffers.Release(c.Block);
            c.Block = -1;
            c.Start = c.End = 0;
        }
    }

    private void Emit(TcpConnection c, TcpBinding binding, in Frame frame, ref Arrival a, long now)
    {
        uint seq = c.NextSeq++;
        int slot = (int)(seq & (uint)c.Mask);
        c.States[slot] = SlotState.Pending;
        c.InFlight++;
        _buffers.Retain(c.Block);
        a.Id = frame.Id;
        a.Type = frame.Type;
        a.ServiceNs = frame.ServiceNs;
        a.ArrivalTicks = now;
        a.FlowHash = c.FlowHash;
        a.AppId = binding.AppId;
        a.NicToken = ((long)c.Index << 32) | seq;
        a.Tag = frame.Tag;
        a.Data = (nint)(_buffers.Pointer(c.Block) + c.Start + frame.BodyOffset);
        a.Length = frame.Length - frame.BodyOffset;
        a.Buffer = c.Block;
        a.Connection = new ConnectionInfo(Transport.Tcp, c.Serial, c.Peer, c.LocalPort);
        a.Protocol = binding.Protocol;
        a.ReplySender = _workerSends ? this : null;
    }

    /// <summary>A malformed frame that can be stepped over takes its place in the window with the
    /// protocol's bad-request reply.</summary>
    private void AnswerInvalid(TcpConnection c, AppProtocol protocol, in Frame frame)
    {
        uint seq = c.NextSeq++;
        c.InFlight++;
        var info = new ReplyInfo { Status = RequestStatus.BadRequest, Type = frame.Type, Id = frame.Id, Tag = frame.Tag };
        SetShortReply(c, seq, protocol, info);
    }

    // ================================================================== replies

    /// <inheritdoc />
    public void Transmit(GreenThread thread)
    {
        if (thread.Buffer >= 0)
        {
            _buffers.Release(thread.Buffer);
            thread.Buffer = -1;
        }
        (TcpConnection c, uint seq) = Unpack(thread.NicToken);
        int slot = (int)(seq & (uint)c.Mask);
        if (c.Closed)
        {
            TcpCounters closed = _counters[c.Listener];
            if (thread.SentOnWorker > 0 && thread.SentOnWorker == thread.Reply.TotalBytes)
            {
                // Its carrier wrote it whole before the connection closed: it went, it was not dropped.
                CountWorkerSend(closed, thread.SentOnWorker);
                closed.Replies++;
            }
            else
            {
                closed.DroppedReplies++;
            }
            c.States[slot] = SlotState.Empty;
            c.InFlight--;
            _host!.Recycle(thread);
            FreeIfDone(c);
            return;
        }
        c.Threads[slot] = thread;
        c.States[slot] = SlotState.Ready;
        c.CloseAfter[slot] = thread.CloseAfterReply;
        c.UnsentBytes += thread.Reply.TotalBytes;
        int sentOnWorker = thread.SentOnWorker;
        if (sentOnWorker > 0)
        {
            // Its carrier wrote this much, at the head of the window (TrySend); retired here as any write's
            // bytes are, and what follows it, or its own rest, goes as usual.
            TcpCounters counters = _counters[c.Listener];
            CountWorkerSend(counters, sentOnWorker);
            Consume(c, sentOnWorker, counters);
            if (!c.Closed)
            {
                MarkWrite(c);
            }
            return;
        }
        if (seq == c.SendSeq)
        {
            MarkWrite(c);
        }
    }

    private static void CountWorkerSend(TcpCounters counters, int bytes)
    {
        counters.WorkerSends++;
        counters.BytesOut += bytes;
    }

    /// <inheritdoc />
    /// <remarks>On the carrier, before it hands the request back. It writes only a reply at the head of its
    /// connection's window (every earlier one written whole: the IOKernel has nothing of the connection's
    /// to write, and cannot have until this request comes back), on an open descriptor held by the gate,
    /// with one non-blocking sendmsg per gather list; a full socket buffer or an error leaves the rest,
    /// and the error, to the IOKernel's own write. Not a reply that closes the connection.</remarks>
    public int TrySend(GreenThread thread)
    {
        Runtime.Buffers.ReplyWriter reply = thread.Reply;
        int total = reply.TotalBytes;
        long token = thread.ReplyToken;
        TcpConnection c = _byIndex[(int)(token >> 32)];
        uint seq = (uint)token;
        if (total == 0 || thread.CloseAfterReply || Volatile.Read(ref c.SendSeq) != seq)
        {
            return 0;
        }
        if (Interlocked.CompareExchange(ref c.SendGate, 1, 0) != 0)
        {
            return 0;
        }
        long sent = 0;
        try
        {
            if (c.Closed || c.SendOffset != 0 || c.SendInFlight || !c.HasFd)
            {
                return 0;
            }
            IoVec* iov = stackalloc IoVec[MaxIovPerSend];
            while (sent < total)
            {
                // The pieces past what went, up to a gather list's worth.
                int n = 0;
                long asked = 0, skip = sent;
                for (int p = 0; p < reply.PieceCount && n < MaxIovPerSend; p++)
                {
                    (nint start, int length) = reply.Piece(p);
                    n = AddPiece(iov, n, start, length, ref skip, ref asked);
                }
                if (n == 0 || NativeTcp.Send(c.FdNumber, iov, n, out long wrote) != IoResult.Done)
                {
                    break; // EAGAIN or an error: the IOKernel's write takes it up (and sees the error itself)
                }
                sent += wrote;
                if (wrote < asked)
                {
                    break; // the socket's buffer filled: the IOKernel writes the rest when it drains
                }
            }
        }
        finally
        {
            Volatile.Write(ref c.SendGate, 0);
        }
        return (int)sent;
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status)
    {
        if (arrival.Buffer >= 0)
        {
            _buffers.Release(arrival.Buffer);
        }
        (TcpConnection c, uint seq) = Unpack(arrival.NicToken);
        if (c.Closed)
        {
            _counters[c.Listener].DroppedReplies++;
            c.States[(int)(seq & (uint)c.Mask)] = SlotState.Empty;
            c.InFlight--;
            FreeIfDone(c);
            return;
        }
        var info = new ReplyInfo { Status = status, Type = arrival.Type, Id = arrival.Id, Tag = arrival.Tag };
        SetShortReply(c, seq, _bindings[c.Listener].Protocol, info);
    }

    private void SetShortReply(TcpConnection c, uint seq, AppProtocol protocol, in ReplyInfo info)
    {
        int slot = (int)(seq & (uint)c.Mask);
        int n = protocol.WriteFailure(new Span<byte>(c.FailureBytes(slot), AppProtocol.MaxFailureReplyBytes), info);
        c.Threads[slot] = null;
        c.FailureLength[slot] = (byte)n;
        c.CloseAfter[slot] = false;
        c.States[slot] = SlotState.Ready;
        c.UnsentBytes += n;
        if (seq == c.SendSeq)
        {
            MarkWrite(c);
        }
    }

    /// <inheritdoc />
    public abstract bool TxBurst();

    /// <summary>Connections in the write list.</summary>
    private protected int PendingWrites => _writes.Count;

    /// <summary>Writes what every connection in the write list has ready. True when the list was not empty.</summary>
    private protected bool FlushWrites()
    {
        int turns = _writes.Count;
        bool any = turns > 0;
        while (turns-- > 0)
        {
            TcpConnection c = _writes.Dequeue();
            c.InWriteList = false;
            if (c.Closed)
            {
                FreeIfDone(c);
                continue;
            }
            Flush(c);
        }
        return any;
    }

    /// <summary>Writes the ready replies at the head of the window, then lets a paused connection be read
    /// again and closes one that was waiting for its last reply.</summary>
    private void Flush(TcpConnection c)
    {
        Write(c, _counters[c.Listener]);
        if (c.Closed)
        {
            return;
        }
        if (c.Backpressured && c.InFlight < c.Window && c.UnsentBytes < _options.MaxUnsentBytesPerConnection)
        {
            c.Backpressured = false;
            ResumeReading(c);
            MarkReady(c);
        }
        if (c.InFlight == 0 && (c.Closing || c.PeerClosed))
        {
            CloseNow(c);
        }
    }

    /// <summary>
    /// Writes what is ready at the head of the connection's window (<see cref="GatherReady"/>), and
    /// retires what went (<see cref="Consume"/>): at once (epoll), or when the write completes
    /// (io_uring, which then marks the connection for writing again).
    /// </summary>
    private protected abstract void Write(TcpConnection c, TcpCounters counters);

    /// <summary>Fills the gather list <paramref name="iov"/> from the head of the window: every ready reply in
    /// order, the head's unsent part first, until a slot is not ready or the list is full.</summary>
    private protected static int GatherReady(TcpConnection c, IoVec* iov, out long asked)
    {
        int n = 0;
        asked = 0;
        long skip = c.SendOffset;
        for (uint seq = c.SendSeq; seq != c.NextSeq && n < MaxIovPerSend; seq++)
        {
            int slot = (int)(seq & (uint)c.Mask);
            if (c.States[slot] != SlotState.Ready)
            {
                break;
            }
            GreenThread? t = c.Threads[slot];
            if (t is null)
            {
                n = AddPiece(iov, n, (nint)c.FailureBytes(slot), c.FailureLength[slot], ref skip, ref asked);
            }
            else
            {
                Runtime.Buffers.ReplyWriter reply = t.Reply;
                for (int p = 0; p < reply.PieceCount && n < MaxIovPerSend; p++)
                {
                    (nint start, int length) = reply.Piece(p);
                    n = AddPiece(iov, n, start, length, ref skip, ref asked);
                }
            }
            if (c.CloseAfter[slot])
            {
                break; // nothing after a reply that closes the connection
            }
        }
        return n;
    }

    private static int AddPiece(IoVec* iov, int n, nint start, int length, ref long skip, ref long asked)
    {
        if (skip >= length)
        {
            skip -= length;
            return n;
        }
        iov[n].Base = (void*)(start + (nint)skip);
        iov[n].Length = (nuint)(length - skip);
        asked += length - skip;
        skip = 0;
        return n + 1;
    }

    /// <summary>Retires the replies <paramref name="sent"/> bytes completed, in order.</summary>
    private protected void Consume(TcpConnection c, long sent, TcpCounters counters)
    {
        long left = sent + c.SendOffset;
        while (c.SendSeq != c.NextSeq)
        {
            int slot = (int)(c.SendSeq & (uint)c.Mask);
            if (c.States[slot] != SlotState.Ready)
            {
                break;
            }
            GreenThread? t = c.Threads[slot];
            long length = t is null ? c.FailureLength[slot] : t.Reply.TotalBytes;
            if (left < length)
            {
                break;
            }
            left -= length;
            c.UnsentBytes -= length;
            bool closeAfter = c.CloseAfter[slot];
            RetireSlot(c, slot);
            c.SendSeq++;
            counters.Replies++;
            if (closeAfter)
            {
                counters.ClosedByServer++;
                CloseNow(c);
                return;
            }
        }
        c.SendOffset = left;
    }

    private void RetireSlot(TcpConnection c, int slot)
    {
        GreenThread? t = c.Threads[slot];
        c.Threads[slot] = null;
        c.States[slot] = SlotState.Empty;
        c.CloseAfter[slot] = false;
        c.InFlight--;
        if (t is not null)
        {
            _host!.Recycle(t);
        }
    }

    // ================================================================== connection lifetime

    /// <summary>Reads no more; the connection closes once every request it admitted is answered on the wire.</summary>
    private void CloseWhenAnswered(TcpConnection c)
    {
        c.Closing = true;
        c.Start = c.End;
        ReleaseIdleBlock(c);
        StopReading(c);
        if (c.InFlight == 0)
        {
            CloseNow(c);
        }
    }

    /// <summary>Closes the connection at once: replies not yet written are dropped (counted), and the
    /// green threads of requests still being served are recycled as they come back.</summary>
    private protected void CloseNow(TcpConnection c)
    {
        if (c.Closed)
        {
            return;
        }
        c.Closed = true;
        if (_workerSends)
        {
            // A carrier may be writing to it (TrySend): its descriptor goes only after that write.
            var spin = new SpinWait();
            while (Interlocked.CompareExchange(ref c.SendGate, 2, 0) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1); // yields, never sleeps a millisecond on the IOKernel
            }
        }
        TcpCounters counters = _counters[c.Listener];
        if (c.Start < c.End && c.Skip == 0)
        {
            counters.ClosedMidRequest++;
        }
        CloseDescriptor(c);
        if (c.Block >= 0)
        {
            _buffers.Release(c.Block);
            c.Block = -1;
        }
        c.Start = c.End = 0;
        if (!c.SendInFlight)
        {
            DropReadyReplies(c);
        }
        _open--;
        counters.Open--;
        _bindings[c.Listener].Protocol.ConnectionClosed();
        FreeIfDone(c);
    }

    /// <summary>
    /// The descriptor's part of <see cref="CloseNow"/>: closed at once (epoll), or once the kernel is
    /// done with every request on it (io_uring: cancelled now, closed when the last completion is in).
    /// </summary>
    private protected abstract void CloseDescriptor(TcpConnection c);

    /// <summary>Drops the replies of a closed connection that were ready but not written (counted), recycling
    /// their green threads; a backend with a write in flight calls it when the write comes back.</summary>
    private protected void DropReadyReplies(TcpConnection c)
    {
        TcpCounters counters = _counters[c.Listener];
        for (uint seq = c.SendSeq; seq != c.NextSeq; seq++)
        {
            int slot = (int)(seq & (uint)c.Mask);
            if (c.States[slot] == SlotState.Ready)
            {
                counters.DroppedReplies++;
                RetireSlot(c, slot);
            }
        }
        c.UnsentBytes = 0;
    }

    /// <summary>A closed connection's object goes back for reuse once nothing in flight refers to it.</summary>
    private protected void FreeIfDone(TcpConnection c)
    {
        if (c.Closed && c.InFlight == 0 && !c.InReadyList && !c.InWriteList && c.KernelOps == 0 && !c.HasFd && !c.InRearmList)
        {
            c.Reset();
            _freeConnections.Push(c);
        }
    }

    private TcpConnection RentConnection()
    {
        if (_freeConnections.TryPop(out TcpConnection? c))
        {
            return c;
        }
        using (PoolGrowth.Measure())
        {
            c = new TcpConnection(_connections.Count, _options.MaxInFlightPerConnection, _sendIovPerConnection);
            _connections.Add(c);
            _byIndex = [.. _connections];
            // Room for every connection made in each list that holds a connection at most once, so
            // that a close, a read or a write never grows one.
            _freeConnections.EnsureCapacity(_connections.Count);
            _ready.EnsureCapacity(_connections.Count);
            _writes.EnsureCapacity(_connections.Count);
            ConnectionsGrew(_connections.Count);
        }
        return c;
    }

    /// <summary>A connection was made past the most so far: a backend sizes its own per-connection lists to <paramref name="connections"/>.</summary>
    private protected virtual void ConnectionsGrew(int connections)
    {
    }

    private protected void MarkReady(TcpConnection c)
    {
        if (!c.InReadyList && !c.Closed)
        {
            c.InReadyList = true;
            _ready.Enqueue(c);
        }
    }

    private protected void MarkWrite(TcpConnection c)
    {
        if (!c.InWriteList && !c.Closed && !c.WriteBlocked)
        {
            c.InWriteList = true;
            _writes.Enqueue(c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (TcpConnection Connection, uint Seq) Unpack(long token) => (_connections[(int)(token >> 32)], (uint)token);

    /// <summary>Closes every connection and listener and frees the native memory. Only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        // The backend first: a ring lets go of the descriptors and buffers it refers to before they go.
        DisposeBackend();
        foreach (TcpConnection c in _connections)
        {
            c.CloseFd();
            if (!_keepNativeMemory)
            {
                c.Dispose();
            }
        }
        foreach (Socket? l in _listeners)
        {
            l?.Dispose();
        }
        if (_buffers.InUseBlocks == 0)
        {
            // Blocks still held belong to requests that never came back (a stuck handler): their memory outlives the NIC.
            _buffers.Dispose();
        }
    }

    /// <summary>Releases what the backend holds (its epoll or ring, its buffers); the connections and listeners are closed after.</summary>
    private protected abstract void DisposeBackend();
}
