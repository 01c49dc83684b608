// The UDP NIC on io_uring: one ring for every queue, multishot recvmsg into provided buffers backed by receive blocks, replies as sendmsg SQEs, one enter per loop.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// The io_uring backend of <see cref="UdpNic"/>. One ring serves every queue of the NIC, and the
/// IOKernel thread is its only submitter: each socket has one multishot recvmsg armed, picking
/// from one provided-buffer ring, and <see cref="RxBurst"/> reads the completions from the ring's
/// memory, so an empty poll makes no system call however many queues there are. Replies are
/// sendmsg SQEs from send slots that their completions free; <see cref="TxBurst"/> publishes the
/// buffers handed back, re-arms ended receives and submits everything in at most one io_uring_enter.
/// </summary>
/// <remarks>
/// <para><b>Buffers.</b> The provided buffers are blocks of the NIC's <see cref="ReceiveBufferPool"/>:
/// each buffer id is backed by one block at a time (<see cref="IoUringBufferRing.Provide"/>). A
/// datagram that becomes a request keeps its block, exactly as on the syscalls backend, until the
/// request's Transmit or Reject releases it; its id goes back to the kernel at once with a fresh
/// block. A datagram that is not a request gives its block back under the same id. So the ids only
/// cover the datagrams that arrive between two loops, and requests in flight are bounded by receive
/// memory (<see cref="UdpNicOptions.ReceiveMemoryMegabytes"/>) as on the syscalls backend.</para>
/// <para><b>Running short.</b> When the pool has no block for an id, the id waits (counted once per
/// shortage in <see cref="UdpCounters.ReceiveBufferShortages"/>) and is provided again at the first
/// loop that finds memory. When the kernel finds no id, the multishot ends with ENOBUFS (counted the
/// same way) and datagrams wait in the socket buffer; the loop re-arms it once ids are published
/// again. Nothing is lost that the socket buffer holds.</para>
/// <para><b>Shutdown.</b> <see cref="Detach"/>, on the IOKernel thread, cancels every request, waits
/// (bounded) for their last completions, answering what it can and recycling every green thread,
/// then tears the ring down there, the one thread allowed to unregister its buffers.</para>
/// </remarks>
internal sealed unsafe class IoUringUdpNic : UdpNic
{
    private const byte RecvKind = 1;
    private const byte SendKind = 2;
    private const byte CancelKind = 3;
    private const ushort BufferGroup = 0;

    /// <summary>Most send slots a NIC keeps, whatever its queue count: replies in flight between two loops.</summary>
    private const int MaxSendSlots = 4096;

    /// <summary>Reaps of the CQ, each after a submit, that a reply waits through for a send slot
    /// before it is counted as a send failure: the IOKernel must not stall on one NIC.</summary>
    private const int MaxSlotWaits = 64;

    /// <summary>How long <see cref="Detach"/> waits for the cancelled requests' last completions.</summary>
    private static readonly TimeSpan s_detachTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Room for the peer's address in each buffer: IPv4 or IPv6.</summary>
    private static readonly int s_nameRoom = sizeof(SockAddr);

    /// <summary>Where the payload starts in a buffer: after io_uring_recvmsg_out and the name's room.</summary>
    private static readonly int s_payloadOffset = sizeof(IoUringRecvMsgOut) + sizeof(SockAddr);

    /// <summary>Payload bytes a provided buffer holds: a longer datagram is truncated to this, longer than any valid request.</summary>
    internal static int PayloadRoom => UdpQueue.RxSlotBytes - s_payloadOffset;

    private readonly IoUringRing _ring;
    private readonly IoUringBufferRing? _provided;
    private readonly Socket?[] _sockets;
    private readonly int[] _fds;
    private readonly int[] _localPorts;
    private readonly MsgHdr* _recvMsg;
    private readonly bool[] _armed;
    private readonly bool[] _rearm;
    private int _armedCount;
    private int _rearmCount;

    // Provided buffer id -> the receive block behind it (-1 while it waits for memory).
    private readonly int[] _bidBlock = [];
    private readonly int[] _emptyBids = [];
    private int _emptyCount;
    private bool _short;

    private readonly IoUringCqe[] _cqes = new IoUringCqe[256];
    // Receive completions reaped and not yet framed: each holds a buffer id, so no more than the ids.
    private readonly IoUringCqe[] _pending = [];
    private int _pendingHead;
    private int _pendingCount;

    private readonly int _txSlots;
    private readonly MsgHdr* _txMsgs;
    private readonly IoVec* _txIov;
    private readonly SockAddr* _txAddr;
    private readonly byte* _txInline;
    private readonly byte[] _txStatus = [];
    private readonly int[] _txFree = [];
    private int _txFreeCount;
    // A reply's datagrams are a chain of slots from its head; the head holds the green thread and the count still in flight.
    private readonly int[] _txNext = [];
    private readonly int[] _txHead = [];
    private readonly int[] _txRemaining = [];
    private readonly GreenThread?[] _txThread = [];
    private readonly int[] _txQueueOf = [];
    private int _txInFlight;

    private bool _started;
    private bool _detaching;
    private bool _ringDisposed;
    private bool _quiesced = true;

    private IoUringUdpNic(UdpNicOptions options, IReadOnlyList<UdpBinding> bindings, IoUringRing ring, int providedBuffers, int txSlots)
        : base(options, bindings)
    {
        _ring = ring;
        int queues = QueueCount;
        _sockets = new Socket?[queues];
        _fds = new int[queues];
        _localPorts = new int[queues];
        _armed = new bool[queues];
        _rearm = new bool[queues];
        try
        {
            _provided = ring.RegisterExternalBufferRing(BufferGroup, providedBuffers, UdpQueue.RxSlotBytes);
            _bidBlock = new int[providedBuffers];
            _emptyBids = new int[providedBuffers];
            _pending = new IoUringCqe[providedBuffers];
            for (int bid = 0; bid < providedBuffers; bid++)
            {
                _bidBlock[bid] = -1;
                Refill((ushort)bid);
            }
            _provided.Publish();

            _recvMsg = Alloc<MsgHdr>(1);
            // The room the kernel lays out in each buffer: the peer's address, no control data.
            _recvMsg->NameLength = (uint)s_nameRoom;

            _txSlots = txSlots;
            _txMsgs = Alloc<MsgHdr>(txSlots);
            _txIov = Alloc<IoVec>(txSlots * UdpDatagrams.IovPerDatagram);
            _txAddr = Alloc<SockAddr>(txSlots);
            _txInline = Alloc<byte>(txSlots * UdpDatagrams.InlineBytes);
            _txStatus = new byte[txSlots];
            _txFree = new int[txSlots];
            _txNext = new int[txSlots];
            _txHead = new int[txSlots];
            _txRemaining = new int[txSlots];
            _txThread = new GreenThread?[txSlots];
            _txQueueOf = new int[txSlots];
            for (int i = 0; i < txSlots; i++)
            {
                _txMsgs[i].Name = &_txAddr[i];
                _txMsgs[i].Iov = &_txIov[i * UdpDatagrams.IovPerDatagram];
                _txFree[i] = txSlots - 1 - i;
            }
            _txFreeCount = txSlots;

            BindQueues((q, address, port) =>
            {
                Socket socket = UdpQueue.OpenSocket(address, port, options);
                _sockets[q] = socket;
                _fds[q] = (int)socket.SafeHandle.DangerousGetHandle();
                var local = (IPEndPoint)socket.LocalEndPoint!;
                _localPorts[q] = local.Port;
                return local;
            });
        }
        catch
        {
            Dispose();
            throw;
        }
        BackendDescription = $"{ring.Description}; {providedBuffers} provided buffers of {UdpQueue.RxSlotBytes} B, {txSlots} send slots";
    }

    /// <summary>
    /// Sets up the ring and binds the queues, or says why io_uring cannot serve (see
    /// <see cref="IoUringRing.TryCreate"/>): the caller then uses <see cref="SyscallUdpNic"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">An address cannot be bound.</exception>
    public static bool TryOpen(UdpNicOptions options, IReadOnlyList<UdpBinding> bindings, IoUringOptions ringOptions,
        [NotNullWhen(true)] out IoUringUdpNic? nic, out string reason)
    {
        nic = null;
        options.Validate();
        ringOptions.Validate();
        if (bindings.FirstOrDefault(b => SlotBytesOf(b.Protocol) > UdpQueue.RxSlotBytes) is { } large)
        {
            // Provided buffers are one size; a protocol that reads larger datagrams (memcached's, up
            // to 64 KiB) stays on recvmmsg, whose receive blocks are sized per port.
            reason = $"the {large.Protocol.Name} protocol reads datagrams of up to {SlotBytesOf(large.Protocol)} bytes, more than the ring's {UdpQueue.RxSlotBytes}-byte provided buffers";
            return false;
        }
        int queues = Math.Max(1, bindings.Count * options.Queues);
        int txSlots = Math.Min(MaxSendSlots, options.TxBatchPerQueue * queues);
        // Sized so that a loop's sends and re-arms fit the SQ, and the CQ holds a completion for every
        // id, every send slot and every SQE: it cannot overflow (an overflow is still handled).
        int sq = (int)Math.Min(IoUringOptions.MaxSubmissionEntries,
            Math.Max(ringOptions.SubmissionEntries, BitOperations.RoundUpToPowerOf2((uint)(txSlots + queues + 2))));
        int cq = (int)Math.Min(IoUringOptions.MaxCompletionEntries,
            Math.Max(ringOptions.CompletionEntries, BitOperations.RoundUpToPowerOf2((uint)(ringOptions.ProvidedBuffers + txSlots + sq + queues))));
        if (!IoUringRing.TryCreate(ringOptions.ForNic(sq, cq), out IoUringRing? ring, out reason))
        {
            return false;
        }
        try
        {
            nic = new IoUringUdpNic(options, bindings, ring, ringOptions.ProvidedBuffers, txSlots);
            return true;
        }
        catch
        {
            ring.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override NicBackend Backend => NicBackend.IoUring;

    /// <inheritdoc />
    public override string BackendDescription { get; } = "io_uring";

    /// <summary>The ring's counts: every io_uring_enter by reason (exact once the IOKernel has stopped).</summary>
    public IoUringCounters RingCounters => _ring.Counters;

    /// <summary>True once <see cref="Detach"/> has torn the ring down with nothing left in the kernel.</summary>
    public bool RingTornDown => _ringDisposed && _quiesced;

    /// <inheritdoc />
    public override int RxBurst(long now, Span<Arrival> batch)
    {
        EnsureStarted();
        ReapAll();
        if (_pendingCount == 0)
        {
            return 0;
        }
        // One stamp for the burst, as on the syscalls backend.
        long arrivalTicks = Clock.Now();
        int n = 0;
        while (n < batch.Length && _pendingCount > 0)
        {
            IoUringCqe cqe = _pending[_pendingHead];
            _pendingHead = _pendingHead + 1 == _pending.Length ? 0 : _pendingHead + 1;
            _pendingCount--;
            int q = (int)IoUringUserData.Index(cqe.UserData);
            ushort bid = cqe.BufferId;
            int block = _bidBlock[bid];
            byte* buffer = _buffers.Pointer(block);
            // The result counts the header and the name's room before the payload; a datagram longer
            // than the room was truncated to it (MSG_TRUNC), longer than any valid request.
            int length = Math.Min(cqe.Res - s_payloadOffset, PayloadRoom);
            if (length < 0)
            {
                _queueCounters[q].ReceiveFailures++; // a buffer shorter than the layout: cannot happen with these sizes
                Reprovide(bid);
                continue;
            }
            // Copied out with only the bytes the kernel wrote: the rest of the room holds an earlier
            // datagram's bytes, which would make one peer's flow hash differ from datagram to datagram.
            SockAddr peer = default;
            uint nameLength = Math.Min(((IoUringRecvMsgOut*)buffer)->NameLen, (uint)s_nameRoom);
            Buffer.MemoryCopy(buffer + sizeof(IoUringRecvMsgOut), &peer, sizeof(SockAddr), nameLength);
            if (Frame(q, buffer + s_payloadOffset, length, peer, block, arrivalTicks, _localPorts[q], ref batch[n]))
            {
                n++;
                _bidBlock[bid] = -1; // the block is the request's now; the id takes a fresh one
                Refill(bid);
            }
            else
            {
                Reprovide(bid);
            }
        }
        return n;
    }

    /// <inheritdoc />
    public override bool TxBurst()
    {
        EnsureStarted();
        if (_ringDisposed)
        {
            return false;
        }
        long enters = _ring.Counters.Enters;
        if (_emptyCount > 0)
        {
            RefillWaiting();
        }
        _provided!.Publish();
        if (_rearmCount > 0)
        {
            RearmEnded();
        }
        _ring.Submit();
        bool entered = _ring.Counters.Enters != enters;
        if (entered)
        {
            // Sends usually complete within the enter: their green threads go back in the same loop.
            // Without an enter nothing new was asked of the kernel, and what it finished on its own
            // is reaped by the next loop's RxBurst: an empty loop reads the CQ tail once, not twice.
            ReapAll();
        }
        return entered;
    }

    /// <inheritdoc />
    private protected override bool StageReply(int queue, GreenThread thread, in SockAddr peer, AppProtocol protocol, UdpCounters counters)
    {
        EnsureStarted();
        Runtime.Buffers.ReplyWriter reply = thread.Reply;
        int count = UdpDatagrams.Count(reply, protocol, Math.Min(_options.TxBatchPerQueue, _txSlots));
        if (count < 0)
        {
            return false;
        }
        if (count == 0)
        {
            _host!.Recycle(thread); // an empty reply sends nothing
            return true;
        }
        if (_txFreeCount < count && !WaitForSlots(count))
        {
            counters.SendFailures += count;
            _host!.Recycle(thread);
            return true;
        }
        ReplyInfo info = UdpDatagrams.InfoFor(thread, protocol, count);
        int piece = 0;
        int pieceOffset = 0;
        int head = -1;
        int previous = -1;
        for (int d = 0; d < count; d++)
        {
            int slot = _txFree[--_txFreeCount];
            _txNext[slot] = -1;
            if (head < 0)
            {
                head = slot;
            }
            else
            {
                _txNext[previous] = slot;
            }
            previous = slot;
            int n = UdpDatagrams.Fill(&_txIov[slot * UdpDatagrams.IovPerDatagram], _txInline + (long)slot * UdpDatagrams.InlineBytes,
                reply, protocol, info, d, count, ref piece, ref pieceOffset);
            if (n < 0)
            {
                FreeChain(head); // nothing of the reply is sent
                return false;
            }
            Prepare(slot, head, peer, n, d == count - 1 ? (byte)thread.Status : UdpDatagrams.NotCounted);
        }
        _txRemaining[head] = count;
        _txThread[head] = thread;
        for (int slot = head; slot >= 0; slot = _txNext[slot])
        {
            Submit(queue, slot);
        }
        return true;
    }

    /// <inheritdoc />
    private protected override void StageFailure(int queue, in SockAddr peer, AppProtocol protocol, in ReplyInfo info, UdpCounters counters)
    {
        EnsureStarted();
        if (_txFreeCount == 0 && !WaitForSlots(1))
        {
            counters.SendFailures++;
            return;
        }
        int slot = _txFree[--_txFreeCount];
        int n = UdpDatagrams.FillFailure(&_txIov[slot * UdpDatagrams.IovPerDatagram], _txInline + (long)slot * UdpDatagrams.InlineBytes, protocol, info);
        if (n == 0)
        {
            _txFree[_txFreeCount++] = slot; // the protocol answers this one with silence
            return;
        }
        _txNext[slot] = -1;
        Prepare(slot, slot, peer, n, (byte)info.Status);
        _txRemaining[slot] = 1;
        _txThread[slot] = null;
        Submit(queue, slot);
    }

    /// <summary>
    /// Winds the ring down on the IOKernel thread: cancels every receive and send, waits (bounded)
    /// for their last completions, counting and recycling as usual, then tears the ring down here,
    /// the only thread the kernel lets unregister its buffers.
    /// </summary>
    public override void Detach()
    {
        if (!_started || _ringDisposed)
        {
            return;
        }
        _detaching = true;
        _quiesced = _ring.CancelAllAndDispose(IoUringUserData.Pack(CancelKind, 0), () => _armedCount > 0 || _txInFlight > 0, ReapAll, s_detachTimeout);
        _ringDisposed = true;
    }

    /// <inheritdoc />
    private protected override void DisposeBackend()
    {
        if (_started && !_ringDisposed && _ring.IsIssuerThread)
        {
            Detach(); // polled without an IOKernel (a test): this thread may wind the ring down itself
        }
        if (!_ringDisposed)
        {
            // Never polled (the ring is still disabled, nothing was submitted), or the IOKernel never
            // detached: then requests may still be in the kernel, and their memory is kept below.
            _quiesced = !_started;
            _ring.Dispose();
            _ringDisposed = true;
        }
        foreach (Socket? socket in _sockets)
        {
            socket?.Dispose();
        }
        if (!_quiesced)
        {
            return; // the kernel may still write into the provided blocks and read the send slots: they outlive the NIC
        }
        for (int bid = 0; bid < _bidBlock.Length; bid++)
        {
            if (_bidBlock[bid] >= 0)
            {
                _buffers.Release(_bidBlock[bid]);
                _bidBlock[bid] = -1;
            }
        }
        NativeMemory.AlignedFree(_recvMsg);
        NativeMemory.AlignedFree(_txMsgs);
        NativeMemory.AlignedFree(_txIov);
        NativeMemory.AlignedFree(_txAddr);
        NativeMemory.AlignedFree(_txInline);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureStarted()
    {
        if (!_started)
        {
            Start();
        }
    }

    /// <summary>First call on the polling thread: it becomes the ring's single issuer, and every queue's receive is armed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Start()
    {
        _ring.Enable();
        _started = true;
        for (int q = 0; q < _fds.Length; q++)
        {
            Arm(q);
        }
        _ring.Submit();
    }

    private void Arm(int q)
    {
        IoUringPrep.RecvMsgMultishot(ref _ring.GetSqe(), _fds[q], _recvMsg, BufferGroup, IoUringUserData.Pack(RecvKind, (uint)q));
        _armed[q] = true;
        _armedCount++;
    }

    /// <summary>Re-arms the receives that ended, once the kernel has ids to pick from (an arm with none would end at once).</summary>
    private void RearmEnded()
    {
        // Every id is pending (delivered, not yet framed), waiting for memory, or the kernel's.
        int withKernel = _bidBlock.Length - _pendingCount - _emptyCount;
        if (_detaching || withKernel == 0)
        {
            return;
        }
        for (int q = 0; q < _rearm.Length; q++)
        {
            if (_rearm[q])
            {
                _rearm[q] = false;
                _rearmCount--;
                Arm(q);
            }
        }
    }

    /// <summary>Empties the CQ: sends are counted and their slots freed, receives queued for <see cref="RxBurst"/>.</summary>
    private void ReapAll()
    {
        int n;
        do
        {
            n = _ring.Reap(_cqes);
            for (int i = 0; i < n; i++)
            {
                ref IoUringCqe cqe = ref _cqes[i];
                switch (IoUringUserData.Kind(cqe.UserData))
                {
                    case RecvKind:
                        OnReceived(cqe);
                        break;
                    case SendKind:
                        OnSent(cqe);
                        break;
                    default:
                        break; // a cancel's own completion, or the ring's
                }
            }
        }
        while (n == _cqes.Length);
    }

    private void OnReceived(in IoUringCqe cqe)
    {
        int q = (int)IoUringUserData.Index(cqe.UserData);
        if (cqe.HasBuffer)
        {
            _provided!.OnDelivered(cqe.BufferId);
            Debug.Assert(_pendingCount < _pending.Length, "more receive completions than buffer ids");
            int tail = _pendingHead + _pendingCount;
            _pending[tail >= _pending.Length ? tail - _pending.Length : tail] = cqe;
            _pendingCount++;
        }
        if (!cqe.HasMore)
        {
            _armed[q] = false;
            _armedCount--;
            if (!_detaching)
            {
                _rearm[q] = true;
                _rearmCount++;
            }
            CountReceiveEnd(cqe, _queueCounters[q]);
        }
    }

    private void OnSent(in IoUringCqe cqe)
    {
        int slot = (int)IoUringUserData.Index(cqe.UserData);
        int head = _txHead[slot];
        UdpCounters counters = _queueCounters[_txQueueOf[slot]];
        if (cqe.Res >= 0)
        {
            UdpDatagrams.CountSent(_txStatus[slot], counters);
        }
        else
        {
            counters.SendFailures++;
        }
        _txInFlight--;
        if (--_txRemaining[head] == 0)
        {
            GreenThread? thread = _txThread[head];
            _txThread[head] = null;
            FreeChain(head);
            if (thread is not null)
            {
                _host!.Recycle(thread);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CountReceiveEnd(in IoUringCqe cqe, UdpCounters counters)
    {
        switch (cqe.Error)
        {
            case LinuxError.None or LinuxError.Canceled:
                break; // the CQ was full (the kernel ends a multishot then), or our own cancel
            case LinuxError.NoBuffers:
                counters.ReceiveBufferShortages++; // back-pressure: datagrams wait in the socket until re-armed
                break;
            default:
                counters.ReceiveFailures++;
                break;
        }
    }

    private void Prepare(int slot, int head, in SockAddr peer, int iovCount, byte status)
    {
        _txHead[slot] = head;
        _txAddr[slot] = peer;
        _txMsgs[slot].NameLength = peer.Length;
        _txMsgs[slot].IovLength = (nuint)iovCount;
        _txStatus[slot] = status;
    }

    private void Submit(int queue, int slot)
    {
        _txQueueOf[slot] = queue;
        IoUringPrep.SendMsg(ref _ring.GetSqe(), _fds[queue], &_txMsgs[slot], 0, IoUringUserData.Pack(SendKind, (uint)slot));
        _txInFlight++;
    }

    private void FreeChain(int head)
    {
        for (int slot = head; slot >= 0;)
        {
            int next = _txNext[slot];
            _txFree[_txFreeCount++] = slot;
            slot = next;
        }
    }

    /// <summary>Every send slot is in flight: submits and reaps until enough are back, bounded.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForSlots(int needed)
    {
        for (int attempt = 0; attempt < MaxSlotWaits && _txFreeCount < needed; attempt++)
        {
            _ring.Submit();
            ReapAll();
            if (_txFreeCount < needed)
            {
                Thread.SpinWait(20);
            }
        }
        return _txFreeCount >= needed;
    }

    /// <summary>Id <paramref name="bid"/> gets a fresh block, or waits for memory.</summary>
    private void Refill(ushort bid)
    {
        int block = _buffers.TryRent(UdpQueue.RxSlotBytes);
        if (block < 0)
        {
            _emptyBids[_emptyCount++] = bid;
            if (!_short)
            {
                _short = true;
                _queueCounters[0].ReceiveBufferShortages++;
            }
            return;
        }
        _bidBlock[bid] = block;
        _provided!.Provide(bid, _buffers.Pointer(block));
    }

    /// <summary>Id <paramref name="bid"/> goes back with the block it had (its datagram did not become a request).</summary>
    private void Reprovide(ushort bid) => _provided!.Provide(bid, _buffers.Pointer(_bidBlock[bid]));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefillWaiting()
    {
        while (_emptyCount > 0)
        {
            int block = _buffers.TryRent(UdpQueue.RxSlotBytes);
            if (block < 0)
            {
                return;
            }
            ushort bid = (ushort)_emptyBids[--_emptyCount];
            _bidBlock[bid] = block;
            _provided!.Provide(bid, _buffers.Pointer(block));
        }
        _short = false;
    }

    private static T* Alloc<T>(int count) where T : unmanaged
    {
        nuint bytes = (nuint)(count * sizeof(T));
        // Cache-line aligned, so no two slots' hot fields share a line with another structure's.
        var p = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        return p;
    }
}
