// What both kv points (TCP and UDP) keep and do: the point's clock marks, its counters per operation, its latency recorder, its sender and receiver threads, its report row.
using System.Net;
using HdrHistogram;
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.LoadGen.Kv.Protocol;
using NetStack.LoadGen.Udp;
using NetStack.Runtime;

namespace NetStack.LoadGen.Kv;

/// <summary>What one kv point runs.</summary>
internal sealed record KvPointSpec
{
    /// <summary>The server.</summary>
    public required KvTarget Target { get; init; }
    /// <summary>Where requests go: the TCP address, or the UDP one for gets over UDP.</summary>
    public required IPEndPoint EndPoint { get; init; }
    /// <summary>What the schedule was drawn from (sizes and keys are needed to encode and check).</summary>
    public required KvMix Mix { get; init; }
    /// <summary>text or binary.</summary>
    public required KvProtocolKind Protocol { get; init; }
    /// <summary>Offered requests/s.</summary>
    public required double RatePerSecond { get; init; }
    /// <summary>Offered load, fraction of the stated capacity.</summary>
    public required double OfferedLoad { get; init; }
    /// <summary>Seconds of sending, warm-up included.</summary>
    public double DurationS { get; init; } = 2;
    /// <summary>Leading share not recorded.</summary>
    public double WarmupFraction { get; init; } = 0.1;
    /// <summary>The sender's core, -1 unpinned.</summary>
    public int SenderCore { get; init; } = -1;
    /// <summary>The receiver thread's core, -1 unpinned.</summary>
    public int ReceiverCore { get; init; } = -1;
    /// <summary>One thread sends and receives.</summary>
    public bool InlineReceive { get; init; }
    /// <summary>Fell-behind and grace rules (the udp verb's).</summary>
    public GeneratorLimits Limits { get; init; } = new();
    /// <summary>TCP connections the schedule is spread over.</summary>
    public int Connections { get; init; } = 16;
    /// <summary>When the schedule starts, <see cref="Clock"/> ticks; 0: 50 ms after the point is made
    /// (an in-process server needs the time before it starts, to count its allocations from the warm-up's end).</summary>
    public long StartAtTicks { get; init; }

    /// <summary>Time between making a point and its first intended send, for the threads to start and pin themselves.</summary>
    public const double StartDelayMillis = 50;

    /// <summary>When the measured window of a point starting at <paramref name="startTicks"/> begins.</summary>
    public long MeasureFrom(long startTicks) => startTicks + (long)(Clock.FromMicros(DurationS * 1e6) * WarmupFraction);
}

/// <summary>
/// The counters and recorder of one point. Only the receiving thread writes the reply counters and
/// only the sending thread the send counters; the coordinator reads them after both have finished.
/// </summary>
internal sealed class KvPointState
{
    public readonly KvPointSpec Spec;
    public readonly KvSchedule Schedule;
    public readonly long StartTicks;
    public readonly long MeasureFromTicks;
    public readonly long EndTicks;
    public readonly LatencyRecorder Recorder = new(KvOp.Names.Length);
    public readonly LongHistogram LatenessNs = LatencyRecorder.NewHistogram();
    /// <summary>The measured GETs by head of line: 0, nothing long ahead on the connection; 1, behind a long request (TCP only).</summary>
    public readonly LatencyRecorder GetsByHeadOfLine = new(2);
    private static readonly string[] HeadOfLineNames = ["clear", "behind"];
    private bool[]? _behindLong;
    /// <summary>The largest value a reader accepts: the workload's, or 60 KiB, whichever is more, so a value
    /// left by another run does not read as garbage.</summary>
    public readonly int ReaderMaxValueBytes;

    // Per operation, whole point (warm-up included), like sent and ok.
    public readonly long[] OkByOp = new long[KvOp.Names.Length];
    public readonly long[] FailedByOp = new long[KvOp.Names.Length];
    public readonly long[] RejectedByOp = new long[KvOp.Names.Length];
    public readonly long[] Hits = new long[KvOp.Names.Length];
    public readonly long[] Misses = new long[KvOp.Names.Length];

    public long Sent;
    public long SentInWindow;
    public long SendErrors;
    public long Answered;
    public long Ok;
    public long OkInWindow;
    public long Rejected;
    public long Failed;
    public long ProtocolErrors;
    public long Disconnects;
    public long Reconnects;
    public long Unknown;
    public long Duplicates;
    public long SenderAllocated;
    public long ReceiverAllocated;
    /// <summary>1 once the sender has sent its last request (written with release, read with acquire).</summary>
    public int SendingDone;

    public KvPointState(KvPointSpec spec, KvSchedule schedule)
    {
        Spec = spec;
        Schedule = schedule;
        StartTicks = spec.StartAtTicks != 0 ? spec.StartAtTicks : Clock.Now() + Clock.FromMicros(KvPointSpec.StartDelayMillis * 1000);
        MeasureFromTicks = spec.MeasureFrom(StartTicks);
        EndTicks = StartTicks + Clock.FromMicros(spec.DurationS * 1e6);
        ReaderMaxValueBytes = Math.Max(spec.Mix.Workload.Values.MaxBytes, 60 << 10);
    }

    /// <summary>Splits the GETs by head of line (<see cref="GetsByHeadOfLine"/>); a transport whose replies are ordered per connection calls it before sending.</summary>
    public void TrackHeadOfLine() => _behindLong = new bool[Schedule.Count];

    /// <summary>GET <paramref name="i"/> was sent while a long request ahead of it on its connection was unanswered.</summary>
    public void SentBehindLong(int i) => _behindLong![i] = true;

    /// <summary>The reply request <paramref name="i"/> must get.</summary>
    public ExpectedReply Expect(int i) => new(Schedule.Ops[i], (uint)i, Schedule.KeysOf(i), Spec.Mix.Keys);

    /// <summary>Request <paramref name="i"/> got its whole reply at <paramref name="now"/>.</summary>
    public void Complete(int i, in ReplyProgress reply, long now)
    {
        Answered++;
        byte op = Schedule.Ops[i];
        if (reply.Rejected)
        {
            // The server refused it unserved: a quick refusal must not flatter the latency.
            Rejected++;
            RejectedByOp[op]++;
            return;
        }
        if (reply.Failed)
        {
            Failed++;
            FailedByOp[op]++;
        }
        else
        {
            Ok++;
            OkByOp[op]++;
            if (op != KvOp.Set)
            {
                Hits[op] += reply.Hits;
                Misses[op] += Schedule.KeysOf(i).Length - reply.Hits;
            }
        }
        long intended = StartTicks + Schedule.OffsetTicks[i];
        if (intended >= MeasureFromTicks)
        {
            long latencyNs = Clock.ToNs(now - intended);
            Recorder.Record(op, latencyNs, 0, 0, reply.Failed);
            if (_behindLong is not null && op == KvOp.Get)
            {
                GetsByHeadOfLine.Record(_behindLong[i] ? 1 : 0, latencyNs, 0, 0, reply.Failed);
            }
            if (!reply.Failed)
            {
                OkInWindow++;
            }
        }
    }

    /// <summary>Request <paramref name="i"/>'s reply did not parse: it counts as answered, failed.</summary>
    public void Malformed(int i)
    {
        Answered++;
        Failed++;
        FailedByOp[Schedule.Ops[i]]++;
        ProtocolErrors++;
    }

    /// <summary>
    /// The receiver's loop: polls until every request sent is answered or the grace after the last
    /// send runs out, measuring the bytes it allocates over the measured window.
    /// </summary>
    public void Receive(Func<bool> pollOnce)
    {
        GeneratorLimits limits = Spec.Limits;
        bool inline = Spec.InlineReceive;
        long graceEnd = long.MaxValue;
        bool measuring = false;
        long allocatedFrom = 0;
        int idle = 0;
        while (true)
        {
            bool any = pollOnce();
            long now = Clock.Now();
            if (any)
            {
                idle = 0;
            }
            else if (++idle > limits.ReceiverSpinPolls)
            {
                Thread.Yield();
            }
            if (!measuring && graceEnd == long.MaxValue && now >= MeasureFromTicks && !inline)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            // Acquire: pairs with the sender's release, so Sent is final.
            if (Volatile.Read(ref SendingDone) != 0)
            {
                if (graceEnd == long.MaxValue)
                {
                    if (measuring)
                    {
                        // The measured stretch ends with the sending: the grace computation allocates once.
                        ReceiverAllocated += GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
                        measuring = false;
                    }
                    graceEnd = now + GraceTicks();
                }
                if (Answered >= Sent || now >= graceEnd)
                {
                    return;
                }
            }
        }
    }

    /// <summary>After the last send: max(200 ms, 10 × the largest per-type p99.9 so far), capped (the udp verb's rule).</summary>
    public long GraceTicks()
    {
        long p999Ns = 0;
        foreach (LongHistogram h in Recorder.Latency)
        {
            if (h.TotalCount > 0)
            {
                p999Ns = Math.Max(p999Ns, h.GetValueAtPercentile(99.9));
            }
        }
        GeneratorLimits limits = Spec.Limits;
        double graceMicros = Math.Max(limits.MinGraceMillis * 1000, limits.GraceTimesP999 * p999Ns / 1000.0);
        return Clock.FromMicros(Math.Min(graceMicros, limits.MaxGraceSeconds * 1e6));
    }

    /// <summary>Records the lateness of a send made at <paramref name="now"/> for <paramref name="intended"/>.</summary>
    public void SentAt(long now, long intended)
    {
        Sent++;
        if (intended >= MeasureFromTicks)
        {
            SentInWindow++;
            LatenessNs.RecordValue(Math.Min(Clock.ToNs(now - intended), LatencyRecorder.HighestTrackable));
        }
    }

    /// <summary>The point's report row.</summary>
    public PointReport Report(long processAllocated, string transport, int connections)
    {
        KvWorkload workload = Spec.Mix.Workload;
        int types = workload.TypeCount;
        (ClassReport all, List<ClassReport> classes) = Recorder.ToClasses(KvOp.Names);
        classes = classes.Take(types).ToList();
        Summary lateness = Summary.From(LatenessNs, 1000.0);
        long measureFromOffset = MeasureFromTicks - StartTicks;
        long scheduledInWindow = 0;
        foreach (long offset in Schedule.OffsetTicks)
        {
            if (offset >= measureFromOffset)
            {
                scheduledInWindow++;
            }
        }
        double windowS = Clock.ToMicros(EndTicks - MeasureFromTicks) / 1e6;
        return new PointReport
        {
            System = Spec.Target.Server.System,
            Policy = Spec.Target.Server.Policy,
            Transport = transport,
            Connections = connections,
            OfferedLoad = Spec.OfferedLoad,
            OfferedRps = Spec.RatePerSecond,
            AchievedRps = OkInWindow / windowS,
            Completed = Ok,
            Dropped = Rejected,
            Errors = Failed,
            AllocatedBytesPerRequest = all.Count == 0 ? 0 : (double)processAllocated / all.Count,
            All = all,
            Types = classes,
            Scheduled = Schedule.Count,
            Sent = Sent,
            Ok = Ok,
            Rejected = Rejected,
            Failed = Failed,
            Lost = Sent - Answered,
            SendErrors = SendErrors,
            Duplicates = Duplicates,
            UnknownResponses = Unknown,
            GeneratorLatenessUs = lateness,
            GeneratorFellBehind = Spec.Limits.FellBehind(lateness, scheduledInWindow, SentInWindow),
            GeneratorAllocatedBytesPerRequest = all.Count == 0 ? 0 : (double)(SenderAllocated + ReceiverAllocated) / all.Count,
            Kv = new KvPointInfo
            {
                Protocol = Spec.Protocol == KvProtocolKind.Text ? "text" : "binary",
                ProtocolErrors = ProtocolErrors,
                Disconnects = Disconnects,
                Reconnects = Reconnects,
                Operations = Enumerable.Range(0, types).Select(t => new KvOperationCounts
                {
                    Name = KvOp.Names[t],
                    Ok = OkByOp[t],
                    Failed = FailedByOp[t],
                    Rejected = RejectedByOp[t],
                    Hits = Hits[t],
                    Misses = Misses[t],
                }).ToList(),
                HeadOfLine = _behindLong is null ? null : HeadOfLine(),
            },
        };
    }

    private KvHeadOfLineReport HeadOfLine()
    {
        (ClassReport gets, List<ClassReport> split) = GetsByHeadOfLine.ToClasses(HeadOfLineNames);
        return new KvHeadOfLineReport
        {
            Gets = gets.Count,
            Behind = split[1].Count,
            BehindFraction = gets.Count == 0 ? 0 : (double)split[1].Count / gets.Count,
            ClearLatencyUs = split[0].LatencyUs,
            BehindLatencyUs = split[1].LatencyUs,
        };
    }

    /// <summary>
    /// Runs the point: <paramref name="send"/> on a sender thread, then the receive loop over
    /// <paramref name="pollOnce"/> there (inline) or on its own receiver thread; the process's
    /// allocations are counted over the measured window. Either thread's failure, or a point that
    /// does not finish within the grace after its end, is an exception naming the target.
    /// </summary>
    public PointReport Run(string threadName, Action send, Func<bool> pollOnce, string transport, int connections)
    {
        Exception? failure = null;
        void Guard(int core, Action body)
        {
            try
            {
                Pin(core);
                body();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }
        void SendThenMaybeReceive()
        {
            send();
            // Release: the send counters are final before the receiver (or this thread, inline) reads them.
            Volatile.Write(ref SendingDone, 1);
            if (Spec.InlineReceive)
            {
                Receive(pollOnce);
            }
        }
        Thread? receiver = Spec.InlineReceive ? null
            : new Thread(() => Guard(Spec.ReceiverCore, () => Receive(pollOnce))) { IsBackground = true, Name = $"{threadName}-receiver" };
        var sender = new Thread(() => Guard(Spec.SenderCore, SendThenMaybeReceive)) { IsBackground = true, Name = $"{threadName}-sender" };
        long allocated = PointWindow.Run(sender, receiver, MeasureFromTicks, EndTicks, Spec.Limits.MaxGraceSeconds,
            $"kv point against {Spec.Target.Label}", () => failure);
        return Report(allocated, transport, connections);
    }

    /// <summary>Pins the calling thread when a core is given.</summary>
    public static void Pin(int core)
    {
        if (core >= 0)
        {
            Affinity.PinCurrentThread(core);
        }
    }
}
