// One UDP NIC queue on io_uring: a multishot recvmsg into provided buffers, replies as sendmsg SQEs, one io_uring_enter per Flush at most.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime.Protocol;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// A drop-in for <see cref="UdpQueue"/> (the same Receive / Datagram / Peer / Stage / Flush surface)
/// on its own io_uring. <see cref="Receive"/> reads completions from the CQ's memory and makes no
/// system call; <see cref="Flush"/> publishes the buffers handed back, re-arms the receive if it
/// ended, and makes the loop's one io_uring_enter (replies, and the kernel's deferred receive work),
/// none when there is nothing to do. The IOKernel calls Flush every loop (TxBurst), which is what
/// lets deferred task work run. Used by the IOKernel thread only: the ring is created disabled and
/// that thread becomes its single issuer at its first call.
/// </summary>
/// <remarks>
/// The kernel writes each datagram into a provided buffer as io_uring_recvmsg_out, the peer's
/// address, then the payload; <see cref="Datagram"/> and <see cref="Peer"/> point into it, and the
/// buffer goes back to the kernel at the next <see cref="Receive"/>. A reply's slot (header, address,
/// msghdr) is the kernel's from Stage until its send completes; Stage waits for one when all are in
/// flight, as UdpQueue's Stage sends a full batch first.
/// </remarks>
internal sealed unsafe class IoUringUdpQueue : IDisposable
{
    /// <summary>Payload bytes per receive buffer, as <see cref="UdpQueue.RxSlotBytes"/>: a datagram that
    /// fills them (truncated or not) is longer than any valid request and parses as oversized.</summary>
    public const int RxSlotBytes = UdpQueue.RxSlotBytes;

    /// <summary>Bytes per reply buffer: one response header, on its own cache line.</summary>
    public const int TxSlotBytes = 64;

    private const byte RecvKind = 1;
    private const byte SendKind = 2;
    private const ushort BufferGroup = 0;

    /// <summary>Reaps of the CQ, each followed by a submit, that Stage waits through for a reply slot
    /// before giving the reply up as a send failure: the IOKernel must not stall on one queue.</summary>
    private const int MaxSlotWaits = 64;

    private static readonly int s_nameRoom = sizeof(SockAddrIn);
    private static readonly int s_payloadOffset = sizeof(IoUringRecvMsgOut) + s_nameRoom;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly IoUringRing _ring;
    private readonly IoUringBufferRing _buffers;
    private readonly MsgHdr* _recvMsg;
    private readonly IoUringCqe[] _reaped;
    // Receive completions reaped (by Flush or a waiting Stage) and not yet handed out: a ring of CQEs.
    private readonly IoUringCqe[] _rxPending;
    private int _rxPendingHead;
    private int _rxPendingCount;
    // The batch the last Receive handed out: its buffers, payloads and lengths by slot.
    private readonly ushort* _rxBufferIds;
    private readonly int* _rxLengths;
    private int _rxCount;
    private int _buffersHeld;
    private bool _rearm;
    private bool _started;
    private readonly int _txSlots;
    private readonly MsgHdr* _txMsgs;
    private readonly IoVec* _txIov;
    private readonly SockAddrIn* _txAddr;
    private readonly byte* _txBuf;
    private readonly ResponseStatus[] _txStatus;
    private readonly int[] _txFree;
    private int _txFreeCount;
    private int _staged;
    private bool _disposed;

    private IoUringUdpQueue(Socket socket, IoUringRing ring, int txSlots, int providedBuffers)
    {
        _socket = socket;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _ring = ring;
        _buffers = ring.RegisterBufferRing(BufferGroup, providedBuffers, BufferBytes);
        _recvMsg = Alloc<MsgHdr>(1);
        // Room for the peer's address in each buffer; no control data.
        _recvMsg->NameLength = (uint)s_nameRoom;
        _reaped = new IoUringCqe[256];
        // Each pending receive completion holds a buffer (ReapAll counts the others at once).
        _rxPending = new IoUringCqe[_buffers.Count];
        _rxBufferIds = Alloc<ushort>(_buffers.Count);
        _rxLengths = Alloc<int>(_buffers.Count);

        _txSlots = txSlots;
        _txMsgs = Alloc<MsgHdr>(txSlots);
        _txIov = Alloc<IoVec>(txSlots);
        _txAddr = Alloc<SockAddrIn>(txSlots);
        _txBuf = Alloc<byte>(txSlots * TxSlotBytes);
        _txStatus = new ResponseStatus[txSlots];
        _txFree = new int[txSlots];
        for (int i = 0; i < txSlots; i++)
        {
            _txIov[i].Base = _txBuf + (long)i * TxSlotBytes;
            _txIov[i].Length = WireProtocol.HeaderSize;
            _txAddr[i].Family = NativeUdp.AfInet;
            _txMsgs[i].Name = &_txAddr[i];
            _txMsgs[i].NameLength = (uint)sizeof(SockAddrIn);
            _txMsgs[i].Iov = &_txIov[i];
            _txMsgs[i].IovLength = 1;
            _txFree[i] = txSlots - 1 - i;
        }
        _txFreeCount = txSlots;
    }

    /// <summary>Bytes per provided buffer: the recvmsg header, the address, then <see cref="RxSlotBytes"/> of payload, in whole cache lines.</summary>
    private static int BufferBytes => (sizeof(IoUringRecvMsgOut) + sizeof(SockAddrIn) + RxSlotBytes + 63) & ~63;

    /// <summary>
    /// Opens and binds the socket (SO_REUSEPORT, as <see cref="UdpQueue"/>) and sets up its ring,
    /// or says why io_uring cannot serve (see <see cref="IoUringRing.TryCreate"/>): the NIC then uses
    /// a <see cref="UdpQueue"/> instead.
    /// </summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static bool TryCreate(IPAddress address, int port, UdpNicOptions options, IoUringOptions ringOptions,
        [NotNullWhen(true)] out IoUringUdpQueue? queue, out string reason)
    {
        queue = null;
        int txSlots = options.TxBatchPerQueue;
        // Sized so that neither ring can fill within a loop: an SQE per reply slot and a re-arm, and a
        // CQE per provided buffer, per reply slot and per SQE.
        int sq = (int)BitOperations.RoundUpToPowerOf2((uint)(txSlots + 8));
        var sized = new IoUringOptions
        {
            SubmissionEntries = Math.Max(ringOptions.SubmissionEntries, sq),
            CompletionEntries = Math.Max(ringOptions.CompletionEntries, (int)BitOperations.RoundUpToPowerOf2((uint)(ringOptions.ProvidedBuffers + txSlots + sq))),
            ProvidedBuffers = ringOptions.ProvidedBuffers,
            TaskRun = ringOptions.TaskRun,
            StartDisabled = true,
            Simulate = ringOptions.Simulate,
        };
        if (!IoUringRing.TryCreate(sized, out IoUringRing? ring, out reason))
        {
            return false;
        }
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetRawSocketOption(NativeUdp.SolSocket, NativeUdp.SoReusePort, BitConverter.GetBytes(1));
            socket.ReceiveBufferSize = options.ReceiveBufferBytes;
            socket.SendBufferSize = options.SendBufferBytes;
            socket.Bind(new IPEndPoint(address, port));
            queue = new IoUringUdpQueue(socket, ring, txSlots, ringOptions.ProvidedBuffers);
            return true;
        }
        catch
        {
            ring.Dispose();
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The address and port the socket is bound to.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Replies staged and not yet submitted.</summary>
    public int Pending => _staged;

    /// <summary>The ring's counts (system calls by reason).</summary>
    public IoUringCounters RingCounters => _ring.Counters;

    /// <summary>What the ring was set up with, for a log.</summary>
    public string Description => _ring.Description;

    /// <summary>
    /// Hands out up to <paramref name="max"/> datagrams that have arrived, from the CQ's memory (no
    /// system call); the caller reads them with <see cref="Datagram"/> and <see cref="Peer"/> before
    /// the next call, which gives their buffers back.
    /// </summary>
    public int Receive(int max, UdpCounters counters)
    {
        EnsureStarted();
        for (int i = 0; i < _rxCount; i++)
        {
            _buffers.Recycle(_rxBufferIds[i]);
        }
        _buffersHeld -= _rxCount;
        ReapAll(counters);
        int n = 0;
        int limit = Math.Min(max, _buffers.Count);
        while (n < limit && _rxPendingCount > 0)
        {
            ref IoUringCqe cqe = ref _rxPending[_rxPendingHead];
            _rxPendingHead = _rxPendingHead + 1 == _rxPending.Length ? 0 : _rxPendingHead + 1;
            _rxPendingCount--;
            // Held from here until the next Receive recycles it.
            _rxBufferIds[n] = cqe.BufferId;
            _rxLengths[n] = Math.Min(cqe.Res - s_payloadOffset, RxSlotBytes);
            if (_rxLengths[n] < 0)
            {
                counters.ReceiveFailures++; // a buffer shorter than the layout: cannot happen with BufferBytes
                _rxLengths[n] = 0;
            }
            n++;
        }
        _rxCount = n;
        return n;
    }

    /// <summary>Received datagram <paramref name="slot"/> (its payload as the kernel wrote it into the provided buffer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Datagram(int slot) =>
        new(_buffers.BufferAddress(_rxBufferIds[slot]) + s_payloadOffset, _rxLengths[slot]);

    /// <summary>The sender of received datagram <paramref name="slot"/> (the address recvmsg put in the buffer).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly SockAddrIn Peer(int slot) =>
        ref *(SockAddrIn*)(_buffers.BufferAddress(_rxBufferIds[slot]) + sizeof(IoUringRecvMsgOut));

    /// <summary>Queues a reply as a sendmsg SQE; it goes at the next <see cref="Flush"/>. When every reply
    /// slot is in flight, submits and reaps until one is back (a reply that cannot get one is counted as a send failure).</summary>
    public void Stage(uint address, ushort port, in ResponseHeader reply, UdpCounters counters)
    {
        EnsureStarted();
        if (_txFreeCount == 0 && !WaitForSlot(counters))
        {
            counters.SendFailures++;
            return;
        }
        int slot = _txFree[--_txFreeCount];
        WireProtocol.WriteResponse(new Span<byte>(_txBuf + (long)slot * TxSlotBytes, TxSlotBytes), reply);
        _txAddr[slot].Address = address;
        _txAddr[slot].Port = port;
        _txStatus[slot] = reply.Status;
        IoUringPrep.SendMsg(ref _ring.GetSqe(), _fd, &_txMsgs[slot], 0, IoUringUserData.Pack(SendKind, (uint)slot));
        _staged++;
    }

    /// <summary>
    /// Publishes the buffers given back, re-arms the receive if it ended, and submits: the staged
    /// replies and the kernel's waiting receive work in one io_uring_enter, or no system call when
    /// there is neither. Then reaps what completed. Returns true when it entered the kernel (replies
    /// went, or arrivals are now in the CQ), so the IOKernel does not idle before the next Receive.
    /// </summary>
    public bool Flush(UdpCounters counters)
    {
        EnsureStarted();
        _buffers.Publish();
        if (_rearm && _buffersHeld < _buffers.Count)
        {
            Arm();
        }
        long enters = _ring.Counters.Enters;
        _ring.Submit();
        _staged = 0;
        bool entered = _ring.Counters.Enters != enters;
        if (entered)
        {
            ReapAll(counters);
        }
        return entered;
    }

    /// <summary>Closes the socket and the ring and frees the buffers. Only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _ring.Dispose();
        _socket.Dispose();
        NativeMemory.AlignedFree(_recvMsg);
        NativeMemory.AlignedFree(_rxBufferIds);
        NativeMemory.AlignedFree(_rxLengths);
        NativeMemory.AlignedFree(_txMsgs);
        NativeMemory.AlignedFree(_txIov);
        NativeMemory.AlignedFree(_txAddr);
        NativeMemory.AlignedFree(_txBuf);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureStarted()
    {
        if (!_started)
        {
            Start();
        }
    }

    /// <summary>First call on the polling thread: it becomes the ring's single issuer, and the receive is armed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Start()
    {
        _ring.Enable();
        _started = true;
        Arm();
        _ring.Submit();
    }

    private void Arm()
    {
        IoUringPrep.RecvMsgMultishot(ref _ring.GetSqe(), _fd, _recvMsg, BufferGroup, IoUringUserData.Pack(RecvKind, 0));
        _rearm = false;
    }

    /// <summary>Empties the CQ: replies are counted and their slots freed, receive completions queued for <see cref="Receive"/>.</summary>
    private void ReapAll(UdpCounters counters)
    {
        int n;
        do
        {
            n = _ring.Reap(_reaped);
            for (int i = 0; i < n; i++)
            {
                ref IoUringCqe cqe = ref _reaped[i];
                if (IoUringUserData.Kind(cqe.UserData) == SendKind)
                {
                    int slot = (int)IoUringUserData.Index(cqe.UserData);
                    if (cqe.Res >= 0)
                    {
                        CountSent(_txStatus[slot], counters);
                    }
                    else
                    {
                        counters.SendFailures++;
                    }
                    _txFree[_txFreeCount++] = slot;
                    continue;
                }
                if (!cqe.HasMore)
                {
                    // ENOBUFS (the buffers ran out), a CQ overflow, or a cancel: re-armed at the next Flush.
                    _rearm = true;
                }
                if (!cqe.HasBuffer)
                {
                    // Nothing to hand out: only the ending's reason, counted now. So every pending
                    // completion holds a buffer, and there can be no more of them than buffers.
                    CountReceiveEnd(cqe, counters);
                    continue;
                }
                _buffersHeld++;
                Debug.Assert(_rxPendingCount < _rxPending.Length, "more receive completions than buffers");
                int tail = _rxPendingHead + _rxPendingCount;
                _rxPending[tail >= _rxPending.Length ? tail - _rxPending.Length : tail] = cqe;
                _rxPendingCount++;
            }
        }
        while (n == _reaped.Length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForSlot(UdpCounters counters)
    {
        for (int attempt = 0; attempt < MaxSlotWaits && _txFreeCount == 0; attempt++)
        {
            _ring.Submit();
            _staged = 0;
            ReapAll(counters);
            if (_txFreeCount == 0)
            {
                Thread.SpinWait(20);
            }
        }
        return _txFreeCount > 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CountReceiveEnd(in IoUringCqe cqe, UdpCounters counters)
    {
        // ENOBUFS is back-pressure, not a failure: the datagrams wait in the socket until re-armed.
        if (cqe.Res < 0 && cqe.Error is not (LinuxError.NoBuffers or LinuxError.Canceled))
        {
            counters.ReceiveFailures++;
        }
    }

    // As UdpQueue counts a sent reply.
    private static void CountSent(ResponseStatus status, UdpCounters counters)
    {
        switch (status)
        {
            case ResponseStatus.Ok: counters.OkReplies++; break;
            case ResponseStatus.Error: counters.ErrorReplies++; break;
            case ResponseStatus.RejectedOverload: counters.RejectedReplies++; break;
            default: counters.BadRequestReplies++; break;
        }
    }

    private static T* Alloc<T>(int count) where T : unmanaged
    {
        nuint bytes = (nuint)(count * sizeof(T));
        // Cache-line aligned, so neighbouring queues' slots never share a line.
        var p = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        return p;
    }
}
