// One kv point over TCP: the open-loop schedule sent over N connections, pipelined, each connection's replies read back in order.
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using NetStack.IOKernel.Nic;
using NetStack.Measurement.Reports;
using NetStack.LoadGen.Kv.Protocol;
using NetStack.LoadGen.Udp;
using NetStack.Runtime;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// Request i of the schedule goes, at its intended time, on connection i mod N, whatever the replies
/// do (pipelined: a connection may have any number outstanding). memcached answers a connection's
/// requests in order and text replies carry no id, so a connection's next reply is its oldest
/// request's; the reader checks that it has that request's shape (its keys, in order; binary: its
/// opaque). A reply that is not is counted failed and malformed, and the connection is dropped:
/// its outstanding requests are lost, and the sender opens it again before its next request.
/// Latency runs from the intended send time on this process's clock. One thread sends and reads
/// (reading while it waits), or a second thread reads; neither allocates per request.
/// </summary>
internal sealed unsafe class KvTcpPoint
{
    private readonly KvPointState _s;
    private readonly KvConnection[] _connections;
    private readonly byte[] _frame;
    private readonly EpollEvent[] _events;
    private readonly int _readerMaxValue;
    private readonly KvProtocolKind _protocol;
    private FileDescriptor? _epoll;

    /// <param name="spec">The point.</param>
    /// <param name="schedule">Its requests.</param>
    public KvTcpPoint(KvPointSpec spec, KvSchedule schedule)
    {
        _s = new KvPointState(spec, schedule);
        _s.TrackHeadOfLine();
        _protocol = spec.Protocol;
        _readerMaxValue = _s.ReaderMaxValueBytes;
        KeySpace keys = spec.Mix.Keys;
        _frame = new byte[KvClientProtocol.MaxRequestBytes(keys.MaxKeyBytes, spec.Mix.Workload.Values.MaxBytes, schedule.LongKeys)];
        _events = new EpollEvent[spec.Connections];
        int bufferBytes = Math.Max(64 << 10, KvClientProtocol.MaxReplyUnitBytes(_readerMaxValue) + 1024);
        // Fresh connections for each point: a reply owed by an earlier point can never reach this one.
        _connections = new KvConnection[spec.Connections];
        try
        {
            for (int i = 0; i < _connections.Length; i++)
            {
                _connections[i] = new KvConnection(i, KvConnection.Connect(spec.EndPoint), bufferBytes);
            }
        }
        catch (SocketException e)
        {
            Close();
            throw new InvalidOperationException($"kv point: cannot connect to {spec.Target.Label} at {spec.EndPoint}: {e.Message}", e);
        }
    }

    /// <summary>Runs the point and reports it; closes its connections.</summary>
    public PointReport Run()
    {
        try
        {
            int epfd = NativeTcp.EpollCreate1(NativeTcp.EpollCloexec);
            if (epfd < 0)
            {
                throw new InvalidOperationException("epoll_create1 failed");
            }
            _epoll = new FileDescriptor(epfd);
            foreach (KvConnection c in _connections)
            {
                Watch(c);
            }
            return _s.Run("kv", Send, PollOnce, "tcp", _connections.Length);
        }
        finally
        {
            _epoll?.Dispose();
            Close();
        }
    }

    private void Close()
    {
        foreach (KvConnection? c in _connections)
        {
            c?.Socket.Dispose();
        }
    }

    private void Send()
    {
        KvSchedule schedule = _s.Schedule;
        ReadOnlySpan<long> offsets = schedule.OffsetTicks;
        ReadOnlySpan<byte> ops = schedule.Ops;
        ReadOnlySpan<int> valueBytes = schedule.ValueBytes;
        var pacing = new SendWait(_s.Spec.Limits, _s.Spec.InlineReceive);
        Func<bool> poll = PollOnce;
        bool inline = _s.Spec.InlineReceive;
        KeySpace keys = _s.Spec.Mix.Keys;
        bool measuring = false;
        long allocatedFrom = 0;
        int n = _connections.Length;
        for (int i = 0; i < offsets.Length; i++)
        {
            long intended = _s.StartTicks + offsets[i];
            long now = Clock.Now();
            while (now < intended)
            {
                pacing.Step(now, intended - now, poll);
                now = Clock.Now();
            }
            if (now >= _s.EndTicks)
            {
                break;
            }
            if (!measuring && intended >= _s.MeasureFromTicks)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            KvConnection c = _connections[i % n];
            // Acquire: pairs with the receiver's release when it gave the connection up.
            bool usable = Volatile.Read(ref c.Broken) == 0 || Reconnect(c, i);
            if (ops[i] == KvOp.Multiget)
            {
                c.LastLong = i;
            }
            else if (ops[i] == KvOp.Get && c.LastLong >= 0 && Volatile.Read(ref c.NextExpected) <= c.LastLong)
            {
                _s.SentBehindLong(i); // the receiver may be another thread: NextExpected only grows, so a stale read says "behind"
            }
            int length = KvClientProtocol.Encode(_protocol, _frame, keys, ops[i], schedule.KeysOf(i), valueBytes[i], (uint)i);
            if (!usable || !SendAll(c, _frame.AsSpan(0, length), inline))
            {
                _s.SendErrors++;
            }
            _s.SentAt(now, intended);
            pacing.Sent(now);
            if (inline && (i & 7) == 7)
            {
                PollOnce(); // a late or very busy sender has no gaps to read in
            }
        }
        if (measuring)
        {
            _s.SenderAllocated += GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
        }
    }

    /// <summary>Writes the whole request; a full socket buffer is waited out (reading replies meanwhile when
    /// inline) until the point's end. False when it could not be sent: the connection failed or broke.</summary>
    private bool SendAll(KvConnection c, ReadOnlySpan<byte> frame, bool inline)
    {
        while (!frame.IsEmpty)
        {
            int sent = c.Socket.Send(frame, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                frame = frame[sent..];
                continue;
            }
            if (error != SocketError.WouldBlock || Clock.Now() >= _s.EndTicks)
            {
                return false;
            }
            if (inline)
            {
                PollOnce();
            }
            // A connection the receiver gave up will never be read again: waiting on it would stall the schedule.
            if (Volatile.Read(ref c.Broken) != 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Replaces a connection the receiver gave up: its outstanding requests are lost, and its next
    /// reply will be request <paramref name="next"/>'s. Rare (a malformed reply, a closed connection),
    /// so it may allocate. False when the server cannot be reached: the request counts as a send error.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Reconnect(KvConnection c, int next)
    {
        Socket fresh;
        try
        {
            fresh = KvConnection.Connect(_s.Spec.EndPoint);
        }
        catch (SocketException)
        {
            return false;
        }
        c.Socket.Dispose();
        c.Socket = fresh;
        c.Start = c.End = 0;
        c.Progress = default;
        c.NextExpected = next;
        _s.Reconnects++;
        Watch(c);
        // Release: the receiver sees the new socket, the empty buffer and NextExpected before it reads again.
        Volatile.Write(ref c.Broken, 0);
        return true;
    }

    private void Watch(KvConnection c)
    {
        var ev = new EpollEvent { Events = NativeTcp.EpollIn, Data = (ulong)c.Index };
        NativeTcp.EpollCtl(_epoll!.Number, NativeTcp.EpollCtlAdd, (int)c.Socket.Handle, &ev);
    }

    /// <summary>One epoll_wait without waiting, and a read of each connection it names; true when any bytes arrived.</summary>
    private bool PollOnce()
    {
        int ready;
        fixed (EpollEvent* events = _events)
        {
            ready = NativeTcp.EpollWait(_epoll!.Number, events, _events.Length, 0);
        }
        bool any = false;
        for (int e = 0; e < ready; e++)
        {
            KvConnection c = _connections[(int)_events[e].Data];
            // Acquire: a connection the sender just replaced is read only once its new state is visible.
            if (Volatile.Read(ref c.Broken) != 0)
            {
                continue;
            }
            if (c.End == c.Buffer.Length)
            {
                c.Compact();
                if (c.End == c.Buffer.Length)
                {
                    // A reply unit larger than any this run can get (the readers bound each one below the buffer).
                    _s.Malformed(c.NextExpected);
                    GiveUp(c);
                    continue;
                }
            }
            int n = c.Socket.Receive(c.Buffer.AsSpan(c.End), SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                continue;
            }
            if (error != SocketError.Success || n == 0)
            {
                _s.Disconnects++;
                GiveUp(c);
                continue;
            }
            any = true;
            c.End += n;
            Drain(c, Clock.Now());
        }
        return any;
    }

    /// <summary>Every whole reply buffered on <paramref name="c"/>, in order.</summary>
    private void Drain(KvConnection c, long now)
    {
        int n = _connections.Length;
        while (c.Start < c.End)
        {
            int i = c.NextExpected;
            if (i >= _s.Schedule.Count)
            {
                // Bytes when every request of this connection was answered: nothing sent asked for them.
                _s.Unknown++;
                GiveUp(c);
                return;
            }
            ExpectedReply expected = _s.Expect(i);
            ReplyStep step = KvClientProtocol.Read(_protocol, c.Buffer.AsSpan(c.Start, c.End - c.Start), expected, ref c.Progress,
                _readerMaxValue, out int consumed);
            c.Start += consumed;
            if (step == ReplyStep.NeedMore)
            {
                break;
            }
            if (step == ReplyStep.Malformed)
            {
                _s.Malformed(i);
                GiveUp(c);
                return;
            }
            _s.Complete(i, c.Progress, now);
            c.Progress = default;
            c.NextExpected = i + n;
        }
        if (c.Start == c.End)
        {
            c.Start = c.End = 0;
        }
    }

    /// <summary>Stops reading <paramref name="c"/> for good; the sender replaces it before its next request there.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GiveUp(KvConnection c)
    {
        NativeTcp.EpollCtl(_epoll!.Number, NativeTcp.EpollCtlDel, (int)c.Socket.Handle, null);
        // Release: the receiver's last reads of the connection happen before the sender may replace it.
        Volatile.Write(ref c.Broken, 1);
    }
}
