// The baseline: the same app and protocol served the conventional .NET way, a receive loop feeding the ThreadPool.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.Apps.Baseline;

/// <summary>
/// A UDP server written the way a .NET developer would write it today: one dedicated thread blocks
/// in <c>ReceiveFrom</c>, and hands each request to the ThreadPool, where the handler runs to
/// completion and the pool thread sends the reply. It speaks the same protocol with the same codec,
/// statuses, bad-input handling and counters as the NetStack UDP NIC, so the two can be measured
/// side by side with the same load generator. Nothing is pinned and the ThreadPool keeps its
/// default minimum threads: that is the conventional design being compared against, and the
/// scheduling (FIFO global queue, OS time slices, no preemption at microsecond scale) is the
/// ThreadPool's own. The one liberty taken is pooling the per-request work items, so the
/// comparison is about scheduling, not garbage collection.
/// </summary>
public sealed class ThreadPoolServer : IDisposable
{
    /// <summary>Longer than any UDP datagram (65,507 bytes), so the length received is the real one
    /// and an oversized request is seen as such, never truncated.</summary>
    private const int ReceiveBufferBytes = 65536;

    /// <summary>How often the blocked receive wakes to see whether the server is stopping.</summary>
    private const int ReceivePollMillis = 100;

    private readonly Socket _socket;
    private readonly IRequestHandler _handler;
    private readonly int _typeCount;
    private readonly int _maxInFlight;
    private readonly ConcurrentQueue<PendingRequest> _free = new();
    private readonly byte[] _receiveReply = new byte[WireProtocol.HeaderSize];
    private Thread? _receiver;
    private volatile bool _stopping;
    private int _inFlight;
    private long _admitted;
    private long _completed;
    private long _errors;
    private long _rejected;
    private bool _disposed;

    /// <summary>Binds the socket (so <see cref="Port"/> is known before <see cref="Start"/>).</summary>
    /// <param name="options">Address, port and socket buffer sizes (queue count and batch sizes do not apply).</param>
    /// <param name="handler">The app.</param>
    /// <param name="typeCount">Request types the app knows; higher ones are answered bad-request.</param>
    /// <param name="maxInFlight">Requests admitted and not yet answered, at most; past it a request is answered rejected-overload.</param>
    public ThreadPoolServer(UdpNicOptions options, IRequestHandler handler, int typeCount, int maxInFlight = 8192)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(typeCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxInFlight);
        _handler = handler;
        _typeCount = typeCount;
        _maxInFlight = maxInFlight;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.ReceiveBufferSize = options.ReceiveBufferBytes;
            _socket.SendBufferSize = options.SendBufferBytes;
            _socket.ReceiveTimeout = ReceivePollMillis;
            _socket.Bind(new IPEndPoint(options.ParsedAddress, options.Port));
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        for (int i = 0; i < maxInFlight; i++)
        {
            _free.Enqueue(new PendingRequest(this));
        }
    }

    /// <summary>The bound address and port.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The bound port (the kernel's choice when configured as 0).</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>Datagrams, bad input and replies, counted as the UDP NIC counts them.</summary>
    public UdpCounters Counters { get; } = new();

    /// <summary>The in-flight bound.</summary>
    public int MaxInFlight => _maxInFlight;

    /// <summary>Requests handed to the ThreadPool.</summary>
    public long Admitted => Interlocked.Read(ref _admitted);

    /// <summary>Requests whose handler finished (ok or error).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Of those, handlers that threw.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Requests turned away because <see cref="MaxInFlight"/> were in flight.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Requests admitted and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Starts the receive thread.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = "threadpool-server-receive" };
        _receiver.Start();
    }

    /// <summary>Stops taking requests, waits up to <paramref name="drainTimeout"/> for those in flight,
    /// and closes the socket. Returns how many were still unfinished.</summary>
    public int Stop(TimeSpan drainTimeout)
    {
        _stopping = true;
        _receiver?.Join();
        long deadline = Environment.TickCount64 + (long)drainTimeout.TotalMilliseconds;
        while (InFlight > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(1);
        }
        int unfinished = InFlight;
        Dispose();
        return unfinished;
    }

    /// <summary>Closes the socket. Replies still in flight then fail and are counted as send failures.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stopping = true;
        _socket.Dispose();
    }

    private void ReceiveLoop()
    {
        byte[] buffer = new byte[ReceiveBufferBytes];
        var peer = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopping)
        {
            int length;
            try
            {
                length = _socket.ReceiveFrom(buffer, SocketFlags.None, peer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                continue; // the periodic wake-up to look at _stopping
            }
            catch (SocketException)
            {
                if (_stopping)
                {
                    break;
                }
                Interlocked.Increment(ref Counters.ReceiveFailures);
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            long receivedTicks = Clock.Now();
            Interlocked.Increment(ref Counters.Received);

            ParseError error = WireProtocol.TryParseRequest(buffer.AsSpan(0, length), _typeCount, out RequestHeader request);
            if (error != ParseError.None)
            {
                Interlocked.Increment(ref Counters.ParseErrors[(int)error]);
                if (WireProtocol.CanAnswer(error))
                {
                    Send(peer, WireProtocol.ReplyTo(request, ResponseStatus.BadRequest), _receiveReply);
                }
                continue;
            }
            if (!_free.TryDequeue(out PendingRequest? pending))
            {
                Interlocked.Increment(ref _rejected);
                Send(peer, WireProtocol.ReplyTo(request, ResponseStatus.RejectedOverload), _receiveReply);
                continue;
            }
            pending.Prepare(request, peer, receivedTicks);
            Interlocked.Increment(ref _inFlight);
            Interlocked.Increment(ref _admitted);
            ThreadPool.UnsafeQueueUserWorkItem(pending, preferLocal: false);
        }
    }

    private void Serve(PendingRequest pending)
    {
        RequestContext ctx = pending.Context;
        long start = Clock.Now();
        ResponseStatus status = Run(ctx);
        long end = Clock.Now();
        Interlocked.Increment(ref _completed);
        if (status == ResponseStatus.Error)
        {
            Interlocked.Increment(ref _errors);
        }
        ResponseHeader reply = WireProtocol.ReplyTo(pending.Request, status);
        reply.QueuedNs = WireProtocol.Saturate(Clock.ToNs(start - pending.ReceivedTicks));
        reply.ServiceNs = WireProtocol.Saturate(Clock.ToNs(end - start));
        Send(pending.Peer, reply, pending.ReplyBuffer);
        _free.Enqueue(pending);
        // Release: the item is back in the pool before Stop can see the count reach zero.
        Interlocked.Decrement(ref _inFlight);
    }

    private ResponseStatus Run(RequestContext ctx)
    {
        try
        {
            // The context is on no carrier, so its checkpoints never yield and the handler runs to
            // completion on this pool thread. A handler that awaits real I/O is waited for: the
            // pool thread is the request's thread for its whole life, as in a plain .NET server.
            ValueTask task = _handler.HandleAsync(ctx);
            if (task.IsCompleted)
            {
                task.GetAwaiter().GetResult();
            }
            else
            {
                task.AsTask().GetAwaiter().GetResult();
            }
            return ResponseStatus.Ok;
        }
        catch (Exception)
        {
            return ResponseStatus.Error;
        }
    }

    private void Send(SocketAddress peer, in ResponseHeader reply, byte[] buffer)
    {
        WireProtocol.WriteResponse(buffer, reply);
        try
        {
            _socket.SendTo(buffer, SocketFlags.None, peer);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref Counters.SendFailures);
            return;
        }
        switch (reply.Status)
        {
            case ResponseStatus.Ok: Interlocked.Increment(ref Counters.OkReplies); break;
            case ResponseStatus.Error: Interlocked.Increment(ref Counters.ErrorReplies); break;
            case ResponseStatus.RejectedOverload: Interlocked.Increment(ref Counters.RejectedReplies); break;
            default: Interlocked.Increment(ref Counters.BadRequestReplies); break;
        }
    }

    /// <summary>One admitted request: pooled, so a request costs no allocation here either.</summary>
    private sealed class PendingRequest(ThreadPoolServer server) : IThreadPoolWorkItem
    {
        public readonly RequestContext Context = new();
        public readonly SocketAddress Peer = new(AddressFamily.InterNetwork);
        public readonly byte[] ReplyBuffer = new byte[WireProtocol.HeaderSize];
        public RequestHeader Request;
        public long ReceivedTicks;

        public void Prepare(in RequestHeader request, SocketAddress peer, long receivedTicks)
        {
            Request = request;
            ReceivedTicks = receivedTicks;
            peer.Buffer.Span.CopyTo(Peer.Buffer.Span);
            Peer.Size = peer.Size;
            Context.Reset();
            Context.Id = (long)request.Id;
            Context.Type = request.Type;
            Context.ServiceNs = request.ServiceNs;
            Context.ArrivalTicks = receivedTicks;
            Context.EchoToken = request.IntendedSendNs;
        }

        public void Execute() => server.Serve(this);
    }
}
