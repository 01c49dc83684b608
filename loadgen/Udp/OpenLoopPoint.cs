// One udp point: the sender and receiver threads against one target at one rate, and the report row they produce.
using System.Net.Sockets;
using HdrHistogram;
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.Runtime;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Udp;

/// <summary>What one udp point runs.</summary>
internal sealed record UdpPointSpec
{
    /// <summary>The server.</summary>
    public required UdpTarget Target { get; init; }
    /// <summary>Types and service times (already drawn into the schedule; kept for names and capacity).</summary>
    public required Workload Workload { get; init; }
    /// <summary>Offered requests/s.</summary>
    public required double RatePerSecond { get; init; }
    /// <summary>Offered load, fraction of <see cref="Workers"/>' capacity.</summary>
    public required double OfferedLoad { get; init; }
    /// <summary>The server's worker cores, as the user stated them.</summary>
    public int Workers { get; init; } = 1;
    /// <summary>Seconds of sending, warm-up included.</summary>
    public double DurationS { get; init; } = 2;
    /// <summary>Leading share not recorded.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>The core of each sender thread, -1 for unpinned; its length is the number of senders.</summary>
    public int[] SenderCores { get; init; } = [-1];
    /// <summary>The receiver thread's core, -1 for unpinned.</summary>
    public int ReceiverCore { get; init; } = -1;
    /// <summary>Fell-behind and grace rules.</summary>
    public GeneratorLimits Limits { get; init; } = new();
    /// <summary>One thread sends and receives: it reads answers while waiting for its next send time (needs one sender).</summary>
    public bool InlineReceive { get; init; }
    /// <summary>Distinguishes this point's request ids from any earlier point's (high 32 bits of the id).</summary>
    public uint Serial { get; init; }
    /// <summary>Payload bytes per request (the spin app echoes them back).</summary>
    public int PayloadBytes { get; init; }
    /// <summary>TCP: connections the schedule is spread over.</summary>
    public int Connections { get; init; } = 1;
    /// <summary>Gaps in a generator thread's clock reads longer than this are stalls, µs.</summary>
    public double StallThresholdMicros { get; init; } = StallLog.DefaultThresholdMicros;

    /// <summary>
    /// An accounting for a network point's stalls: the generator's threads are the only ones it can
    /// watch, so it declares their cores (sender k on <see cref="SenderCores"/>[k], the receiver on
    /// <see cref="ReceiverCore"/> or, inline, the sender's own).
    /// </summary>
    public StallAccounting NewStallAccounting(double thresholdMicros)
    {
        var stalls = new StallAccounting(Workload.Types.Count, thresholdMicros, StallAccounting.SeenByGenerator);
        foreach (int core in SenderCores)
        {
            stalls.Watched(core, "sender");
        }
        stalls.Watched(InlineReceive ? SenderCores[0] : ReceiverCore, "receiver");
        return stalls;
    }
}

/// <summary>
/// Runs one open-loop point. Senders (<see cref="SendLoop"/>) send each scheduled request at its
/// intended time whatever the answers do; one receiver (<see cref="ReceiveLoop"/>) matches answers
/// to requests by id and records latency from the intended send time on this process's clock.
/// Both loops allocate nothing per request: the schedule, the answered flags, the buffers, the
/// histograms and the request log exist before the point starts. Each thread watches its own clock
/// reads for stalls (<see cref="StallWatch"/>): a thread that was off its core cannot send on time or
/// time an answer, so the requests such a stall touched are left out of the untouched figures.
/// </summary>
internal sealed partial class OpenLoopPoint
{
    /// <summary>Time between starting the threads and the first intended send, for them to start and pin themselves.</summary>
    private const double StartDelayMillis = 50;

    private readonly UdpPointSpec _spec;
    private readonly OpenLoopSchedule _schedule;
    private readonly Socket _socket;
    private readonly byte[] _answered;
    private readonly long _startTicks;
    private readonly long _measureFromTicks;
    private readonly long _endTicks;
    private readonly SenderState[] _senders;
    private readonly ReceiverState _receiver;
    private readonly StallLog _stalls;

    // Written once by the coordinating thread after every sender has finished; the receiver reads it
    // only after it has seen _sendingDone, whose Volatile write/read pair orders the two.
    private long _sentTotal;
    private int _sendingDone;

    /// <param name="spec">The point.</param>
    /// <param name="schedule">Its arrivals, drawn for its rate; not changed.</param>
    /// <param name="socket">A UDP socket connected to the target, non-blocking; reused across points.</param>
    public OpenLoopPoint(UdpPointSpec spec, OpenLoopSchedule schedule, Socket socket)
    {
        _spec = spec;
        _schedule = schedule;
        _socket = socket;
        _answered = new byte[schedule.Count];
        _startTicks = Clock.Now() + Clock.FromMicros(StartDelayMillis * 1000);
        long duration = Clock.FromMicros(spec.DurationS * 1e6);
        _measureFromTicks = _startTicks + (long)(duration * spec.WarmupFraction);
        _endTicks = _startTicks + duration;
        _stalls = new StallLog(spec.StallThresholdMicros);
        _senders = new SenderState[spec.SenderCores.Length];
        for (int s = 0; s < _senders.Length; s++)
        {
            _senders[s] = new SenderState(s, spec.SenderCores[s], _stalls.Watch(spec.SenderCores[s], StallSource.Generator));
        }
        // Every answer is logged with its stamps (warm-up included: a busy period may begin there).
        _receiver = new ReceiverState(new LatencyRecorder(spec.Workload.Types.Count, _measureFromTicks, long.MaxValue, schedule.Count),
            spec.InlineReceive ? null : _stalls.Watch(spec.ReceiverCore, StallSource.Generator));
    }

    /// <summary>Runs the point to its end (sending stops at the end; answers are awaited for a bounded grace) and reports it.</summary>
    public PointReport Run()
    {
        DrainStale();
        long? dropsBefore = UdpSocketDrops.Read(_socket);
        Thread? receiver = _spec.InlineReceive ? null : new Thread(ReceiveLoop) { IsBackground = true, Name = "udp-receiver" };
        var senders = _senders.Select(s => new Thread(() => SendLoop(s)) { IsBackground = true, Name = $"udp-sender-{s.Index}" }).ToList();
        receiver?.Start();
        foreach (Thread t in senders)
        {
            t.Start();
        }

        long allocated = PointWindow.AllocatedBytes(_measureFromTicks, _endTicks);

        // Every loop checks the clock against the point's end, so these joins are bounds, not hopes.
        TimeSpan receiverBound = TimeSpan.FromSeconds(_spec.Limits.MaxGraceSeconds + 5);
        foreach (Thread t in senders)
        {
            JoinOrThrow(t, _spec.InlineReceive ? receiverBound : TimeSpan.FromSeconds(5));
        }
        if (receiver is not null)
        {
            _sentTotal = _senders.Sum(s => s.Sent);
            Volatile.Write(ref _sendingDone, 1); // release: publishes _sentTotal to the receiver
            JoinOrThrow(receiver, receiverBound);
        }
        if (_senders.Select(s => s.Failure).Append(_receiver.Failure).FirstOrDefault(f => f is not null) is { } failure)
        {
            throw new InvalidOperationException($"udp point against {_spec.Target.Label} failed: {failure.Message}", failure);
        }

        long? dropsAfter = UdpSocketDrops.Read(_socket);
        return Report(allocated, dropsAfter - dropsBefore);
    }

    private PointReport Report(long processAllocated, long? generatorDropped)
    {
        Workload workload = _spec.Workload;
        ReceiverState r = _receiver;
        (ClassReport all, List<ClassReport> types) = r.Recorder.ToClasses(workload.Types.Select(t => t.Name).ToList());
        LongHistogram lateness = LatencyRecorder.NewHistogram();
        foreach (SenderState s in _senders)
        {
            lateness.Add(s.LatenessNs);
        }
        Summary latenessUs = Summary.From(lateness, 1000.0);
        long measureFromOffset = _measureFromTicks - _startTicks;
        long scheduledInWindow = 0;
        foreach (long offset in _schedule.OffsetTicks)
        {
            if (offset >= measureFromOffset)
            {
                scheduledInWindow++;
            }
        }
        long sentInWindow = _senders.Sum(s => s.SentInWindow);
        long sent = _sentTotal;
        long answered = r.Ok + r.Rejected + r.Failed;
        double windowS = Clock.ToMicros(_endTicks - _measureFromTicks) / 1e6;
        long generatorAllocated = _senders.Sum(s => s.AllocatedBytes) + r.AllocatedBytes;
        var point = new PointReport
        {
            System = _spec.Target.System,
            Policy = _spec.Target.Policy,
            Workers = _spec.Workers,
            Transport = "udp",
            PayloadBytes = _spec.PayloadBytes,
            OfferedLoad = _spec.OfferedLoad,
            OfferedRps = _spec.RatePerSecond,
            AchievedRps = r.OkInWindow / windowS,
            Completed = r.Ok,
            Dropped = r.Rejected,
            Errors = r.Failed,
            Preemptions = r.Preemptions,
            AllocatedBytesPerRequest = r.OkInWindow == 0 ? 0 : (double)processAllocated / r.OkInWindow,
            All = all,
            Types = types,
            Scheduled = _schedule.Count,
            Sent = sent,
            Ok = r.Ok,
            Rejected = r.Rejected,
            Failed = r.Failed,
            Lost = sent - answered,
            SendErrors = _senders.Sum(s => s.SendErrors),
            Duplicates = r.Duplicates,
            UnknownResponses = r.Unknown,
            GeneratorLatenessUs = latenessUs,
            GeneratorFellBehind = _spec.Limits.FellBehind(latenessUs, scheduledInWindow, sentInWindow),
            GeneratorAllocatedBytesPerRequest = r.OkInWindow == 0 ? 0 : (double)generatorAllocated / r.OkInWindow,
            GeneratorDropped = generatorDropped,
        };
        StallAccounting stalls = _spec.NewStallAccounting(_stalls.ThresholdMicros);
        stalls.AddRound([r.Recorder], _stalls.Snapshot(), _stalls.Overflowed, _measureFromTicks, _endTicks);
        stalls.WriteTo(point, workload.Types.Select(t => t.Name).ToList());
        return point;
    }

    /// <summary>Answers that came after an earlier point's grace were already counted lost there; they must not count here.</summary>
    private void DrainStale()
    {
        Span<byte> buffer = stackalloc byte[64];
        for (int i = 0; i < 1_000_000; i++)
        {
            _socket.Receive(buffer, SocketFlags.None, out SocketError error);
            if (error is SocketError.WouldBlock)
            {
                return;
            }
        }
    }

    private static void JoinOrThrow(Thread t, TimeSpan bound)
    {
        if (!t.Join(bound))
        {
            throw new InvalidOperationException($"{t.Name} did not finish within {bound.TotalSeconds:0} s of the point's end");
        }
    }

    private static void Pin(int core)
    {
        if (core >= 0)
        {
            Affinity.PinCurrentThread(core);
        }
    }
}
