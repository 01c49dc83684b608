// A green thread: the scheduler's side of one pooled request — its state machine, stamps, slices and suspended continuation.
using System.Diagnostics;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Protocol;

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

/// <summary>
/// The scheduler's state of one request: which app and handler, the request's stamps, the slice it
/// runs, its state machine, its suspended continuation, and the transport's bookkeeping. The IOKernel
/// takes one from its pool per request and recycles it once the reply is out. Everything here is
/// readable (recorders, reports, tests) and writable only inside NetStack; the handler sees
/// <see cref="Context"/>, its <see cref="RequestContext"/>.
/// </summary>
internal sealed class GreenThread
{
    /// <summary>The cache lines of the object, from its start, that the other core reads first when a
    /// green thread crosses over (a slice's start, a completion): what each side prefetches.</summary>
    internal const int FirstReadLines = 3;

    private const int RunRunning = 0;
    private const int RunDone = 1;
    private const int RunDetached = 2;

    private readonly Action _onHandlerCompleted;
    private Action? _continuation;
    private ValueTask _pending;
    private bool _started;
    private bool _yielded;
    private int _runState;

    /// <summary>A green thread whose reply writer is <paramref name="reply"/>.</summary>
    internal GreenThread(ReplyWriter reply)
    {
        _onHandlerCompleted = OnHandlerCompleted;
        Context = new RequestContext(this, reply);
    }

    /// <summary>A green thread with its own 2 KiB inline reply buffer (tests, in-process tools).</summary>
    public GreenThread() : this(new ReplyWriter(2048, 1 << 20))
    {
    }

    /// <summary>What the handler sees.</summary>
    public RequestContext Context { get; }

    /// <summary>Its index in the kernel's <see cref="Threading.GreenThreadRegistry"/>: what the handoff rings carry.</summary>
    internal int RingIndex { get; set; } = -1;

    /// <summary>Its reply writer.</summary>
    public ReplyWriter Reply => Context.Reply;

    // ---- the request (set at steer time by the IOKernel) ----

    /// <summary>The request's id (the client's, for network requests).</summary>
    public long Id { get; internal set; }

    /// <summary>The request type.</summary>
    public int Type { get; internal set; }

    /// <summary>The service time the request asks for, in ns.</summary>
    public long ServiceNs { get; internal set; }

    /// <summary>The flow this request belongs to: d-FCFS steers by it.</summary>
    public uint FlowHash { get; internal set; }

    /// <summary>The app that serves it.</summary>
    public int AppId { get; internal set; }

    /// <summary>The connection it came on.</summary>
    public ConnectionInfo Connection { get; internal set; }

    // ---- the transport's bookkeeping (opaque to the scheduler) ----

    /// <summary>The NIC queue it came from, by index in the IOKernel.</summary>
    public int Nic { get; internal set; }

    /// <summary>The NIC's token: where the reply goes (a peer, a connection and a sequence number).</summary>
    public long NicToken { get; internal set; }

    /// <summary>The framer's <see cref="Protocol.Frame.Tag"/>, handed back to the reply header.</summary>
    public long Tag { get; internal set; }

    /// <summary>The receive buffer holding the request's bytes, released when it completes (-1: none).</summary>
    public int Buffer { get; internal set; } = -1;

    /// <summary>Set by the handler (<see cref="RequestContext.CloseConnectionAfterReply"/>).</summary>
    public bool CloseAfterReply { get; internal set; }

    // ---- stamps, in Clock ticks (written by the one thread that owns the green thread at the time) ----

    /// <summary>When the request arrived (for open-loop sources, when it was meant to be sent).</summary>
    public long ArrivalTicks { get; internal set; }

    /// <summary>When it last joined its app's queue (arrival or requeue): Caladan's queueing delay runs from here.</summary>
    public long QueuedTicks { get; internal set; }

    /// <summary>When the IOKernel first handed it to a worker (0 until then).</summary>
    public long FirstDispatchTicks { get; internal set; }

    /// <summary>When it last yielded (0 if never).</summary>
    public long LastPreemptionTicks { get; internal set; }

    /// <summary>When the handler completed.</summary>
    public long CompletionTicks { get; internal set; }

    /// <summary>Ticks spent running (sum of its slices).</summary>
    public long ServiceTicks { get; internal set; }

    /// <summary>Times it was preempted.</summary>
    public int Preemptions { get; internal set; }

    /// <summary>The answer's status.</summary>
    public RequestStatus Status { get; internal set; }

    /// <summary>The handler's exception when <see cref="Status"/> is <see cref="RequestStatus.Error"/>.</summary>
    public Exception? Error { get; private set; }

    /// <summary>How the last slice ended.</summary>
    public SliceOutcome Outcome { get; internal set; }

    /// <summary>Where it is in its life.</summary>
    public GreenThreadState State { get; private set; }

    internal IRequestHandler? Handler { get; set; }

    /// <summary>The app's protocol, which frames the reply (null for in-process requests, which have no wire).</summary>
    internal AppProtocol? Protocol { get; set; }

    /// <summary>Called, on whatever thread finishes it, when a detached handler completes.</summary>
    internal Action<GreenThread>? DetachedCompletion { get; set; }

    /// <summary>Moves the state machine, checking (in Debug builds) that the move is one it allows.</summary>
    internal void MoveTo(GreenThreadState next)
    {
        AssertTransition(State, next);
        State = next;
    }

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
            (GreenThreadState.Detached, GreenThreadState.Done) => true,
            (GreenThreadState.Done, GreenThreadState.Free) => true,
            _ => false,
        };
        Debug.Assert(allowed, $"green thread state {from} -> {to} is not a transition");
    }

    /// <summary>Clears the green thread for its next request. The IOKernel's pool calls it before reuse.</summary>
    internal void Reset(int replyHeaderBytes, int maxReplyBytes)
    {
        ResetState();
        Context.Reply.Begin(replyHeaderBytes, maxReplyBytes);
    }

    /// <summary>Clears everything but the reply writer's bounds (the IOKernel sets those per app at steer time).</summary>
    internal void ResetState()
    {
        Id = 0; Type = 0; ServiceNs = 0; FlowHash = 0; AppId = 0; Connection = default;
        Nic = 0; NicToken = 0; Tag = 0; Buffer = -1; CloseAfterReply = false;
        ArrivalTicks = 0; QueuedTicks = 0; FirstDispatchTicks = 0; LastPreemptionTicks = 0; CompletionTicks = 0;
        ServiceTicks = 0; Preemptions = 0; Status = RequestStatus.Ok; Error = null; Outcome = SliceOutcome.None;
        Handler = null; Protocol = null; _continuation = null; _pending = default; _started = false; _yielded = false;
        _runState = RunRunning;
        Context.Preemption = PreemptionWord.Never;
        Context.Slice = -1;
        Context.ClearRequest();
        Context.Reply.ReleaseSegments();
        State = GreenThreadState.Free;
    }

    /// <summary>As <see cref="Reset(int, int)"/> with no header and a 1 MiB bound (tests, standalone runs).</summary>
    public void Reset() => Reset(0, 1 << 20);

    /// <summary>Runs one slice on the calling carrier, until the handler completes, yields or detaches.</summary>
    /// <param name="preemption">The worker's preemption word.</param>
    /// <param name="slice">This slice's id: the word preempts the slice whose id it holds.</param>
    internal SliceOutcome RunSlice(PreemptionWord preemption, long slice)
    {
        MoveTo(GreenThreadState.Running);
        SliceOutcome outcome = RunSliceCore(preemption, slice);
        if (outcome == SliceOutcome.Completed)
        {
            MoveTo(GreenThreadState.Done);
        }
        else if (outcome == SliceOutcome.Yielded)
        {
            MoveTo(GreenThreadState.Suspended);
        }
        return outcome;
    }

    private SliceOutcome RunSliceCore(PreemptionWord preemption, long slice)
    {
        RequestContext ctx = Context;
        ctx.Preemption = preemption;
        ctx.Slice = slice;
        _yielded = false;
        GreenThread? outer = RequestContext.EnterSlice(this);
        try
        {
            if (!_started)
            {
                _started = true;
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
                _pending = task;
                // Our own callback: when the state machine finishes during a later slice, it runs inline
                // on the carrier (our boxes run continuations synchronously) and marks us done.
                // ConfigureAwait(false): a plain awaiter would post the callback to whatever
                // SynchronizationContext the thread has, and the carrier would see a detached request.
                task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onHandlerCompleted);
            }
            else
            {
                Action continuation = _continuation!;
                _continuation = null;
                continuation();
            }
        }
        finally
        {
            RequestContext.LeaveSlice(outer);
        }

        if (_yielded)
        {
            return SliceOutcome.Yielded;
        }
        // Neither yielded nor done inline: the handler awaits something else and will finish on
        // another thread, where its checkpoints must never yield (no carrier would resume it).
        ctx.Preemption = PreemptionWord.Never;
        ctx.Slice = -1;
        MoveTo(GreenThreadState.Detached);
        // Whoever comes second (this thread or the one that completes the handler) owns the
        // completion. The CAS is a full fence: the other thread's writes to the reply are visible
        // to whichever thread finishes the request.
        if (Interlocked.CompareExchange(ref _runState, RunDetached, RunRunning) == RunDone)
        {
            return Finish(_pending);
        }
        return SliceOutcome.Detached;
    }

    private void OnHandlerCompleted()
    {
        // Full fence both ways: decides with RunSlice which thread completes the request.
        if (Interlocked.CompareExchange(ref _runState, RunDone, RunRunning) == RunRunning)
        {
            return; // completed inline, during RunSlice, which finishes it
        }
        Finish(_pending);
        CompletionTicks = Clock.Now();
        Outcome = SliceOutcome.Completed;
        MoveTo(GreenThreadState.Done);
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
            Status = Context.Reply.Overflowed ? RequestStatus.Error : RequestStatus.Ok;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
        return SliceOutcome.Completed;
    }

    internal void SetError(Exception e) => Error = e;

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
        Error = e;
        return SliceOutcome.Completed;
    }

    internal void Suspend(Action continuation)
    {
        _continuation = continuation;
        _yielded = true;
    }

    /// <summary>Marks a request refused unrun (shutting down, or a reply that could not be built).</summary>
    internal void Refuse(RequestStatus status)
    {
        Status = status;
        Outcome = SliceOutcome.Completed;
    }
}
