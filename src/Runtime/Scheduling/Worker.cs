// The state a worker core shares with the IOKernel: mailbox, completion ring, preemption word, slice.
using System.Runtime.InteropServices;
using NetStack.Runtime.Threading;

namespace NetStack.Runtime.Scheduling;

/// <summary>Why the IOKernel asked a worker to give its core up.</summary>
internal enum YieldReason
{
    /// <summary>The slice outlived the quantum while work was waiting (processor sharing).</summary>
    Quantum = 1,
    /// <summary>The core is being moved to another app.</summary>
    Revoke = 2,
}

/// <summary>
/// A worker's preemption word: the IOKernel writes into it the id of the slice it wants ended
/// (our IPI); the running green thread's checkpoints compare it with their own slice id. It sits
/// alone on its cache line, written only by the IOKernel, read by one carrier.
/// </summary>
internal sealed class PreemptionWord
{
    /// <summary>A word that never preempts: what a context not on a carrier points at.</summary>
    internal static readonly PreemptionWord Never = new();

    internal PreemptionLine Line;

    /// <summary>The word's line.</summary>
    [StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
    internal struct PreemptionLine
    {
        /// <summary>The slice to end (0: none yet).</summary>
        [FieldOffset(CacheLine.Size)] public long Slice;
        /// <summary>When the IOKernel wrote <see cref="Slice"/> (for the preemption-cost benchmark).</summary>
        [FieldOffset(CacheLine.Size + 8)] public long WrittenAtTicks;
        /// <summary>A <see cref="YieldReason"/>.</summary>
        [FieldOffset(CacheLine.Size + 16)] public int Reason;
    }

    /// <summary>IOKernel only: asks the worker to end <paramref name="slice"/>.</summary>
    public void Request(long slice, YieldReason reason)
    {
        // A fresh stamp, not the loop's: the preemption cost is measured from this very write.
        Line.WrittenAtTicks = Clock.Now();
        Line.Reason = (int)reason;
        // Release: the stamp and reason are visible before the slice id that the carrier polls.
        Volatile.Write(ref Line.Slice, slice);
    }

    /// <summary>The reason of the last request.</summary>
    public YieldReason Reason => (YieldReason)Volatile.Read(ref Line.Reason);

    /// <summary>When the last request was written.</summary>
    public long WrittenAtTicks => Volatile.Read(ref Line.WrittenAtTicks);
}

/// <summary>
/// One worker core as the IOKernel sees it. The IOKernel is the only producer of the mailbox and
/// the only writer of the preemption word and the assignment line; the worker's carrier is the
/// only producer of the completion ring and the only writer of its own line (running slice, idle
/// report, owner seen).
/// </summary>
internal sealed class Worker
{
    /// <summary>The app id of a core no app owns.</summary>
    public const int NoApp = -1;

    private AssignmentLine _assignment;
    private CarrierLine _carrier;

    /// <param name="index">The worker's index (0-based).</param>
    /// <param name="core">The core its carrier pins itself to.</param>
    /// <param name="mailboxDepth">JBSQ's k: how many requests may wait at this worker, counting the running one.</param>
    /// <param name="initialApp">The app that owns the core at start.</param>
    /// <param name="registry">The kernel's green threads, by the index the rings carry.</param>
    /// <param name="holdsYielded">Whether the carrier keeps a request it yields for one in its mailbox (<see cref="HoldsYielded"/>).</param>
    public Worker(int index, int core, int mailboxDepth, GreenThreadRegistry registry, int initialApp = 0, bool holdsYielded = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mailboxDepth, 1);
        Index = index;
        Core = core;
        MailboxDepth = mailboxDepth;
        // Both rings are counted: the IOKernel pushes only while the worker holds fewer than k, and
        // the carrier pushes one completion per request it popped, so with at least k slots each
        // producer's next slot is free, and neither ring's line has to come back to its producer.
        Mailbox = new HandoffRing(mailboxDepth, registry, counted: true);
        // A held request adds one word (the slice's end) to the k it owes, and the carrier holds only
        // when the ring is empty: k + 1 slots keep every push's slot free.
        Completions = new HandoffRing(holdsYielded ? mailboxDepth + 1 : mailboxDepth, registry, counted: true);
        HoldsYielded = holdsYielded;
        _assignment.App = initialApp;
        _assignment.Epoch = 1;
    }

    /// <summary>The worker's index.</summary>
    public int Index { get; }

    /// <summary>Its core.</summary>
    public int Core { get; }

    /// <summary>JBSQ's k.</summary>
    public int MailboxDepth { get; }

    /// <summary>Whether the carrier keeps a request it yielded at the end of a quantum while another waited
    /// in its mailbox, to resume it right after that one, instead of handing it to the IOKernel to
    /// requeue: the request stays counted at this worker, and the IOKernel sees only that its slice
    /// ended (<see cref="SliceOutcome.Held"/>).</summary>
    public bool HoldsYielded { get; }

    /// <summary>IOKernel → carrier: green threads to run.</summary>
    public HandoffRing Mailbox { get; }

    /// <summary>Carrier → IOKernel: green threads that completed, yielded, detached or were handed back.</summary>
    public HandoffRing Completions { get; }

    /// <summary>The preemption word (IOKernel writes, carrier reads).</summary>
    public PreemptionWord Preemption { get; } = new();

    /// <summary>The carrier's idle strategy, set when the carrier starts (the IOKernel wakes it).</summary>
    public IdleStrategy? CarrierIdle { get; internal set; }

    // ---- the assignment line: IOKernel writes ----

    /// <summary>The app the core is granted to (<see cref="NoApp"/>: none).</summary>
    public int AssignedApp => Volatile.Read(ref _assignment.App);

    /// <summary>Bumped at every change of owner: the carrier, and a running batch job, poll it.</summary>
    public long AssignmentEpoch
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _assignment.Epoch);
    }

    /// <summary>IOKernel only: grants the core to <paramref name="app"/>; returns the new epoch.</summary>
    public long Assign(int app)
    {
        _assignment.App = app;
        long epoch = _assignment.Epoch + 1;
        // Release: the app id is visible before the epoch the carrier polls.
        Volatile.Write(ref _assignment.Epoch, epoch);
        CarrierIdle?.WakeIfParked();
        return epoch;
    }

    /// <summary>Who takes the requests left in the mailbox when the carrier stops: 0 until decided,
    /// <see cref="ClaimedByCarrier"/> or <see cref="ClaimedByIOKernel"/>. A carrier stuck in a handler
    /// cannot hand its mailbox back; the IOKernel then refuses what is in it, and this word (settled by
    /// one compare-and-swap each) keeps the two from both taking the same request.</summary>
    internal int MailboxClaim;

    internal const int ClaimedByCarrier = 1;
    internal const int ClaimedByIOKernel = 2;

    // ---- the carrier line: carrier writes ----

    /// <summary>The id (and start tick) of the slice started last. Carrier writes; IOKernel reads. It is
    /// still running unless its completion has come back: see <see cref="RunningSliceAfter"/>.</summary>
    public long LastSlice => Volatile.Read(ref _carrier.Slice);

    /// <summary>Slices started so far (written with <see cref="LastSlice"/>).</summary>
    public long SlicesStarted => Volatile.Read(ref _carrier.SliceCount);

    /// <summary>
    /// The running slice's id, or 0 when none runs, as the IOKernel sees it: a slice runs when more
    /// have started than the <paramref name="slicesEnded"/> whose completions it has taken back. So
    /// the carrier writes its line once per slice (at its start), not twice.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long RunningSliceAfter(long slicesEnded)
    {
        // Acquire: the slice id written before the count is the one the count announces.
        long started = Volatile.Read(ref _carrier.SliceCount);
        return started > slicesEnded ? Volatile.Read(ref _carrier.Slice) : 0;
    }

    /// <summary>When the carrier last found nothing to run for its latency-critical owner (0: it is busy).</summary>
    public long IdleSinceTicks => Volatile.Read(ref _carrier.IdleSince);

    /// <summary>The last assignment epoch the carrier acted on.</summary>
    public long SeenEpoch => Volatile.Read(ref _carrier.SeenEpoch);

    /// <summary>When the carrier started serving the owner of <see cref="SeenEpoch"/>.</summary>
    public long SeenTicks => Volatile.Read(ref _carrier.SeenTicks);

    internal void StartSlice(long slice)
    {
        _carrier.Slice = slice;
        // Release: the id (and the context it belongs to) are visible before the count the IOKernel compares.
        Volatile.Write(ref _carrier.SliceCount, _carrier.SliceCount + 1);
    }

    internal void SetIdleSince(long ticks) => Volatile.Write(ref _carrier.IdleSince, ticks); // plain publication

    internal void AcknowledgeAssignment(long epoch, long now)
    {
        _carrier.SeenTicks = now;
        // Release: the stamp is visible before the epoch the IOKernel compares.
        Volatile.Write(ref _carrier.SeenEpoch, epoch);
    }

    internal static int SliceOffset => (int)Marshal.OffsetOf<CarrierLine>(nameof(CarrierLine.Slice));

    /// <summary>The IOKernel's line for this worker.</summary>
    [StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
    internal struct AssignmentLine
    {
        [FieldOffset(CacheLine.Size)] public long Epoch;
        [FieldOffset(CacheLine.Size + 8)] public int App;
    }

    /// <summary>The carrier's line.</summary>
    [StructLayout(LayoutKind.Explicit, Size = CacheLine.PaddedSize)]
    internal struct CarrierLine
    {
        [FieldOffset(CacheLine.Size)] public long Slice;
        [FieldOffset(CacheLine.Size + 8)] public long IdleSince;
        [FieldOffset(CacheLine.Size + 16)] public long SeenEpoch;
        [FieldOffset(CacheLine.Size + 24)] public long SeenTicks;
        [FieldOffset(CacheLine.Size + 32)] public long SliceCount;
    }
}
