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
/// completion and the pool thread sends the reply. It frames requests and replies with the same
/// <see cref="AppProtocol"/> as NetStack's UDP NIC, with the same statuses, bad-input handling and
/// counters, so the two can be measured side by side with the same load generator. Nothing is
/// pinned and the ThreadPool keeps its default minimum threads: that is the conventional design
/// being compared against, and the scheduling (FIFO global queue, OS time slices, no preemption at
/// microsecond scale) is the ThreadPool's own. The one liberty taken is pooling the per-request
/// work items and their buffers, so the comparison is about scheduling, not garbage collection.
/// </summary>
internal sealed class ThreadPoolServer : IDisposable
{
    /// <summary>Longer than any UDP datagram (65,507 bytes), so the length received is the real one
    /// and an oversized request is seen as such, never truncated.</summary>
    private const int ReceiveBufferBytes = 65536;

    /// <summary>The largest request a pending request holds a copy of: more than any valid datagram of
    /// the spin protocol (1472 B) or memcached's (1400 B).</summary>
    private const int MaxRequestBytes = 2048;

    /// <summary>How often the blocked receive wakes to see whether the server is stopping.</summary>
    private const int ReceivePollMillis = 100;

    private readonly Socket _socket;
    private readonly IRequestHandler _handler;
    private readonly AppProtocol _protocol;
    private readonly int _maxInFlight;
    private readonly ConcurrentQueue<PendingRequest> _free = new();
    private readonly byte[] _receiveReply = new byte[AppProtocol.MaxFailureReplyBytes];
    private Thread? _receiver;
    private volatile bool _stopping;
    private int _inFlight;
    private long _admitted;
    private long _completed;
    private long _errors;
    private long _rejected;
    private bool _disposed;

    /// <summary>The spin protocol on the options' address and port (the host's and the tests' case).</summary>
    public ThreadPoolServer(UdpNicOptions options, IRequestHandler handler, int typeCount, int maxInFlight = 8192)
        : this(new IPEndPoint(options.ParsedAddress, options.Port), handler, new SpinProtocol(typeCount), maxInFlight, options.ReceiveBufferBytes)
    {
    }

    /// <summary>Binds the socket (so <see cref="Port"/> is known before <see cref="Start"/>).</summary>
    /// <param name="endpoint">Address and port.</param>
    /// <param name="handler">The app.</param>
    /// <param name="protocol">Frames its requests and replies.</param>
    /// <param name="maxInFlight">Requests admitted and not yet answered, at most; past it a request is answered rejected-overload.</param>
    /// <param name="socketBufferBytes">SO_RCVBUF and SO_SNDBUF.</param>
    public ThreadPoolServer(IPEndPoint endpoint, IRequestHandler handler, AppProtocol protocol, int maxInFlight = 8192,
        int socketBufferBytes = 4 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxInFlight);
        _handler = handler;
        _protocol = protocol;
        _maxInFlight = maxInFlight;
        _socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.ReceiveBufferSize = socketBufferBytes;
            _socket.SendBufferSize = socketBufferBytes;
            _socket.ReceiveTimeout = ReceivePollMillis;
            _socket.Bind(endpoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        for (int i = 0; i < Math.Min(maxInFlight, 64); i++)
        {
            _free.Enqueue(new PendingRequest(this));
        }
        Counters = new UdpCounters(protocol.ErrorNames);
    }

    /// <summary>The bound address and port.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The bound port (the kernel's choice when configured as 0).</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>Datagrams, bad input and replies, counted as the UDP NIC counts them.</summary>
    public UdpCounters Counters { get; }

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
        var peer = new SocketAddress(_socket.AddressFamily);
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

            FrameStatus status = _protocol.FrameDatagram(buffer.AsSpan(0, length), out Frame frame);
            if (status == FrameStatus.Request && length > MaxRequestBytes)
            {
                status = FrameStatus.Invalid;
            }
            if (status != FrameStatus.Request)
            {
                Counters.CountBadFrameShared(frame.Error);
                if (status == FrameStatus.Invalid)
                {
                    SendFailure(peer, frame, RequestStatus.BadRequest);
                }
                continue;
            }
            if (Volatile.Read(ref _inFlight) >= _maxInFlight)
            {
                Interlocked.Increment(ref _rejected);
                SendFailure(peer, frame, RequestStatus.RejectedOverload);
                continue;
            }
            if (!_free.TryDequeue(out PendingRequest? pending))
            {
                pending = new PendingRequest(this); // the pool grows to the largest number in flight, then stays
            }
            pending.Prepare(buffer.AsSpan(0, length), frame, peer, receivedTicks);
            Interlocked.Increment(ref _inFlight);
            Interlocked.Increment(ref _admitted);
            ThreadPool.UnsafeQueueUserWorkItem(pending, preferLocal: false);
        }
    }

    private void Serve(PendingRequest pending)
    {
        StandaloneRequest request = pending.Request;
        long start = Clock.Now();
        RequestStatus status = request.Run(_handler);
        long end = Clock.Now();
        Interlocked.Increment(ref _completed);
        var info = new ReplyInfo
        {
            Status = status,
            Type = pending.Frame.Type,
            Id = pending.Frame.Id,
            Tag = pending.Frame.Tag,
            QueuedNs = Clock.ToNs(start - pending.ReceivedTicks),
            ServiceNs = Clock.ToNs(end - start),
            BodyLength = request.Reply.WrittenBytes,
        };
        int length;
        if (status == RequestStatus.Ok && request.Reply.TotalBytes <= _protocol.MaxDatagramReplyBytes)
        {
            _protocol.WriteReplyHeader(request.Reply.Header, info);
            length = request.Reply.CopyTo(pending.SendBuffer);
        }
        else
        {
            Interlocked.Increment(ref _errors);
            info.Status = RequestStatus.Error;
            length = _protocol.WriteFailure(pending.SendBuffer, info);
        }
        Send(pending.Peer, pending.SendBuffer.AsSpan(0, length), info.Status);
        _free.Enqueue(pending);
        // Release: the item is back in the pool before Stop can see the count reach zero.
        Interlocked.Decrement(ref _inFlight);
    }

    private void SendFailure(SocketAddress peer, in Frame frame, RequestStatus status)
    {
        var info = new ReplyInfo { Status = status, Type = frame.Type, Id = frame.Id, Tag = frame.Tag };
        int n = _protocol.WriteFailure(_receiveReply, info);
        if (n > 0)
        {
            Send(peer, _receiveReply.AsSpan(0, n), status);
        }
    }

    private void Send(SocketAddress peer, ReadOnlySpan<byte> reply, RequestStatus status)
    {
        try
        {
            _socket.SendTo(reply, SocketFlags.None, peer);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Interlocked.Increment(ref Counters.SendFailures);
            return;
        }
        switch (status)
        {
            case RequestStatus.Ok: Interlocked.Increment(ref Counters.OkReplies); break;
            case RequestStatus.Error: Interlocked.Increment(ref Counters.ErrorReplies); break;
            case RequestStatus.RejectedOverload: Interlocked.Increment(ref Counters.RejectedReplies); break;
            case RequestStatus.ShuttingDown: Interlocked.Increment(ref Counters.ShuttingDownReplies); break;
            default: Interlocked.Increment(ref Counters.BadRequestReplies); break;
        }
    }

    /// <summary>One admitted request: pooled, with its own copy of the datagram and its reply buffers.</summary>
    private sealed class PendingRequest(ThreadPoolServer server) : IThreadPoolWorkItem
    {
        public readonly StandaloneRequest Request = new(segments: null, inlineReplyBytes: 2048, replyHeaderBytes: server._protocol.ReplyHeaderBytes);
        public readonly SocketAddress Peer = new(server._socket.AddressFamily);
        public readonly byte[] Datagram = new byte[MaxRequestBytes];
        public readonly byte[] SendBuffer = new byte[2048];
        public Frame Frame;
        public long ReceivedTicks;

        public void Prepare(ReadOnlySpan<byte> datagram, in Frame frame, SocketAddress peer, long receivedTicks)
        {
            // The receive buffer is the receive thread's: the request gets its own copy, as a
            // conventional server's per-request buffer would.
            datagram.CopyTo(Datagram);
            Frame = frame;
            ReceivedTicks = receivedTicks;
            peer.Buffer.Span.CopyTo(Peer.Buffer.Span);
            Peer.Size = peer.Size;
            Request.Prepare(Datagram.AsMemory(frame.BodyOffset, datagram.Length - frame.BodyOffset), frame.Id, frame.Type, frame.ServiceNs,
                new ConnectionInfo(Transport.Udp, 0, default, server.Port));
        }

        public void Execute() => server.Serve(this);
    }
}
