// One UDP NIC queue: a socket, and the native receive and send batches that recvmmsg and sendmmsg fill.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime.Protocol;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// A socket and its batches, all in native memory allocated once: the kernel writes received
/// datagrams and peer addresses straight into it, and reads replies straight out of it, so the
/// data path neither allocates nor pins anything per packet. Used by the IOKernel thread only.
/// </summary>
internal sealed unsafe class UdpQueue : IDisposable
{
    /// <summary>Bytes per receive buffer: more than <see cref="WireProtocol.MaxDatagramSize"/>, so a
    /// datagram that fills one (truncated or not) is longer than any valid request and parses as oversized.</summary>
    public const int RxSlotBytes = 2048;

    /// <summary>Bytes per reply buffer: one response header, on its own cache line.</summary>
    public const int TxSlotBytes = 64;

    /// <summary>sendmmsg retries while the kernel has no room (EAGAIN, ENOBUFS) before the rest of
    /// the batch is counted as failed: the IOKernel must not stall on one queue.</summary>
    private const int MaxSendRetries = 64;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly int _rxSlots;
    private readonly int _txSlots;
    private readonly MMsgHdr* _rxMsgs;
    private readonly IoVec* _rxIov;
    private readonly SockAddrIn* _rxAddr;
    private readonly byte* _rxBuf;
    private readonly MMsgHdr* _txMsgs;
    private readonly IoVec* _txIov;
    private readonly SockAddrIn* _txAddr;
    private readonly byte* _txBuf;
    private readonly ResponseStatus[] _txStatus;
    private int _txCount;
    private bool _disposed;

    /// <summary>Opens and binds the socket (SO_REUSEPORT, so the other queues can bind the same port) and allocates the batches.</summary>
    public UdpQueue(IPAddress address, int port, UdpNicOptions options)
    {
        _rxSlots = options.RxBatchPerQueue;
        _txSlots = options.TxBatchPerQueue;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.SetRawSocketOption(NativeUdp.SolSocket, NativeUdp.SoReusePort, BitConverter.GetBytes(1));
            _socket.ReceiveBufferSize = options.ReceiveBufferBytes;
            _socket.SendBufferSize = options.SendBufferBytes;
            _socket.Bind(new IPEndPoint(address, port));
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _fd = (int)_socket.SafeHandle.DangerousGetHandle();

        _rxMsgs = Alloc<MMsgHdr>(_rxSlots);
        _rxIov = Alloc<IoVec>(_rxSlots);
        _rxAddr = Alloc<SockAddrIn>(_rxSlots);
        _rxBuf = Alloc<byte>(_rxSlots * RxSlotBytes);
        for (int i = 0; i < _rxSlots; i++)
        {
            _rxIov[i].Base = _rxBuf + (long)i * RxSlotBytes;
            _rxIov[i].Length = RxSlotBytes;
            _rxMsgs[i].Header.Name = &_rxAddr[i];
            _rxMsgs[i].Header.NameLength = (uint)sizeof(SockAddrIn);
            _rxMsgs[i].Header.Iov = &_rxIov[i];
            _rxMsgs[i].Header.IovLength = 1;
        }

        _txMsgs = Alloc<MMsgHdr>(_txSlots);
        _txIov = Alloc<IoVec>(_txSlots);
        _txAddr = Alloc<SockAddrIn>(_txSlots);
        _txBuf = Alloc<byte>(_txSlots * TxSlotBytes);
        _txStatus = new ResponseStatus[_txSlots];
        for (int i = 0; i < _txSlots; i++)
        {
            _txIov[i].Base = _txBuf + (long)i * TxSlotBytes;
            _txIov[i].Length = WireProtocol.HeaderSize;
            _txAddr[i].Family = NativeUdp.AfInet;
            _txMsgs[i].Header.Name = &_txAddr[i];
            _txMsgs[i].Header.NameLength = (uint)sizeof(SockAddrIn);
            _txMsgs[i].Header.Iov = &_txIov[i];
            _txMsgs[i].Header.IovLength = 1;
        }
    }

    /// <summary>The address and port the socket is bound to.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Replies staged and not yet sent.</summary>
    public int Pending => _txCount;

    /// <summary>
    /// Receives up to <paramref name="max"/> datagrams without waiting. Returns how many arrived
    /// (0 when none waits, or on an error, which is counted); the caller reads them with
    /// <see cref="Datagram"/> and <see cref="Peer"/> before the next call.
    /// </summary>
    public int Receive(int max, UdpCounters counters)
    {
        int vlen = Math.Min(max, _rxSlots);
        for (int i = 0; i < vlen; i++)
        {
            // The kernel shrinks msg_namelen to what it wrote; give each slot the full size back.
            _rxMsgs[i].Header.NameLength = (uint)sizeof(SockAddrIn);
            _rxMsgs[i].Header.Flags = 0;
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

    /// <summary>Received datagram <paramref name="slot"/>. A truncated one is <see cref="RxSlotBytes"/>
    /// long, more than any valid request, so the parser calls it oversized.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Datagram(int slot) =>
        new(_rxBuf + (long)slot * RxSlotBytes, (int)Math.Min(_rxMsgs[slot].Length, (uint)RxSlotBytes));

    /// <summary>The sender of received datagram <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly SockAddrIn Peer(int slot) => ref _rxAddr[slot];

    /// <summary>Adds a reply to the send batch, sending the batch first when it is full (never dropping).</summary>
    public void Stage(uint address, ushort port, in ResponseHeader reply, UdpCounters counters)
    {
        if (_txCount == _txSlots)
        {
            Flush(counters);
        }
        int slot = _txCount++;
        WireProtocol.WriteResponse(new Span<byte>(_txBuf + (long)slot * TxSlotBytes, TxSlotBytes), reply);
        _txAddr[slot].Address = address;
        _txAddr[slot].Port = port;
        _txStatus[slot] = reply.Status;
    }

    /// <summary>
    /// Sends the staged replies with sendmmsg and empties the batch: every reply is either sent and
    /// counted by status, or counted as a send failure. Returns true when there was anything to send.
    /// </summary>
    public bool Flush(UdpCounters counters)
    {
        int count = _txCount;
        if (count == 0)
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
                    CountSent(_txStatus[i], counters);
                }
                sent += r;
                retries = 0;
                continue;
            }
            sent += FlushFailed(sent, count, ref retries, counters);
        }
        _txCount = 0;
        return true;
    }

    /// <summary>The first unsent reply could not go. Returns how many replies to give up on: none
    /// while the kernel may still make room, all the rest once it has not for a while, and just
    /// that one when it is the reply itself the kernel refuses (say, an unreachable address).</summary>
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

    /// <summary>Closes the socket and frees the batches. Only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _socket.Dispose();
        NativeMemory.AlignedFree(_rxMsgs);
        NativeMemory.AlignedFree(_rxIov);
        NativeMemory.AlignedFree(_rxAddr);
        NativeMemory.AlignedFree(_rxBuf);
        NativeMemory.AlignedFree(_txMsgs);
        NativeMemory.AlignedFree(_txIov);
        NativeMemory.AlignedFree(_txAddr);
        NativeMemory.AlignedFree(_txBuf);
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
