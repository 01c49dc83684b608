// A trivial UDP server that answers every valid request at once with ok: the load generator's own ceiling, and a peer for its tests.
using System.Net;
using System.Net.Sockets;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;

namespace NetStack.LoadGen.Echo;

/// <summary>
/// Answers each valid request with an ok response through the codec (no work, zero timings), a
/// malformed one with bad-request when the codec says it may (<see cref="WireProtocol.CanAnswer"/>),
/// and ignores the rest. One thread, allocation-free per datagram; idle, it backs off from spinning to
/// a 1 ms poll, so on a small machine it leaves the cores to the generator when there is nothing to answer.
/// </summary>
internal sealed class EchoServer : IDisposable
{
    /// <summary>Every type the protocol allows is "known": the echo server has no app to ask.</summary>
    private const int TypeCount = WireProtocol.MaxRequestType + 1;

    /// <summary>Busy polls (~1 µs each) before the idle thread waits in poll(2) for up to <see cref="IdlePollMicros"/>.</summary>
    private const int SpinPolls = 2000;

    /// <summary>The longest an idle server sleeps in poll(2); also how quickly <see cref="Stop"/> is noticed.</summary>
    private const int IdlePollMicros = 1000;

    private readonly Socket _socket;
    private readonly int _core;
    private Thread? _thread;
    private int _stop; // 1 asks the thread to end; read by it each loop
    // Counters: the server thread is their only writer; readers use Volatile.Read for a fresh value.
    private long _received;
    private long _answeredOk;
    private long _answeredBadRequest;
    private long _ignored;
    private long _errors;
    private long _allocatedBytes;

    /// <summary>Binds (port 0: any free port) but does not start answering yet.</summary>
    /// <param name="bind">Address and port.</param>
    /// <param name="core">The core to pin the server thread to; -1 leaves it to the OS.</param>
    public EchoServer(IPEndPoint bind, int core = -1)
    {
        _core = core;
        _socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.ReceiveBufferSize = 4 << 20;
            _socket.SendBufferSize = 4 << 20;
            _socket.Bind(bind);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>Where it listens (the real port when bound to 0).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The bound port.</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>Datagrams received.</summary>
    public long Received => Volatile.Read(ref _received);

    /// <summary>Requests answered ok.</summary>
    public long AnsweredOk => Volatile.Read(ref _answeredOk);

    /// <summary>Malformed requests answered bad-request.</summary>
    public long AnsweredBadRequest => Volatile.Read(ref _answeredBadRequest);

    /// <summary>Datagrams not answered: too short, or not our magic.</summary>
    public long Ignored => Volatile.Read(ref _ignored);

    /// <summary>Receives or sends the kernel refused.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Bytes the server thread allocated while serving (0 is the design), valid after <see cref="Stop"/>.</summary>
    public long AllocatedBytes => Volatile.Read(ref _allocatedBytes);

    /// <summary>Starts the server thread.</summary>
    public void Start()
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("the echo server is already started");
        }
        _thread = new Thread(Serve) { IsBackground = true, Name = "echo-server" };
        _thread.Start();
    }

    /// <summary>Stops the thread; true when it ended within <paramref name="timeout"/> (it notices within ~1 ms).</summary>
    public bool Stop(TimeSpan timeout)
    {
        Volatile.Write(ref _stop, 1); // the thread reads it every loop, at worst after one idle poll
        return _thread is null || _thread.Join(timeout);
    }

    /// <summary>Stops (bounded) and closes the socket.</summary>
    public void Dispose()
    {
        Stop(TimeSpan.FromSeconds(2));
        _socket.Dispose();
    }

    private void Serve()
    {
        if (_core >= 0)
        {
            Affinity.PinCurrentThread(_core);
        }
        // One byte more than the largest request, so an oversized one is seen as such and answered bad-request.
        byte[] request = new byte[WireProtocol.MaxDatagramSize + 1];
        byte[] reply = new byte[WireProtocol.HeaderSize];
        var peer = new SocketAddress(LocalEndPoint.AddressFamily);
        long allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
        int empty = 0;

        while (Volatile.Read(ref _stop) == 0)
        {
            // Blocking ReceiveFrom only once data is known to be there: a non-blocking one that finds
            // nothing throws (PLATFORM.md), and a blocking one could not see Stop.
            if (_socket.Available == 0)
            {
                if (++empty < SpinPolls || !_socket.Poll(IdlePollMicros, SelectMode.SelectRead))
                {
                    continue;
                }
            }
            empty = 0;
            int n;
            try
            {
                n = _socket.ReceiveFrom(request, SocketFlags.None, peer);
            }
            catch (SocketException)
            {
                _errors++;
                continue;
            }
            _received++;
            if (!Answer(request.AsSpan(0, n), reply))
            {
                _ignored++;
                continue;
            }
            try
            {
                _socket.SendTo(reply, SocketFlags.None, peer);
            }
            catch (SocketException)
            {
                _errors++;
            }
        }
        Volatile.Write(ref _allocatedBytes, GC.GetAllocatedBytesForCurrentThread() - allocatedFrom);
    }

    private bool Answer(ReadOnlySpan<byte> datagram, Span<byte> reply)
    {
        ParseError error = WireProtocol.TryParseRequest(datagram, TypeCount, out RequestHeader request);
        if (error == ParseError.None)
        {
            WireProtocol.WriteResponse(reply, WireProtocol.ReplyTo(request, ResponseStatus.Ok));
            _answeredOk++;
            return true;
        }
        if (WireProtocol.CanAnswer(error))
        {
            WireProtocol.WriteResponse(reply, WireProtocol.ReplyTo(request, ResponseStatus.BadRequest));
            _answeredBadRequest++;
            return true;
        }
        return false;
    }
}
