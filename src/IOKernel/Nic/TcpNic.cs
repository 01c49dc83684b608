// The TCP NIC: listeners and connections on one epoll, accepted, read, framed and written by the IOKernel itself.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>One TCP port and the app it serves.</summary>
/// <param name="AppId">The app's id in the IOKernel.</param>
/// <param name="Protocol">The app's protocol: it finds the requests in each connection's bytes.</param>
/// <param name="Address">The address to listen on (IPv4 or IPv6).</param>
/// <param name="Port">The port; 0 lets the kernel choose (tests).</param>
public sealed record TcpBinding(int AppId, AppProtocol Protocol, IPAddress Address, int Port);

/// <summary>
/// Serves apps over TCP with no thread per connection and no ThreadPool on the data path: the
/// IOKernel accepts, reads and writes every connection itself. Listeners and connections share one
/// edge-triggered epoll, polled with a zero timeout once per receive burst. A connection that epoll
/// reports readable joins a ready list; each burst frames up to a budget of requests from each ready
/// connection, reading into a pooled receive block only when there are bytes (an idle connection
/// holds no block). Requests are numbered per connection, and their replies wait in the
/// connection's reorder window until every earlier one has gone, then leave several at a time in one
/// sendmsg per connection. Bounds keep memory finite: requests in flight and unsent bytes per
/// connection (past them the connection is not read, so a client that never reads is only held
/// back by TCP's own flow control), connections in all, and receive memory.
/// </summary>
public sealed unsafe class TcpNic : INicQueue, IDisposable
{
    /// <summary>An epoll event's data for a listener has this bit set; a connection's is its index.</summary>
    private const ulong ListenerTag = 1UL << 62;

    /// <summary>epoll events taken per poll.</summary>
    private const int EventsPerPoll = 256;

    /// <summary>Buffers one sendmsg gathers at most (Linux's UIO_MAXIOV is 1024).</summary>
    private const int MaxIovPerSend = 64;

    private readonly TcpNicOptions _options;
    private readonly TcpBinding[] _bindings;
    private readonly Socket[] _listeners;
    private readonly TcpCounters[] _counters;
    private readonly FileDescriptor _epoll;
    private readonly EpollEvent* _events;
    private readonly IoVec* _iov;
    private readonly ReceiveBufferPool _buffers;
    private readonly List<TcpConnection> _connections = [];
    private readonly Stack<TcpConnection> _freeConnections = new();
    private readonly Queue<TcpConnection> _ready = new();
    private readonly Queue<TcpConnection> _writes = new();
    private INicHost? _host;
    private long _nextSerial;
    private int _open;
    private bool _disposed;

    /// <summary>Listens on every binding.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">An address cannot be bound (in use, not local).</exception>
    public TcpNic(TcpNicOptions options, IReadOnlyList<TcpBinding> bindings)
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
        int epfd = NativeTcp.EpollCreate1(NativeTcp.EpollCloexec);
        if (epfd < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
        _epoll = new FileDescriptor(epfd);
        _events = (EpollEvent*)NativeMemory.AlignedAlloc((nuint)(EventsPerPoll * sizeof(EpollEvent)), 64);
        _iov = (IoVec*)NativeMemory.AlignedAlloc((nuint)(MaxIovPerSend * sizeof(IoVec)), 64);
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
                Register((int)listener.SafeHandle.DangerousGetHandle(), ListenerTag | (uint)i, NativeTcp.EpollIn);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        EndPoints = endpoints;
    }

    /// <summary>Each binding's endpoint, in order (the kernel's port where 0 was asked).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints { get; }

    /// <summary>What the NIC counted for its first port.</summary>
    public TcpCounters Counters => _counters[0];

    /// <summary>What it counted per port, in binding order.</summary>
    public IReadOnlyList<TcpCounters> CountersByPort => _counters;

    /// <summary>Why io_uring was not used, when it was tried and refused; null otherwise.</summary>
    public string? FallbackReason { get; init; }

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _open;

    /// <summary>Receive memory held now (blocks of connections and of requests in flight).</summary>
    public long ReceiveBytesInUse => _buffers.InUseBytes;

    /// <summary>Receive blocks held now.</summary>
    public int ReceiveBlocksInUse => _buffers.InUseBlocks;

    /// <inheritdoc />
    public bool Exhausted => false;

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public void Attach(INicHost host) => _host = host;

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

    /// <summary>One epoll_wait with no timeout: new connections, readable and writable ones. With
    /// <paramref name="intake"/> false (the IOKernel is draining), it only learns which blocked writers
    /// may write again: listeners are left for later and readable connections are only marked.</summary>
    private void Poll(bool intake = true)
    {
        int n = NativeTcp.EpollWait(_epoll.Number, _events, EventsPerPoll, 0);
        for (int i = 0; i < n; i++)
        {
            ulong data = _events[i].Data;
            uint events = _events[i].Events;
            if ((data & ListenerTag) != 0)
            {
                if (intake)
                {
                    AcceptAll((int)(data & 0xFFFF));
                }
                continue;
            }
            TcpConnection c = _connections[(int)data];
            if (c.Closed)
            {
                continue; // an event queued before its descriptor closed
            }
            if ((events & (NativeTcp.EpollIn | NativeTcp.EpollRdHup | NativeTcp.EpollHup | NativeTcp.EpollErr)) != 0)
            {
                c.Readable = true;
                MarkReady(c);
            }
            if ((events & NativeTcp.EpollOut) != 0 && c.WriteBlocked)
            {
                SetWriteBlocked(c, false);
                MarkWrite(c);
            }
        }
    }

    private void AcceptAll(int listener)
    {
        int fdListener = (int)_listeners[listener].SafeHandle.DangerousGetHandle();
        TcpCounters counters = _counters[listener];
        for (int i = 0; i < _options.AcceptsPerBurst; i++)
        {
            IoResult r = NativeTcp.Accept(fdListener, out int fd, out SockAddr peer);
            if (r != IoResult.Done)
            {
                return; // nothing more waiting (or out of descriptors: the backlog holds them)
            }
            if (_open >= _options.MaxConnections)
            {
                NativeTcp.Close(fd);
                counters.Refused++;
                continue;
            }
            TcpConnection c = RentConnection();
            c.Fd = new FileDescriptor(fd);
            c.FdNumber = fd;
            c.Listener = listener;
            c.Serial = ++_nextSerial;
            c.Peer = peer.ToPeer();
            c.LocalPort = EndPoints[listener].Port;
            c.FlowHash = (uint)((ulong)c.Serial * 0x9E3779B97F4A7C15UL >> 32);
            NativeTcp.NoDelay(fd);
            Register(fd, (ulong)c.Index, NativeTcp.EpollIn | NativeTcp.EpollOut | NativeTcp.EpollRdHup | NativeTcp.EpollEt);
            _open++;
            counters.Accepted++;
            counters.Open++;
            // Edge-triggered: bytes that came with the connection raise no edge of their own.
            c.Readable = true;
            MarkReady(c);
        }
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

    /// <summary>Reads what the socket has into the connection's block. False when nothing more can be read now.</summary>
    private bool Read(TcpConnection c, TcpCounters counters)
    {
        if (c.Block < 0)
        {
            c.Block = _buffers.TryRent(_options.ReceiveBlockBytes);
            if (c.Block < 0)
            {
                counters.ReceiveShortages++;
                MarkReady(c);
                return false;
            }
            c.Start = c.End = 0;
        }
        else if (c.Start == c.End && _buffers.References(c.Block) == 1)
        {
            c.Start = c.End = 0; // everything framed and answered: reuse the block from its start
        }
        int size = _buffers.Size(c.Block);
        if (c.End == size)
        {
            // Full, with every byte framed but requests still reading it: a fresh block.
            if (!MakeRoom(c, 0, counters))
            {
                MarkReady(c);
                return false;
            }
            size = _buffers.Size(c.Block);
        }
        IoResult r = NativeTcp.Receive(c.FdNumber, _buffers.Pointer(c.Block) + c.End, size - c.End, out int got);
        switch (r)
        {
            case IoResult.Done:
                c.End += got;
                counters.BytesIn += got;
                return true;
            case IoResult.WouldBlock:
                c.Readable = false;
                return false;
            case IoResult.EndOfStream:
                c.Readable = false;
                c.PeerClosed = true;
                return false;
            default:
                counters.Reset++;
                CloseNow(c);
                return false;
        }
    }

    /// <summary>
    /// Makes the block able to hold a request of <paramref name="need"/> bytes (0: just some room) from
    /// <see cref="TcpConnection.Start"/>: the unframed tail moves to a new block when the request would
    /// run past the end of this one. This is the only copy on the receive path, and only a request
    /// split across reads that straddles a block's end pays it, once.
    /// </summary>
    private bool MakeRoom(TcpConnection c, int need, TcpCounters counters)
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
            _counters[c.Listener].DroppedReplies++;
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
        if (seq == c.SendSeq)
        {
            MarkWrite(c);
        }
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
    public bool TxBurst()
    {
        if (_writeBlocked > 0 && _writes.Count == 0)
        {
            // Writers wait for EPOLLOUT; while the IOKernel drains it polls no more for receive, so look here.
            Poll(intake: false);
        }
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

    private int _writeBlocked;

    private void SetWriteBlocked(TcpConnection c, bool blocked)
    {
        if (c.WriteBlocked != blocked)
        {
            c.WriteBlocked = blocked;
            _writeBlocked += blocked ? 1 : -1;
        }
    }

    /// <summary>Writes the ready replies at the head of the window, as many per sendmsg as the gather list holds.</summary>
    private void Flush(TcpConnection c)
    {
        TcpCounters counters = _counters[c.Listener];
        while (!c.Closed && !c.WriteBlocked)
        {
            // Empty replies (memcached's noreply, a quiet miss) at the head are done without a write.
            Consume(c, 0, counters);
            if (c.Closed)
            {
                return;
            }
            int iov = GatherReady(c, out long asked);
            if (iov == 0)
            {
                break;
            }
            IoResult r = NativeTcp.Send(c.FdNumber, _iov, iov, out long sent);
            if (r == IoResult.WouldBlock)
            {
                SetWriteBlocked(c, true); // EPOLLOUT takes it up again
                break;
            }
            if (r != IoResult.Done)
            {
                counters.Reset++;
                CloseNow(c);
                return;
            }
            counters.BytesOut += sent;
            Consume(c, sent, counters);
            // A short write means the socket's buffer filled: the next send says EAGAIN and waits for the edge.
        }
        if (c.Closed)
        {
            return;
        }
        if (c.Backpressured && c.InFlight < c.Window && c.UnsentBytes < _options.MaxUnsentBytesPerConnection)
        {
            c.Backpressured = false;
            MarkReady(c);
        }
        if (c.InFlight == 0 && (c.Closing || c.PeerClosed))
        {
            CloseNow(c);
        }
    }

    /// <summary>Fills the gather list from the head of the window: every ready reply in order, the head's
    /// unsent part first, until a slot is not ready or the list is full.</summary>
    private int GatherReady(TcpConnection c, out long asked)
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
                n = AddPiece(n, (nint)c.FailureBytes(slot), c.FailureLength[slot], ref skip, ref asked);
            }
            else
            {
                Runtime.Buffers.ReplyWriter reply = t.Reply;
                for (int p = 0; p < reply.PieceCount && n < MaxIovPerSend; p++)
                {
                    (nint start, int length) = reply.Piece(p);
                    n = AddPiece(n, start, length, ref skip, ref asked);
                }
            }
            if (c.CloseAfter[slot])
            {
                break; // nothing after a reply that closes the connection
            }
        }
        return n;
    }

    private int AddPiece(int n, nint start, int length, ref long skip, ref long asked)
    {
        if (skip >= length)
        {
            skip -= length;
            return n;
        }
        _iov[n].Base = (void*)(start + (nint)skip);
        _iov[n].Length = (nuint)(length - skip);
        asked += length - skip;
        skip = 0;
        return n + 1;
    }

    /// <summary>Retires the replies <paramref name="sent"/> bytes completed, in order.</summary>
    private void Consume(TcpConnection c, long sent, TcpCounters counters)
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
        if (c.InFlight == 0)
        {
            CloseNow(c);
        }
    }

    /// <summary>Closes the descriptor at once: replies not yet written are dropped (counted), and the
    /// green threads of requests still being served are recycled as they come back.</summary>
    private void CloseNow(TcpConnection c)
    {
        if (c.Closed)
        {
            return;
        }
        c.Closed = true;
        SetWriteBlocked(c, false);
        TcpCounters counters = _counters[c.Listener];
        if (c.Start < c.End && c.Skip == 0)
        {
            counters.ClosedMidRequest++;
        }
        c.Fd?.Dispose(); // closing the descriptor also takes it out of the epoll set
        c.Fd = null;
        c.FdNumber = -1;
        if (c.Block >= 0)
        {
            _buffers.Release(c.Block);
            c.Block = -1;
        }
        c.Start = c.End = 0;
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
        _open--;
        counters.Open--;
        FreeIfDone(c);
    }

    /// <summary>A closed connection's object goes back for reuse once nothing in flight refers to it.</summary>
    private void FreeIfDone(TcpConnection c)
    {
        if (c.Closed && c.InFlight == 0 && !c.InReadyList && !c.InWriteList)
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
        c = new TcpConnection(_connections.Count, _options.MaxInFlightPerConnection);
        _connections.Add(c);
        return c;
    }

    private void MarkReady(TcpConnection c)
    {
        if (!c.InReadyList && !c.Closed)
        {
            c.InReadyList = true;
            _ready.Enqueue(c);
        }
    }

    private void MarkWrite(TcpConnection c)
    {
        if (!c.InWriteList && !c.Closed && !c.WriteBlocked)
        {
            c.InWriteList = true;
            _writes.Enqueue(c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private (TcpConnection Connection, uint Seq) Unpack(long token) => (_connections[(int)(token >> 32)], (uint)token);

    private void Register(int fd, ulong data, uint events)
    {
        var ev = new EpollEvent { Events = events, Data = data };
        if (NativeTcp.EpollCtl(_epoll.Number, NativeTcp.EpollCtlAdd, fd, &ev) != 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Closes every connection and listener and frees the native memory. Only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (TcpConnection c in _connections)
        {
            c.Fd?.Dispose();
            c.Dispose();
        }
        foreach (Socket? l in _listeners)
        {
            l?.Dispose();
        }
        _epoll.Dispose();
        NativeMemory.AlignedFree(_events);
        NativeMemory.AlignedFree(_iov);
        if (_buffers.InUseBlocks == 0)
        {
            _buffers.Dispose();
        }
    }
}
