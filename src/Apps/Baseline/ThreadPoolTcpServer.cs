// The TCP baseline: the conventional .NET server, an async socket loop per connection on the ThreadPool.
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.Apps.Baseline;

/// <summary>
/// A TCP server written the way a .NET developer writes one today: an accept loop, and per
/// connection an async loop that reads, frames the requests in what it read (with the same
/// <see cref="AppProtocol"/> as NetStack's TCP NIC), runs the handler for each in turn on whatever
/// ThreadPool thread the read completed on, and writes its reply before framing the next. Replies on
/// a connection are therefore in order by construction; requests on different connections run in
/// parallel on the ThreadPool, with no preemption. Counts are kept as the TCP NIC keeps them.
/// </summary>
internal sealed class ThreadPoolTcpServer : IDisposable
{
    private const int ReceiveBlockBytes = 16 << 10;

    private readonly Socket _listener;
    private readonly IRequestHandler _handler;
    private readonly AppProtocol _protocol;
    private readonly int _maxConnections;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;
    private int _open;
    private int _inFlight;
    private long _completed;
    private long _errors;
    private bool _disposed;

    /// <summary>Listens (so <see cref="Port"/> is known before <see cref="Start"/>).</summary>
    public ThreadPoolTcpServer(IPEndPoint endpoint, IRequestHandler handler, AppProtocol protocol, int maxConnections = 4096)
    {
        _handler = handler;
        _protocol = protocol;
        _maxConnections = maxConnections;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                _listener.DualMode = false;
            }
            _listener.Bind(endpoint);
            _listener.Listen(1024);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        Counters = new TcpCounters(protocol.ErrorNames);
    }

    /// <summary>The bound address and port.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The bound port.</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>Connections, frames and replies, as the TCP NIC counts them (updated with Interlocked).</summary>
    public TcpCounters Counters { get; }

    /// <summary>Requests whose handler finished.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Of those, handlers that threw.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Requests being served now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Starts accepting.</summary>
    public void Start() => _acceptLoop = Task.Run(AcceptLoopAsync);

    /// <summary>Stops accepting and reading; waits up to <paramref name="drainTimeout"/> for requests
    /// being served, then closes every connection. Returns how many were unfinished.</summary>
    public int Stop(TimeSpan drainTimeout)
    {
        _stop.Cancel();
        _listener.Dispose();
        long deadline = Environment.TickCount64 + (long)drainTimeout.TotalMilliseconds;
        while (InFlight > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(1);
        }
        int unfinished = InFlight;
        try
        {
            _acceptLoop?.Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
            // the loop ends by cancellation
        }
        Dispose();
        return unfinished;
    }

    /// <summary>Closes the listener; connections end at their next read.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stop.Cancel();
        _listener.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (Interlocked.Increment(ref _open) > _maxConnections)
            {
                Interlocked.Decrement(ref _open);
                Interlocked.Increment(ref Counters.Refused);
                connection.Dispose();
                continue;
            }
            Interlocked.Increment(ref Counters.Accepted);
            Interlocked.Increment(ref Counters.Open);
            connection.NoDelay = true;
            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ReceiveBlockBytes);
        byte[] send = ArrayPool<byte>.Shared.Rent(ReceiveBlockBytes);
        using var request = new StandaloneRequest(inlineReplyBytes: 2048, replyHeaderBytes: _protocol.ReplyHeaderBytes,
            segments: Segments);
        var connection = new ConnectionInfo(Transport.Tcp, socket.Handle, PeerAddress.From((IPEndPoint)socket.RemoteEndPoint!), Port);
        int start = 0, end = 0;
        long skip = 0;
        ulong state = 0;
        string fate = "peer";
        try
        {
            while (true)
            {
                // Frame and serve everything buffered, in order.
                while (start < end)
                {
                    if (skip > 0)
                    {
                        int discard = (int)Math.Min(skip, end - start);
                        skip -= discard;
                        start += discard;
                        continue;
                    }
                    FrameStatus status = _protocol.FrameStream(buffer.AsSpan(start, end - start), ref state, out Frame frame);
                    if (status == FrameStatus.Incomplete)
                    {
                        if (frame.Length > _protocol.MaxRequestBytes || end - start >= _protocol.MaxRequestBytes)
                        {
                            Counters.CountBadFrameShared(_protocol.ErrorNames.Count - 1);
                            fate = "server";
                            return;
                        }
                        (buffer, start, end) = MakeRoom(buffer, start, end, frame.Length);
                        break;
                    }
                    if (status == FrameStatus.Drop)
                    {
                        Counters.CountBadFrameShared(frame.Error);
                        fate = "server";
                        return;
                    }
                    ReadOnlyMemory<byte> reply;
                    if (status == FrameStatus.Invalid)
                    {
                        Counters.CountBadFrameShared(frame.Error);
                        var info = new ReplyInfo { Status = RequestStatus.BadRequest, Type = frame.Type, Id = frame.Id, Tag = frame.Tag };
                        reply = send.AsMemory(0, _protocol.WriteFailure(send, info));
                    }
                    else
                    {
                        Interlocked.Increment(ref Counters.Requests);
                        (reply, send) = Serve(request, buffer.AsMemory(start, frame.Length), frame, connection, send);
                    }
                    start += Math.Max(frame.Length, 1);
                    skip = frame.SkipAfter;
                    if (reply.Length > 0)
                    {
                        await socket.SendAsync(reply, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                        Interlocked.Add(ref Counters.BytesOut, reply.Length);
                    }
                    Interlocked.Increment(ref Counters.Replies);
                    if (status == FrameStatus.Request && request.CloseAfterReply)
                    {
                        fate = "server";
                        return;
                    }
                }
                if (start == end)
                {
                    start = end = 0;
                }
                else if (end == buffer.Length)
                {
                    (buffer, start, end) = MakeRoom(buffer, start, end, 0);
                }
                int n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    if (start < end && skip == 0)
                    {
                        Interlocked.Increment(ref Counters.ClosedMidRequest);
                    }
                    return;
                }
                end += n;
                Interlocked.Add(ref Counters.BytesIn, n);
            }
        }
        catch (OperationCanceledException)
        {
            fate = "server";
        }
        catch (SocketException)
        {
            fate = "reset";
        }
        catch (ObjectDisposedException)
        {
            fate = "server";
        }
        finally
        {
            switch (fate)
            {
                case "peer": Interlocked.Increment(ref Counters.ClosedByPeer); break;
                case "reset": Interlocked.Increment(ref Counters.Reset); break;
                default: Interlocked.Increment(ref Counters.ClosedByServer); break;
            }
            Interlocked.Decrement(ref Counters.Open);
            Interlocked.Decrement(ref _open);
            socket.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
            ArrayPool<byte>.Shared.Return(send);
        }
    }

    /// <summary>Runs one request on this thread and returns its reply's bytes (copied into a managed send buffer).</summary>
    private (ReadOnlyMemory<byte> Reply, byte[] Send) Serve(StandaloneRequest request, ReadOnlyMemory<byte> frameBytes, in Frame frame,
        ConnectionInfo connection, byte[] send)
    {
        Interlocked.Increment(ref _inFlight);
        long start = Clock.Now();
        request.Prepare(frameBytes[frame.BodyOffset..], frame.Id, frame.Type, frame.ServiceNs, connection);
        RequestStatus status = request.Run(_handler);
        long end = Clock.Now();
        Interlocked.Increment(ref _completed);
        var info = new ReplyInfo
        {
            Status = status,
            Type = frame.Type,
            Id = frame.Id,
            Tag = frame.Tag,
            ServiceNs = Clock.ToNs(end - start),
            BodyLength = request.Reply.WrittenBytes,
        };
        int length;
        if (status == RequestStatus.Ok)
        {
            _protocol.WriteReplyHeader(request.Reply.Header, info);
            if (request.Reply.TotalBytes > send.Length)
            {
                ArrayPool<byte>.Shared.Return(send);
                send = ArrayPool<byte>.Shared.Rent(request.Reply.TotalBytes);
            }
            length = request.Reply.CopyTo(send);
        }
        else
        {
            Interlocked.Increment(ref _errors);
            length = _protocol.WriteFailure(send, info);
        }
        Interlocked.Decrement(ref _inFlight);
        return (send.AsMemory(0, length), send);
    }

    private static (byte[] Buffer, int Start, int End) MakeRoom(byte[] buffer, int start, int end, int need)
    {
        int pending = end - start;
        int size = Math.Max(buffer.Length, Math.Max(need, pending * 2));
        if (size > buffer.Length || start > 0)
        {
            byte[] fresh = size > buffer.Length ? ArrayPool<byte>.Shared.Rent(size) : buffer;
            Buffer.BlockCopy(buffer, start, fresh, 0, pending);
            if (!ReferenceEquals(fresh, buffer))
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return (fresh, 0, pending);
        }
        return (buffer, start, end);
    }

    /// <summary>Overflow segments for replies larger than 2 KiB (a 1 MiB echo), shared by every connection.</summary>
    private static readonly ReplySegmentPool Segments = new(256L << 20);
}
