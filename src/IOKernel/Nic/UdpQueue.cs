// One UDP NIC queue: a socket, the receive slots recvmmsg fills and the send slots sendmmsg drains.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// A socket and its batches, in native memory allocated once. The kernel writes each datagram
/// straight into a block of the NIC's <see cref="ReceiveBufferPool"/>; a datagram that becomes a
/// request keeps its block (its handler reads it in place) and the slot takes a fresh one. Replies
/// leave from where their handlers wrote them: each send slot gathers a datagram header of its own
/// and pieces of a green thread's reply, and the green threads are recycled once sendmmsg has
/// taken their bytes. Used by the IOKernel thread only; nothing is allocated per packet.
/// </summary>
internal sealed unsafe class UdpQueue : IDisposable
{
    /// <summary>Bytes per receive block: more than <see cref="WireProtocol.MaxDatagramSize"/>, so a
    /// datagram that fills one (truncated or not) is longer than any valid request and parses as oversized.</summary>
    public const int RxSlotBytes = 2048;

    private const int TxInlineBytes = UdpDatagrams.InlineBytes;

    private const int TxIovPerSlot = UdpDatagrams.IovPerDatagram;

    /// <summary>sendmmsg retries while the kernel has no room (EAGAIN, ENOBUFS) before the rest of
    /// the batch is counted as failed: the IOKernel must not stall on one queue.</summary>
    private const int MaxSendRetries = 64;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly ReceiveBufferPool _buffers;
    private readonly int _slotBytes;
    private readonly int _rxSlots;
    private readonly int _txSlots;
    private readonly MMsgHdr* _rxMsgs;
    private readonly IoVec* _rxIov;
    private readonly SockAddr* _rxAddr;
    private readonly int[] _rxBlock;
    private readonly MMsgHdr* _txMsgs;
    private readonly IoVec* _txIov;
    private readonly SockAddr* _txAddr;
    private readonly byte* _txInline;
    private readonly byte[] _txStatus;
    private readonly GreenThread?[] _txThreads;
    private int _txCount;
    private int _threadCount;
    private bool _disposed;

    /// <summary>Opens and binds the socket (SO_REUSEPORT, so the other queues can bind the same port) and allocates the batches.</summary>
    /// <param name="address">The address to bind.</param>
    /// <param name="port">The port to bind (0: the kernel chooses).</param>
    /// <param name="options">Buffer sizes and batch lengths.</param>
    /// <param name="buffers">Where receive blocks come from.</param>
    /// <param name="slotBytes">Each datagram's receive block (the protocol's <see cref="AppProtocol.DatagramReceiveBytes"/>).</param>
    public UdpQueue(IPAddress address, int port, UdpNicOptions options, ReceiveBufferPool buffers, int slotBytes = RxSlotBytes)
    {
        _buffers = buffers;
        _slotBytes = slotBytes;
        _rxSlots = options.RxBatchPerQueue;
        _txSlots = options.TxBatchPerQueue;
        _socket = OpenSocket(address, port, options);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _fd = (int)_socket.SafeHandle.DangerousGetHandle();

        _rxMsgs = Alloc<MMsgHdr>(_rxSlots);
        _rxIov = Alloc<IoVec>(_rxSlots);
        _rxAddr = Alloc<SockAddr>(_rxSlots);
        _rxBlock = new int[_rxSlots];
        Array.Fill(_rxBlock, -1);
        for (int i = 0; i < _rxSlots; i++)
        {
            _rxMsgs[i].Header.Name = &_rxAddr[i];
            _rxMsgs[i].Header.Iov = &_rxIov[i];
            _rxMsgs[i].Header.IovLength = 1;
        }

        _txMsgs = Alloc<MMsgHdr>(_txSlots);
        _txIov = Alloc<IoVec>(_txSlots * TxIovPerSlot);
        _txAddr = Alloc<SockAddr>(_txSlots);
        _txInline = Alloc<byte>(_txSlots * TxInlineBytes);
        _txStatus = new byte[_txSlots];
        // A reply of up to (slots) datagrams, plus one thread per slot for single-datagram replies.
        _txThreads = new GreenThread?[_txSlots];
        for (int i = 0; i < _txSlots; i++)
        {
            _txMsgs[i].Header.Name = &_txAddr[i];
            _txMsgs[i].Header.Iov = &_txIov[i * TxIovPerSlot];
        }
    }

    /// <summary>The address and port the socket is bound to.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>A NIC queue's socket, for either backend: bound with SO_REUSEPORT (so the other queues
    /// can bind the same port) and socket buffers as configured.</summary>
    /// <exception cref="SocketException">The address cannot be bound.</exception>
    public static Socket OpenSocket(IPAddress address, int port, UdpNicOptions options)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.SetRawSocketOption(NativeUdp.SolSocket, NativeUdp.SoReusePort, BitConverter.GetBytes(1));
            socket.ReceiveBufferSize = options.ReceiveBufferBytes;
            socket.SendBufferSize = options.SendBufferBytes;
            socket.Bind(new IPEndPoint(address, port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Datagrams staged and not yet sent.</summary>
    public int Pending => _txCount;

    /// <summary>
    /// Receives up to <paramref name="max"/> datagrams without waiting. Returns how many arrived
    /// (0 when none waits, when no receive block can be had, or on an error, which is counted); the
    /// caller reads them with <see cref="Datagram"/> and <see cref="Peer"/>, and takes the block of
    /// each one that becomes a request with <see cref="TakeBlock"/>, before the next call.
    /// </summary>
    public int Receive(int max, UdpCounters counters)
    {
        int vlen = Math.Min(max, _rxSlots);
        for (int i = 0; i < vlen; i++)
        {
            if (_rxBlock[i] < 0)
            {
                int block = _buffers.TryRent(_slotBytes);
                if (block < 0)
                {
                    // Receive memory is spent on requests in flight: take only what has room, and
                    // leave the rest in the socket's buffer (backpressure, counted by the kernel if it overflows).
                    vlen = i;
                    counters.ReceiveBufferShortages++;
                    break;
                }
                _rxBlock[i] = block;
                _rxIov[i].Base = _buffers.Pointer(block);
                _rxIov[i].Length = (nuint)_slotBytes;
            }
            // The kernel shrinks msg_namelen to what it wrote; give each slot the full size back.
            _rxMsgs[i].Header.NameLength = SockAddr.Size;
            _rxMsgs[i].Header.Flags = 0;
        }
        if (vlen == 0)
        {
            return 0;
        }
        int got = NativeUdp.RecvMMsg(_fd, _rxMsgs, (uint)vlen, NativeUdp.MsgDontWait, null);
        if (got < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is not (NativeUdp.EAgain or NativeUdp.EIntr))
            {
                counters.ReceiveFailures++;
            }
            return 0;
        }
        return got;
    }

    /// <summary>Received datagram <paramref name="slot"/>. A truncated one fills its block, which is
    /// longer than any valid request of its protocol, so the parser calls it oversized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Datagram(int slot) => new(DatagramStart(slot), DatagramLength(slot));

    /// <summary>Where received datagram <paramref name="slot"/> starts: its receive block's start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* DatagramStart(int slot) => (byte*)_rxIov[slot].Base;

    /// <summary>Bytes of received datagram <paramref name="slot"/> (see <see cref="Datagram"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DatagramLength(int slot) => (int)Math.Min(_rxMsgs[slot].Length, (uint)_slotBytes);

    /// <summary>The receive block received datagram <paramref name="slot"/> is in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int BlockOf(int slot) => _rxBlock[slot];

    /// <summary>The sender of received datagram <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly SockAddr Peer(int slot) => ref _rxAddr[slot];

    /// <summary>Gives the block of received datagram <paramref name="slot"/> to a request; the slot
    /// takes a fresh block at the next receive.</summary>
    public int TakeBlock(int slot)
    {
        int block = _rxBlock[slot];
        _rxBlock[slot] = -1;
        return block;
    }

    /// <summary>Stages a reply that lives in a send slot's own buffer: a failure or rejection, after an
    /// optional datagram header. Sends the batch first when it is full (never dropping).</summary>
    /// <param name="peer">Where it goes.</param>
    /// <param name="protocol">Writes the header and the failure reply.</param>
    /// <param name="info">What the reply says.</param>
    /// <param name="counters">The NIC's counters, for the send a full batch forces first.</param>
    public void StageFailure(in SockAddr peer, AppProtocol protocol, in ReplyInfo info, UdpCounters counters)
    {
        if (_txCount == _txSlots)
        {
            Flush(counters);
        }
        int slot = _txCount;
        int n = UdpDatagrams.FillFailure(&_txIov[slot * TxIovPerSlot], _txInline + (long)slot * TxInlineBytes, protocol, info);
        if (n > 0)
        {
            Commit(slot, peer, n, (byte)info.Status);
        }
    }

    /// <summary>
    /// Stages a finished reply as one datagram, or as several numbered ones for a protocol that splits
    /// them, gathering the reply's pieces where they lie. The green thread is recycled once every
    /// datagram of its reply has been handed to the kernel.
    /// </summary>
    /// <returns>False when the reply needs more datagrams than the protocol allows (it must fit one):
    /// nothing was staged.</returns>
    public bool StageReply(GreenThread thread, in SockAddr peer, AppProtocol protocol, UdpCounters counters)
    {
        Runtime.Buffers.ReplyWriter reply = thread.Reply;
        // A reply longer than a whole batch is larger than any datagram reply we send.
        int count = UdpDatagrams.Count(reply, protocol, _txSlots);
        if (count < 0)
        {
            return false;
        }
        if (_txCount + count > _txSlots || _threadCount == _txThreads.Length)
        {
            Flush(counters);
        }
        ReplyInfo info = UdpDatagrams.InfoFor(thread, protocol, count);
        int piece = 0;
        int pieceOffset = 0;
        for (int d = 0; d < count; d++)
        {
            int slot = _txCount;
            int n = UdpDatagrams.Fill(&_txIov[slot * TxIovPerSlot], _txInline + (long)slot * TxInlineBytes, reply, protocol, info,
                d, count, ref piece, ref pieceOffset);
            if (n < 0)
            {
                _txCount -= d; // nothing of the reply is sent
                return false;
            }
            Commit(slot, peer, n, d == count - 1 ? (byte)thread.Status : UdpDatagrams.NotCounted);
        }
        _txThreads[_threadCount++] = thread;
        return true;
    }

    /// <summary>
    /// Sends the staged datagrams with sendmmsg and empties the batch: every datagram is either sent
    /// or counted as a send failure, and every green thread whose reply was staged is recycled.
    /// Returns true when there was anything to send.
    /// </summary>
    public bool Flush(UdpCounters counters, INicHost? host = null)
    {
        int count = _txCount;
        if (count == 0 && _threadCount == 0)
        {
            return false;
        }
        int sent = 0;
        int retries = 0;
        while (sent < count)
        {
            int r = NativeUdp.SendMMsg(_fd, _txMsgs + sent, (uint)(count - sent), NativeUdp.MsgDontWait);
            if (r > 0)
            {
                for (int i = sent; i < sent + r; i++)
                {
                    UdpDatagrams.CountSent(_txStatus[i], counters);
                }
                sent += r;
                retries = 0;
                continue;
            }
            sent += FlushFailed(sent, count, ref retries, counters);
        }
        _txCount = 0;
        for (int i = 0; i < _threadCount; i++)
        {
            (host ?? Host)!.Recycle(_txThreads[i]!);
            _txThreads[i] = null;
        }
        _threadCount = 0;
        return true;
    }

    /// <summary>Who recycles the green threads (the IOKernel).</summary>
    public INicHost? Host { get; set; }

    private void Commit(int slot, in SockAddr peer, int iovCount, byte status)
    {
        _txAddr[slot] = peer;
        _txMsgs[slot].Header.NameLength = peer.Length;
        _txMsgs[slot].Header.IovLength = (nuint)iovCount;
        _txStatus[slot] = status;
        _txCount++;
    }

    /// <summary>The first unsent datagram could not go. Returns how many to give up on: none while
    /// the kernel may still make room, all the rest once it has not for a while, and just that one
    /// when it is the datagram itself the kernel refuses (say, an unreachable address).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int FlushFailed(int sent, int count, ref int retries, UdpCounters counters)
    {
        int errno = Marshal.GetLastPInvokeError();
        if (errno is NativeUdp.EAgain or NativeUdp.ENoBufs or NativeUdp.EIntr)
        {
            if (retries++ < MaxSendRetries)
            {
                Thread.SpinWait(20);
                return 0;
            }
            counters.SendFailures += count - sent;
            return count - sent;
        }
        counters.SendFailures++;
        return 1;
    }

    /// <summary>Closes the socket and frees the batches and the blocks its slots hold. Only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _socket.Dispose();
        for (int i = 0; i < _rxSlots; i++)
        {
            if (_rxBlock[i] >= 0)
            {
                _buffers.Release(_rxBlock[i]);
                _rxBlock[i] = -1;
            }
        }
        NativeMemory.AlignedFree(_rxMsgs);
        NativeMemory.AlignedFree(_rxIov);
        NativeMemory.AlignedFree(_rxAddr);
        NativeMemory.AlignedFree(_txMsgs);
        NativeMemory.AlignedFree(_txIov);
        NativeMemory.AlignedFree(_txAddr);
        NativeMemory.AlignedFree(_txInline);
    }

    private static T* Alloc<T>(int count) where T : unmanaged
    {
        nuint bytes = (nuint)(count * sizeof(T));
        // Cache-line aligned, so neighbouring queues' batches never share a line.
        var p = (T*)NativeMemory.AlignedAlloc(bytes, 64);
        NativeMemory.Clear(p, bytes);
        return p;
    }
}
