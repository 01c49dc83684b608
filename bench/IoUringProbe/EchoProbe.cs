// 64-byte UDP echo on one server thread: recvmmsg/sendmmsg against io_uring (multishot recvmsg, sendmsg out of the provided buffer).
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;

namespace NetStack.IoUringProbe;

/// <summary>Set by the client when a round-trip run is over; the server loop polls it.</summary>
internal sealed class StopSignal
{
    public volatile bool Stop;
}

/// <summary>An echo server loop, made and run on one thread.</summary>
internal interface IEchoServer : IDisposable
{
    /// <summary>Echoes <paramref name="count"/> datagrams (already waiting in the socket) and returns once the last reply is sent.</summary>
    /// <exception cref="TimeoutException">They did not all come within <see cref="Probe.RunTimeout"/>.</exception>
    void EchoBacklog(int count);

    /// <summary>Echoes whatever arrives until <paramref name="stop"/> is set.</summary>
    void Serve(StopSignal stop);

    /// <summary>System calls made so far.</summary>
    long SystemCalls { get; }
}

/// <summary>recvmmsg of up to 64 datagrams, then one sendmmsg of them back out of the same buffers (UdpQueue's calls).</summary>
internal sealed unsafe class MMsgEchoServer : IEchoServer
{
    private const int Batch = 64;
    private readonly int _fd;
    private readonly MMsgHdr* _msgs;
    private readonly IoVec* _iov;
    private readonly byte* _buf;
    private readonly SockAddrIn* _addr;

    public MMsgEchoServer(Socket socket)
    {
        _fd = Probe.Fd(socket);
        _msgs = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(IoVec)));
        _buf = (byte*)NativeMemory.AllocZeroed((nuint)(Batch * 2048));
        _addr = (SockAddrIn*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(SockAddrIn)));
        for (int i = 0; i < Batch; i++)
        {
            _iov[i].Base = _buf + i * 2048;
            _msgs[i].Header.Name = &_addr[i];
            _msgs[i].Header.Iov = &_iov[i];
            _msgs[i].Header.IovLength = 1;
        }
    }

    public long SystemCalls { get; private set; }

    public void EchoBacklog(int count)
    {
        long deadline = Environment.TickCount64 + (long)Probe.RunTimeout.TotalMilliseconds;
        for (int echoed = 0; echoed < count;)
        {
            echoed += Poll();
            Probe.ThrowIfPast(deadline, echoed, count);
        }
    }

    public void Serve(StopSignal stop)
    {
        while (!stop.Stop)
        {
            Poll();
        }
    }

    private int Poll()
    {
        for (int i = 0; i < Batch; i++)
        {
            _iov[i].Length = 2048;
            _msgs[i].Header.NameLength = (uint)sizeof(SockAddrIn);
        }
        int n = NativeUdp.RecvMMsg(_fd, _msgs, Batch, NativeUdp.MsgDontWait, null);
        SystemCalls++;
        if (n <= 0)
        {
            return 0;
        }
        for (int i = 0; i < n; i++)
        {
            _iov[i].Length = _msgs[i].Length;
        }
        for (int sent = 0; sent < n;)
        {
            int r = NativeUdp.SendMMsg(_fd, _msgs + sent, (uint)(n - sent), NativeUdp.MsgDontWait);
            SystemCalls++;
            sent += Math.Max(r, 0);
        }
        return n;
    }

    public void Dispose()
    {
        NativeMemory.Free(_msgs);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_buf);
        NativeMemory.Free(_addr);
    }
}

/// <summary>
/// A multishot recvmsg into 512 provided buffers; each datagram goes back with a sendmsg SQE that
/// points into its own buffer (name and payload where the kernel put them), the buffer recycled when
/// the send completes; buffers published and everything submitted once per loop. The multishot is
/// armed when a run starts and cancelled when it ends, so no work happens between runs.
/// </summary>
internal sealed unsafe class RingEchoServer : IEchoServer
{
    private const int BufferCount = 512;
    private const byte RecvKind = 1;
    private const byte SendKind = 2;
    private const byte CancelKind = 3;
    private readonly int _fd;
    private readonly IoUringRing _ring;
    private readonly IoUringBufferRing _buffers;
    private readonly MsgHdr* _recvMsg;
    private readonly MsgHdr* _sendMsgs;
    private readonly IoVec* _sendIov;
    private readonly IoUringCqe[] _batch = new IoUringCqe[128];
    private readonly ulong _armed = IoUringUserData.Pack(RecvKind, 0);
    private int _held;
    private bool _live;
    private bool _rearm;
    private int _sendsDone;

    public RingEchoServer(Socket socket, IoUringTaskRun mode)
    {
        _fd = Probe.Fd(socket);
        if (!IoUringRing.TryCreate(new IoUringOptions { TaskRun = mode, SubmissionEntries = 512 }, out IoUringRing? ring, out string reason))
        {
            throw new InvalidOperationException(reason);
        }
        _ring = ring;
        _buffers = ring.RegisterBufferRing(1, BufferCount, 2048);
        _recvMsg = (MsgHdr*)NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
        _recvMsg->NameLength = (uint)sizeof(SockAddrIn);
        _sendMsgs = (MsgHdr*)NativeMemory.AllocZeroed((nuint)(BufferCount * sizeof(MsgHdr)));
        _sendIov = (IoVec*)NativeMemory.AllocZeroed((nuint)(BufferCount * sizeof(IoVec)));
    }

    public long SystemCalls => _ring.Counters.Enters;

    /// <summary>Multishot re-arms (after ENOBUFS) so far.</summary>
    public long Rearms { get; private set; }

    public void EchoBacklog(int count)
    {
        Arm();
        _sendsDone = 0;
        long deadline = Environment.TickCount64 + (long)Probe.RunTimeout.TotalMilliseconds;
        while (_sendsDone < count)
        {
            Poll(mayRearm: true);
            Probe.ThrowIfPast(deadline, _sendsDone, count);
        }
        Disarm();
    }

    public void Serve(StopSignal stop)
    {
        Arm();
        while (!stop.Stop)
        {
            Poll(mayRearm: true);
        }
        Disarm();
    }

    private void Arm()
    {
        IoUringPrep.RecvMsgMultishot(ref _ring.GetSqe(), _fd, _recvMsg, _buffers.Group, _armed);
        _live = true;
    }

    /// <summary>Cancels the multishot and polls until it has ended and every send has completed.</summary>
    private void Disarm()
    {
        IoUringPrep.CancelUserData(ref _ring.GetSqe(), _armed, IoUringUserData.Pack(CancelKind, 0));
        while (_live || _held > 0)
        {
            Poll(mayRearm: false);
        }
        _rearm = false;
    }

    private void Poll(bool mayRearm)
    {
        int n = _ring.Reap(_batch);
        for (int i = 0; i < n; i++)
        {
            ref IoUringCqe cqe = ref _batch[i];
            byte kind = IoUringUserData.Kind(cqe.UserData);
            if (kind == SendKind)
            {
                _buffers.Recycle((ushort)IoUringUserData.Index(cqe.UserData));
                _held--;
                _sendsDone++;
                continue;
            }
            if (kind != RecvKind)
            {
                continue;
            }
            if (!cqe.HasMore)
            {
                // Ended: by the cancel (ECANCELED), or a dry buffer ring (ENOBUFS), to be re-armed.
                _live = false;
                _rearm = cqe.Error == LinuxError.NoBuffers;
            }
            if (!cqe.HasBuffer)
            {
                continue;
            }
            ushort id = cqe.BufferId;
            _held++;
            if (!IoUringRecvMsg.TryParse(_buffers.Buffer(id, cqe.Res), (int)_recvMsg->NameLength, 0, out IoUringRecvMsg message))
            {
                _buffers.Recycle(id);
                _held--;
                continue;
            }
            byte* start = _buffers.BufferAddress(id);
            _sendIov[id].Base = start + (cqe.Res - message.Payload.Length);
            _sendIov[id].Length = (nuint)message.Payload.Length;
            _sendMsgs[id].Name = start + sizeof(IoUringRecvMsgOut);
            _sendMsgs[id].NameLength = (uint)sizeof(SockAddrIn);
            _sendMsgs[id].Iov = &_sendIov[id];
            _sendMsgs[id].IovLength = 1;
            IoUringPrep.SendMsg(ref _ring.GetSqe(), _fd, &_sendMsgs[id], 0, IoUringUserData.Pack(SendKind, id));
        }
        _buffers.Publish();
        if (mayRearm && _rearm && _held < BufferCount)
        {
            Arm();
            _rearm = false;
            Rearms++;
        }
        _ring.Submit();
    }

    public void Dispose()
    {
        _ring.Dispose();
        NativeMemory.Free(_recvMsg);
        NativeMemory.Free(_sendMsgs);
        NativeMemory.Free(_sendIov);
    }
}

/// <summary>The load: bursts of 64-byte datagrams sent with sendmmsg, replies taken with recvmmsg; or one at a time, spinning for each reply.</summary>
internal sealed unsafe class EchoClient : IDisposable
{
    private const int Batch = 64;
    private const int DatagramBytes = 64;
    private readonly Socket _socket = Probe.BoundUdpSocket();
    private readonly int _fd;
    private readonly MMsgHdr* _tx;
    private readonly MMsgHdr* _rx;
    private readonly IoVec* _iov;
    private readonly byte* _buf;
    private readonly SockAddrIn* _addr;

    public EchoClient(IPEndPoint server)
    {
        _fd = Probe.Fd(_socket);
        _tx = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(MMsgHdr)));
        _rx = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(2 * Batch * sizeof(IoVec)));
        _buf = (byte*)NativeMemory.AllocZeroed((nuint)(2 * Batch * 2048));
        _addr = (SockAddrIn*)NativeMemory.AllocZeroed((nuint)((Batch + 1) * sizeof(SockAddrIn)));
        SockAddrIn* to = &_addr[Batch];
        to->Family = NativeUdp.AfInet;
        to->Port = (ushort)IPAddress.HostToNetworkOrder((short)server.Port);
        to->Address = BitConverter.ToUInt32(server.Address.GetAddressBytes());
        for (int i = 0; i < Batch; i++)
        {
            _iov[i].Base = _buf + i * 2048;
            _iov[i].Length = DatagramBytes;
            _tx[i].Header.Name = to;
            _tx[i].Header.NameLength = (uint)sizeof(SockAddrIn);
            _tx[i].Header.Iov = &_iov[i];
            _tx[i].Header.IovLength = 1;
            _iov[Batch + i].Base = _buf + (Batch + i) * 2048;
            _iov[Batch + i].Length = 2048;
            _rx[i].Header.Name = &_addr[i];
            _rx[i].Header.Iov = &_iov[Batch + i];
            _rx[i].Header.IovLength = 1;
        }
    }

    /// <summary>Sends <paramref name="count"/> datagrams as fast as sendmmsg takes them.</summary>
    public void SendBurst(int count)
    {
        for (int left = count; left > 0;)
        {
            left -= Math.Max(0, NativeUdp.SendMMsg(_fd, _tx, (uint)Math.Min(left, Batch), NativeUdp.MsgDontWait));
        }
    }

    /// <summary>Takes replies until <paramref name="count"/> arrived or a second passed without one; returns how many arrived.</summary>
    public int Receive(int count)
    {
        int got = 0;
        long lastProgress = Environment.TickCount64;
        while (got < count && Environment.TickCount64 - lastProgress < 1000)
        {
            int n = ReceiveOnce(Batch);
            if (n > 0)
            {
                got += n;
                lastProgress = Environment.TickCount64;
            }
        }
        return got;
    }

    /// <summary>One datagram at a time: the round trip of each, in ns, after <paramref name="warmUp"/> unrecorded ones.</summary>
    public long[] RoundTrips(int count, int warmUp)
    {
        var rtts = new long[count];
        long giveUp = System.Diagnostics.Stopwatch.Frequency; // a reply a second late is lost, not slow
        for (int i = -warmUp; i < count; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            SendBurst(1);
            while (ReceiveOnce(1) <= 0 && System.Diagnostics.Stopwatch.GetTimestamp() - start < giveUp)
            {
            }
            if (i >= 0)
            {
                rtts[i] = (long)System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalNanoseconds;
            }
        }
        return rtts;
    }

    private int ReceiveOnce(int max)
    {
        for (int i = 0; i < max; i++)
        {
            _rx[i].Header.NameLength = (uint)sizeof(SockAddrIn);
        }
        return NativeUdp.RecvMMsg(_fd, _rx, (uint)max, NativeUdp.MsgDontWait, null);
    }

    public void Dispose()
    {
        _socket.Dispose();
        NativeMemory.Free(_tx);
        NativeMemory.Free(_rx);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_buf);
        NativeMemory.Free(_addr);
    }
}
