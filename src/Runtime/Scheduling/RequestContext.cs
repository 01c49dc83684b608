// What a handler sees of its request: the bytes, the reply writer, where it came from, and the checkpoint.
using System.Runtime.CompilerServices;
using NetStack.Runtime.Buffers;

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
    private byte* _request;
    private int _requestLength;
    private ReadOnlyMemory<byte> _managedRequest;
    private bool _requestIsManaged;
    private bool _requestMemoryReady;

    // The checkpoint's two words: the worker's preemption word and this slice's id. Written by the
    // carrier that runs the slice, before the handler runs, and read by the handler on that thread.
    internal PreemptionWord Preemption = PreemptionWord.Never;
    internal long Slice = -1;

    internal RequestContext(GreenThread thread, ReplyWriter reply)
    {
        Thread = thread;
        Reply = reply;
    }

    internal GreenThread Thread { get; }

    /// <summary>The request's bytes as its protocol framed them (the spin protocol's payload, a memcached
    /// command line and its data block, ...). Valid until the request completes.</summary>
    public ReadOnlySpan<byte> Request
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _requestIsManaged ? _managedRequest.Span : new ReadOnlySpan<byte>(_request, _requestLength);
    }

    /// <summary>The same bytes as memory, for a handler that keeps them across an await (a span cannot).</summary>
    public ReadOnlyMemory<byte> RequestMemory
    {
        get
        {
            if (_requestIsManaged)
            {
                return _managedRequest;
            }
            if (!_requestMemoryReady)
            {
                _requestMemory.Reset(_request, _requestLength);
                _requestMemoryReady = true;
            }
            return _requestMemory.MemoryOf(_requestLength);
        }
    }

    /// <summary>Where the handler writes its reply. The protocol's header (if it has one) is added
    /// by the transport; what the handler writes is the body.</summary>
    public ReplyWriter Reply { get; }

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

    /// <summary>When the running slice started, in <see cref="Clock"/> ticks: the time before it was
    /// not spent running this request.</summary>
    public long SliceStartTicks => Slice < 0 ? 0 : Slice;

    /// <summary>True when the worker was asked to give its core up: the next checkpoint yields.</summary>
    public bool PreemptionRequested
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        // Acquire is not needed for correctness (the word carries no data read after it); Volatile
        // keeps the JIT from hoisting the load out of the handler's loop. Only the carrier that runs
        // the slice may yield it: a handler that awaited real I/O and resumed on another thread (a
        // detached request) must never suspend there, for no carrier would resume it.
        get => Volatile.Read(ref Preemption.Line.Slice) == Slice && t_running == Thread;
    }

    /// <summary>The preemption point. Await it at least every microsecond or so of work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CheckpointAwaitable Checkpoint() => new(this);

    /// <summary>Closes the connection once this request's reply (and every earlier one) has gone out
    /// (memcached's <c>quit</c>). A no-op for datagrams.</summary>
    public void CloseConnectionAfterReply() => Thread.CloseAfterReply = true;

    /// <summary>Points the context at native request bytes (the IOKernel, per request).</summary>
    internal void SetRequest(byte* bytes, int length)
    {
        _request = bytes;
        _requestLength = length;
        _requestIsManaged = false;
        _requestMemoryReady = false;
        _managedRequest = default;
    }

    /// <summary>No request bytes (a recycled context).</summary>
    internal void ClearRequest() => SetRequest(null, 0);

    /// <summary>Points the context at managed request bytes (a standalone request).</summary>
    internal void SetRequest(ReadOnlyMemory<byte> bytes)
    {
        _managedRequest = bytes;
        _requestIsManaged = true;
        _request = null;
        _requestLength = bytes.Length;
    }

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
