// The UDP NIC: the IOKernel's real network queues, polled with recvmmsg and answered with sendmmsg.
using System.Net;
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// Serves the NetStack wire protocol (docs/protocol.md) over UDP. Each NIC queue is one socket on
/// the same address and port (SO_REUSEPORT); <see cref="RxBurst"/> polls them in turn with
/// non-blocking recvmmsg, parses each datagram, answers bad ones with bad-request at once (when
/// <see cref="WireProtocol.CanAnswer"/> allows) and hands valid ones to the IOKernel. Replies are
/// staged in per-queue batches and leave in one sendmmsg per queue at <see cref="TxBurst"/>. Every
/// call is made on the IOKernel thread; nothing allocates after construction.
/// </summary>
/// <remarks>
/// The reply address travels in <see cref="Arrival.NicToken"/>: the peer's IPv4 address in the high
/// 32 bits, its port in the next 16 and the queue index in the low 16 (address and port in network
/// byte order, as the kernel gave them). So the NIC keeps no per-request state.
/// </remarks>
public sealed class UdpNic : INicQueue, IDisposable
{
    private readonly UdpQueue[] _queues;
    private readonly int _typeCount;
    private int _nextQueue;

    /// <summary>Binds <see cref="UdpNicOptions.Queues"/> sockets to the configured address and port.</summary>
    /// <param name="options">Address, port, queue count, buffer and batch sizes (validated here).</param>
    /// <param name="typeCount">Request types the app knows; a request of a type at or above it is answered bad-request (unknown-type).</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The address cannot be bound (in use, not local).</exception>
    public UdpNic(UdpNicOptions options, int typeCount)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(typeCount);
        _typeCount = typeCount;
        IPAddress address = options.ParsedAddress;
        int port = options.Port;
        if (port != 0)
        {
            ProbeExclusive(address, port);
        }
        _queues = new UdpQueue[options.Queues];
        try
        {
            for (int q = 0; q < _queues.Length; q++)
            {
                _queues[q] = new UdpQueue(address, port, options);
                // Port 0: the first socket gets a port from the kernel, and the others join it.
                port = _queues[q].LocalEndPoint.Port;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        LocalEndPoint = _queues[0].LocalEndPoint;
    }

    /// <summary>What the NIC counted. Written by the IOKernel thread; exact once it has stopped.</summary>
    public UdpCounters Counters { get; } = new();

    /// <summary>The address and port every queue is bound to.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The bound port (the kernel's choice when configured as 0).</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>NIC queues (sockets).</summary>
    public int QueueCount => _queues.Length;

    /// <summary>Request types the app knows.</summary>
    public int TypeCount => _typeCount;

    /// <inheritdoc />
    /// <remarks>A network source is never exhausted: it serves until the IOKernel is stopped.</remarks>
    public bool Exhausted => false;

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public int RxBurst(long now, Span<Arrival> batch)
    {
        int n = 0;
        int queues = _queues.Length;
        // Start at a different queue each burst, so a busy queue cannot starve the ones after it.
        int first = _nextQueue;
        _nextQueue = first + 1 == queues ? 0 : first + 1;
        for (int i = 0; i < queues && n < batch.Length; i++)
        {
            int q = first + i;
            if (q >= queues)
            {
                q -= queues;
            }
            n += ReceiveFrom(q, batch[n..]);
        }
        return n;
    }

    private int ReceiveFrom(int queueIndex, Span<Arrival> batch)
    {
        UdpQueue queue = _queues[queueIndex];
        int got = queue.Receive(batch.Length, Counters);
        if (got == 0)
        {
            return 0;
        }
        // One stamp for the batch: the datagrams arrived together, and a clock read per packet
        // would cost more than the spread it could show.
        long arrivalTicks = Clock.Now();
        Counters.Received += got;
        int n = 0;
        for (int i = 0; i < got; i++)
        {
            ref readonly SockAddrIn peer = ref queue.Peer(i);
            ParseError error = WireProtocol.TryParseRequest(queue.Datagram(i), _typeCount, out RequestHeader request);
            if (error != ParseError.None)
            {
                RefuseBadInput(queue, error, request, peer);
                continue;
            }
            ref Arrival a = ref batch[n++];
            a.Id = (long)request.Id;
            a.Type = request.Type;
            a.ServiceNs = request.ServiceNs;
            a.ArrivalTicks = arrivalTicks;
            a.FlowHash = FlowHash(peer.Address, peer.Port);
            a.AppId = 0;
            a.NicToken = PackToken(peer.Address, peer.Port, queueIndex);
            a.EchoToken = request.IntendedSendNs;
            a.NicQueue = queueIndex;
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefuseBadInput(UdpQueue queue, ParseError error, in RequestHeader request, in SockAddrIn peer)
    {
        Counters.ParseErrors[(int)error]++;
        if (WireProtocol.CanAnswer(error))
        {
            queue.Stage(peer.Address, peer.Port, WireProtocol.ReplyTo(request, ResponseStatus.BadRequest), Counters);
        }
    }

    /// <inheritdoc />
    public void Transmit(RequestContext ctx)
    {
        var reply = new ResponseHeader
        {
            Type = (byte)ctx.Type,
            Status = ctx.Status == RequestStatus.Ok ? ResponseStatus.Ok : ResponseStatus.Error,
            Id = (ulong)ctx.Id,
            IntendedSendNs = ctx.EchoToken,
            QueuedNs = WireProtocol.Saturate(Clock.ToNs(ctx.CompletionTicks - ctx.ArrivalTicks - ctx.ServiceTicks)),
            ServiceNs = WireProtocol.Saturate(Clock.ToNs(ctx.ServiceTicks)),
            Preemptions = (uint)ctx.Preemptions,
        };
        Stage(ctx.NicToken, reply);
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status)
    {
        var reply = new ResponseHeader
        {
            Type = (byte)arrival.Type,
            Status = (ResponseStatus)status,
            Id = (ulong)arrival.Id,
            IntendedSendNs = arrival.EchoToken,
        };
        Stage(arrival.NicToken, reply);
    }

    /// <inheritdoc />
    public bool TxBurst()
    {
        bool sent = false;
        foreach (UdpQueue queue in _queues)
        {
            sent |= queue.Flush(Counters);
        }
        return sent;
    }

    /// <summary>Closes the sockets and frees their batches. Call only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        foreach (UdpQueue? queue in _queues)
        {
            queue?.Dispose();
        }
    }

    /// <summary>Packs a peer and a queue into a reply token (see the class remarks).</summary>
    public static long PackToken(uint address, ushort port, int queue) =>
        (long)(((ulong)address << 32) | ((ulong)port << 16) | (ushort)queue);

    /// <summary>Unpacks a reply token.</summary>
    public static (uint Address, ushort Port, int Queue) UnpackToken(long token) =>
        ((uint)((ulong)token >> 32), (ushort)((ulong)token >> 16), (ushort)token);

    /// <summary>A hash of the peer's address and port: one client socket is one flow, which d-FCFS keeps on one worker.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint FlowHash(uint address, ushort port) =>
        (uint)((((ulong)address << 16) | port) * 0x9E3779B97F4A7C15UL >> 32);

    private void Stage(long token, in ResponseHeader reply)
    {
        (uint address, ushort port, int queue) = UnpackToken(token);
        _queues[queue].Stage(address, port, reply, Counters);
    }

    /// <summary>
    /// SO_REUSEPORT lets any socket of the same user that also sets it share the port, and the
    /// kernel would quietly split the traffic between two servers started on one port. A plain bind
    /// first fails if anyone holds the port, so that mistake is an error at start instead.
    /// </summary>
    private static void ProbeExclusive(IPAddress address, int port)
    {
        using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(address, port));
    }
}
