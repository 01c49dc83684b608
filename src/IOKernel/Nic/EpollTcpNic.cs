// The TCP NIC on system calls: listeners and connections on one edge-triggered epoll, read with recv and written with sendmsg.
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// The epoll backend of <see cref="TcpNic"/>. Listeners and connections share one edge-triggered
/// epoll, polled with a zero timeout once per receive burst: a connection that epoll reports
/// readable joins the ready list and is read with recv into its receive block until EAGAIN; replies
/// leave with one non-blocking sendmsg per connection per turn, and a full socket buffer waits for
/// EPOLLOUT. An empty poll is one epoll_wait however many connections are open.
/// </summary>
internal sealed unsafe class EpollTcpNic : TcpNic
{
    /// <summary>An epoll event's data for a listener has this bit set; a connection's is its index.</summary>
    private const ulong ListenerTag = 1UL << 62;

    /// <summary>epoll events taken per poll.</summary>
    private const int EventsPerPoll = 256;

    private readonly FileDescriptor _epoll;
    private readonly EpollEvent* _events;
    private readonly IoVec* _iov;
    private int _writeBlocked;

    /// <summary>Listens on every binding, the listeners on a new epoll.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">An address cannot be bound (in use, not local), or epoll cannot be had.</exception>
    public EpollTcpNic(TcpNicOptions options, IReadOnlyList<TcpBinding> bindings)
        : base(options, bindings, sendIovPerConnection: 0)
    {
        int epfd = NativeTcp.EpollCreate1(NativeTcp.EpollCloexec);
        if (epfd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            Dispose();
            throw new SocketException(errno);
        }
        _epoll = new FileDescriptor(epfd);
        _events = (EpollEvent*)NativeMemory.AlignedAlloc((nuint)(EventsPerPoll * sizeof(EpollEvent)), 64);
        _iov = (IoVec*)NativeMemory.AlignedAlloc((nuint)(MaxIovPerSend * sizeof(IoVec)), 64);
        try
        {
            for (int i = 0; i < _listeners.Length; i++)
            {
                Register((int)_listeners[i].SafeHandle.DangerousGetHandle(), ListenerTag | (uint)i, NativeTcp.EpollIn);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override NicBackend Backend => NicBackend.Syscalls;

    /// <inheritdoc />
    public override string BackendDescription => "epoll, recv/sendmsg";

    /// <inheritdoc />
    private protected override void Poll() => Poll(intake: true);

    /// <summary>One epoll_wait with no timeout: new connections, readable and writable ones. With
    /// <paramref name="intake"/> false (the IOKernel is draining), it only learns which blocked writers
    /// may write again: listeners are left for later and readable connections are only marked.</summary>
    private void Poll(bool intake)
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
        for (int i = 0; i < _options.AcceptsPerBurst; i++)
        {
            IoResult r = NativeTcp.Accept(fdListener, out int fd, out SockAddr peer);
            if (r != IoResult.Done)
            {
                return; // nothing more waiting (or out of descriptors: the backlog holds them)
            }
            TcpConnection? c = Admit(fd, listener, peer);
            if (c is null)
            {
                continue;
            }
            Register(fd, (ulong)c.Index, NativeTcp.EpollIn | NativeTcp.EpollOut | NativeTcp.EpollRdHup | NativeTcp.EpollEt);
            // Edge-triggered: bytes that came with the connection raise no edge of their own.
            c.Readable = true;
            MarkReady(c);
        }
    }

    /// <inheritdoc />
    /// <remarks>recv into the connection's block, after what is unframed.</remarks>
    private protected override bool Read(TcpConnection c, TcpCounters counters)
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

    /// <inheritdoc />
    public override bool TxBurst()
    {
        if (_writeBlocked > 0 && PendingWrites == 0)
        {
            // Writers wait for EPOLLOUT; while the IOKernel drains it polls no more for receive, so look here.
            Poll(intake: false);
        }
        return FlushWrites();
    }

    /// <inheritdoc />
    /// <remarks>As many sendmsg calls as it takes, each gathering up to <see cref="TcpNic.MaxIovPerSend"/>
    /// pieces, until the window's head is not ready or the socket's buffer is full (then EPOLLOUT takes it up).</remarks>
    private protected override void Write(TcpConnection c, TcpCounters counters)
    {
        while (!c.Closed && !c.WriteBlocked)
        {
            // Empty replies (memcached's noreply, a quiet miss) at the head are done without a write.
            Consume(c, 0, counters);
            if (c.Closed)
            {
                return;
            }
            int iov = GatherReady(c, _iov, out _);
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
    }

    /// <inheritdoc />
    private protected override void CloseDescriptor(TcpConnection c)
    {
        SetWriteBlocked(c, false);
        c.CloseFd(); // closing the descriptor also takes it out of the epoll set
    }

    private void SetWriteBlocked(TcpConnection c, bool blocked)
    {
        if (c.WriteBlocked != blocked)
        {
            c.WriteBlocked = blocked;
            _writeBlocked += blocked ? 1 : -1;
        }
    }

    private void Register(int fd, ulong data, uint events)
    {
        var ev = new EpollEvent { Events = events, Data = data };
        if (NativeTcp.EpollCtl(_epoll.Number, NativeTcp.EpollCtlAdd, fd, &ev) != 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <inheritdoc />
    private protected override void DisposeBackend()
    {
        _epoll?.Dispose();
        if (_events is not null)
        {
            NativeMemory.AlignedFree(_events);
            NativeMemory.AlignedFree(_iov);
        }
    }
}
