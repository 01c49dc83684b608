// The UDP NIC: datagram queues, one or more ports each serving an app; framing, replies and counts, whatever the backend.
using System.Net;
using System.Runtime.CompilerServices;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>One UDP port and the app it serves.</summary>
/// <param name="AppId">The app's id in the IOKernel.</param>
/// <param name="Protocol">The app's protocol: it frames each datagram and its reply.</param>
/// <param name="Address">The address to bind (IPv4 or IPv6).</param>
/// <param name="Port">The port; 0 lets the kernel choose (tests).</param>
internal sealed record UdpBinding(int AppId, AppProtocol Protocol, IPAddress Address, int Port);

/// <summary>
/// Serves apps over UDP. Each binding is a port with <see cref="UdpNicOptions.Queues"/> sockets
/// (SO_REUSEPORT). A backend receives datagrams into blocks of the NIC's
/// <see cref="ReceiveBufferPool"/> (<see cref="SyscallUdpNic"/>: recvmmsg; <see cref="IoUringUdpNic"/>:
/// multishot recvmsg into provided buffers backed by the same blocks); this class frames each one
/// with its app's protocol, answers bad ones at once (when the protocol can) and hands requests to
/// the IOKernel with their bytes in place, each keeping its block until it completes. Replies leave
/// in batches gathered from where the handlers wrote them (<see cref="UdpDatagrams"/>). Every call is
/// made on the IOKernel thread; nothing allocates after warm-up. <see cref="Open(UdpNicOptions, IReadOnlyList{UdpBinding}, NicBackend, IoUringOptions?)"/>
/// picks the backend.
/// </summary>
/// <remarks>
/// The reply address travels with the request (<see cref="ConnectionInfo.Peer"/>); the NIC token
/// is the index of the queue it came on, so the reply leaves from the socket the request reached.
/// </remarks>
internal abstract unsafe class UdpNic : INicQueue, IDisposable
{
    private protected readonly UdpNicOptions _options;
    private protected readonly UdpBinding[] _queueBinding;
    private protected readonly UdpCounters[] _queueCounters;
    private protected readonly ReceiveBufferPool _buffers;
    private readonly UdpBinding[] _bindings;
    private readonly UdpCounters[] _counters;
    private protected INicHost? _host;
    private bool _disposed;

    /// <summary>Validates and sizes; the backend's constructor then binds the queues with <see cref="BindQueues"/>.</summary>
    private protected UdpNic(UdpNicOptions options, IReadOnlyList<UdpBinding> bindings)
    {
        options.Validate();
        if (bindings.Count == 0)
        {
            throw new ArgumentException("a UDP NIC needs at least one port");
        }
        _options = options;
        _bindings = [.. bindings];
        _counters = _bindings.Select(b => new UdpCounters(b.Protocol.ErrorNames)).ToArray();
        // Blocks held by requests in flight, plus every queue's receive slots (or provided buffers).
        int largest = _bindings.Max(b => SlotBytesOf(b.Protocol));
        _buffers = new ReceiveBufferPool(UdpQueue.RxSlotBytes, largest, (long)options.ReceiveMemoryMegabytes << 20);
        int total = _bindings.Length * options.Queues;
        if (total > UdpNicOptions.MaxQueues)
        {
            throw new ArgumentException($"{total} UDP queues in all is out of range; valid: up to {UdpNicOptions.MaxQueues}");
        }
        _queueBinding = new UdpBinding[total];
        _queueCounters = new UdpCounters[total];
        EndPoints = [];
    }

    /// <summary>One port for app 0, serving the spin protocol with <paramref name="typeCount"/> request types, on the syscalls.</summary>
    public static UdpNic Open(UdpNicOptions options, int typeCount, NicBackend backend = NicBackend.Syscalls, IoUringOptions? ring = null) =>
        Open(options, [new UdpBinding(0, new SpinProtocol(typeCount), options.ParsedAddress, options.Port)], backend, ring);

    /// <summary>
    /// Binds <see cref="UdpNicOptions.Queues"/> sockets per binding on <paramref name="backend"/>. With
    /// <see cref="NicBackend.Auto"/>, a kernel or policy that refuses io_uring gets the syscalls
    /// backend, and <see cref="FallbackReason"/> says why.
    /// </summary>
    /// <param name="options">Queue count, buffer and batch sizes (validated here; its address and port are not used).</param>
    /// <param name="bindings">The ports and the apps they serve.</param>
    /// <param name="backend">Which backend.</param>
    /// <param name="ring">io_uring sizes (defaults when null).</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">An address cannot be bound (in use, not local).</exception>
    /// <exception cref="NicBackendException">io_uring was asked for and refused.</exception>
    public static UdpNic Open(UdpNicOptions options, IReadOnlyList<UdpBinding> bindings, NicBackend backend, IoUringOptions? ring = null)
    {
        if (backend == NicBackend.Syscalls)
        {
            return new SyscallUdpNic(options, bindings);
        }
        if (IoUringUdpNic.TryOpen(options, bindings, ring ?? new IoUringOptions(), out IoUringUdpNic? nic, out string reason))
        {
            return nic;
        }
        if (backend == NicBackend.IoUring)
        {
            throw new NicBackendException($"the UDP NIC's backend is io_uring, but {reason}");
        }
        return new SyscallUdpNic(options, bindings) { FallbackReason = reason };
    }

    /// <summary>The receive block of one datagram of <paramref name="protocol"/>: its
    /// <see cref="AppProtocol.DatagramReceiveBytes"/> as a power of two, 2 KiB at least.</summary>
    internal static int SlotBytesOf(AppProtocol protocol) =>
        Math.Max(UdpQueue.RxSlotBytes, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(protocol.DatagramReceiveBytes, 1)));

    /// <summary>The backend this NIC runs on.</summary>
    public abstract NicBackend Backend { get; }

    /// <summary>The backend in a few words, for the start-up line ("io_uring: ..." or "recvmmsg/sendmmsg").</summary>
    public abstract string BackendDescription { get; }

    /// <summary>Why io_uring was not used, when it was tried (<see cref="NicBackend.Auto"/>) and refused; null otherwise.</summary>
    public string? FallbackReason { get; private protected init; }

    /// <summary>What the NIC counted for its first port (the one-app case). Exact once the IOKernel has stopped.</summary>
    public UdpCounters Counters => _counters[0];

    /// <summary>What the NIC counted per port, in binding order.</summary>
    public IReadOnlyList<UdpCounters> CountersByPort => _counters;

    /// <summary>The endpoint of each binding, in order (the kernel's port where 0 was asked).</summary>
    public IReadOnlyList<IPEndPoint> EndPoints { get; private set; }

    /// <summary>The first binding's endpoint.</summary>
    public IPEndPoint LocalEndPoint => EndPoints[0];

    /// <summary>The first binding's port.</summary>
    public int Port => LocalEndPoint.Port;

    /// <summary>NIC queues (sockets), all ports together.</summary>
    public int QueueCount => _queueBinding.Length;

    /// <summary>Receive memory in use now (blocks held by requests in flight, by receive slots or provided buffers).</summary>
    public long ReceiveBytesInUse => _buffers.InUseBytes;

    /// <summary>Receive blocks held now.</summary>
    public int ReceiveBlocksInUse => _buffers.InUseBlocks;

    /// <inheritdoc />
    /// <remarks>A network source is never exhausted: it serves until the IOKernel is stopped.</remarks>
    public bool Exhausted => false;

    /// <inheritdoc />
    public bool Saturating => false;

    /// <inheritdoc />
    public virtual void Attach(INicHost host) => _host = host;

    /// <inheritdoc />
    public abstract int RxBurst(long now, Span<Arrival> batch);

    /// <inheritdoc />
    public abstract bool TxBurst();

    /// <inheritdoc />
    public virtual void Detach()
    {
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
        SockAddr peer = SockAddr.FromPeer(thread.Connection.Peer);
        AppProtocol protocol = _queueBinding[q].Protocol;
        if (!StageReply(q, thread, peer, protocol, _queueCounters[q]))
        {
            // Too large for the datagrams its protocol allows: the request fails, and says so.
            _queueCounters[q].OversizedReplies++;
            thread.FailReply(RequestStatus.Error);
            StageReply(q, thread, peer, protocol, _queueCounters[q]);
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
        StageFailure(q, SockAddr.FromPeer(arrival.Connection.Peer), _queueBinding[q].Protocol, info, _queueCounters[q]);
    }

    /// <summary>
    /// Stages a finished reply to <paramref name="peer"/> on queue <paramref name="queue"/>; the green
    /// thread is recycled once every datagram of it has been handed to the kernel (or counted lost).
    /// False when the reply needs more datagrams than its protocol allows: nothing was staged.
    /// </summary>
    private protected abstract bool StageReply(int queue, GreenThread thread, in SockAddr peer, AppProtocol protocol, UdpCounters counters);

    /// <summary>Stages a failure or rejection (the protocol's short reply) to <paramref name="peer"/> on queue <paramref name="queue"/>.</summary>
    private protected abstract void StageFailure(int queue, in SockAddr peer, AppProtocol protocol, in ReplyInfo info, UdpCounters counters);

    /// <summary>
    /// Binds the queues, binding by binding: a port someone holds is refused first
    /// (<see cref="ProbeExclusive"/>), then <paramref name="open"/> opens queue q on the address and
    /// port and returns its endpoint; with port 0 the first queue gets a port from the kernel and
    /// the others join it. A backend's constructor calls it once.
    /// </summary>
    private protected void BindQueues(Func<int, IPAddress, int, IPEndPoint> open)
    {
        var endpoints = new IPEndPoint[_bindings.Length];
        int q = 0;
        for (int b = 0; b < _bindings.Length; b++)
        {
            UdpBinding binding = _bindings[b];
            int port = binding.Port;
            if (port != 0)
            {
                ProbeExclusive(binding.Address, port);
            }
            IPEndPoint local = null!;
            for (int i = 0; i < _options.Queues; i++, q++)
            {
                _queueBinding[q] = binding;
                _queueCounters[q] = _counters[b];
                local = open(q, binding.Address, port);
                port = local.Port;
            }
            endpoints[b] = local;
        }
        EndPoints = endpoints;
    }

    /// <summary>
    /// Frames datagram <paramref name="datagram"/> (<paramref name="length"/> bytes, in receive block
    /// <paramref name="block"/>) that reached queue <paramref name="queue"/> from <paramref name="peer"/>.
    /// True when it is a request, written to <paramref name="a"/>: the block is then the request's,
    /// until it completes. False when it was bad input, counted and answered when the protocol can.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected bool Frame(int queue, byte* datagram, int length, in SockAddr peer, int block, long arrivalTicks,
        int localPort, ref Arrival a)
    {
        UdpCounters counters = _queueCounters[queue];
        counters.Received++;
        UdpBinding binding = _queueBinding[queue];
        AppProtocol protocol = binding.Protocol;
        FrameStatus status = protocol.FrameDatagram(new ReadOnlySpan<byte>(datagram, length), out Frame frame);
        if (status != FrameStatus.Request)
        {
            RefuseBadInput(queue, counters, protocol, status, frame, peer);
            return false;
        }
        a.Id = frame.Id;
        a.Type = frame.Type;
        a.ServiceNs = frame.ServiceNs;
        a.ArrivalTicks = arrivalTicks;
        a.FlowHash = FlowHash(peer);
        a.AppId = binding.AppId;
        a.NicToken = queue;
        a.Tag = frame.Tag;
        a.Data = (nint)datagram + frame.BodyOffset;
        a.Length = length - frame.BodyOffset;
        a.Buffer = block;
        a.Connection = new ConnectionInfo(Transport.Udp, queue, peer.ToPeer(), localPort);
        a.Protocol = protocol;
        a.ReplySender = null;
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefuseBadInput(int queue, UdpCounters counters, AppProtocol protocol, FrameStatus status, in Frame frame, in SockAddr peer)
    {
        counters.CountBadFrame(frame.Error);
        if (status == FrameStatus.Invalid)
        {
            StageFailure(queue, peer, protocol, FailureInfo(frame, RequestStatus.BadRequest), counters);
        }
    }

    /// <summary>Closes the sockets (and the ring) and frees the batches. Call only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        DisposeBackend();
        if (_buffers.InUseBlocks == 0)
        {
            // Blocks still held belong to requests that never came back (a stuck handler): their memory outlives the NIC.
            _buffers.Dispose();
        }
    }

    /// <summary>Closes the backend's sockets and frees its memory, giving back the receive blocks it holds.</summary>
    private protected abstract void DisposeBackend();

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
