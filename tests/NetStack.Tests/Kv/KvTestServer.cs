// A test-only memcached server over kv: blocking sockets, a thread per connection, KvProtocol's framer and KvEngine.
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.Tests.Kv;

/// <summary>
/// Serves kv on 127.0.0.1 the simple way, so the protocol and engine can be tested against real
/// clients before the scheduler's TCP transport exists: one thread accepts, one thread per
/// connection reads, frames with <see cref="KvProtocol.FrameStream"/>, runs each request through
/// <see cref="KvEngine.Execute"/> to completion (yielding the thread at each Continue, as a
/// checkpoint would), skips what a frame says to skip, and closes when told. Optionally a UDP port
/// answers datagrams, replies cut into numbered datagrams with memcached's header.
/// </summary>
internal sealed class KvTestServer : IDisposable
{
    private readonly Socket _listener;
    private readonly Socket? _udp;
    private readonly Thread _acceptThread;
    private readonly Thread? _udpThread;
    private readonly List<Socket> _connections = [];
    private readonly List<Thread> _threads = [];
    private volatile bool _stopping;

    public KvTestServer(KvOptions? options = null, KvClock? clock = null, bool udp = false)
    {
        Options = options ?? new KvOptions();
        Store = new KvStore(Options, clock);
        Engine = new KvEngine(Store);
        Protocol = Engine.Protocol;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptThread = new Thread(AcceptLoop) { IsBackground = true, Name = "kv-test-accept" };
        _acceptThread.Start();
        if (udp)
        {
            _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            _udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            UdpPort = ((IPEndPoint)_udp.LocalEndPoint!).Port;
            _udpThread = new Thread(UdpLoop) { IsBackground = true, Name = "kv-test-udp" };
            _udpThread.Start();
        }
    }

    public KvOptions Options { get; }
    public KvStore Store { get; }
    public KvEngine Engine { get; }
    public KvProtocol Protocol { get; }
    public int Port { get; }
    public int UdpPort { get; }

    /// <summary>Steps that returned Continue, over all requests: a multiget really ran in steps.</summary>
    public long ContinueSteps => Interlocked.Read(ref _continueSteps);

    private long _continueSteps;
    private readonly List<Exception> _errors = [];

    /// <summary>Exceptions a connection thread died of (the engine and framer must never throw).</summary>
    public IReadOnlyList<Exception> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            client.NoDelay = true;
            var thread = new Thread(() => Serve(client)) { IsBackground = true, Name = "kv-test-conn" };
            lock (_connections)
            {
                if (_stopping)
                {
                    client.Dispose();
                    return;
                }
                _connections.Add(client);
                _threads.Add(thread);
            }
            thread.Start();
        }
    }

    private void Serve(Socket socket)
    {
        Engine.Host.ConnectionOpened();
        var reply = new ArrayBufferWriter<byte>(64 * 1024);
        byte[] buffer = new byte[64 * 1024];
        int start = 0, end = 0;
        long skip = 0;
        ulong state = 0;
        try
        {
            while (true)
            {
                if (skip > 0 && end > start)
                {
                    int n = (int)Math.Min(skip, end - start);
                    start += n;
                    skip -= n;
                }
                Frame frame = default;
                FrameStatus status = skip > 0 || start == end
                    ? FrameStatus.Incomplete
                    : Protocol.FrameStream(buffer.AsSpan(start, end - start), ref state, out frame);
                if (status == FrameStatus.Request || status == FrameStatus.Invalid)
                {
                    Frame f = frame;
                    bool close = false;
                    if (status == FrameStatus.Request)
                    {
                        close = Run(buffer.AsSpan(start + f.BodyOffset, f.Length - f.BodyOffset), reply);
                    }
                    else
                    {
                        Span<byte> failure = reply.GetSpan(AppProtocol.MaxFailureReplyBytes);
                        reply.Advance(Protocol.WriteFailure(failure, new ReplyInfo { Status = RequestStatus.BadRequest, Tag = f.Tag, Type = f.Type }));
                    }
                    start += f.Length;
                    skip = f.SkipAfter;
                    if (close)
                    {
                        Flush(socket, reply);
                        return;
                    }
                    continue;
                }
                if (status == FrameStatus.Drop)
                {
                    Flush(socket, reply);
                    return;
                }
                // Incomplete: answer what is done, then read more.
                Flush(socket, reply);
                if (start == end)
                {
                    start = end = 0;
                }
                else if (start > 0)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                int needed = status == FrameStatus.Incomplete && skip == 0 ? Math.Max(frame.Length, end + 1) : end + 1;
                if (needed > Protocol.MaxRequestBytes + 1)
                {
                    return;
                }
                if (needed > buffer.Length || end == buffer.Length)
                {
                    Array.Resize(ref buffer, Math.Min(Math.Max(buffer.Length * 2, needed), Protocol.MaxRequestBytes + 1));
                }
                int read = socket.Receive(buffer, end, buffer.Length - end, SocketFlags.None);
                if (read == 0)
                {
                    return;
                }
                Engine.Store.Counters.Add(KvCounter.BytesRead, read);
                end += read;
            }
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception e)
        {
            // The engine must never throw; a test checks this list.
            lock (_errors)
            {
                _errors.Add(e);
            }
        }
        finally
        {
            Engine.Host.ConnectionClosed();
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
            socket.Dispose();
        }
    }

    /// <summary>Runs one request to its end; true when the connection must close after its reply.</summary>
    private bool Run(ReadOnlySpan<byte> request, ArrayBufferWriter<byte> reply)
    {
        var cursor = default(KvCursor);
        KvStatus status;
        while ((status = Engine.Execute(request, ref cursor, reply)) == KvStatus.Continue)
        {
            Interlocked.Increment(ref _continueSteps);
            // Where a green thread would reach its checkpoint and might be preempted.
            Thread.Yield();
        }
        return status == KvStatus.Close;
    }

    private void Flush(Socket socket, ArrayBufferWriter<byte> reply)
    {
        if (reply.WrittenCount == 0)
        {
            return;
        }
        ReadOnlySpan<byte> bytes = reply.WrittenSpan;
        while (!bytes.IsEmpty)
        {
            int sent = socket.Send(bytes);
            bytes = bytes[sent..];
        }
        Engine.Store.Counters.Add(KvCounter.BytesWritten, reply.WrittenCount);
        reply.ResetWrittenCount();
    }

    private void UdpLoop()
    {
        byte[] datagram = new byte[65536];
        byte[] packet = new byte[UdpFrame.MaxDatagramBytes];
        var reply = new ArrayBufferWriter<byte>(64 * 1024);
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        while (!_stopping)
        {
            int length;
            try
            {
                length = _udp!.ReceiveFrom(datagram, ref from);
            }
            catch (SocketException)
            {
                if (_stopping)
                {
                    return;
                }
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            FrameStatus status = Protocol.FrameDatagram(datagram.AsSpan(0, length), out Frame frame);
            if (status == FrameStatus.Drop)
            {
                continue;
            }
            var info = new ReplyInfo { Id = frame.Id, Tag = frame.Tag, Type = frame.Type, Status = RequestStatus.Ok };
            reply.ResetWrittenCount();
            if (status == FrameStatus.Request)
            {
                Run(datagram.AsSpan(frame.BodyOffset, length - frame.BodyOffset), reply);
            }
            else
            {
                info.Status = RequestStatus.BadRequest;
                Span<byte> failure = reply.GetSpan(AppProtocol.MaxFailureReplyBytes);
                reply.Advance(Protocol.WriteFailure(failure, info));
            }
            if (reply.WrittenCount == 0)
            {
                continue;
            }
            ReadOnlySpan<byte> body = reply.WrittenSpan;
            int count = UdpFrame.DatagramCount(body.Length);
            for (int sequence = 0; sequence < count; sequence++)
            {
                ReadOnlySpan<byte> piece = body.Slice(sequence * UdpFrame.MaxPayloadBytes,
                    Math.Min(UdpFrame.MaxPayloadBytes, body.Length - sequence * UdpFrame.MaxPayloadBytes));
                Protocol.WriteDatagramHeader(packet, info, sequence, count);
                piece.CopyTo(packet.AsSpan(UdpFrame.HeaderBytes));
                try
                {
                    _udp!.SendTo(packet, 0, UdpFrame.HeaderBytes + piece.Length, SocketFlags.None, from);
                }
                catch (SocketException)
                {
                }
            }
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _listener.Dispose();
        _udp?.Dispose();
        List<Thread> threads;
        lock (_connections)
        {
            foreach (Socket s in _connections)
            {
                try
                {
                    s.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                }
                catch (ObjectDisposedException)
                {
                }
                s.Dispose();
            }
            threads = [.. _threads];
        }
        _acceptThread.Join(TimeSpan.FromSeconds(5));
        _udpThread?.Join(TimeSpan.FromSeconds(5));
        foreach (Thread t in threads)
        {
            t.Join(TimeSpan.FromSeconds(5));
        }
        Store.Dispose();
    }
}
