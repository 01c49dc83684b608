// TCP through the ring: multishot accept, multishot recv into provided buffers reassembled byte-exact, linked send and writev, close and cancel.
using System.Net;
using System.Net.Sockets;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public unsafe class IoUringTcpTests
{
    private const byte AcceptKind = 1;
    private const byte RecvKind = 2;
    private const byte SendKind = 3;
    private const byte ControlKind = 4;
    private const ushort Group = 2;

    private static Socket Listener()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(16);
        return listener;
    }

    private static Socket Connect(Socket listener)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.ReceiveTimeout = (int)Deadline.TotalMilliseconds;
        client.Connect(listener.LocalEndPoint!);
        return client;
    }

    /// <summary>Arms a multishot accept and polls until <paramref name="count"/> connections came out of it.</summary>
    private static List<FileDescriptorHandle> AcceptConnections(IoUringRing ring, Socket listener, List<Socket> clients, int count)
    {
        IoUringPrep.AcceptMultishot(ref ring.GetSqe(), Fd(listener), NativeIoUring.SockNonBlock | NativeIoUring.SockCloExec,
            IoUringUserData.Pack(AcceptKind, 0));
        ring.Submit();
        for (int i = 0; i < count; i++)
        {
            clients.Add(Connect(listener));
        }
        var accepted = new List<FileDescriptorHandle>();
        PollUntil(ring, () => accepted.Count == count, cqe =>
        {
            Assert.Equal(AcceptKind, IoUringUserData.Kind(cqe.UserData));
            Assert.True(cqe.Res >= 0, $"accept failed: {cqe.Error}");
            Assert.True(cqe.HasMore, "the multishot accept ended");
            accepted.Add(new FileDescriptorHandle(cqe.Res));
        }, what: $"{count} connections");
        return accepted;
    }

    [Fact]
    public void MultishotAcceptAcceptsThreeLiveConnectionsUntilCancelled()
    {
        using Socket listener = Listener();
        using IoUringRing ring = CreateRing();
        IoUringBufferRing buffers = ring.RegisterBufferRing(Group, 16, 256);
        var clients = new List<Socket>();
        List<FileDescriptorHandle> accepted = AcceptConnections(ring, listener, clients, 3);
        try
        {
            Assert.Equal(3, accepted.Select(h => h.Fd).Distinct().Count());
            // Each accepted descriptor is a live connection to one client: client i's byte arrives on exactly one of them.
            for (int i = 0; i < 3; i++)
            {
                IoUringPrep.RecvMultishot(ref ring.GetSqe(), accepted[i].Fd, Group, IoUringUserData.Pack(RecvKind, (uint)i));
                clients[i].Send([(byte)(10 + i)]);
            }
            var byteOn = new Dictionary<uint, byte>();
            PollUntil(ring, () => byteOn.Count == 3, cqe =>
            {
                Assert.Equal(RecvKind, IoUringUserData.Kind(cqe.UserData));
                Assert.Equal(1, cqe.Res);
                buffers.OnDelivered(cqe.BufferId); // the poller holds it until Recycle, as the NIC marks it
                byteOn.Add(IoUringUserData.Index(cqe.UserData), buffers.Buffer(cqe.BufferId, 1)[0]);
                buffers.Recycle(cqe.BufferId);
            }, beforeSubmit: () => buffers.Publish(), what: "a byte on each connection");
            Assert.Equal(new byte[] { 10, 11, 12 }, byteOn.Values.Order().ToArray());

            // Cancelled, the multishot accept completes once more without IORING_CQE_F_MORE.
            IoUringPrep.CancelUserData(ref ring.GetSqe(), IoUringUserData.Pack(AcceptKind, 0), IoUringUserData.Pack(ControlKind, 0));
            LinuxError acceptEnd = LinuxError.None;
            int cancelResult = int.MinValue;
            bool acceptEnded = false;
            PollUntil(ring, () => acceptEnded && cancelResult != int.MinValue, cqe =>
            {
                switch (IoUringUserData.Kind(cqe.UserData))
                {
                    case AcceptKind:
                        Assert.False(cqe.HasMore);
                        acceptEnded = true;
                        acceptEnd = cqe.Error;
                        break;
                    case ControlKind:
                        cancelResult = cqe.Res;
                        break;
                }
            }, what: "the cancelled accept");
            Assert.Equal(LinuxError.Canceled, acceptEnd);
            Assert.Equal(0, cancelResult);
        }
        finally
        {
            accepted.ForEach(h => h.Dispose());
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public void MultishotRecvReassemblesAStreamSplitAcrossManyWritesByteExactThroughEightSmallBuffers()
    {
        const int total = 20_000;
        using Socket listener = Listener();
        using IoUringRing ring = CreateRing();
        IoUringBufferRing buffers = ring.RegisterBufferRing(Group, count: 8, bufferBytes: 256);
        var clients = new List<Socket>();
        List<FileDescriptorHandle> accepted = AcceptConnections(ring, listener, clients, 1);
        try
        {
            byte[] stream = new byte[total];
            FillPattern(stream, seq: 5);
            var writer = new Thread(() =>
            {
                int at = 0;
                for (int write = 0; at < total; write++)
                {
                    int n = Math.Min(total - at, write * 53 % 700 + 1);
                    clients[0].Send(stream, at, n, SocketFlags.None);
                    at += n;
                    if (write % 4 == 0)
                    {
                        Thread.Sleep(0);
                    }
                }
                clients[0].Shutdown(SocketShutdown.Send);
            }) { IsBackground = true };

            int fd = accepted[0].Fd;
            ulong armed = IoUringUserData.Pack(RecvKind, 0);
            IoUringPrep.RecvMultishot(ref ring.GetSqe(), fd, Group, armed);
            ring.Submit();
            writer.Start();

            var got = new List<byte>(total);
            bool endOfStream = false;
            bool rearm = false;
            int noBuffers = 0;
            PollUntil(ring, () => endOfStream, cqe =>
            {
                Assert.Equal(armed, cqe.UserData);
                if (cqe.Res > 0)
                {
                    Assert.True(cqe.HasBuffer);
                    buffers.OnDelivered(cqe.BufferId);
                    got.AddRange(buffers.Buffer(cqe.BufferId, cqe.Res).ToArray());
                    buffers.Recycle(cqe.BufferId);
                }
                if (cqe.HasMore)
                {
                    return;
                }
                if (cqe.Res == 0)
                {
                    endOfStream = true; // the peer's FIN: no More, result 0
                    return;
                }
                // Eight 256-byte buffers run dry under a fast writer: ENOBUFS, re-armed once they are back.
                Assert.Equal(LinuxError.NoBuffers, cqe.Error);
                noBuffers++;
                rearm = true;
            }, beforeSubmit: () =>
            {
                buffers.Publish();
                if (rearm)
                {
                    IoUringPrep.RecvMultishot(ref ring.GetSqe(), fd, Group, armed);
                    rearm = false;
                }
            }, what: $"{total} bytes and the end of the stream");

            Assert.True(writer.Join(Deadline));
            Assert.Equal(total, got.Count);
            Assert.True(stream.AsSpan().SequenceEqual(got.ToArray()), "the reassembled stream differs");
        }
        finally
        {
            accepted.ForEach(h => h.Dispose());
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public void ALinkedSendAndWritevDeliverFourBuffersInOrderAndCloseEndsTheStream()
    {
        using Socket listener = Listener();
        using IoUringRing ring = CreateRing();
        var clients = new List<Socket>();
        List<FileDescriptorHandle> accepted = AcceptConnections(ring, listener, clients, 1);
        byte[][] parts = [new byte[100], new byte[1000], new byte[1], new byte[5000]];
        for (int i = 0; i < parts.Length; i++)
        {
            FillPattern(parts[i], seq: i);
        }
        var pinned = parts.Select(p => System.Runtime.InteropServices.GCHandle.Alloc(p, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
        IoVec* iov = stackalloc IoVec[3];
        try
        {
            int fd = accepted[0].Fd;
            for (int i = 0; i < 3; i++)
            {
                iov[i].Base = (void*)pinned[i + 1].AddrOfPinnedObject();
                iov[i].Length = (nuint)parts[i + 1].Length;
            }
            ref IoUringSqe send = ref ring.GetSqe();
            IoUringPrep.Send(ref send, fd, (void*)pinned[0].AddrOfPinnedObject(), (uint)parts[0].Length, 0, IoUringUserData.Pack(SendKind, 0));
            // Linked: the writev starts only after the send completed, so the bytes keep their order
            // even if the send had to wait for room.
            send.Flags |= IoUringSqeFlags.IoLink;
            IoUringPrep.Writev(ref ring.GetSqe(), fd, iov, 3, IoUringUserData.Pack(SendKind, 1));
            Assert.Equal(2, ring.Submit());

            var results = new int[2];
            int done = 0;
            PollUntil(ring, () => done == 2, cqe =>
            {
                results[IoUringUserData.Index(cqe.UserData)] = cqe.Res;
                done++;
            }, what: "the send and the writev");
            Assert.Equal([100, 6001], results);

            byte[] expected = parts.SelectMany(p => p).ToArray();
            byte[] received = new byte[expected.Length];
            for (int at = 0; at < received.Length;)
            {
                int n = clients[0].Receive(received, at, received.Length - at, SocketFlags.None);
                Assert.True(n > 0, "the stream ended early");
                at += n;
            }
            Assert.Equal(expected, received);

            // IORING_OP_CLOSE takes the descriptor over: the handle lets go of it first.
            accepted[0].SetHandleAsInvalid();
            IoUringPrep.Close(ref ring.GetSqe(), fd, IoUringUserData.Pack(ControlKind, 0));
            int closeResult = int.MinValue;
            PollUntil(ring, () => closeResult != int.MinValue, cqe => closeResult = cqe.Res, what: "the close");
            Assert.Equal(0, closeResult);
            Assert.Equal(0, clients[0].Receive(new byte[1]));
        }
        finally
        {
            foreach (var handle in pinned)
            {
                handle.Free();
            }
            accepted.ForEach(h => h.Dispose());
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public void CancellingByDescriptorEndsTheConnectionsMultishotRecv()
    {
        using Socket listener = Listener();
        using IoUringRing ring = CreateRing();
        ring.RegisterBufferRing(Group, 16, 256);
        var clients = new List<Socket>();
        List<FileDescriptorHandle> accepted = AcceptConnections(ring, listener, clients, 1);
        try
        {
            int fd = accepted[0].Fd;
            IoUringPrep.RecvMultishot(ref ring.GetSqe(), fd, Group, IoUringUserData.Pack(RecvKind, 0));
            ring.Submit();
            IoUringPrep.CancelFd(ref ring.GetSqe(), fd, IoUringUserData.Pack(ControlKind, 0));
            LinuxError recvEnd = LinuxError.None;
            bool recvEnded = false;
            int cancelled = int.MinValue;
            PollUntil(ring, () => recvEnded && cancelled != int.MinValue, cqe =>
            {
                if (IoUringUserData.Kind(cqe.UserData) == RecvKind)
                {
                    Assert.False(cqe.HasMore);
                    recvEnded = true;
                    recvEnd = cqe.Error;
                }
                else
                {
                    cancelled = cqe.Res;
                }
            }, what: "the cancelled recv");
            Assert.Equal(LinuxError.Canceled, recvEnd);
            Assert.Equal(1, cancelled); // IORING_ASYNC_CANCEL_ALL counts what it cancelled
        }
        finally
        {
            accepted.ForEach(h => h.Dispose());
            clients.ForEach(c => c.Dispose());
        }
    }
}
