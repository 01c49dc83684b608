// UDP through the ring: multishot recvmsg into provided buffers, byte-exact with peers, buffers recycled, ENOBUFS re-armed, sendmsg replies, nothing allocated.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public unsafe class IoUringUdpTests
{
    private const byte ReceiveKind = 1;
    private const byte SendKind = 2;
    private const ushort Group = 1;
    private const int HeaderBytes = 8; // seq (int32) + sender index, then the pattern

    /// <summary>Datagram <paramref name="seq"/>'s length: 8 to 1007 bytes, varying from one to the next.</summary>
    private static int LengthOf(int seq) => HeaderBytes + seq * 37 % 1000;

    private static byte[] Datagram(int seq, int sender)
    {
        byte[] bytes = new byte[LengthOf(seq)];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, seq);
        bytes[4] = (byte)sender;
        FillPattern(bytes.AsSpan(HeaderBytes), seq);
        return bytes;
    }

    /// <summary>
    /// Sends <paramref name="count"/> datagrams alternately from two sockets, never more than
    /// <paramref name="window"/> ahead of what the receiver counted, so the socket buffer cannot
    /// overflow however the two threads are scheduled.
    /// </summary>
    private sealed class PacedSender : IDisposable
    {
        private readonly Socket[] _senders = [BoundUdpSocket(), BoundUdpSocket()];
        private readonly Thread _thread;
        private volatile bool _stop;
        public int Received;

        public PacedSender(IPEndPoint to, int count, int window)
        {
            _thread = new Thread(() =>
            {
                for (int seq = 0; seq < count && !_stop; seq++)
                {
                    byte[] bytes = Datagram(seq, seq % 2);
                    while (seq - Volatile.Read(ref Received) >= window && !_stop)
                    {
                        Thread.Yield();
                    }
                    _senders[seq % 2].SendTo(bytes, to);
                }
            }) { IsBackground = true, Name = "udp test sender" };
        }

        public ushort NetworkPort(int sender) => IoUringTestSupport.NetworkPort(_senders[sender]);

        public void Start() => _thread.Start();

        public void Dispose()
        {
            _stop = true;
            _thread.Join(Deadline);
            foreach (Socket s in _senders)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>Checks each datagram against the pattern its sequence number names, without allocating.</summary>
    private sealed class Checker(PacedSender sender)
    {
        public int Next;
        public int Bad;
        public string? FirstBad;

        public void Check(IoUringRecvMsg message)
        {
            ReadOnlySpan<byte> payload = message.Payload;
            int seq = payload.Length >= HeaderBytes ? BinaryPrimitives.ReadInt32LittleEndian(payload) : -1;
            int from = seq >= 0 ? payload[4] : -1;
            ref readonly SockAddrIn peer = ref message.PeerIPv4;
            bool good = seq == Next
                && !message.Truncated
                && payload.Length == LengthOf(seq)
                && from == seq % 2
                && message.Header.NameLen == sizeof(SockAddrIn)
                && peer.Family == NativeUdp.AfInet
                && peer.Address == LoopbackNetworkOrder
                && peer.Port == sender.NetworkPort(from)
                && MatchesPattern(payload[HeaderBytes..], seq);
            if (!good && Bad++ == 0)
            {
                FirstBad = $"datagram {Next}: seq {seq}, {payload.Length} bytes, from {from}, port {peer.Port}, truncated {message.Truncated}";
            }
            Next++;
        }
    }

    [Theory]
    [InlineData(IoUringTaskRun.Deferred)]
    [InlineData(IoUringTaskRun.Signal)]
    public void MultishotRecvMsgDeliversTenThousandDatagramsByteExactWithTheirPeersThroughSixtyFourBuffers(IoUringTaskRun mode)
    {
        const int count = 10_000;
        const int bufferCount = 64;
        using Socket receiver = BoundUdpSocket();
        using IoUringRing ring = CreateRing(new IoUringOptions { TaskRun = mode });
        Assert.Equal(mode, ring.TaskRun);
        IoUringBufferRing buffers = ring.RegisterBufferRing(Group, bufferCount, 2048);
        MsgHdr* msg = AllocRecvMsgHdr();
        try
        {
            using var sender = new PacedSender((IPEndPoint)receiver.LocalEndPoint!, count, window: 32);
            var checker = new Checker(sender);
            ulong armed = IoUringUserData.Pack(ReceiveKind, 0);
            IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(receiver), msg, Group, armed);
            Assert.Equal(1, ring.Submit());
            sender.Start();

            int rearms = 0;
            int ended = 0;
            bool rearm = false;
            PollUntil(ring, () => checker.Next == count, cqe =>
            {
                Assert.Equal(armed, cqe.UserData);
                if (!cqe.HasMore)
                {
                    ended++;
                    rearm = true;
                }
                if (cqe.Res < 0)
                {
                    Assert.Equal(LinuxError.NoBuffers, cqe.Error);
                    return;
                }
                Assert.True(cqe.HasBuffer);
                buffers.OnDelivered(cqe.BufferId); // the poller holds it until Recycle, as the NIC marks it
                Assert.True(IoUringRecvMsg.TryParse(buffers.Buffer(cqe.BufferId, cqe.Res), (int)msg->NameLength, 0, out IoUringRecvMsg message));
                checker.Check(message);
                buffers.Recycle(cqe.BufferId);
                Volatile.Write(ref sender.Received, checker.Next);
            }, beforeSubmit: () =>
            {
                buffers.Publish();
                if (rearm)
                {
                    IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(receiver), msg, Group, armed);
                    rearms++;
                    rearm = false;
                }
            }, what: $"{count} datagrams");

            Assert.True(checker.Bad == 0, $"{checker.Bad} datagrams wrong; first: {checker.FirstBad}");
            Assert.Equal(ended, rearms);
            IoUringCounters c = ring.Counters;
            // Every enter has a reason, and only the arm (and any re-arm) submitted anything: the
            // datagrams were never asked for with a system call of ours.
            Assert.Equal(c.Enters, c.SubmitEnters + c.TaskRunEnters + c.OverflowEnters);
            Assert.Equal(1 + rearms, c.SubmitEnters);
            if (mode == IoUringTaskRun.Signal)
            {
                // The kernel ran the receives on its own: the one system call was the arm.
                Assert.Equal(1 + rearms, c.Enters);
            }
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(msg);
        }
    }

    [Fact]
    public void AnEmptyBufferRingEndsTheMultishotWithENOBUFSAndReArmingLosesNothing()
    {
        const int count = 32;
        using Socket receiver = BoundUdpSocket();
        using Socket client = BoundUdpSocket();
        for (int seq = 0; seq < count; seq++)
        {
            client.SendTo(Datagram(seq, 0), receiver.LocalEndPoint!);
        }
        using IoUringRing ring = CreateRing();
        IoUringBufferRing buffers = ring.RegisterBufferRing(Group, count: 4, bufferBytes: 2048);
        MsgHdr* msg = AllocRecvMsgHdr();
        try
        {
            ulong armed = IoUringUserData.Pack(ReceiveKind, 0);
            IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(receiver), msg, Group, armed);
            var held = new List<ushort>();
            var seqs = new List<int>();
            int noBuffers = 0;
            int rearms = 0;
            bool ended = false;
            PollUntil(ring, () => seqs.Count == count, cqe =>
            {
                if (cqe.HasBuffer)
                {
                    buffers.OnDelivered(cqe.BufferId);
                    Assert.True(IoUringRecvMsg.TryParse(buffers.Buffer(cqe.BufferId, cqe.Res), (int)msg->NameLength, 0, out IoUringRecvMsg message));
                    int seq = BinaryPrimitives.ReadInt32LittleEndian(message.Payload);
                    Assert.Equal(LengthOf(seq), message.Payload.Length);
                    Assert.True(MatchesPattern(message.Payload[HeaderBytes..], seq));
                    seqs.Add(seq);
                    held.Add(cqe.BufferId); // held until the multishot ends: the ring runs dry
                }
                if (!cqe.HasMore)
                {
                    noBuffers += cqe.Error == LinuxError.NoBuffers ? 1 : 0;
                    ended = true;
                }
            }, beforeSubmit: () =>
            {
                if (ended)
                {
                    foreach (ushort id in held)
                    {
                        buffers.Recycle(id);
                    }
                    held.Clear();
                    buffers.Publish();
                    IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(receiver), msg, Group, armed);
                    rearms++;
                    ended = false;
                }
            }, what: $"{count} datagrams through 4 buffers");

            Assert.Equal(Enumerable.Range(0, count), seqs);
            Assert.True(noBuffers >= count / 4 - 1, $"{noBuffers} ENOBUFS endings for {count} datagrams through 4 buffers");
            Assert.True(rearms >= noBuffers);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(msg);
        }
    }

    [Fact]
    public void SendMsgEchoesEachDatagramFromItsProvidedBufferToItsPeer()
    {
        const int count = 100;
        using Socket server = BoundUdpSocket();
        using Socket client = BoundUdpSocket();
        client.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
        using IoUringRing ring = CreateRing();
        IoUringBufferRing buffers = ring.RegisterBufferRing(Group, count: 32, bufferBytes: 2048);
        // One send slot per buffer: the reply goes out of the provided buffer itself (name and
        // payload where recvmsg put them), and the buffer is recycled when the send completes.
        MsgHdr* sendMsgs = (MsgHdr*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(32 * sizeof(MsgHdr)));
        IoVec* sendIov = (IoVec*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)(32 * sizeof(IoVec)));
        MsgHdr* msg = AllocRecvMsgHdr();
        try
        {
            for (int i = 0; i < count; i++)
            {
                client.SendTo(Datagram(i, 0), server.LocalEndPoint!);
            }
            ulong armed = IoUringUserData.Pack(ReceiveKind, 0);
            IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(server), msg, Group, armed);
            int sent = 0;
            int sendErrors = 0;
            int held = 0;
            bool rearm = false;
            PollUntil(ring, () => sent == count, cqe =>
            {
                if (IoUringUserData.Kind(cqe.UserData) == SendKind)
                {
                    ushort id = (ushort)IoUringUserData.Index(cqe.UserData);
                    sendErrors += cqe.Res == (int)sendIov[id].Length ? 0 : 1;
                    buffers.Recycle(id);
                    held--;
                    sent++;
                    return;
                }
                // 100 datagrams wait and 32 buffers serve them: the multishot runs dry (ENOBUFS) and
                // is re-armed once sends have given buffers back.
                rearm |= !cqe.HasMore;
                if (!cqe.HasBuffer)
                {
                    Assert.Equal(LinuxError.NoBuffers, cqe.Error);
                    return;
                }
                held++;
                buffers.OnDelivered(cqe.BufferId);
                byte* start = buffers.BufferAddress(cqe.BufferId);
                Assert.True(IoUringRecvMsg.TryParse(buffers.Buffer(cqe.BufferId, cqe.Res), (int)msg->NameLength, 0, out IoUringRecvMsg message));
                MsgHdr* reply = &sendMsgs[cqe.BufferId];
                reply->Name = start + sizeof(IoUringRecvMsgOut);
                reply->NameLength = (uint)sizeof(SockAddrIn);
                sendIov[cqe.BufferId].Base = start + (cqe.Res - message.Payload.Length);
                sendIov[cqe.BufferId].Length = (nuint)message.Payload.Length;
                reply->Iov = &sendIov[cqe.BufferId];
                reply->IovLength = 1;
                IoUringPrep.SendMsg(ref ring.GetSqe(), Fd(server), reply, 0, IoUringUserData.Pack(SendKind, cqe.BufferId));
            }, beforeSubmit: () =>
            {
                buffers.Publish();
                if (rearm && held < buffers.Count)
                {
                    IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(server), msg, Group, armed);
                    rearm = false;
                }
            }, what: $"{count} echoes");

            Assert.Equal(0, sendErrors);
            byte[] into = new byte[2048];
            for (int i = 0; i < count; i++)
            {
                int n = client.Receive(into);
                Assert.Equal(Datagram(i, 0), into.AsSpan(0, n).ToArray());
            }
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(msg);
            System.Runtime.InteropServices.NativeMemory.Free(sendMsgs);
            System.Runtime.InteropServices.NativeMemory.Free(sendIov);
        }
    }

    [Fact]
    public void ThePollLoopAllocatesNothingPerDatagramOnceWarm()
    {
        const int count = 4000;
        const int warmUp = 1000;
        using Socket receiver = BoundUdpSocket();
        using IoUringRing ring = CreateRing();
        IoUringBufferRing buffers = ring.RegisterBufferRing(Group, 64, 2048);
        MsgHdr* msg = AllocRecvMsgHdr();
        try
        {
            using var sender = new PacedSender((IPEndPoint)receiver.LocalEndPoint!, count, window: 32);
            var checker = new Checker(sender);
            ulong armed = IoUringUserData.Pack(ReceiveKind, 0);
            IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(receiver), msg, Group, armed);
            ring.Submit();
            sender.Start();

            Span<IoUringCqe> batch = stackalloc IoUringCqe[64];
            long allocatedAtWarm = -1;
            bool armedStill = true;
            var clock = Stopwatch.StartNew();
            while (checker.Next < count && armedStill && clock.Elapsed < Deadline)
            {
                if (allocatedAtWarm < 0 && checker.Next >= warmUp)
                {
                    allocatedAtWarm = GC.GetAllocatedBytesForCurrentThread();
                }
                int n = ring.Reap(batch);
                for (int i = 0; i < n; i++)
                {
                    ref IoUringCqe cqe = ref batch[i];
                    armedStill &= cqe.HasMore;
                    if (cqe.HasBuffer)
                    {
                        buffers.OnDelivered(cqe.BufferId);
                    }
                    if (cqe.HasBuffer && IoUringRecvMsg.TryParse(buffers.Buffer(cqe.BufferId, cqe.Res), (int)msg->NameLength, 0, out IoUringRecvMsg message))
                    {
                        checker.Check(message);
                        buffers.Recycle(cqe.BufferId);
                    }
                }
                Volatile.Write(ref sender.Received, checker.Next);
                buffers.Publish();
                ring.Submit();
                if (n == 0)
                {
                    Thread.Yield();
                }
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedAtWarm;
            Assert.True(armedStill, "the multishot ended");
            Assert.Equal(count, checker.Next);
            Assert.True(checker.Bad == 0, checker.FirstBad);
            Assert.Equal(0, allocated);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(msg);
        }
    }
}
