// What a handler sees of its request (the bytes, the reply writer, where it came from, the checkpoint), and the carrier's padded lines of it.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Threading;

namespace NetStack.Runtime.Scheduling;

/// <summary>How a request ended, as its answer says.</summary>
public enum RequestStatus : byte
{
    /// <summary>The handler completed.</summary>
    Ok = 0,
    /// <summary>Refused at once because a bounded queue was full.</summary>
    RejectedOverload = 1,
    /// <summary>The request could not be parsed or named an unknown type.</summary>
    BadRequest = 2,
    /// <summary>The handler threw, or its reply grew past its bound.</summary>
    Error = 3,
    /// <summary>Refused unrun because the host is shutting down.</summary>
    ShuttingDown = 4,
}

/// <summary>
/// A request as its handler sees it: its bytes (<see cref="Request"/>, straight over the receive
/// buffer, valid until the request completes), where to write the reply (<see cref="Reply"/>), its
/// id and type, the app and the connection it came on, and <see cref="Checkpoint"/>, the preemption
/// point. The scheduler's state (stamps, slices, status) lives in the request's
/// <see cref="GreenThread"/>, which a handler cannot reach. One context per green thread, pooled
/// and reused: a handler must not keep it, or its bytes, past its own completion.
/// </summary>
public sealed unsafe class RequestContext
{
    [ThreadStatic]
    private static GreenThread? t_running;

    private readonly NativeMemoryManager _requestMemory = new();

    /// <summary>The carrier's lines of the request (see <see cref="CarrierFields"/>).</summary>
    internal CarrierFields Carried;

    internal RequestContext(GreenThread thread, ReplyWriter reply)
    {
        Carried.Thread = thread;
        Carried.Reply = reply;
        Carried.Preemption = PreemptionWord.Never;
        Carried.Slice = -1;
    }

    internal GreenThread Thread
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Carried.Thread;
    }

    // The checkpoint's two words: the worker's preemption word and this slice's id. Written by the
    // carrier that runs the slice, before the handler runs, and read by the handler on that thread.
    internal PreemptionWord Preemption
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Carried.Preemption;
        set => Carried.Preemption = value;
    }

    internal long Slice
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Carried.Slice;
        set => Carried.Slice = value;
    }

    /// <summary>The request's bytes as its protocol framed them (the spin protocol's payload, a memcached
    /// command line and its data block, ...). Valid until the request completes.</summary>
    public ReadOnlySpan<byte> Request
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            GreenThread t = Thread;
            return t.RequestIsManaged ? t.ManagedRequest.Span : new ReadOnlySpan<byte>(t.RequestBytes, t.RequestLength);
        }
    }

    /// <summary>The same bytes as memory, for a handler that keeps them across an await (a span cannot).</summary>
    public ReadOnlyMemory<byte> RequestMemory
    {
        get
        {
            GreenThread t = Thread;
            if (t.RequestIsManaged)
            {
                return t.ManagedRequest;
            }
            if (!Carried.RequestMemoryReady)
            {
                _requestMemory.Reset(t.RequestBytes, t.RequestLength);
                Carried.RequestMemoryReady = true;
            }
            return _requestMemory.MemoryOf(t.RequestLength);
        }
    }

    /// <summary>Where the handler writes its reply. The protocol's header (if it has one) is added
    /// by the transport; what the handler writes is the body.</summary>
    public ReplyWriter Reply
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (!Carried.ReplyBegun)
            {
                Carried.Thread.BeginReply();
            }
            return Carried.Reply;
        }
    }

    /// <summary>The request's id: the client's when the protocol carries one, else a number the transport gives it.</summary>
    public long Id => Thread.Id;

    /// <summary>The request type its framer named (0 to the protocol's type count - 1).</summary>
    public int Type => Thread.Type;

    /// <summary>The service time the request asks for, in ns (the spin protocol and synthetic workloads; else 0).</summary>
    public long ServiceNs => Thread.ServiceNs;

    /// <summary>The app serving it (its index in the host).</summary>
    public int AppId => Thread.AppId;

    /// <summary>The connection or socket it came on, and the peer.</summary>
    public ConnectionInfo Connection => Thread.Connection;

    /// <summary>When the request reached the server, in <see cref="Clock"/> ticks: the stamp its NIC
    /// queue gave it on arrival (for synthetic sources, its intended arrival). Its server-side latency
    /// runs from here; 0 for a request that did not come through a NIC (a standalone run).</summary>
    public long ArrivalTicks => Thread.ArrivalTicks;

    /// <summary>When the running slice started, in <see cref="Clock"/> ticks: the time before it was
    /// not spent running this request.</summary>
    public long SliceStartTicks => Slice < 0 ? 0 : Slice;

    /// <summary>True when the worker was asked to give its core up, or its slice has outlived the app's
    /// quantum while a request waits in its own mailbox: the next checkpoint yields.</summary>
    public bool PreemptionRequested
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        // Acquire is not needed for correctness (the word carries no data read after it); Volatile
        // keeps the JIT from hoisting the load out of the handler's loop. Only the carrier that runs
        // the slice may yield it: a handler that awaited real I/O and resumed on another thread (a
        // detached request) must never suspend there, for no carrier would resume it.
        get => (Volatile.Read(ref Preemption.Line.Slice) == Slice || QuantumOverWithWorkWaiting()) && t_running == Thread;
    }

    /// <summary>
    /// Processor sharing decided on the worker: the IOKernel asks for the same yield (a slice past its
    /// quantum while the worker holds another request), but only when it runs, and on a core it
    /// shares with other threads (the load generator's, on a 2-core machine) it can be off that core
    /// for tens of microseconds while the request JBSQ already put in the mailbox waits. The mailbox's
    /// slot is one load on a line that changes only when the IOKernel dispatches; the clock is read
    /// only when something waits there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool QuantumOverWithWorkWaiting() =>
        Carried.Mailbox is { } mailbox && !mailbox.IsEmptyForConsumer() && Clock.Now() - Slice >= Carried.QuantumTicks;

    /// <summary>The preemption point. Await it at least every microsecond or so of work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CheckpointAwaitable Checkpoint() => new(this);

    /// <summary>Closes the connection once this request's reply (and every earlier one) has gone out
    /// (memcached's <c>quit</c>). A no-op for datagrams.</summary>
    public void CloseConnectionAfterReply() => Thread.CloseAfterReply = true;

    /// <summary>Marks the green thread as the one the calling thread runs, for the checkpoint's check.</summary>
    internal static GreenThread? EnterSlice(GreenThread thread)
    {
        GreenThread? previous = t_running;
        t_running = thread;
        return previous;
    }

    internal static void LeaveSlice(GreenThread? previous) => t_running = previous;

    internal void Suspend(Action continuation) => Thread.Suspend(continuation);
}

/// <summary>The awaitable behind <c>await ctx.Checkpoint()</c>: completes at once unless the
/// worker's preemption word names the running slice.</summary>
public readonly struct CheckpointAwaitable : ICriticalNotifyCompletion
{
    private readonly RequestContext _context;

    internal CheckpointAwaitable(RequestContext context) => _context = context;

    /// <summary>The awaiter (itself).</summary>
    public CheckpointAwaitable GetAwaiter() => this;

    /// <summary>False only when preemption was asked: then the continuation is captured.</summary>
    public bool IsCompleted
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => !_context.PreemptionRequested;
    }

    /// <summary>Nothing to return.</summary>
    public void GetResult() { }

    /// <summary>Captures the continuation; the carrier resumes it in a later slice.</summary>
    public void UnsafeOnCompleted(Action continuation) => _context.Suspend(continuation);

    /// <summary>As <see cref="UnsafeOnCompleted"/>: carriers do not flow an ExecutionContext of their own.</summary>
    public void OnCompleted(Action continuation) => _context.Suspend(continuation);
}

/// <summary>
/// What the carrier writes while a request runs, and what it reads with it: the context's own
/// references, the checkpoint's words, the slice's stamps, status and outcome, the suspended
/// continuation. A line of padding on each side keeps them off the lines of whatever the runtime
/// puts before and after the context (its green thread, whose fields the IOKernel writes per
/// request), so that the carrier writes only lines no other core writes, and the IOKernel reads
/// none of them on the data path (the completion ring's word carries what it needs). The fields a
/// slice always touches come first.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct CarrierFields
{
    internal const int First = CacheLine.Size;
    internal const int End = First + 128;
    internal const int Size = End + CacheLine.Size;

    [FieldOffset(First + 0)] public GreenThread Thread;
    [FieldOffset(First + 8)] public PreemptionWord Preemption;
    [FieldOffset(First + 16)] public long Slice;
    [FieldOffset(First + 24)] public long ServiceTicks;
    [FieldOffset(First + 32)] public long CompletionTicks;
    [FieldOffset(First + 40)] public int Preemptions;
    [FieldOffset(First + 44)] public int RunState;
    [FieldOffset(First + 48)] public RequestStatus Status;
    [FieldOffset(First + 49)] public SliceOutcome Outcome;
    [FieldOffset(First + 50)] public bool Started;
    [FieldOffset(First + 51)] public bool Yielded;
    [FieldOffset(First + 52)] public bool CloseAfterReply;
    // The reply writer is begun when first asked for (RequestContext.Reply), not at the start:
    // a handler that writes no reply, with a protocol that frames none, never touches its lines.
    [FieldOffset(First + 53)] public bool ReplyBegun;
    [FieldOffset(First + 54)] public bool RequestMemoryReady;
    [FieldOffset(First + 56)] public ReplyWriter Reply;
    [FieldOffset(First + 64)] public Action? Continuation;
    [FieldOffset(First + 72)] public ValueTask Pending;
    [FieldOffset(First + 88)] public Exception? Error;
    [FieldOffset(First + 96)] public long LastPreemptionTicks;
    // The worker-side quantum check (RequestContext.PreemptionRequested): the carrier's mailbox and the
    // app's quantum, set for each slice; null and 0 when the app is not shared by time.
    [FieldOffset(First + 104)] public HandoffRing? Mailbox;
    [FieldOffset(First + 112)] public long QuantumTicks;
    // Reply bytes the carrier wrote to the wire itself (GreenThread.ReplySender), read by the IOKernel at completion.
    [FieldOffset(First + 120)] public int SentOnWorker;
}
