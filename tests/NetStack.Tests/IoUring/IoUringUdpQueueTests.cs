// The io_uring UDP queue serves through UdpQueue's surface: requests in, replies out, truncation as UdpQueue, no allocation, a clean refusal and teardown.
using System.Diagnostics;
using System.Net;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Udp;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public class IoUringUdpQueueTests
{
    private const int TypeCount = 16;

    private static IoUringUdpQueue CreateQueue(IoUringOptions? ring = null)
    {
        bool created = IoUringUdpQueue.TryCreate(IPAddress.Loopback, 0, new UdpNicOptions { Port = 0 }, ring ?? new IoUringOptions(),
            out IoUringUdpQueue? queue, out string reason);
        Assert.True(created, reason);
        return queue!;
    }

    /// <summary>One IOKernel loop over the queue, as UdpNic makes it: receive, answer each good request ok, flush.</summary>
    private static int ServeOnce(IoUringUdpQueue queue, UdpCounters counters)
    {
        int n = queue.Receive(64, counters);
        for (int i = 0; i < n; i++)
        {
            ref readonly SockAddrIn peer = ref queue.Peer(i);
            ParseError error = WireProtocol.TryParseRequest(queue.Datagram(i), TypeCount, out RequestHeader request);
            counters.BadFrames[(int)error]++;
            queue.Stage(peer.Address, peer.Port, WireProtocol.ReplyTo(request, error == ParseError.None ? ResponseStatus.Ok : ResponseStatus.BadRequest), counters);
        }
        queue.Flush(counters);
        return n;
    }

    /// <summary>Serves until <paramref name="client"/> finished, failing the test at the deadline.</summary>
    private static void ServeUntil(IoUringUdpQueue queue, UdpCounters counters, Thread client)
    {
        var clock = Stopwatch.StartNew();
        while (client.IsAlive)
        {
            if (ServeOnce(queue, counters) == 0)
            {
                Thread.Yield();
            }
            Assert.True(clock.Elapsed < Deadline, "the client did not finish");
        }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(4)] // a burst drains the ring at once: ENOBUFS, re-armed at each Flush once buffers are back
    public void ServesTwoThousandRequestsThroughUdpQueuesSurfaceAndCountsEveryReply(int providedBuffers)
    {
        const int count = 2000;
        using IoUringUdpQueue queue = CreateQueue(new IoUringOptions { ProvidedBuffers = providedBuffers });
        var counters = new UdpCounters();
        using var client = new UdpTestClient(queue.LocalEndPoint.Port);
        List<ResponseHeader> replies = [];
        var sender = new Thread(() => replies = client.SendAndCollect(
            Enumerable.Range(0, count).Select(i => UdpTestClient.Request((ulong)i, type: (byte)(i % TypeCount), payloadLength: i % 100)), count));
        sender.Start();
        ServeUntil(queue, counters, sender);

        Assert.Equal(count, replies.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (ulong)i), replies.Select(r => r.Id).Order());
        Assert.All(replies, r => Assert.Equal(ResponseStatus.Ok, r.Status));
        Assert.Equal(count, counters.BadFrames[(int)ParseError.None]);
        Assert.Equal(count, counters.OkReplies);
        Assert.Equal(0, counters.SendFailures + counters.ReceiveFailures);
        IoUringCounters ring = queue.RingCounters;
        Assert.Equal(ring.Enters, ring.SubmitEnters + ring.TaskRunEnters + ring.OverflowEnters);
        Assert.Equal(0, ring.FullQueueEnters);
    }

    [Fact]
    public void FlushingWithoutReceivingLeavesTheDatagramsWaitingUntilTheyAreReceived()
    {
        // As when the IOKernel stops taking requests but still flushes: four buffers fill, the
        // multishot ends with ENOBUFS, and is not re-armed while every buffer is held.
        const int count = 50;
        using IoUringUdpQueue queue = CreateQueue(new IoUringOptions { ProvidedBuffers = 4 });
        var counters = new UdpCounters();
        using var client = new UdpTestClient(queue.LocalEndPoint.Port);
        queue.Flush(counters);
        for (int i = 0; i < count; i++)
        {
            client.Send(UdpTestClient.Request((ulong)i));
        }
        for (int i = 0; i < 1000; i++)
        {
            queue.Flush(counters);
        }
        var ids = new List<ulong>();
        var clock = Stopwatch.StartNew();
        while (ids.Count < count)
        {
            int n = queue.Receive(64, counters);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(ParseError.None, WireProtocol.TryParseRequest(queue.Datagram(i), TypeCount, out RequestHeader request));
                ids.Add(request.Id);
            }
            queue.Flush(counters);
            Assert.True(clock.Elapsed < Deadline, $"{ids.Count} of {count} datagrams received");
        }
        Assert.Equal(Enumerable.Range(0, count).Select(i => (ulong)i), ids);
        Assert.Equal(0, counters.ReceiveFailures);
    }

    [Fact]
    public void ADatagramLongerThanItsSlotIsCutToRxSlotBytesAndParsesAsOversized()
    {
        using IoUringUdpQueue queue = CreateQueue();
        var counters = new UdpCounters();
        using var client = new UdpTestClient(queue.LocalEndPoint.Port);
        client.Send(UdpTestClient.Request(7, payloadLength: 3000 - WireProtocol.HeaderSize));
        var clock = Stopwatch.StartNew();
        int n;
        while ((n = queue.Receive(64, counters)) == 0)
        {
            queue.Flush(counters);
            Assert.True(clock.Elapsed < Deadline, "no datagram arrived");
        }
        Assert.Equal(1, n);
        Assert.Equal(IoUringUdpQueue.RxSlotBytes, queue.Datagram(0).Length);
        Assert.Equal(ParseError.Oversized, WireProtocol.TryParseRequest(queue.Datagram(0), TypeCount, out _));
        Assert.Equal(LoopbackNetworkOrder, queue.Peer(0).Address);
    }

    [Fact]
    public void ServingAllocatesNothingPerDatagramOnceWarm()
    {
        using IoUringUdpQueue queue = CreateQueue();
        var counters = new UdpCounters();
        using var client = new UdpTestClient(queue.LocalEndPoint.Port);
        byte[][] requests = Enumerable.Range(0, 3000).Select(i => UdpTestClient.Request((ulong)i)).ToArray();
        List<ResponseHeader> replies = [];
        var sender = new Thread(() => replies = client.SendAndCollect(requests, requests.Length));
        sender.Start();
        long allocatedFrom = -1;
        long allocated = 0;
        var clock = Stopwatch.StartNew();
        while (sender.IsAlive && clock.Elapsed < Deadline)
        {
            if (allocatedFrom < 0 && counters.OkReplies >= 500)
            {
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            if (ServeOnce(queue, counters) == 0)
            {
                Thread.Yield();
            }
        }
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
        Assert.Equal(requests.Length, replies.Count);
        Assert.True(allocatedFrom >= 0, "never warmed up");
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void ARefusedIoUringMakesNoQueueAndBindsNothing()
    {
        bool created = IoUringUdpQueue.TryCreate(IPAddress.Loopback, 0, new UdpNicOptions { Port = 0 },
            new IoUringOptions { Simulate = IoUringSimulation.NotPermitted }, out IoUringUdpQueue? queue, out string reason);
        Assert.False(created);
        Assert.Null(queue);
        Assert.Contains("EPERM", reason);
    }

    [Fact]
    public void DisposingTheQueueClosesItsRingAndSocket()
    {
        int urings = OpenIoUrings();
        int port;
        using (IoUringUdpQueue queue = CreateQueue())
        {
            var counters = new UdpCounters();
            queue.Flush(counters); // starts it: enabled on this thread, receive armed
            port = queue.LocalEndPoint.Port;
            Assert.Equal(urings + 1, OpenIoUrings());
        }
        Assert.Equal(urings, OpenIoUrings());
        // The port is free again: a plain bind (no SO_REUSEPORT) succeeds.
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }
}
