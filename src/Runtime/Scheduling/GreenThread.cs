// A green thread: the scheduler's side of one pooled request — its state machine, stamps, slices and suspended continuation.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Threading;

namespace NetStack.Runtime.Scheduling;

/// <summary>What one slice of a green thread ended with.</summary>
internal enum SliceOutcome : byte
{
    /// <summary>Not run yet, or in a queue.</summary>
    None,
    /// <summary>The handler finished (ok or error).</summary>
    Completed,
    /// <summary>The handler yielded at a checkpoint because its worker was asked to give the core up.</summary>
    Yielded,
    /// <summary>The handler awaited something other than a checkpoint; it completes later on another
    /// thread and comes back through its owner's detached-completion path.</summary>
    Detached,
    /// <summary>Handed back unrun: the worker's core went to another app before it started.</summary>
    Returned,
    /// <summary>Yielded and kept by its worker, to resume after the request that waited in its mailbox
    /// (<see cref="Worker.HoldsYielded"/>): the slice ended, the request is still the worker's.</summary>
    Held,
    /// <summary>A request its worker kept after a yield (<see cref="Held"/>), handed back unfinished at a
    /// change of owner or at stop: it is requeued as a yielded one, and ends no slice.</summary>
    Released,
}

/// <summary>Where a green thread is in its life. Each state has one owner thread, and ownership moves
/// only through the rings between the IOKernel and the carriers (or the detached-completion queue).</summary>
internal enum GreenThreadState : byte
{
    /// <summary>In the pool (IOKernel).</summary>
    Free,
    /// <summary>In its app's queue (IOKernel).</summary>
    Queued,
    /// <summary>In a worker's mailbox, not yet started this slice (carrier).</summary>
    AtWorker,
    /// <summary>Its handler is running a slice on a carrier (carrier).</summary>
    Running,
    /// <summary>Yielded at a checkpoint, on its way back to the queue (IOKernel once popped).</summary>
    Suspended,
    /// <summary>Its handler awaits something else and will finish on whatever thread completes it.</summary>
    Detached,
    /// <summary>Finished (ok, error or refused): its reply is being sent, then it is recycled (IOKernel).</summary>
    Done,
}

/// <summary>What a completion ring's tag says of the green thread it carries: how its slice ended,
/// its status, and whether its reply took overflow segments. The IOKernel decides from the word it
/// popped, without reading the lines the carrier just wrote.</summary>
internal static class CompletionTag
{
    private const int StatusShift = 3;
    private const byte SegmentsBit = 0x80;

    /// <summary>The tag of a slice that ended with <paramref name="outcome"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Of(SliceOutcome outcome, RequestStatus status, bool replyHasSegments) =>
        (byte)((byte)outcome | ((byte)status << StatusShift) | (replyHasSegments ? SegmentsBit : 0));

    /// <summary>How the slice ended.</summary>
    public static SliceOutcome Outcome(byte tag) => (SliceOutcome)(tag & ((1 << StatusShift) - 1));

    /// <summary>The request's status when the slice ended.</summary>
    public static RequestStatus Status(byte tag) => (RequestStatus)((tag & ~SegmentsBit) >> StatusShift);

    /// <summary>Whether the reply holds overflow segments for the IOKernel to give back.</summary>
    public static bool ReplyHasSegments(byte tag) => (tag & SegmentsBit) != 0;
}

/// <summary>What a mailbox's tag says of the green thread it carries.</summary>
internal static class DispatchTag
{
    /// <summary>A request starting: the carrier clears its own fields of the last request first
    /// (<see cref="GreenThread.BeginOnCarrier"/>).</summary>
    public const byte Fresh = 1;
}

/// <summary>
/// The scheduler's state of one request: which app and handler, the request's stamps, the slice it
/// runs, its state machine, its suspended continuation, and the transport's bookkeeping. The IOKernel
/// takes one from its pool per request and recycles it once the reply is out. Everything here is
/// readable (recorders, reports, tests) and writable only inside NetStack; the handler sees
/// <see cref="Context"/>, its <see cref="RequestContext"/>.
/// </summary>
/// <remarks>
/// Each side writes its own lines. What the IOKernel writes (the request, its stamps up to dispatch,
/// the state machine) is in this object; what the carrier writes while the request runs (the slice's
/// stamps, status, outcome, the suspended continuation, the checkpoint's words) is in its
/// <see cref="RequestContext"/>'s <see cref="CarrierFields"/>, padded onto lines of their own. Each
/// side also clears only its own: the IOKernel's recycle clears its fields, and the carrier clears
/// its own when it starts a request that the IOKernel dispatched with <see cref="DispatchTag.Fresh"/>. A request thus crosses cores as
/// the IOKernel's lines (read by the carrier) and a ring word; the carrier's lines stay on its core.
/// An IOKernel that finishes a request itself, unrun (a refusal), clears the carrier's fields first.
/// </remarks>
internal sealed unsafe class GreenThread
{
    /// <summary>The cache lines of the object, from its start, that a carrier prefetches of the next
    /// request in its mailbox: enough to cover group A of <see cref="KernelFields"/>, which ends about
    /// 160 bytes past the object's start (after its references and the struct's leading pad), however
    /// the object sits on its lines.</summary>
    internal const int FirstReadLines = 4;

    private const int RunRunning = 0;
    private const int RunDone = 1;
    private const int RunDetached = 2;

    private readonly Action _onHandlerCompleted;
    private readonly ReplyWriter _reply;
    private KernelFields _k;

    /// <summary>
    /// The IOKernel's fields of the request, in three groups a line of padding apart, by who reads
    /// them. A: set per request and read by the carrier, the one group whose lines the IOKernel must
    /// take back from the carrier for each request. B: per app (handler, protocol, reply bounds),
    /// read by the carrier and written only when they change, so their line stays shared. C: the
    /// IOKernel's alone (queue stamps, the NIC's bookkeeping, the state machine), which never leave
    /// its core. Each group sits alone on its lines wherever the struct starts.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = Size)]
    internal struct KernelFields
    {
        internal const int A = CacheLine.Size;
        internal const int AEnd = A + 64;
        internal const int B = AEnd + CacheLine.Size;
        internal const int BEnd = B + 40;
        internal const int C = BEnd + CacheLine.Size;
        internal const int Size = C + 40;

        [FieldOffset(A + 0)] public long Id;
        [FieldOffset(A + 8)] public long ServiceNs;
        [FieldOffset(A + 16)] public long ArrivalTicks;
        [FieldOffset(A + 24)] public long Tag;
        [FieldOffset(A + 32)] public byte* RequestBytes;
        [FieldOffset(A + 40)] public int Type;
        [FieldOffset(A + 44)] public int RequestLength;
        [FieldOffset(A + 48)] public bool RequestIsManaged;
        // The NIC's token again (C's NicToken), for a NIC whose replies the carrier may send itself.
        [FieldOffset(A + 56)] public long ReplyToken;

        [FieldOffset(B + 0)] public IRequestHandler? Handler;
        [FieldOffset(B + 8)] public AppProtocol? Protocol;
        [FieldOffset(B + 16)] public int AppId;
        [FieldOffset(B + 20)] public int ReplyHeaderBytes;
        [FieldOffset(B + 24)] public int MaxReplyBytes;
        [FieldOffset(B + 28)] public int QuantumTicks;
        [FieldOffset(B + 32)] public IReplySender? ReplySender;

        [FieldOffset(C + 0)] public long QueuedTicks;
        [FieldOffset(C + 8)] public long FirstDispatchTicks;
        [FieldOffset(C + 16)] public long NicToken;
        [FieldOffset(C + 24)] public uint FlowHash;
        [FieldOffset(C + 28)] public int Nic;
        [FieldOffset(C + 32)] public int Buffer;
        [FieldOffset(C + 36)] public GreenThreadState State;
        // Whether the carrier's fields hold this request's values (its carrier cleared them, or the
        // IOKernel did), and whether the reply may hold overflow segments to give back.
        [FieldOffset(C + 37)] public bool CarrierFieldsCurrent;
        [FieldOffset(C + 38)] public bool ReplyMayHaveSegments;
    }

    /// <summary>A green thread whose reply writer is <paramref name="reply"/>.</summary>
    internal GreenThread(ReplyWriter reply)
    {
        _onHandlerCompleted = OnHandlerCompleted;
        _reply = reply;
        _k.Buffer = -1;
        _k.MaxReplyBytes = 1 << 20;
        _k.ReplyMayHaveSegments = true;
        Context = new RequestContext(this, reply);
    }

    /// <summary>A green thread with its own 2 KiB inline reply buffer (tests, in-process tools).</summary>
    public GreenThread() : this(new ReplyWriter(2048, 1 << 20))
    {
    }

    /// <summary>What the handler sees.</summary>
    public RequestContext Context { get; }

    /// <summary>The carrier's fields of this request, which live in its context (<see cref="CarrierFields"/>).</summary>
    private ref CarrierFields Carried
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Context.Carried;
    }

    /// <summary>Its index in the kernel's <see cref="Threading.GreenThreadRegistry"/>: what the handoff rings carry.</summary>
    internal int RingIndex { get; set; } = -1;

    /// <summary>Its reply writer.</summary>
    public ReplyWriter Reply => Context.Reply;

    // ---- the request (set at steer time by the IOKernel) ----

    /// <summary>The request's id (the client's, for network requests).</summary>
    public long Id { get => _k.Id; internal set => _k.Id = value; }

    /// <summary>The request type.</summary>
    public int Type { get => _k.Type; internal set => _k.Type = value; }

    /// <summary>The service time the request asks for, in ns.</summary>
    public long ServiceNs { get => _k.ServiceNs; internal set => _k.ServiceNs = value; }

    /// <summary>The flow this request belongs to: d-FCFS steers by it.</summary>
    public uint FlowHash { get => _k.FlowHash; internal set => _k.FlowHash = value; }

    /// <summary>The app that serves it.</summary>
    public int AppId { get => _k.AppId; internal set => _k.AppId = value; }

    /// <summary>The connection it came on.</summary>
    public ConnectionInfo Connection { get; internal set; }

    // ---- the transport's bookkeeping (opaque to the scheduler) ----

    /// <summary>The NIC queue it came from, by index in the IOKernel.</summary>
    public int Nic { get => _k.Nic; internal set => _k.Nic = value; }

    /// <summary>The NIC's token: where the reply goes (a peer, a connection and a sequence number).</summary>
    public long NicToken { get => _k.NicToken; internal set => _k.NicToken = value; }

    /// <summary>The framer's <see cref="Protocol.Frame.Tag"/>, handed back to the reply header.</summary>
    public long Tag { get => _k.Tag; internal set => _k.Tag = value; }

    /// <summary>The receive buffer holding the request's bytes, released when it completes (-1: none).</summary>
    public int Buffer { get => _k.Buffer; internal set => _k.Buffer = value; }

    /// <summary>Set by the handler (<see cref="RequestContext.CloseConnectionAfterReply"/>).</summary>
    public bool CloseAfterReply { get => Carried.CloseAfterReply; internal set => Carried.CloseAfterReply = value; }

    // The request's bytes (RequestContext.Request), here with the IOKernel's other per-request
    // fields, on lines the carrier reads anyway, not in the context, which is the carrier's.
    internal byte* RequestBytes { get => _k.RequestBytes; set => _k.RequestBytes = value; }
    internal int RequestLength { get => _k.RequestLength; set => _k.RequestLength = value; }
    internal bool RequestIsManaged { get => _k.RequestIsManaged; set => _k.RequestIsManaged = value; }
    internal ReadOnlyMemory<byte> ManagedRequest;

    /// <summary>Points the request at native bytes (the IOKernel, per request). Written here, not
    /// through the context, whose first line the carrier writes per request: going through it read
    /// that line from the carrier at every steer and every recycle.</summary>
    internal void SetRequest(byte* bytes, int length)
    {
        ref KernelFields k = ref _k;
        k.RequestBytes = bytes;
        k.RequestLength = length;
        k.RequestIsManaged = false;
        ManagedRequest = default;
    }

    /// <summary>Points the request at managed bytes (a standalone request).</summary>
    internal void SetRequest(ReadOnlyMemory<byte> bytes)
    {
        ref KernelFields k = ref _k;
        ManagedRequest = bytes;
        k.RequestIsManaged = true;
        k.RequestBytes = null;
        k.RequestLength = bytes.Length;
    }

    /// <summary>Sets the app's fields of the request (group B of <see cref="KernelFields"/>), writing
    /// only those that change, so that their line stays shared with the carriers that read it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void SetApp(int appId, IRequestHandler? handler, AppProtocol? protocol, int replyHeaderBytes, int maxReplyBytes, int quantumTicks = 0,
        IReplySender? replySender = null)
    {
        ref KernelFields k = ref _k;
        if (!ReferenceEquals(k.ReplySender, replySender)) { k.ReplySender = replySender; }
        if (k.QuantumTicks != quantumTicks) { k.QuantumTicks = quantumTicks; }
        if (k.AppId != appId) { k.AppId = appId; }
        if (!ReferenceEquals(k.Handler, handler)) { k.Handler = handler; }
        if (!ReferenceEquals(k.Protocol, protocol)) { k.Protocol = protocol; }
        if (k.ReplyHeaderBytes != replyHeaderBytes) { k.ReplyHeaderBytes = replyHeaderBytes; }
        if (k.MaxReplyBytes != maxReplyBytes) { k.MaxReplyBytes = maxReplyBytes; }
    }

    /// <summary>The NIC that lets the carrier write this request's reply itself (<see cref="IReplySender"/>); null: the IOKernel writes it.</summary>
    internal IReplySender? ReplySender => _k.ReplySender;

    /// <summary>The NIC's token, on the carrier's lines (group A), for <see cref="ReplySender"/>.</summary>
    internal long ReplyToken { get => _k.ReplyToken; set => _k.ReplyToken = value; }

    /// <summary>Bytes of the reply its carrier wrote to the wire itself (<see cref="IReplySender"/>); 0: none.</summary>
    internal int SentOnWorker { get => Carried.SentOnWorker; set => Carried.SentOnWorker = value; }

    /// <summary>Bytes the app's protocol keeps in front of the reply for its header.</summary>
    public int ReplyHeaderBytes { get => _k.ReplyHeaderBytes; internal set => _k.ReplyHeaderBytes = value; }

    /// <summary>The app's processor-sharing quantum in ticks (0: its requests are not preempted by time).</summary>
    public int QuantumTicks => _k.QuantumTicks;

    /// <summary>The reply's bound (the app's MaxReplyBytes).</summary>
    public int MaxReplyBytes { get => _k.MaxReplyBytes; internal set => _k.MaxReplyBytes = value; }

    // ---- stamps, in Clock ticks (written by the one thread that owns the green thread at the time) ----

    /// <summary>When the request arrived (for open-loop sources, when it was meant to be sent).</summary>
    public long ArrivalTicks { get => _k.ArrivalTicks; internal set => _k.ArrivalTicks = value; }

    /// <summary>When it last joined its app's queue (arrival or requeue): Caladan's queueing delay runs from here.</summary>
    public long QueuedTicks { get => _k.QueuedTicks; internal set => _k.QueuedTicks = value; }

    /// <summary>When the IOKernel first handed it to a worker (0 until then).</summary>
    public long FirstDispatchTicks { get => _k.FirstDispatchTicks; internal set => _k.FirstDispatchTicks = value; }

    // ---- the carrier's (CarrierFields) ----

    /// <summary>When it last yielded (0 if never).</summary>
    public long LastPreemptionTicks { get => Carried.LastPreemptionTicks; internal set => Carried.LastPreemptionTicks = value; }

    /// <summary>When the handler completed.</summary>
    public long CompletionTicks { get => Carried.CompletionTicks; internal set => Carried.CompletionTicks = value; }

    /// <summary>Ticks spent running (sum of its slices).</summary>
    public long ServiceTicks { get => Carried.ServiceTicks; internal set => Carried.ServiceTicks = value; }

    /// <summary>Times it was preempted.</summary>
    public int Preemptions { get => Carried.Preemptions; internal set => Carried.Preemptions = value; }

    /// <summary>The answer's status.</summary>
    public RequestStatus Status { get => Carried.Status; internal set => Carried.Status = value; }

    /// <summary>The handler's exception when <see cref="Status"/> is <see cref="RequestStatus.Error"/>.</summary>
    public Exception? Error => Carried.Error;

    /// <summary>How the last slice ended.</summary>
    public SliceOutcome Outcome { get => Carried.Outcome; internal set => Carried.Outcome = value; }

    // ---- the IOKernel's again ----

    /// <summary>Where it is in its life. The IOKernel's moves are kept in every build; a carrier's
    /// (<see cref="GreenThreadState.Running"/> and what a slice ends in) only in Debug builds, where
    /// they are checked, so that a carrier writes none of the IOKernel's lines: in Release, a green
    /// thread at a worker reads <see cref="GreenThreadState.AtWorker"/> until the IOKernel takes it back.</summary>
    public GreenThreadState State { get => _k.State; private set => _k.State = value; }

    internal IRequestHandler? Handler { get => _k.Handler; set => _k.Handler = value; }

    /// <summary>The app's protocol, which frames the reply (null for in-process requests, which have no wire).</summary>
    internal AppProtocol? Protocol { get => _k.Protocol; set => _k.Protocol = value; }

    /// <summary>Called, on whatever thread finishes it, when a detached handler completes.</summary>
    internal Action<GreenThread>? DetachedCompletion { get; set; }

    /// <summary>Moves the state machine, checking (in Debug builds) that the move is one it allows.</summary>
    internal void MoveTo(GreenThreadState next)
    {
        AssertTransition(State, next);
        State = next;
    }

    /// <summary>A move made on a carrier or a detached handler's thread: Debug builds only (see <see cref="State"/>).</summary>
    [Conditional("DEBUG")]
    private void MoveOnCarrier(GreenThreadState next) => MoveTo(next);

    [Conditional("DEBUG")]
    private static void AssertTransition(GreenThreadState from, GreenThreadState to)
    {
        bool allowed = (from, to) switch
        {
            (GreenThreadState.Free, GreenThreadState.Queued) => true,
            (GreenThreadState.Free, GreenThreadState.Done) => true, // refused at once (shutting down)
            (GreenThreadState.Queued, GreenThreadState.AtWorker) => true,
            (GreenThreadState.Queued, GreenThreadState.Done) => true, // refused in the queue at shutdown
            (GreenThreadState.AtWorker, GreenThreadState.Running) => true,
            (GreenThreadState.AtWorker, GreenThreadState.Queued) => true, // handed back unrun
            (GreenThreadState.Running, GreenThreadState.Suspended) => true,
            (GreenThreadState.Running, GreenThreadState.Detached) => true,
            (GreenThreadState.Running, GreenThreadState.Done) => true,
            (GreenThreadState.Suspended, GreenThreadState.Queued) => true,
            (GreenThreadState.Suspended, GreenThreadState.Running) => true, // held by its worker, resumed there
            (GreenThreadState.Detached, GreenThreadState.Done) => true,
            (GreenThreadState.Done, GreenThreadState.Free) => true,
            _ => false,
        };
        Debug.Assert(allowed, $"green thread state {from} -> {to} is not a transition");
    }

    /// <summary>Clears the whole green thread, both sides, for a request with these reply bounds
    /// (tests, standalone runs: whatever runs it on one thread).</summary>
    internal void Reset(int replyHeaderBytes, int maxReplyBytes)
    {
        ResetState();
        ReplyHeaderBytes = replyHeaderBytes;
        MaxReplyBytes = maxReplyBytes;
        BeginCarrierFields();
    }

    /// <summary>As <see cref="Reset(int, int)"/> with no header and a 1 MiB bound (tests, standalone runs).</summary>
    public void Reset() => Reset(0, 1 << 20);

    /// <summary>
    /// The IOKernel's recycle: clears its own fields and gives back the reply's overflow segments
    /// (once they are sent). The carrier's fields keep the last request's values until the carrier
    /// starts the next one (<see cref="BeginOnCarrier"/>), so recycling writes no line a carrier
    /// wrote. It writes every per-request line a carrier read (group A), here, after the reply is
    /// out: taking those lines back is then off the path of the next request, whose steer finds them
    /// owned, and whose mailbox word is not held in the store buffer behind them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ResetState()
    {
        // Groups A and C of KernelFields; the app's group B stays as it is (SetApp writes it when it
        // changes), so its line is not taken back from the carriers once per request.
        Id = 0; Type = 0; ServiceNs = 0; FlowHash = 0; Connection = default;
        Nic = 0; NicToken = 0; ReplyToken = 0; Tag = 0; Buffer = -1;
        ArrivalTicks = 0; QueuedTicks = 0; FirstDispatchTicks = 0;
        SetRequest(null, 0);
        if (_k.ReplyMayHaveSegments)
        {
            _reply.ReleaseSegments();
        }
        _k.ReplyMayHaveSegments = true;
        _k.CarrierFieldsCurrent = false;
        State = GreenThreadState.Free;
    }

    /// <summary>
    /// Asks for the lines the IOKernel reads and writes when it dispatches this green thread: the
    /// object's first two (its header and the ring index) and group C of <see cref="KernelFields"/>.
    /// For a request a few places from the central queue's head: under overload the queue holds
    /// thousands, each last touched when it arrived, and without this the dispatch of each one waits
    /// for memory (a quarter of the IOKernel's samples at 8192 queued on the AMD VM). A prefetch never
    /// faults, so an address gone stale (the object moved) costs only a useless fetch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PrefetchDispatchLines()
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            CacheLine.Prefetch(this, 2);
            byte* c = (byte*)Unsafe.AsPointer(ref _k.QueuedTicks);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(c);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(c + KernelFields.Size - KernelFields.C - 1);
        }
    }

    /// <summary>
    /// Asks for group B of <see cref="KernelFields"/> (the app's fields, which <see cref="SetApp"/> reads
    /// to see whether they changed): for a green thread going back to the pool, which under load is
    /// rented again within a few requests. The IOKernel last read those lines when this green thread
    /// was last rented, a whole queue's worth of requests ago, so its copy is likely gone; the carrier
    /// has them (it reads them, nobody writes them), and the fetch overlaps the work until the rent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PrefetchAppLines()
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            byte* b = (byte*)Unsafe.AsPointer(ref Unsafe.As<IRequestHandler?, byte>(ref _k.Handler));
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(b);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(b + KernelFields.BEnd - KernelFields.B - 1);
        }
    }

    /// <summary>
    /// Asks for groups A and C of <see cref="KernelFields"/> for writing: for a green thread whose completion
    /// the IOKernel has just popped and will handle within the batch. Its return to the pool clears both
    /// groups (a requeue writes group C), while the carrier still holds the lines it read; with the lines
    /// asked for together, each batch's invalidations overlap, and the stores that follow neither wait nor
    /// hold up the ones behind them (<see cref="WritePrefetch"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PrefetchForRecycle()
    {
        byte* a = (byte*)Unsafe.AsPointer(ref _k.Id);
        byte* c = (byte*)Unsafe.AsPointer(ref _k.QueuedTicks);
        WritePrefetch.Lines(a, a + KernelFields.AEnd - KernelFields.A - 1, c, c + KernelFields.Size - KernelFields.C - 1);
    }

    /// <summary>The tag of this green thread's next dispatch: <see cref="DispatchTag.Fresh"/> until its
    /// carrier has cleared the last request's fields (IOKernel).</summary>
    internal byte DispatchTag => _k.CarrierFieldsCurrent ? (byte)0 : Scheduling.DispatchTag.Fresh;

    /// <summary>The IOKernel took the green thread back from a carrier with <paramref name="tag"/>: a
    /// slice ran, so the carrier's fields are this request's (unless it was handed back unrun). Only a
    /// completion's word settles whether the reply holds segments; after a yield or a hand-back the
    /// reply may still grow, so the recycle keeps looking.</summary>
    internal void CameBack(byte tag)
    {
        SliceOutcome outcome = CompletionTag.Outcome(tag);
        if (outcome != SliceOutcome.Returned)
        {
            _k.CarrierFieldsCurrent = true;
        }
        _k.ReplyMayHaveSegments = outcome != SliceOutcome.Completed || CompletionTag.ReplyHasSegments(tag);
    }

    /// <summary>A detached request came back through its detached path (IOKernel): it ran, and its
    /// reply, finished on another thread, may hold segments.</summary>
    internal void CameBackDetached()
    {
        _k.CarrierFieldsCurrent = true;
        _k.ReplyMayHaveSegments = true;
    }

    /// <summary>The carrier starts a request dispatched <see cref="DispatchTag.Fresh"/>: its own fields
    /// cleared on its own core; the reply writer is begun when first asked for (<see cref="BeginReply"/>).</summary>
    internal void BeginOnCarrier() => ClearCarrierFields();

    /// <summary>Begins the reply writer with the bounds the IOKernel set at steer, on whichever thread
    /// first asks for it (the request's carrier, for a handler or its protocol's header).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void BeginReply()
    {
        Carried.ReplyBegun = true;
        _reply.Begin(ReplyHeaderBytes, MaxReplyBytes);
    }

    /// <summary>Whether the reply writer was begun for this request (<see cref="BeginReply"/>).</summary>
    internal bool ReplyBegun => Carried.ReplyBegun;

    /// <summary>Whether the reply overflowed (false for one never begun: nothing was written).</summary>
    internal bool ReplyOverflowed => Carried.ReplyBegun && _reply.Overflowed;

    /// <summary>Whether the reply took overflow segments (false for one never begun).</summary>
    internal bool ReplyHasSegments => Carried.ReplyBegun && _reply.HasSegments;

    /// <summary>The IOKernel finishes a request itself: if no carrier cleared the carrier's fields for
    /// it, the IOKernel does (a refusal must not report the last request's stamps).</summary>
    internal void EnsureCarrierFields()
    {
        if (!_k.CarrierFieldsCurrent)
        {
            BeginCarrierFields();
        }
    }

    private void BeginCarrierFields()
    {
        ClearCarrierFields();
        BeginReply();
        _k.CarrierFieldsCurrent = true;
    }

    private void ClearCarrierFields()
    {
        // Field by field: assigning the whole struct would write its padding too, and the padding
        // shares lines with the IOKernel's fields. Each value is its type's zero (Ok, None, RunRunning).
        ref CarrierFields c = ref Carried;
        c.Continuation = null;
        c.Pending = default;
        c.Error = null;
        c.ServiceTicks = 0;
        c.CompletionTicks = 0;
        c.LastPreemptionTicks = 0;
        c.Preemptions = 0;
        c.RunState = RunRunning;
        c.Status = RequestStatus.Ok;
        c.Outcome = SliceOutcome.None;
        c.Started = false;
        c.Yielded = false;
        c.CloseAfterReply = false;
        c.ReplyBegun = false;
        c.RequestMemoryReady = false;
        c.Preemption = PreemptionWord.Never;
        c.Slice = -1;
        c.Mailbox = null;
        c.SentOnWorker = 0;
    }

    /// <summary>Runs one slice on the calling carrier, until the handler completes, yields or detaches.</summary>
    /// <param name="preemption">The worker's preemption word.</param>
    /// <param name="slice">This slice's id: the word preempts the slice whose id it holds.</param>
    /// <param name="mailbox">The carrier's mailbox: with a quantum, a checkpoint past it yields when a request waits there.</param>
    internal SliceOutcome RunSlice(PreemptionWord preemption, long slice, HandoffRing? mailbox = null)
    {
        MoveOnCarrier(GreenThreadState.Running);
        SliceOutcome outcome = RunSliceCore(preemption, slice, mailbox);
        if (outcome == SliceOutcome.Completed)
        {
            MoveOnCarrier(GreenThreadState.Done);
        }
        else if (outcome == SliceOutcome.Yielded)
        {
            MoveOnCarrier(GreenThreadState.Suspended);
        }
        return outcome;
    }

    private SliceOutcome RunSliceCore(PreemptionWord preemption, long slice, HandoffRing? mailbox)
    {
        RequestContext ctx = Context;
        ctx.Preemption = preemption;
        ctx.Slice = slice;
        int quantum = _k.QuantumTicks;
        ref CarrierFields carried = ref ctx.Carried;
        HandoffRing? watched = quantum > 0 ? mailbox : null;
        if (!ReferenceEquals(carried.Mailbox, watched)) { carried.Mailbox = watched; }
        if (carried.QuantumTicks != quantum) { carried.QuantumTicks = quantum; }
        Carried.Yielded = false;
        GreenThread? outer = RequestContext.EnterSlice(this);
        try
        {
            if (!Carried.Started)
            {
                Carried.Started = true;
                ValueTask task;
                try
                {
                    task = Handler!.HandleAsync(ctx);
                }
                catch (Exception e)
                {
                    // A handler that throws before its first await (not an async method) fails alone.
                    return Fail(e);
                }
                if (task.IsCompleted)
                {
                    return Finish(task);
                }
                Carried.Pending = task;
                // Our own callback: when the state machine finishes during a later slice, it runs inline
                // on the carrier (our boxes run continuations synchronously) and marks us done.
                // ConfigureAwait(false): a plain awaiter would post the callback to whatever
                // SynchronizationContext the thread has, and the carrier would see a detached request.
                task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onHandlerCompleted);
            }
            else
            {
                Action continuation = Carried.Continuation!;
                Carried.Continuation = null;
                continuation();
            }
        }
        finally
        {
            RequestContext.LeaveSlice(outer);
        }

        if (Carried.Yielded)
        {
            return SliceOutcome.Yielded;
        }
        // Neither yielded nor done inline: the handler awaits something else and will finish on
        // another thread, where its checkpoints must never yield (no carrier would resume it).
        ctx.Preemption = PreemptionWord.Never;
        ctx.Slice = -1;
        ctx.Carried.Mailbox = null;
        MoveOnCarrier(GreenThreadState.Detached);
        // Whoever comes second (this thread or the one that completes the handler) owns the
        // completion. The CAS is a full fence: the other thread's writes to the reply are visible
        // to whichever thread finishes the request.
        if (Interlocked.CompareExchange(ref Carried.RunState, RunDetached, RunRunning) == RunDone)
        {
            return Finish(Carried.Pending);
        }
        return SliceOutcome.Detached;
    }

    private void OnHandlerCompleted()
    {
        // Full fence both ways: decides with RunSlice which thread completes the request.
        if (Interlocked.CompareExchange(ref Carried.RunState, RunDone, RunRunning) == RunRunning)
        {
            return; // completed inline, during RunSlice, which finishes it
        }
        Finish(Carried.Pending);
        CompletionTicks = Clock.Now();
        Outcome = SliceOutcome.Completed;
        MoveOnCarrier(GreenThreadState.Done);
        FinishReply();
        DetachedCompletion?.Invoke(this);
    }

    private SliceOutcome Finish(ValueTask task)
    {
        try
        {
            // GetResult also returns a pooled state-machine box to its pool.
            task.GetAwaiter().GetResult();
            // A handler that caught the overflow of its reply still failed: half a reply never goes out.
            Status = ReplyOverflowed ? RequestStatus.Error : RequestStatus.Ok;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
        return SliceOutcome.Completed;
    }

    internal void SetError(Exception e) => Carried.Error = e;

    /// <summary>
    /// Makes the reply what goes on the wire: the protocol's header in front of the handler's body
    /// when the request succeeded, or, when it did not (it threw, its reply overflowed, it was
    /// refused), the protocol's failure reply in place of whatever the handler wrote. Called once,
    /// by whichever thread finished the request (its carrier, the thread a detached handler ended
    /// on, or the IOKernel for a refusal), after the completion stamp.
    /// </summary>
    internal void FinishReply()
    {
        AppProtocol? protocol = Protocol;
        if (protocol is null)
        {
            return;
        }
        ReplyWriter reply = Context.Reply;
        ReplyInfo info = ReplyInfoNow();
        if (Status == RequestStatus.Ok)
        {
            if (reply.HeaderBytes > 0)
            {
                protocol.WriteReplyHeader(reply.Header, info);
            }
            return;
        }
        reply.Begin(0, Math.Max(reply.MaxBodyBytes, AppProtocol.MaxFailureReplyBytes));
        int n = protocol.WriteFailure(reply.GetSpan(AppProtocol.MaxFailureReplyBytes), info);
        reply.Advance(n);
    }

    /// <summary>Ends the request with <paramref name="status"/> and its protocol's failure reply
    /// (a reply that could not go out as written: too large for a datagram, or a refusal).</summary>
    internal void FailReply(RequestStatus status)
    {
        EnsureCarrierFields();
        Status = status;
        Outcome = SliceOutcome.Completed;
        FinishReply();
    }

    /// <summary>What the protocol may say about this request now.</summary>
    internal ReplyInfo ReplyInfoNow()
    {
        bool ran = ServiceTicks > 0 || CompletionTicks > 0;
        return new ReplyInfo
        {
            Status = Status,
            Type = Type,
            Id = Id,
            Tag = Tag,
            QueuedNs = ran ? Clock.ToNs(CompletionTicks - ArrivalTicks - ServiceTicks) : 0,
            ServiceNs = Clock.ToNs(ServiceTicks),
            Preemptions = Preemptions,
            BodyLength = Context.Reply.WrittenBytes,
        };
    }

    private SliceOutcome Fail(Exception e)
    {
        Status = RequestStatus.Error;
        Carried.Error = e;
        return SliceOutcome.Completed;
    }

    internal void Suspend(Action continuation)
    {
        Carried.Continuation = continuation;
        Carried.Yielded = true;
    }

    /// <summary>Marks a request refused unrun (shutting down, or a reply that could not be built).</summary>
    internal void Refuse(RequestStatus status)
    {
        EnsureCarrierFields();
        Status = status;
        Outcome = SliceOutcome.Completed;
    }
}
