// The TCP NIC on io_uring: multishot accept per listener, multishot recv per connection into provided buffers backed by receive blocks, one sendmsg in flight per connection, one enter per loop.
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Numerics;
using System.Runtime.CompilerServices;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>
/// The io_uring backend of <see cref="TcpNic"/>. One ring serves every listener and connection,
/// and the IOKernel thread is its only submitter: each listener has a multishot accept armed, each
/// connection a multishot recv picking from one provided-buffer ring, and <see cref="TcpNic.RxBurst"/>
/// reads the completions from the ring's memory, so an empty poll makes no system call however many
/// connections are idle. Writes are sendmsg SQEs, one in flight per connection;
/// <see cref="TxBurst"/> publishes the buffers handed back, re-arms what ended and submits
/// everything in at most one io_uring_enter.
/// </summary>
/// <remarks>
/// <para><b>Buffers.</b> As on UDP, each provided buffer id is backed by one receive-pool block at a
/// time. A completion hands its block to the connection as a <i>chunk</i>, and the id goes back to
/// the kernel at once with a fresh block, so ids are never held by connections or requests: they
/// only cover the bytes that arrive between two loops, and memory is bounded by
/// <see cref="TcpNicOptions.ReceiveMemoryMegabytes"/> as on epoll.</para>
/// <para><b>Assembly.</b> A connection's chunks queue in arrival order (one multishot per connection,
/// so its completions come in stream order) and are framed as epoll's reads are. When nothing is
/// unframed, the next chunk becomes the connection's block where the kernel wrote it: requests in it
/// are read in place, never copied. When part of a request is waiting (the kernel cut the stream
/// between two buffers), the next chunk's bytes are copied after it, only as many as the request
/// still lacks when the framer said how long it is, into the same block or, when it would run past
/// the block's end, a fresh one that <see cref="TcpNic.MakeRoom"/> moves the part into first; the
/// rest of the chunk is then framed in place. So only the bytes of a request split across buffers
/// are copied, once, the way epoll's path copies a request that straddles a block's end.</para>
/// <para><b>Order and backpressure.</b> Replies leave through the shared reorder window, one sendmsg
/// in flight per connection, so bytes keep their order with no linking. A paused connection (its
/// window or unsent bytes at their bound) or one that is closing has its receive cancelled, so the
/// peer is held back by TCP's flow control as with epoll; it is re-armed when the pause ends. A
/// receive that ran out of ids (ENOBUFS, counted in <see cref="TcpCounters.ReceiveShortages"/>) is
/// re-armed once ids are published again; its bytes wait in the socket.</para>
/// <para><b>Closing.</b> A connection's descriptor is closed only when the kernel holds nothing on
/// it: its requests are cancelled (by descriptor), and the close waits for their last completions,
/// so no SQE can ever name a reused descriptor number. <see cref="Detach"/>, on the IOKernel thread,
/// cancels everything, waits (bounded) for the last completions and tears the ring down there.</para>
/// </remarks>
internal sealed unsafe class IoUringTcpNic : TcpNic
{
    private const byte AcceptKind = 1;
    private const byte RecvKind = 2;
    private const byte SendKind = 3;
    private const byte CancelKind = 4;
    private const ushort BufferGroup = 0;

    /// <summary>SQ entries at least: a loop's writes, re-arms and cancels; a fuller loop submits early (counted).</summary>
    private const int MinSubmissionEntries = 1024;

    /// <summary>Receive blocks of bytes a connection may have queued unframed before its receive is paused:
    /// epoll reads only what the framer asks for, a multishot reads ahead, and this bounds how far.</summary>
    private const int ReadAheadBlocks = 4;

    /// <summary>How long <see cref="Detach"/> waits for the cancelled requests' last completions.</summary>
    private static readonly TimeSpan s_detachTimeout = TimeSpan.FromSeconds(2);

    private readonly IoUringRing _ring;
    private readonly IoUringBufferRing? _provided;
    private readonly int[] _listenerFds;
    private readonly bool[] _acceptRearm;
    private int _acceptRearmCount;

    // Provided buffer id -> the receive block behind it (-1 while it waits for memory).
    private readonly int[] _bidBlock = [];
    private readonly int[] _emptyBids = [];
    private int _emptyCount;
    private bool _short;

    // Chunks received and not yet framed, by receive block: the next chunk of the same connection, and the bytes' place.
    private int[] _chunkNext = new int[256];
    private int[] _chunkOffset = new int[256];
    private int[] _chunkLength = new int[256];

    private readonly int _readAheadBytes;
    private readonly Queue<TcpConnection> _rearm = new();
    private readonly IoUringCqe[] _cqes = new IoUringCqe[256];
    // Accepts, receives and writes the kernel holds: Detach waits for none.
    private int _opsInKernel;

    private bool _started;
    private bool _detaching;
    private bool _ringDisposed;
    private bool _quiesced = true;

    private IoUringTcpNic(TcpNicOptions options, IReadOnlyList<TcpBinding> bindings, IoUringRing ring, int providedBuffers)
        : base(options, bindings, MaxIovPerSend)
    {
        _ring = ring;
        _readAheadBytes = ReadAheadBlocks * options.ReceiveBlockBytes;
        _listenerFds = _listeners.Select(l => (int)l.SafeHandle.DangerousGetHandle()).ToArray();
        _acceptRearm = new bool[_listeners.Length];
        try
        {
            _provided = ring.RegisterExternalBufferRing(BufferGroup, providedBuffers, options.ReceiveBlockBytes);
            _bidBlock = new int[providedBuffers];
            _emptyBids = new int[providedBuffers];
            for (int bid = 0; bid < providedBuffers; bid++)
            {
                _bidBlock[bid] = -1;
                Refill((ushort)bid);
            }
            _provided.Publish();
        }
        catch
        {
            Dispose();
            throw;
        }
        BackendDescription = $"{ring.Description}; {providedBuffers} provided buffers of {options.ReceiveBlockBytes} B";
    }

    /// <summary>
    /// Sets up the ring and listens, or says why io_uring cannot serve (see
    /// <see cref="IoUringRing.TryCreate"/>): the caller then uses <see cref="EpollTcpNic"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SocketException">An address cannot be bound.</exception>
    public static bool TryOpen(TcpNicOptions options, IReadOnlyList<TcpBinding> bindings, IoUringOptions ringOptions,
        [NotNullWhen(true)] out IoUringTcpNic? nic, out string reason)
    {
        nic = null;
        options.Validate();
        ringOptions.Validate();
        int connections = Math.Min(options.MaxConnections, 16384);
        int sq = Math.Min(IoUringOptions.MaxSubmissionEntries, Math.Max(ringOptions.SubmissionEntries, MinSubmissionEntries));
        // A completion for every id, a write and a receive's end per connection, every SQE: the CQ
        // does not overflow in a loop (and an overflow is still handled).
        int cq = (int)Math.Min(IoUringOptions.MaxCompletionEntries, Math.Max(ringOptions.CompletionEntries,
            BitOperations.RoundUpToPowerOf2((uint)(ringOptions.ProvidedBuffers + 2 * connections + sq + bindings.Count))));
        if (!IoUringRing.TryCreate(ringOptions.ForNic(sq, cq), out IoUringRing? ring, out reason))
        {
            return false;
        }
        try
        {
            nic = new IoUringTcpNic(options, bindings, ring, ringOptions.ProvidedBuffers);
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
    private protected override int ProvidedBlocks => _bidBlock.Length - _emptyCount;

    // ================================================================== receive

    /// <inheritdoc />
    private protected override void ConnectionsGrew(int connections) => _rearm.EnsureCapacity(connections);

    /// <inheritdoc />
    /// <remarks>Memory reads only: the completions since the last loop.</remarks>
    private protected override void Poll()
    {
        EnsureStarted();
        ReapAll();
    }

    /// <inheritdoc />
    /// <remarks>Takes the next chunk: in place when nothing is unframed, else copied after the waiting part of a request.</remarks>
    private protected override bool Read(TcpConnection c, TcpCounters counters)
    {
        int chunk = c.ChunkHead;
        if (chunk < 0)
        {
            c.Readable = false;
            if (c.EndQueued)
            {
                c.EndQueued = false;
                c.PeerClosed = true;
            }
            else if (c.FailureQueued)
            {
                c.FailureQueued = false;
                counters.Reset++;
                CloseNow(c);
            }
            return false;
        }
        int offset = _chunkOffset[chunk];
        int length = _chunkLength[chunk];
        if (c.Start == c.End)
        {
            // Nothing unframed: the chunk's block becomes the connection's, framed where the kernel wrote it.
            if (c.Block >= 0)
            {
                _buffers.Release(c.Block);
            }
            PopChunk(c);
            c.QueuedBytes -= length;
            c.Block = chunk;
            c.Start = offset;
            c.End = offset + length;
            ResumeIfDrained(c);
            return true;
        }
        int size = _buffers.Size(c.Block);
        if (c.End == size)
        {
            if (!MakeRoom(c, 0, counters))
            {
                MarkReady(c);
                return false;
            }
            size = _buffers.Size(c.Block);
        }
        int take = Math.Min(length, size - c.End);
        int missing = c.Start + c.NeedBytes - c.End;
        if (c.NeedBytes > 0 && missing > 0)
        {
            // Only what completes the request: the chunk's other requests are framed in place after it.
            take = Math.Min(take, missing);
        }
        Buffer.MemoryCopy(_buffers.Pointer(chunk) + offset, _buffers.Pointer(c.Block) + c.End, size - c.End, take);
        c.End += take;
        c.QueuedBytes -= take;
        counters.CopiedBytes += take;
        if (take == length)
        {
            PopChunk(c);
            _buffers.Release(chunk);
        }
        else
        {
            _chunkOffset[chunk] = offset + take;
            _chunkLength[chunk] = length - take;
        }
        ResumeIfDrained(c);
        return true;
    }

    /// <summary>A receive paused for read-ahead goes on once the framer has taken the queue below the bound.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ResumeIfDrained(TcpConnection c)
    {
        if (c.Receive == ReceiveState.Idle && c.QueuedBytes < _readAheadBytes && !c.InRearmList)
        {
            UpdateReceive(c);
        }
    }

    /// <inheritdoc />
    /// <remarks>Cancels the multishot receive: bytes then wait in the socket, and TCP holds the peer back.</remarks>
    private protected override void StopReading(TcpConnection c) => UpdateReceive(c);

    /// <inheritdoc />
    private protected override void ResumeReading(TcpConnection c) => UpdateReceive(c);

    /// <summary>
    /// Brings the connection's multishot receive in line with whether it should read: arms it when it
    /// should and none is in the kernel, cancels it when it should not (paused, closing, or its queue at
    /// the read-ahead bound). A cancelled receive is looked at again when its last completion comes: a
    /// second multishot before the first has ended could interleave their bytes.
    /// </summary>
    private void UpdateReceive(TcpConnection c)
    {
        bool wanted = !c.Closed && !c.Closing && !c.PeerClosed && !c.EndQueued && !c.FailureQueued && !c.Backpressured
            && c.QueuedBytes < _readAheadBytes && !_detaching;
        if (wanted && c.Receive == ReceiveState.Idle)
        {
            ArmReceive(c);
        }
        else if (!wanted && c.Receive == ReceiveState.Armed)
        {
            IoUringPrep.CancelUserData(ref _ring.GetSqe(), IoUringUserData.Pack(RecvKind, (uint)c.Index, Tag(c)),
                IoUringUserData.Pack(CancelKind, (uint)c.Index));
            c.Receive = ReceiveState.Cancelling;
        }
    }

    // ================================================================== send

    /// <inheritdoc />
    public override bool TxBurst()
    {
        EnsureStarted();
        if (_ringDisposed)
        {
            return false;
        }
        long enters = _ring.Counters.Enters;
        bool wrote = FlushWrites();
        if (_emptyCount > 0)
        {
            RefillWaiting();
        }
        _provided!.Publish();
        if (_acceptRearmCount > 0)
        {
            RearmAccepts();
        }
        if (_rearm.Count > 0 && _emptyCount < _bidBlock.Length)
        {
            RearmReceives();
        }
        _ring.Submit();
        bool entered = _ring.Counters.Enters != enters;
        if (entered)
        {
            // As on UDP: what the enter finished goes back in this loop; an empty loop reads the CQ once.
            ReapAll();
        }
        return wrote || entered;
    }

    /// <inheritdoc />
    /// <remarks>One sendmsg in flight per connection: its completion retires what went and marks the connection to write the rest.</remarks>
    private protected override void Write(TcpConnection c, TcpCounters counters)
    {
        if (c.SendInFlight)
        {
            return;
        }
        // Empty replies at the head are done without a write.
        Consume(c, 0, counters);
        if (c.Closed)
        {
            return;
        }
        int iov = GatherReady(c, c.SendIov, out _);
        if (iov == 0)
        {
            return;
        }
        c.SendMsg->Iov = c.SendIov;
        c.SendMsg->IovLength = (nuint)iov;
        IoUringPrep.SendMsg(ref _ring.GetSqe(), c.FdNumber, c.SendMsg, NativeTcp.MsgNoSignal, IoUringUserData.Pack(SendKind, (uint)c.Index, Tag(c)));
        c.SendInFlight = true;
        c.KernelOps++;
        _opsInKernel++;
    }

    // ================================================================== connection lifetime

    /// <inheritdoc />
    /// <remarks>Drops the unframed chunks and cancels what the kernel holds on the descriptor; it is
    /// closed once their last completions are in (<see cref="FinishClose"/>).</remarks>
    private protected override void CloseDescriptor(TcpConnection c)
    {
        FreeChunks(c);
        c.EndQueued = false;
        c.FailureQueued = false;
        if (c.KernelOps == 0)
        {
            c.CloseFd();
            return;
        }
        IoUringPrep.CancelFd(ref _ring.GetSqe(), c.FdNumber, IoUringUserData.Pack(CancelKind, (uint)c.Index));
        if (c.Receive == ReceiveState.Armed)
        {
            c.Receive = ReceiveState.Cancelling;
        }
    }

    /// <summary>
    /// Winds the ring down on the IOKernel thread: cancels every accept, receive and write, waits
    /// (bounded) for their last completions, dropping what cannot be written (counted) and recycling
    /// every green thread, then tears the ring down here, the only thread the kernel lets unregister its buffers.
    /// </summary>
    public override void Detach()
    {
        if (!_started || _ringDisposed)
        {
            return;
        }
        _detaching = true;
        _quiesced = _ring.CancelAllAndDispose(IoUringUserData.Pack(CancelKind, 0), () => _opsInKernel > 0, ReapAll, s_detachTimeout);
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
            // detached: then requests may still be in the kernel, and their memory is kept.
            _quiesced = !_started;
            _ring?.Dispose();
            _ringDisposed = true;
        }
        if (!_quiesced)
        {
            _keepNativeMemory = true; // the kernel may still write into the blocks and read the gather lists
            return;
        }
        for (int bid = 0; bid < _bidBlock.Length; bid++)
        {
            if (_bidBlock[bid] >= 0)
            {
                _buffers.Release(_bidBlock[bid]);
                _bidBlock[bid] = -1;
            }
        }
        foreach (TcpConnection c in _connections)
        {
            FreeChunks(c);
            if (c.Block >= 0)
            {
                _buffers.Release(c.Block);
                c.Block = -1;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EnsureStarted()
    {
        if (!_started)
        {
            Start();
        }
    }

    /// <summary>First call on the polling thread: it becomes the ring's single issuer, and every listener's accept is armed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Start()
    {
        _ring.Enable();
        _started = true;
        for (int l = 0; l < _listenerFds.Length; l++)
        {
            ArmAccept(l);
        }
        _ring.Submit();
    }

    private void ArmAccept(int listener)
    {
        IoUringPrep.AcceptMultishot(ref _ring.GetSqe(), _listenerFds[listener], NativeIoUring.SockNonBlock | NativeIoUring.SockCloExec,
            IoUringUserData.Pack(AcceptKind, (uint)listener));
        _opsInKernel++;
    }

    private void ArmReceive(TcpConnection c)
    {
        IoUringPrep.RecvMultishot(ref _ring.GetSqe(), c.FdNumber, BufferGroup, IoUringUserData.Pack(RecvKind, (uint)c.Index, Tag(c)));
        c.Receive = ReceiveState.Armed;
        c.KernelOps++;
        _opsInKernel++;
    }

    /// <summary>A connection's tag in user_data: its serial, so a completion is checked against the connection that owns the slot.</summary>
    private static uint Tag(TcpConnection c) => (uint)c.Serial & IoUringUserData.MaxTag;

    /// <summary>Empties the CQ, routing each completion by its kind.</summary>
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
                    case AcceptKind:
                        OnAccepted((int)IoUringUserData.Index(cqe.UserData), cqe);
                        break;
                    case RecvKind:
                        OnReceived(ConnectionOf(cqe), cqe);
                        break;
                    case SendKind:
                        OnSent(ConnectionOf(cqe), cqe);
                        break;
                    default:
                        break; // a cancel's own completion, or the ring's
                }
            }
        }
        while (n == _cqes.Length);
    }

    private TcpConnection ConnectionOf(in IoUringCqe cqe)
    {
        TcpConnection c = _connections[(int)IoUringUserData.Index(cqe.UserData)];
        // A connection's object is reused only once the kernel holds nothing on it, so every completion is its own.
        Debug.Assert(IoUringUserData.Tag(cqe.UserData) == Tag(c), "a completion for an earlier connection in this slot");
        return c;
    }

    private void OnAccepted(int listener, in IoUringCqe cqe)
    {
        if (cqe.Res >= 0)
        {
            int fd = cqe.Res;
            if (_detaching)
            {
                NativeTcp.Close(fd);
            }
            else
            {
                // The multishot accept keeps no address; a connection already gone has none to give and fails at its first receive.
                NativeTcp.PeerOf(fd, out SockAddr peer);
                TcpConnection? c = Admit(fd, listener, peer);
                if (c is not null)
                {
                    ArmReceive(c);
                }
            }
        }
        if (!cqe.HasMore)
        {
            // Ended: a failure (out of descriptors, say: the backlog holds the connections), the CQ was full, or our cancel.
            _opsInKernel--;
            if (!_detaching)
            {
                _acceptRearm[listener] = true;
                _acceptRearmCount++;
            }
        }
    }

    private void OnReceived(TcpConnection c, in IoUringCqe cqe)
    {
        TcpCounters counters = _counters[c.Listener];
        if (cqe.HasBuffer)
        {
            ushort bid = cqe.BufferId;
            _provided!.OnDelivered(bid);
            int block = _bidBlock[bid];
            _bidBlock[bid] = -1;
            Refill(bid);
            if (c.Closed || c.Closing)
            {
                _buffers.Release(block); // bytes that came before the cancel: the connection reads no more
            }
            else
            {
                AppendChunk(c, block, cqe.Res);
                counters.BytesIn += cqe.Res;
                c.Readable = true;
                MarkReady(c);
                if (c.QueuedBytes >= _readAheadBytes && c.Receive == ReceiveState.Armed && cqe.HasMore)
                {
                    UpdateReceive(c); // far enough ahead of the framer: pause until it catches up
                }
            }
        }
        if (cqe.HasMore)
        {
            return;
        }
        c.Receive = ReceiveState.Idle;
        c.KernelOps--;
        _opsInKernel--;
        if (c.Closed)
        {
            FinishClose(c);
            return;
        }
        switch (cqe.Error)
        {
            case LinuxError.None when !cqe.HasBuffer:
                // The peer's end of stream, after the bytes already queued.
                c.EndQueued = true;
                c.Readable = true;
                MarkReady(c);
                break;
            case LinuxError.None:
                // Ended with bytes: the CQ was full. Nothing is lost; carry on.
                UpdateReceive(c);
                break;
            case LinuxError.NoBuffers:
                counters.ReceiveShortages++;
                if (!_detaching && !c.InRearmList)
                {
                    c.InRearmList = true;
                    _rearm.Enqueue(c);
                }
                break;
            case LinuxError.Canceled:
                // Our cancel (paused, closing, or far ahead); whatever changed since decides again.
                UpdateReceive(c);
                break;
            default:
                // ECONNRESET and the like, after the bytes already queued.
                c.FailureQueued = true;
                c.Readable = true;
                MarkReady(c);
                break;
        }
    }

    private void OnSent(TcpConnection c, in IoUringCqe cqe)
    {
        c.SendInFlight = false;
        c.KernelOps--;
        _opsInKernel--;
        if (c.Closed)
        {
            // The replies it gathered are the kernel's no more: drop them now.
            DropReadyReplies(c);
            FinishClose(c);
            return;
        }
        TcpCounters counters = _counters[c.Listener];
        if (cqe.Res < 0)
        {
            if (!_detaching)
            {
                counters.Reset++;
            }
            CloseNow(c);
            return;
        }
        counters.BytesOut += cqe.Res;
        Consume(c, cqe.Res, counters);
        if (!c.Closed)
        {
            // The rest, if any, and the bookkeeping after a write (a pause lifted, a close once answered).
            MarkWrite(c);
        }
    }

    /// <summary>A closed connection's descriptor goes once the kernel holds nothing on it, then the object may be reused.</summary>
    private void FinishClose(TcpConnection c)
    {
        if (c.KernelOps == 0 && c.HasFd)
        {
            c.CloseFd();
        }
        FreeIfDone(c);
    }

    private void RearmAccepts()
    {
        if (_detaching)
        {
            return;
        }
        for (int l = 0; l < _acceptRearm.Length; l++)
        {
            if (_acceptRearm[l])
            {
                _acceptRearm[l] = false;
                _acceptRearmCount--;
                ArmAccept(l);
            }
        }
    }

    /// <summary>Re-arms the receives that ran out of ids, now that the kernel has some again.</summary>
    private void RearmReceives()
    {
        int turns = _rearm.Count;
        while (turns-- > 0)
        {
            TcpConnection c = _rearm.Dequeue();
            c.InRearmList = false;
            if (c.Closed)
            {
                FreeIfDone(c);
                continue;
            }
            UpdateReceive(c);
        }
    }

    private void AppendChunk(TcpConnection c, int block, int length)
    {
        if (block >= _chunkNext.Length)
        {
            GrowChunkTable(block);
        }
        _chunkNext[block] = -1;
        _chunkOffset[block] = 0;
        _chunkLength[block] = length;
        c.QueuedBytes += length;
        if (c.ChunkTail >= 0)
        {
            _chunkNext[c.ChunkTail] = block;
        }
        else
        {
            c.ChunkHead = block;
        }
        c.ChunkTail = block;
    }

    private void PopChunk(TcpConnection c)
    {
        int next = _chunkNext[c.ChunkHead];
        c.ChunkHead = next;
        if (next < 0)
        {
            c.ChunkTail = -1;
        }
    }

    private void FreeChunks(TcpConnection c)
    {
        while (c.ChunkHead >= 0)
        {
            int chunk = c.ChunkHead;
            PopChunk(c);
            _buffers.Release(chunk);
        }
        c.QueuedBytes = 0;
    }

    /// <summary>The table follows the receive pool, which makes blocks while it warms up and when a
    /// backlog is deeper than any before: its growth is the pool's, and counted as such.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void GrowChunkTable(int block)
    {
        using PoolGrowth.Scope growth = PoolGrowth.Measure();
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)block + 1);
        Array.Resize(ref _chunkNext, size);
        Array.Resize(ref _chunkOffset, size);
        Array.Resize(ref _chunkLength, size);
    }

    /// <summary>Id <paramref name="bid"/> gets a fresh block, or waits for memory.</summary>
    private void Refill(ushort bid)
    {
        int block = _buffers.TryRent(_options.ReceiveBlockBytes);
        if (block < 0)
        {
            _emptyBids[_emptyCount++] = bid;
            if (!_short)
            {
                _short = true;
                _counters[0].ReceiveShortages++;
            }
            return;
        }
        _bidBlock[bid] = block;
        _provided!.Provide(bid, _buffers.Pointer(block));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefillWaiting()
    {
        while (_emptyCount > 0)
        {
            int block = _buffers.TryRent(_options.ReceiveBlockBytes);
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
}
