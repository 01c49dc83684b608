// One tcp point: the open-loop schedule sent over N connections, pipelined, replies read back in order on each.
using System.Net.Sockets;
using HdrHistogram;
using NetStack.IOKernel.Nic;
using NetStack.LoadGen.Udp;
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Tcp;

/// <summary>
/// Runs one open-loop point over TCP. Request i of the schedule goes, at its intended time, on
/// connection i mod N, whatever the answers do (pipelining: a connection may have any number of
/// requests outstanding). Replies are read from every connection as they come, and must come back on
/// each in the order its requests were sent: a reply whose id is not the next one its connection owes
/// counts as a failure (out of order). Latency runs from the intended send time on this process's
/// clock. One thread sends and reads (reading while it waits for its next send time), or a second
/// thread reads; neither allocates per request. Each watches its own clock reads for stalls, as the
/// udp generator's threads do.
/// </summary>
internal sealed unsafe class TcpOpenLoopPoint
{
    private const double StartDelayMillis = 50;

    private readonly UdpPointSpec _spec;
    private readonly OpenLoopSchedule _schedule;
    private readonly Socket[] _sockets;
    private readonly Connection[] _connections;
    private readonly byte[] _answered;
    private readonly long _startTicks;
    private readonly long _measureFromTicks;
    private readonly long _endTicks;
    private readonly LatencyRecorder _recorder;
    private readonly LongHistogram _latenessNs = LatencyRecorder.NewHistogram();
    private readonly byte[] _frame;
    private readonly EpollEvent[] _events;
    private readonly StallLog _stalls;
    private readonly StallWatch _senderStalls;
    private readonly StallWatch? _receiverStalls;
    private long _sent;
    private long _sentInWindow;
    private long _sendErrors;
    private long _ok;
    private long _okInWindow;
    private long _rejected;
    private long _failed;
    private long _outOfOrder;
    private long _unknown;
    private long _preemptions;
    private long _unique;
    private long _allocated;
    private int _sendingDone;
    private Exception? _failure;

    /// <param name="spec">The point (its <see cref="UdpPointSpec.Connections"/> sockets are <paramref name="sockets"/>).</param>
    /// <param name="schedule">Its arrivals.</param>
    /// <param name="sockets">Connected, non-blocking sockets to the target, reused across points.</param>
    public TcpOpenLoopPoint(UdpPointSpec spec, OpenLoopSchedule schedule, Socket[] sockets)
    {
        _spec = spec;
        _schedule = schedule;
        _sockets = sockets;
        _connections = sockets.Select((s, i) => new Connection(s, i)).ToArray();
        _answered = new byte[schedule.Count];
        _startTicks = Clock.Now() + Clock.FromMicros(StartDelayMillis * 1000);
        long duration = Clock.FromMicros(spec.DurationS * 1e6);
        _measureFromTicks = _startTicks + (long)(duration * spec.WarmupFraction);
        _endTicks = _startTicks + duration;
        // Every answer is logged with its stamps (warm-up included: a busy period may begin there).
        _recorder = new LatencyRecorder(spec.Workload.Types.Count, _measureFromTicks, long.MaxValue, schedule.Count);
        _frame = new byte[WireProtocol.HeaderSize + spec.PayloadBytes];
        _events = new EpollEvent[sockets.Length];
        _stalls = new StallLog(spec.StallThresholdMicros);
        _senderStalls = _stalls.Watch(spec.SenderCores[0], StallSource.Generator);
        _receiverStalls = spec.InlineReceive ? null : _stalls.Watch(spec.ReceiverCore, StallSource.Generator);
    }

    /// <summary>Runs the point and reports it.</summary>
    public PointReport Run()
    {
        // One epoll for the connections: a poll is one system call however many there are.
        int epfd = NativeTcp.EpollCreate1(NativeTcp.EpollCloexec);
        if (epfd < 0)
        {
            throw new InvalidOperationException("epoll_create1 failed");
        }
        _epoll = new FileDescriptor(epfd);
        try
        {
            for (int i = 0; i < _sockets.Length; i++)
            {
                var ev = new EpollEvent { Events = NativeTcp.EpollIn, Data = (ulong)i };
                NativeTcp.EpollCtl(epfd, NativeTcp.EpollCtlAdd, (int)_sockets[i].Handle, &ev);
            }
            return RunPoint();
        }
        finally
        {
            _epoll.Dispose();
        }
    }

    private FileDescriptor? _epoll;

    private PointReport RunPoint()
    {
        Thread? receiver = _spec.InlineReceive ? null : new Thread(ReceiveLoop) { IsBackground = true, Name = "tcp-receiver" };
        var sender = new Thread(SendLoop) { IsBackground = true, Name = "tcp-sender" };
        long allocated = PointWindow.Run(sender, receiver, _measureFromTicks, _endTicks, _spec.Limits.MaxGraceSeconds,
            $"tcp point against {_spec.Target.Label}", () => _failure);
        return Report(allocated);
    }

    private void SendLoop()
    {
        try
        {
            Pin(_spec.SenderCores[0]);
            _senderStalls.Install(Clock.Now());
            Send();
            if (_spec.InlineReceive)
            {
                Volatile.Write(ref _sendingDone, 1);
                Receive(_senderStalls);
            }
            else
            {
                Volatile.Write(ref _sendingDone, 1); // release: _sent is final before the receiver reads it
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private void ReceiveLoop()
    {
        try
        {
            Pin(_spec.ReceiverCore);
            _receiverStalls!.Install(Clock.Now());
            Receive(_receiverStalls);
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private void Send()
    {
        ReadOnlySpan<long> offsets = _schedule.OffsetTicks;
        ReadOnlySpan<int> services = _schedule.ServiceNs;
        ReadOnlySpan<byte> types = _schedule.Types;
        var pacing = new SendWait(_spec.Limits, _spec.InlineReceive);
        Func<bool> poll = PollOnce;
        ulong idBase = (ulong)_spec.Serial << 32;
        var header = new RequestHeader { PayloadLength = (uint)_spec.PayloadBytes };
        bool inline = _spec.InlineReceive;
        bool measuring = false;
        long allocatedFrom = 0;
        int n = _connections.Length;
        for (int i = 0; i < offsets.Length; i++)
        {
            long intended = _startTicks + offsets[i];
            long now = Clock.Now();
            _senderStalls.Observe(now);
            while (now < intended)
            {
                bool slept = pacing.Step(now, intended - now, poll);
                now = Clock.Now();
                if (slept)
                {
                    _senderStalls.Restart(now); // asleep on purpose, far from any send
                }
                else
                {
                    _senderStalls.Observe(now);
                }
            }
            if (now >= _endTicks)
            {
                break;
            }
            if (!measuring && intended >= _measureFromTicks)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            header.Type = types[i];
            header.Id = idBase | (uint)i;
            header.IntendedSendNs = Clock.ToNs(intended);
            header.ServiceNs = services[i];
            WireProtocol.WriteRequest(_frame, header);
            if (!SendAll(_connections[i % n], _frame, inline))
            {
                _sendErrors++;
            }
            _sent++;
            pacing.Sent(now);
            if (inline && (i & 7) == 7)
            {
                PollOnce(); // a late or very busy sender has no gaps to read in
            }
            if (measuring)
            {
                _sentInWindow++;
                _latenessNs.RecordValue(Math.Min(Clock.ToNs(now - intended), LatencyRecorder.HighestTrackable));
            }
        }
        if (measuring)
        {
            _allocated += GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
        }
    }

    /// <summary>Writes the whole frame; a full socket buffer (the server reads slower than we send) is
    /// waited out, reading replies meanwhile when inline, until the point's end.</summary>
    private bool SendAll(Connection c, ReadOnlySpan<byte> frame, bool inline)
    {
        while (!frame.IsEmpty)
        {
            int n = c.Socket.Send(frame, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                frame = frame[n..];
                continue;
            }
            if (error != SocketError.WouldBlock || Clock.Now() >= _endTicks)
            {
                return false;
            }
            if (inline)
            {
                PollOnce();
            }
        }
        return true;
    }

    private void Receive(StallWatch stalls)
    {
        GeneratorLimits limits = _spec.Limits;
        long graceEnd = long.MaxValue;
        bool measuring = false;
        long allocatedFrom = 0;
        int idle = 0;
        while (true)
        {
            bool any = PollOnce();
            long now = Clock.Now();
            stalls.Observe(now);
            if (!any && ++idle > limits.ReceiverSpinPolls)
            {
                Thread.Yield();
            }
            else if (any)
            {
                idle = 0;
            }
            if (!measuring && graceEnd == long.MaxValue && now >= _measureFromTicks && !_spec.InlineReceive)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            if (Volatile.Read(ref _sendingDone) != 0)
            {
                if (graceEnd == long.MaxValue)
                {
                    if (measuring)
                    {
                        _allocated += GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
                        measuring = false;
                    }
                    graceEnd = now + Grace();
                }
                if (Volatile.Read(ref _unique) >= Volatile.Read(ref _sent) || now >= graceEnd)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One epoll_wait without waiting, and a read of each connection it names; true when any reply arrived.</summary>
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
            Connection c = _connections[(int)_events[e].Data];
            if (c.End == c.Buffer.Length)
            {
                c.Compact();
            }
            int n = c.Socket.Receive(c.Buffer.AsSpan(c.End), SocketFlags.None, out SocketError error);
            if (error != SocketError.Success || n == 0)
            {
                continue;
            }
            any = true;
            c.End += n;
            Drain(c, Clock.Now());
        }
        return any;
    }

    /// <summary>Every whole reply buffered on <paramref name="c"/>, in order.</summary>
    private void Drain(Connection c, long now)
    {
        while (true)
        {
            ReadOnlySpan<byte> buffered = c.Buffer.AsSpan(c.Start, c.End - c.Start);
            if (!WireProtocol.TryParseResponseHeader(buffered, out ResponseHeader h))
            {
                if (buffered.Length >= WireProtocol.HeaderSize)
                {
                    // Not our protocol: nothing after it on this stream can be trusted.
                    _unknown++;
                    c.Start = c.End;
                }
                c.CompactIfEmpty();
                return;
            }
            int total = WireProtocol.HeaderSize + (int)h.PayloadLength;
            if (buffered.Length < total)
            {
                c.Reserve(total);
                return;
            }
            c.Start += total;
            Answer(c, h, now);
        }
    }

    private void Answer(Connection c, in ResponseHeader h, long now)
    {
        int i = (int)(uint)h.Id;
        if ((uint)(h.Id >> 32) != _spec.Serial || (uint)i >= (uint)_answered.Length || _answered[i] != 0
            || h.Type != _schedule.Types[i] || h.IntendedSendNs != Clock.ToNs(_startTicks + _schedule.OffsetTicks[i]))
        {
            _unknown++;
            return;
        }
        _answered[i] = 1;
        Interlocked.Increment(ref _unique);
        // Requests on a connection are i, i + N, i + 2N, ...: its replies must come in that order.
        bool inOrder = i == c.NextExpected;
        c.NextExpected = i + _connections.Length;
        if (!inOrder)
        {
            _outOfOrder++;
            _failed++;
            return;
        }
        switch (h.Status)
        {
            case ResponseStatus.Ok:
                _ok++;
                break;
            case ResponseStatus.RejectedOverload:
                _rejected++;
                return;
            default:
                _failed++;
                if (h.Status == ResponseStatus.BadRequest)
                {
                    return;
                }
                break;
        }
        _preemptions += h.Preemptions;
        // Throughput counts the answers the window received, whenever they were sent.
        if (h.Status == ResponseStatus.Ok && now >= _measureFromTicks && now < _endTicks)
        {
            _okInWindow++;
        }
        // The recorder keeps the window's arrivals, and logs every answer for the stall attribution.
        _recorder.RecordRequest(_schedule.Types[i], _startTicks + _schedule.OffsetTicks[i], now, _schedule.ServiceNs[i],
            (int)h.Preemptions, h.Status == ResponseStatus.Error);
    }

    private long Grace()
    {
        long p999Ns = 0;
        foreach (LongHistogram h in _recorder.Latency)
        {
            if (h.TotalCount > 0)
            {
                p999Ns = Math.Max(p999Ns, h.GetValueAtPercentile(99.9));
            }
        }
        GeneratorLimits limits = _spec.Limits;
        double graceMicros = Math.Max(limits.MinGraceMillis * 1000, limits.GraceTimesP999 * p999Ns / 1000.0);
        return Clock.FromMicros(Math.Min(graceMicros, limits.MaxGraceSeconds * 1e6));
    }

    private PointReport Report(long processAllocated)
    {
        Workload workload = _spec.Workload;
        (ClassReport all, List<ClassReport> types) = _recorder.ToClasses(workload.Types.Select(t => t.Name).ToList());
        Summary lateness = Summary.From(_latenessNs, 1000.0);
        long measureFromOffset = _measureFromTicks - _startTicks;
        long scheduledInWindow = 0;
        foreach (long offset in _schedule.OffsetTicks)
        {
            if (offset >= measureFromOffset)
            {
                scheduledInWindow++;
            }
        }
        double windowS = Clock.ToMicros(_endTicks - _measureFromTicks) / 1e6;
        long answered = _ok + _rejected + _failed;
        var point = new PointReport
        {
            System = _spec.Target.System,
            Policy = _spec.Target.Policy,
            Workers = _spec.Workers,
            Transport = "tcp",
            Connections = _connections.Length,
            PayloadBytes = _spec.PayloadBytes,
            OfferedLoad = _spec.OfferedLoad,
            OfferedRps = _spec.RatePerSecond,
            AchievedRps = _okInWindow / windowS,
            Completed = _ok,
            Dropped = _rejected,
            Errors = _failed,
            Preemptions = _preemptions,
            AllocatedBytesPerRequest = _okInWindow == 0 ? 0 : (double)processAllocated / _okInWindow,
            All = all,
            Types = types,
            Scheduled = _schedule.Count,
            Sent = _sent,
            Ok = _ok,
            Rejected = _rejected,
            Failed = _failed,
            OutOfOrder = _outOfOrder,
            Lost = _sent - answered,
            SendErrors = _sendErrors,
            Duplicates = 0,
            UnknownResponses = _unknown,
            GeneratorLatenessUs = lateness,
            GeneratorFellBehind = _spec.Limits.FellBehind(lateness, scheduledInWindow, _sentInWindow),
            GeneratorAllocatedBytesPerRequest = _okInWindow == 0 ? 0 : (double)_allocated / _okInWindow,
        };
        StallAccounting stalls = _spec.NewStallAccounting(_stalls.ThresholdMicros);
        stalls.AddRound([_recorder], _stalls.Snapshot(), _stalls.Overflowed, _measureFromTicks, _endTicks);
        stalls.WriteTo(point, workload.Types.Select(t => t.Name).ToList());
        return point;
    }

    private static void Pin(int core)
    {
        if (core >= 0)
        {
            Affinity.PinCurrentThread(core);
        }
    }

    /// <summary>One connection's read side: buffered reply bytes and the next request it owes a reply for.</summary>
    private sealed class Connection(Socket socket, int index)
    {
        public readonly Socket Socket = socket;
        public byte[] Buffer = new byte[64 << 10];
        public int Start;
        public int End;
        public int NextExpected = index;

        public void Compact()
        {
            if (Start == 0)
            {
                Reserve(Buffer.Length * 2);
                return;
            }
            System.Buffer.BlockCopy(Buffer, Start, Buffer, 0, End - Start);
            End -= Start;
            Start = 0;
        }

        public void CompactIfEmpty()
        {
            if (Start == End)
            {
                Start = End = 0;
            }
        }

        public void Reserve(int total)
        {
            if (Buffer.Length - Start >= total)
            {
                return;
            }
            byte[] bigger = new byte[Math.Max(total, Buffer.Length * 2)];
            System.Buffer.BlockCopy(Buffer, Start, bigger, 0, End - Start);
            End -= Start;
            Start = 0;
            Buffer = bigger;
        }
    }
}
