// A green thread: one pooled request, its handler's suspended continuation, and its stamps.
using System.Runtime.CompilerServices;

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

/// <summary>What one slice of a green thread ended with.</summary>
public enum SliceOutcome : byte
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

/// <summary>
/// A request context, which is also the request's green thread. The IOKernel takes one from its
/// pool per request and recycles it after the answer goes out. A handler is an ordinary
/// <c>async ValueTask</c> method; <c>await ctx.Checkpoint()</c> is its preemption point: a read of
/// the worker's preemption word when nothing is asked, and, when preemption was asked, the capture
/// of the continuation, so the carrier returns to its loop and the request goes back to the
/// IOKernel, to be resumed later, perhaps on another core, with its state intact.
/// </summary>
public sealed class RequestContext
{
    private const int StateRunning = 0;
    private const int StateDone = 1;
    private const int StateDetached = 2;

    private readonly Action _onHandlerCompleted;
    private Action? _continuation;
    private ValueTask _pending;
    private bool _started;
    private bool _yielded;
    private int _runState;
    private PreemptionWord _preemption = PreemptionWord.Never;
    private long _slice = -1;

    /// <summary>A fresh context; the IOKernel's pool creates them all before the run starts.</summary>
    public RequestContext() => _onHandlerCompleted = OnHandlerCompleted;

    // ---- the request, as the handler sees it ----

    /// <summary>The request's id (the client's, for network requests).</summary>
    public long Id { get; set; }

    /// <summary>The request type: an index into the workload's or app's types.</summary>
    public int Type { get; set; }

    /// <summary>The service time the request asks for, in ns (the spin app's work).</summary>
    public long ServiceNs { get; set; }

    /// <summary>The flow this request belongs to: d-FCFS steers by it.</summary>
    public uint FlowHash { get; set; }

    /// <summary>The app that serves it (its index in the host).</summary>
    public int AppId { get; set; }

    /// <summary>Transport state of the NIC queue it came from (for example a response slot);
    /// opaque to the scheduler.</summary>
    public int NicQueue { get; set; }

    /// <summary>Opaque transport token (for example the peer's address and the queue it came on).</summary>
    public long NicToken { get; set; }

    /// <summary>A value the transport echoes back in the answer untouched (the client's intended send time).</summary>
    public long EchoToken { get; set; }

    /// <summary>When this slice started, in <see cref="Clock"/> ticks: the time before it was not
    /// spent running this request.</summary>
    public long SliceStartTicks => _slice < 0 ? 0 : _slice;

    /// <summary>True when the worker was asked to give its core up: the next checkpoint yields.</summary>
    public bool PreemptionRequested
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        // Acquire is not needed for correctness (the word carries no data we then read); Volatile
        // keeps the JIT from hoisting the load out of the handler's loop.
        get => Volatile.Read(ref _preemption.Line.Slice) == _slice;
    }

    /// <summary>The preemption point. Await it at least every microsecond of work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CheckpointAwaitable Checkpoint() => new(this);

    // ---- stamps, in Clock ticks (written by the one thread that owns the context at the time) ----

    /// <summary>When the request arrived (for open-loop sources, when it was meant to be sent).</summary>
    public long ArrivalTicks { get; set; }

    /// <summary>When it last joined its app's queue (arrival or requeue): Caladan's queueing delay runs from here.</summary>
    public long QueuedTicks { get; set; }

    /// <summary>When the IOKernel first handed it to a worker (0 until then).</summary>
    public long FirstDispatchTicks { get; set; }

    /// <summary>When it last yielded (0 if never).</summary>
    public long LastPreemptionTicks { get; set; }

    /// <summary>When the handler completed.</summary>
    public long CompletionTicks { get; set; }

    /// <summary>Ticks spent running (sum of its slices).</summary>
    public long ServiceTicks { get; set; }

    /// <summary>Times it was preempted.</summary>
    public int Preemptions { get; set; }

    /// <summary>The answer's status.</summary>
    public RequestStatus Status { get; set; }

    /// <summary>The handler's exception when <see cref="Status"/> is <see cref="RequestStatus.Error"/>.</summary>
    public Exception? Error { get; private set; }

    /// <summary>How the last slice ended.</summary>
    public SliceOutcome Outcome { get; internal set; }

    internal IRequestHandler? Handler { get; set; }

    /// <summary>Called, on whatever thread finishes it, when a detached handler completes.</summary>
    internal Action<RequestContext>? DetachedCompletion { get; set; }

    /// <summary>Clears the context for its next request. The IOKernel calls it before reuse.</summary>
    public void Reset()
    {
        Id = 0; Type = 0; ServiceNs = 0; FlowHash = 0; AppId = 0; NicQueue = 0; NicToken = 0; EchoToken = 0;
        ArrivalTicks = 0; QueuedTicks = 0; FirstDispatchTicks = 0; LastPreemptionTicks = 0; CompletionTicks = 0;
        ServiceTicks = 0; Preemptions = 0; Status = RequestStatus.Ok; Error = null; Outcome = SliceOutcome.None;
        Handler = null; _continuation = null; _pending = default; _started = false; _yielded = false;
        _runState = StateRunning; _preemption = PreemptionWord.Never; _slice = -1;
    }

    /// <summary>Runs one slice on the calling carrier, until the handler completes or yields.</summary>
    /// <param name="preemption">The worker's preemption word.</param>
    /// <param name="slice">This slice's id: the word preempts the slice whose id it holds.</param>
    internal SliceOutcome RunSlice(PreemptionWord preemption, long slice)
    {
        _preemption = preemption;
        _slice = slice;
        _yielded = false;

        if (!_started)
        {
            _started = true;
            ValueTask task;
            try
            {
                task = Handler!.HandleAsync(this);
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

        if (_yielded)
        {
            return SliceOutcome.Yielded;
        }
        // Neither yielded nor done inline: the handler awaits something else and will finish on
        // another thread. Whoever comes second (this thread or that one) owns the completion.
        if (Interlocked.CompareExchange(ref _runState, StateDetached, StateRunning) == StateDone)
        {
            return Finish(_pending);
        }
        return SliceOutcome.Detached;
    }

    private void OnHandlerCompleted()
    {
        // Full fence both ways: decides with RunSlice which thread completes the request.
        if (Interlocked.CompareExchange(ref _runState, StateDone, StateRunning) == StateRunning)
        {
            return; // completed inline, during RunSlice, which finishes it
        }
        Finish(_pending);
        CompletionTicks = Clock.Now();
        Outcome = SliceOutcome.Completed;
        DetachedCompletion?.Invoke(this);
    }

    private SliceOutcome Finish(ValueTask task)
    {
        try
        {
            // GetResult also returns a pooled state-machine box to its pool.
            task.GetAwaiter().GetResult();
            Status = RequestStatus.Ok;
        }
        catch (Exception e)
        {
            return Fail(e);
        }
        return SliceOutcome.Completed;
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
}

/// <summary>The awaitable behind <c>await ctx.Checkpoint()</c>: completes at once unless the
/// worker's preemption word names the running slice.</summary>
public readonly struct CheckpointAwaitable(RequestContext context) : ICriticalNotifyCompletion
{
    /// <summary>The awaiter (itself).</summary>
    public CheckpointAwaitable GetAwaiter() => this;

    /// <summary>False only when preemption was asked: then the continuation is captured.</summary>
    public bool IsCompleted
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => !context.PreemptionRequested;
    }

    /// <summary>Nothing to return.</summary>
    public void GetResult() { }

    /// <summary>Captures the continuation; the carrier resumes it in a later slice.</summary>
    public void UnsafeOnCompleted(Action continuation) => context.Suspend(continuation);

    /// <summary>As <see cref="UnsafeOnCompleted"/>: carriers do not flow an ExecutionContext of their own.</summary>
    public void OnCompleted(Action continuation) => context.Suspend(continuation);
}
