// The UDP NIC on system calls: each queue polled with one non-blocking recvmmsg per burst, answered with one sendmmsg per queue.
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// The syscalls backend of <see cref="UdpNic"/>: one <see cref="UdpQueue"/> per socket.
/// <see cref="RxBurst"/> polls them in turn with non-blocking recvmmsg into receive blocks; replies
/// are staged per queue and leave in one sendmmsg per queue at <see cref="TxBurst"/>. An empty poll
/// costs one system call per queue (~0.3 µs each on the reference machine, docs/io_uring.md).
/// </summary>
internal sealed class SyscallUdpNic : UdpNic
{
    private readonly UdpQueue[] _queues;
    private int _nextQueue;

    /// <summary>Binds <see cref="UdpNicOptions.Queues"/> sockets per binding.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">An address cannot be bound (in use, not local).</exception>
    public SyscallUdpNic(UdpNicOptions options, IReadOnlyList<UdpBinding> bindings)
        : base(options, bindings)
    {
        _queues = new UdpQueue[QueueCount];
        try
        {
            BindQueues((q, address, port) =>
            {
                _queues[q] = new UdpQueue(address, port, options, _buffers, SlotBytesOf(_queueBinding[q].Protocol));
                return _queues[q].LocalEndPoint;
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override NicBackend Backend => NicBackend.Syscalls;

    /// <inheritdoc />
    public override string BackendDescription => "recvmmsg/sendmmsg";

    /// <inheritdoc />
    public override void Attach(INicHost host)
    {
        base.Attach(host);
        foreach (UdpQueue queue in _queues)
        {
            // A batch that fills mid-burst is sent at once, and its green threads recycled there.
            queue.Host = host;
        }
    }

    /// <inheritdoc />
    public override int RxBurst(long now, Span<Arrival> batch)
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
        int got = queue.Receive(batch.Length, _queueCounters[queueIndex]);
        if (got == 0)
        {
            return 0;
        }
        // One stamp for the batch: the datagrams arrived together, and a clock read per packet
        // would cost more than the spread it could show.
        long arrivalTicks = Clock.Now();
        int localPort = queue.LocalEndPoint.Port;
        int n = 0;
        for (int i = 0; i < got; i++)
        {
            if (Frame(queueIndex, queue.DatagramStart(i), queue.DatagramLength(i), queue.Peer(i), queue.BlockOf(i),
                arrivalTicks, localPort, ref batch[n]))
            {
                queue.TakeBlock(i);
                n++;
            }
        }
        return n;
    }

    /// <inheritdoc />
    private protected override bool StageReply(int queue, GreenThread thread, in SockAddr peer, AppProtocol protocol, UdpCounters counters) =>
        _queues[queue].StageReply(thread, peer, protocol, counters);

    /// <inheritdoc />
    private protected override void StageFailure(int queue, in SockAddr peer, AppProtocol protocol, in ReplyInfo info, UdpCounters counters) =>
        _queues[queue].StageFailure(peer, protocol, info, counters);

    /// <inheritdoc />
    public override bool TxBurst()
    {
        bool sent = false;
        for (int q = 0; q < _queues.Length; q++)
        {
            sent |= _queues[q].Flush(_queueCounters[q], _host);
        }
        return sent;
    }

    /// <inheritdoc />
    private protected override void DisposeBackend()
    {
        foreach (UdpQueue? queue in _queues)
        {
            queue?.Dispose();
        }
    }
}
