// The UDP NIC: the IOKernel's datagram queues, one or more ports each serving an app, polled with recvmmsg and answered with sendmmsg.
using System.Net;
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>One UDP port and the app it serves.</summary>
/// <param name="AppId">The app's id in the IOKernel.</param>
/// <param name="Protocol">The app's protocol: it frames each datagram and its reply.</param>
/// <param name="Address">The address to bind (IPv4 or IPv6).</param>
/// <param name="Port">The port; 0 lets the kernel choose (tests).</param>
public sealed record UdpBinding(int AppId, AppProtocol Protocol, IPAddress Address, int Port);

/// <summary>
/// Serves apps over UDP. Each binding is a port with <see cref="UdpNicOptions.Queues"/> sockets
/// (SO_REUSEPORT); <see cref="RxBurst"/> polls them in turn with non-blocking recvmmsg, frames each
/// datagram with its app's protocol, answers bad ones at once (when the protocol can) and hands
/// requests to the IOKernel with their bytes in place. Replies are staged per queue and leave in one
/// sendmmsg per queue at <see cref="TxBurst"/>, gathered from where the handlers wrote them. Every
/// call is made on the IOKernel thread; nothing allocates after warm-up.
/// </summary>
/// <remarks>
/// The reply address travels with the request (<see cref="ConnectionInfo.Peer"/>); the NIC token
/// is the index of the queue it came on, so the reply leaves from the socket the request reached.
/// </remarks>
public sealed class UdpNic : INicQueue, IDisposable
{
    private readonly UdpQueue[] _queues;
    private readonly UdpBinding[] _queueBinding;
    private readonly UdpCounters[] _queueCounters;
    private readonly ReceiveBufferPool _buffers;
    private readonly UdpBinding[] _bindings;
    private readonly UdpCounters[] _counters;
    private INicHost? _host;
    private int _nextQueue;

    /// <summary>One port for app 0, serving the spin protocol with <paramref name="typeCount"/> request types.</summary>
    public UdpNic(UdpNicOptions options, int typeCount)
        : this(options, [new UdpBinding(0, new SpinProtocol(typeCount), options.ParsedAddress, options.Port)])
    {
    }

    /// <summary>Binds <see cref="UdpNicOptions.Queues"/> sockets per binding.</summary>
    /// <param name="options">Queue count, buffer and batch sizes (validated here; its address and port are not used).</param>
    /// <param name="bindings">The ports and the apps they serve.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">An address cannot be bound (in use, not local).</exception>
    public UdpNic(UdpNicOptions options, IReadOnlyList<UdpBinding> bindings)
    {
        options.Validate();
        if (bindings.Count == 0)
        {
            throw new ArgumentException("a UDP NIC needs at least one port");
        }
        _bindings = [.. bindings];
        _counters = _bindings.Select(b => new UdpCounters(b.Protocol.ErrorNames)).ToArray();
        // Blocks held by requests in flight, plus every queue's receive slots.
        int largest = _bindings.Max(b => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(b.Protocol.DatagramReceiveBytes, 64)));
        _buffers = new ReceiveBufferPool(UdpQueue.RxSlotBytes, Math.Max(UdpQueue.RxSlotBytes, largest), (long)options.ReceiveMemoryMegabytes << 20);
        int total = _bindings.Length * options.Queues;
        if (total > UdpNicOptions.MaxQueues)
        {
            throw new ArgumentException($"{total} UDP queues in all is out of range; valid: up to {UdpNicOptions.MaxQueues}");
        }
        _queues = new UdpQueue[total];
        _queueBinding = new UdpBinding[total];
        _queueCounters = new UdpCounters[total];
        var endpoints = new IPEndPoint[_bindings.Length];
        try
        {
            int q = 0;
            for (int b = 0; b < _bindings.Length; b++)
            {
                UdpBinding binding = _bindings[b];
                int port = binding.Port;
                if (port != 0)
                {
                    ProbeExclusive(binding.Address, port);
                }
                for (int i = 0; i < options.Queues; i++, q++)
                {
                    _queues[q] = new UdpQueue(binding.Address, port, options, _buffers,
                        Math.Max(UdpQueue.RxSlotBytes, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)binding.Protocol.DatagramReceiveBytes)));
                    _queueBinding[q] = binding;
                    _queueCounters[q] = _counters[b];
                    // Port 0: the first socket gets a port from the kernel, and the others join it.
                    port = _queues[q].LocalEndPoint.Port;
                }
                endpoints[b] = _queues[q - 1].LocalEndPoint;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        EndPoints = endpoints;
    }

    /// <summary>What the NIC counted for its first port (the one-app case). Exact once the IOKernel has stopped.</summary>
    public UdpCounters Counters => _counters[0];

    /// <summary>What the NIC counted per port, in binding order.</summary>
    public IReadOnlyList<UdpCounters> CountersByPort => _counters;

    /// <summary>The endpoint of each binding, in order (the kernel's port where 0 was asked).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints { get; }

    /// <summary>The first binding's endpoint.</summary>
    public IPEndPoint LocalEndPoint => EndPoints[0];

    /// <summary>The first binding's port.</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>NIC queues (sockets), all ports together.</summary>
    public int QueueCount => _queues.Length;

    /// <summary>Receive memory in use now (blocks held by requests in flight and by receive slots).</summary>
    public long ReceiveBytesInUse => _buffers.InUseBytes;

    /// <inheritdoc />
    /// <remarks>A network source is never exhausted: it serves until the IOKernel is stopped.</remarks>
    public bool Exhausted => false;

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public void Attach(INicHost host)
    {
        _host = host;
        foreach (UdpQueue queue in _queues)
        {
            queue.Host = host;
        }
    }

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

    private unsafe int ReceiveFrom(int queueIndex, Span<Arrival> batch)
    {
        UdpQueue queue = _queues[queueIndex];
        UdpCounters counters = _queueCounters[queueIndex];
        int got = queue.Receive(batch.Length, counters);
        if (got == 0)
        {
            return 0;
        }
        // One stamp for the batch: the datagrams arrived together, and a clock read per packet
        // would cost more than the spread it could show.
        long arrivalTicks = Clock.Now();
        counters.Received += got;
        UdpBinding binding = _queueBinding[queueIndex];
        AppProtocol protocol = binding.Protocol;
        int localPort = queue.LocalEndPoint.Port;
        int n = 0;
        for (int i = 0; i < got; i++)
        {
            ref readonly SockAddr peer = ref queue.Peer(i);
            ReadOnlySpan<byte> datagram = queue.Datagram(i);
            FrameStatus status = protocol.FrameDatagram(datagram, out Frame frame);
            if (status != FrameStatus.Request)
            {
                RefuseBadInput(queue, counters, protocol, status, frame, peer);
                continue;
            }
            int block = queue.TakeBlock(i);
            ref Arrival a = ref batch[n++];
            a.Id = frame.Id;
            a.Type = frame.Type;
            a.ServiceNs = frame.ServiceNs;
            a.ArrivalTicks = arrivalTicks;
            a.FlowHash = FlowHash(peer);
            a.AppId = binding.AppId;
            a.NicToken = queueIndex;
            a.Tag = frame.Tag;
            a.Data = (nint)_buffers.Pointer(block) + frame.BodyOffset;
            a.Length = datagram.Length - frame.BodyOffset;
            a.Buffer = block;
            a.Connection = new ConnectionInfo(Transport.Udp, queueIndex, peer.ToPeer(), localPort);
            a.Protocol = protocol;
        }
        return n;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RefuseBadInput(UdpQueue queue, UdpCounters counters, AppProtocol protocol, FrameStatus status,
        in Frame frame, in SockAddr peer)
    {
        counters.CountBadFrame(frame.Error);
        if (status == FrameStatus.Invalid)
        {
            queue.StageFailure(peer, protocol, FailureInfo(frame, RequestStatus.BadRequest), counters);
        }
    }

    /// <inheritdoc />
    public void Transmit(GreenThread thread)
    {
        int q = (int)thread.NicToken;
        if (thread.Buffer >= 0)
        {
            _buffers.Release(thread.Buffer);
            thread.Buffer = -1;
        }
        UdpQueue queue = _queues[q];
        SockAddr peer = SockAddr.FromPeer(thread.Connection.Peer);
        AppProtocol protocol = _queueBinding[q].Protocol;
        if (!queue.StageReply(thread, peer, protocol, _queueCounters[q]))
        {
            // Too large for the datagrams its protocol allows: the request fails, and says so.
            _queueCounters[q].OversizedReplies++;
            thread.FailReply(RequestStatus.Error);
            queue.StageReply(thread, peer, protocol, _queueCounters[q]);
        }
    }

    /// <inheritdoc />
    public void Reject(in Arrival arrival, RequestStatus status)
    {
        if (arrival.Buffer >= 0)
        {
            _buffers.Release(arrival.Buffer);
        }
        int q = (int)arrival.NicToken;
        var info = new ReplyInfo { Status = status, Type = arrival.Type, Id = arrival.Id, Tag = arrival.Tag };
        _queues[q].StageFailure(SockAddr.FromPeer(arrival.Connection.Peer), _queueBinding[q].Protocol, info, _queueCounters[q]);
    }

    /// <inheritdoc />
    public bool TxBurst()
    {
        bool sent = false;
        for (int q = 0; q < _queues.Length; q++)
        {
            sent |= _queues[q].Flush(_queueCounters[q], _host);
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
        if (_buffers.InUseBlocks == 0)
        {
            _buffers.Dispose();
        }
    }

    /// <summary>A hash of the peer's address and port: one client socket is one flow, which d-FCFS keeps on one worker.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint FlowHash(in SockAddr peer) =>
        (uint)((((ulong)(peer.Address ^ (uint)peer.Address6Low ^ (uint)(peer.Address6Low >> 32)) << 16) | peer.Port) * 0x9E3779B97F4A7C15UL >> 32);

    private static ReplyInfo FailureInfo(in Frame frame, RequestStatus status) =>
        new() { Status = status, Type = frame.Type, Id = frame.Id, Tag = frame.Tag };

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
