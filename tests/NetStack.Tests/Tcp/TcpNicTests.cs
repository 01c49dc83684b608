// The TCP NIC on each backend: byte-exact round trips, framing at every split, pipelining in order, and every way a connection can end.
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.Tcp;

/// <summary>The TCP behaviour every backend must have; each backend runs all of it (the classes at the end).</summary>
public abstract class TcpNicTests
{
    /// <summary>The backend both NICs run on.</summary>
    protected abstract NicBackend Backend { get; }

    /// <summary>Whether carriers write their own replies (<see cref="TcpNicOptions.WorkerSends"/>).</summary>
    protected virtual bool WorkerSends => false;

    /// <summary>The spin app on this backend.</summary>
    private NetworkTestHost Spin(string policy = "ps", int workers = 1, TcpNicOptions? tcp = null, string address = "127.0.0.1",
        IRequestHandler? handler = null, int maxReplyBytes = AppOptions.DefaultMaxReplyBytes)
    {
        tcp ??= new TcpNicOptions();
        tcp.WorkerSends = WorkerSends;
        return NetworkTestHost.Spin(policy, workers, tcp, address, handler, maxReplyBytes, backend: Backend);
    }

    [Fact]
    public void CarriersWriteRepliesThemselvesOnlyWhenAskedAndEveryReplyIsCountedOnce()
    {
        using var host = Spin();
        using var client = new TcpTestClient(host.TcpPort);
        // One at a time: each reply is at the head of its window when its request finishes.
        for (int i = 0; i < 20; i++)
        {
            client.Send(TcpTestClient.Frame((ulong)i, payloadLength: 100 + i));
            SpinReply reply = Assert.Single(client.Read(1));
            Assert.Equal((ulong)i, reply.Header.Id);
            Assert.Equal(TcpTestClient.Pattern((ulong)i, 100 + i), reply.Payload);
        }
        host.Stop();
        Assert.Equal(20, host.Tcp.Replies);
        if (WorkerSends)
        {
            // Not all 20: a request framed before the IOKernel took its predecessor's completion finds
            // that reply still at the head of the window, and leaves its own to the IOKernel.
            Assert.InRange(host.Tcp.WorkerSends, 1, 20);
        }
        else
        {
            Assert.Equal(0, host.Tcp.WorkerSends);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1400)]
    [InlineData(WireProtocol.MaxStreamPayloadBytes)]
    public void ReplyEchoesThePayloadByteForByte(int payload)
    {
        using var host = Spin();
        using var client = new TcpTestClient(host.TcpPort);
        byte[] frame = TcpTestClient.Frame(42, type: 3, serviceNs: 2_000, payloadLength: payload);
        client.Send(frame);

        SpinReply reply = Assert.Single(client.Read(1));
        Assert.Equal(ResponseStatus.Ok, reply.Header.Status);
        Assert.Equal(42ul, reply.Header.Id);
        Assert.Equal(3, reply.Header.Type);
        Assert.Equal(TcpTestClient.Pattern(42, payload), reply.Payload);
    }

    [Fact]
    public void RequestSplitAtEveryByteFramesTheSame()
    {
        using var host = Spin();
        byte[] a = TcpTestClient.Frame(1, payloadLength: 13);
        byte[] b = TcpTestClient.Frame(2, payloadLength: 0);
        byte[] both = [.. a, .. b];
        for (int split = 1; split < both.Length; split++)
        {
            using var client = new TcpTestClient(host.TcpPort);
            client.Send(both.AsSpan(0, split));
            // Give the server a chance to read the first part alone, so the split really reaches it apart.
            Thread.Sleep(split % 8 == 0 ? 2 : 0);
            client.Send(both.AsSpan(split));
            List<SpinReply> replies = client.Read(2);
            Assert.Equal([1ul, 2ul], replies.Select(r => r.Header.Id));
            Assert.Equal(TcpTestClient.Pattern(1, 13), replies[0].Payload);
            Assert.Empty(replies[1].Payload);
        }
        host.Stop();
        Assert.Equal(0, host.Tcp.BadInput);
        Assert.Equal(2L * (a.Length + b.Length - 1), host.Tcp.Requests);
    }

    [Fact]
    public void HundredPipelinedRequestsInOneWriteAreAnsweredInOrder()
    {
        using var host = Spin();
        using var client = new TcpTestClient(host.TcpPort);
        byte[] burst = Enumerable.Range(0, 100).SelectMany(i => TcpTestClient.Frame((ulong)i, payloadLength: i % 7)).ToArray();
        client.Send(burst);
        List<SpinReply> replies = client.Read(100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (ulong)i), replies.Select(r => r.Header.Id));
        Assert.All(replies, r => Assert.Equal(TcpTestClient.Pattern(r.Header.Id, (int)(r.Header.Id % 7)), r.Payload));
    }

    [Theory]
    [InlineData("ps", 1)]
    [InlineData("ps", 2)]
    [InlineData("cfcfs", 2)]
    public void RepliesLeaveInRequestOrderWhenRequestsCompleteOutOfOrder(string policy, int workers)
    {
        // Long requests first, short ones after: under ps the short ones finish first (the long ones
        // are preempted), with two workers they finish in parallel; on the wire the order holds.
        using var host = Spin(policy, workers);
        using var client = new TcpTestClient(host.TcpPort);
        byte[] burst = Enumerable.Range(0, 40).SelectMany(i =>
            TcpTestClient.Frame((ulong)i, serviceNs: i % 5 == 0 ? 3_000_000 : 1_000, payloadLength: 8)).ToArray();
        client.Send(burst);
        List<SpinReply> replies = client.Read(40);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (ulong)i), replies.Select(r => r.Header.Id));
        host.Stop();
        // With one pinned worker the IOKernel has a core of its own and sees every long slice outlive
        // its quantum; unpinned workers share the cores with it, so whether it runs then is the OS's call.
        if (policy == "ps" && workers == 1)
        {
            Assert.True(host.Kernel.Counters.Requeues > 0,
                $"the long requests should have been preempted (preemption words written: {host.Kernel.Counters.PreemptRequests})");
        }
    }

    [Fact]
    public void HandlerThatAwaitsRealIoStillAnswersInOrder()
    {
        using var host = Spin(handler: new AwaitsIoOnTypeOne());
        using var client = new TcpTestClient(host.TcpPort);
        client.Send(Enumerable.Range(0, 20).SelectMany(i => TcpTestClient.Frame((ulong)i, type: (byte)(i % 2), payloadLength: 5)).ToArray());
        List<SpinReply> replies = client.Read(20);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (ulong)i), replies.Select(r => r.Header.Id));
        Assert.All(replies, r => Assert.Equal(TcpTestClient.Pattern(r.Header.Id, 5), r.Payload));
        host.Stop();
        Assert.Equal(20, host.Kernel.Counters.Completed);
        // A timer that fires before the carrier has let go completes the request on the carrier; the
        // others complete on the timer's thread, through the detached path.
        Assert.InRange(host.Kernel.Counters.DetachedCompletions, 1, 10);
    }

    [Fact]
    public void ReplyPastItsBoundFailsWholeAndTheConnectionGoesOn()
    {
        using var host = Spin(maxReplyBytes: 1000);
        using var client = new TcpTestClient(host.TcpPort);
        client.Send([.. TcpTestClient.Frame(1, payloadLength: 1001), .. TcpTestClient.Frame(2, payloadLength: 1000)]);
        List<SpinReply> replies = client.Read(2);
        Assert.Equal(ResponseStatus.Error, replies[0].Header.Status);
        Assert.Empty(replies[0].Payload); // nothing half-written goes out
        Assert.Equal(ResponseStatus.Ok, replies[1].Header.Status);
        Assert.Equal(1000, replies[1].Payload.Length);
    }

    [Fact]
    public void MalformedFramesAreAnsweredInTheirPlaceAndBadMagicClosesTheConnection()
    {
        using var host = Spin();
        using var client = new TcpTestClient(host.TcpPort);
        byte[] unknownType = TcpTestClient.Frame(2, type: 200, payloadLength: 3);
        byte[] oversized = TcpTestClient.Frame(3);
        BitConverter.TryWriteBytes(oversized.AsSpan(32), (uint)WireProtocol.MaxStreamPayloadBytes + 10);
        byte[] discarded = new byte[WireProtocol.MaxStreamPayloadBytes + 10];
        client.Send([.. TcpTestClient.Frame(1), .. unknownType, .. oversized]);
        client.Send(discarded);
        client.Send(TcpTestClient.Frame(4));
        List<SpinReply> replies = client.Read(4);
        Assert.Equal([1ul, 2ul, 3ul, 4ul], replies.Select(r => r.Header.Id));
        Assert.Equal([ResponseStatus.Ok, ResponseStatus.BadRequest, ResponseStatus.BadRequest, ResponseStatus.Ok],
            replies.Select(r => r.Header.Status));

        client.Send("GET / HTTP/1.1\r\n\r\n"u8);
        Assert.True(client.ClosedByServer());
        using var other = new TcpTestClient(host.TcpPort);
        other.Send(TcpTestClient.Frame(5));
        Assert.Equal(5ul, Assert.Single(other.Read(1)).Header.Id);
        host.Stop();
        Assert.Equal(1, host.Tcp.BadFrames[(int)ParseError.UnknownType]);
        Assert.Equal(1, host.Tcp.BadFrames[(int)ParseError.Oversized]);
        Assert.Equal(1, host.Tcp.BadFrames[(int)ParseError.BadMagic]);
        Assert.Equal(1, host.Tcp.ClosedByServer);
    }

    [Fact]
    public void ConnectionClosedMidRequestIsCountedAndNothingLeaks()
    {
        using var host = Spin();
        using (var client = new TcpTestClient(host.TcpPort))
        {
            byte[] frame = TcpTestClient.Frame(1, payloadLength: 100);
            client.Send([.. TcpTestClient.Frame(0), .. frame.AsSpan(0, 60)]);
            Assert.Single(client.Read(1));
        }
        Assert.True(NetworkTestHost.Eventually(() => host.Tcp.ClosedMidRequest == 1 && host.Nics.Tcp!.OpenConnections == 0));
        AssertServesAndHoldsNothing(host);
    }

    [Fact]
    public void ConnectionResetWithRequestsInFlightDropsTheirRepliesAndRecyclesEverything()
    {
        using var host = Spin();
        using (var client = new TcpTestClient(host.TcpPort))
        {
            client.Send(Enumerable.Range(0, 20).SelectMany(i => TcpTestClient.Frame((ulong)i, serviceNs: 200_000)).ToArray());
            // The reset must find the connection accepted and its requests read: on a quick machine a
            // fixed sleep was not enough, and the checks below then saw a connection not yet open.
            Assert.True(NetworkTestHost.Eventually(() => host.Tcp.Requests > 0));
            client.Socket.LingerState = new LingerOption(true, 0); // close sends RST
        }
        Assert.True(NetworkTestHost.Eventually(() => host.Nics.Tcp!.OpenConnections == 0 && host.Kernel.InFlight == 0));
        Assert.True(host.Tcp.Reset + host.Tcp.ClosedByPeer == 1,
            $"reset {host.Tcp.Reset}, closed by peer {host.Tcp.ClosedByPeer}, closed by server {host.Tcp.ClosedByServer}, replies {host.Tcp.Replies}, dropped {host.Tcp.DroppedReplies}");
        AssertServesAndHoldsNothing(host);
        host.Stop();
        Assert.Equal(20 + 1, host.Tcp.Replies + host.Tcp.DroppedReplies); // and the one request of the check
    }

    [Fact]
    public void HalfClosedClientGetsEveryReplyThenTheServerCloses()
    {
        using var host = Spin();
        using var client = new TcpTestClient(host.TcpPort);
        client.Send(Enumerable.Range(0, 10).SelectMany(i => TcpTestClient.Frame((ulong)i, serviceNs: 20_000, payloadLength: 4)).ToArray());
        client.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i), client.Read(10).Select(r => r.Header.Id));
        Assert.True(client.ClosedByServer());
        host.Stop();
        Assert.Equal(1, host.Tcp.ClosedByPeer);
        Assert.Equal(0, host.Tcp.DroppedReplies);
    }

    [Fact]
    public void ClientThatNeverReadsIsHeldBackAndOthersAreStillServed()
    {
        var tcp = new TcpNicOptions { MaxInFlightPerConnection = 16, MaxUnsentBytesPerConnection = 256 << 10 };
        using var host = Spin(tcp: tcp);
        using var greedy = new TcpTestClient(host.TcpPort);
        greedy.Socket.ReceiveBufferSize = 4096;
        byte[] frame = TcpTestClient.Frame(1, payloadLength: 64 << 10);
        // Writes until the server stops reading and every buffer on the way is full (bounded in time).
        var sender = new Thread(() =>
        {
            try
            {
                greedy.Socket.SendTimeout = 3000;
                for (int i = 0; i < 2000; i++)
                {
                    greedy.Send(frame);
                }
            }
            catch (SocketException)
            {
                // the send timed out: the server stopped reading, as it should
            }
        }) { IsBackground = true };
        sender.Start();
        Assert.True(NetworkTestHost.Eventually(() => host.Tcp.Backpressured >= 1));
        sender.Join(TimeSpan.FromSeconds(30));

        using var other = new TcpTestClient(host.TcpPort);
        other.Send(TcpTestClient.Frame(7, payloadLength: 10));
        Assert.Equal(7ul, Assert.Single(other.Read(1)).Header.Id);
        // Bounded: the greedy connection holds at most its window of green threads and its unsent bytes.
        Assert.True(NetworkTestHost.Eventually(() => host.Kernel.InFlight <= tcp.MaxInFlightPerConnection), $"in flight {host.Kernel.InFlight}");
        Assert.InRange(host.Nics.Tcp!.ReceiveBytesInUse, 0, (tcp.MaxInFlightPerConnection + 2) * (128L << 10));
    }

    [Fact]
    public void ConnectionsPastTheLimitAreRefusedAndCounted()
    {
        using var host = Spin(tcp: new TcpNicOptions { MaxConnections = 2 });
        using var a = new TcpTestClient(host.TcpPort);
        using var b = new TcpTestClient(host.TcpPort);
        a.Send(TcpTestClient.Frame(1));
        b.Send(TcpTestClient.Frame(2));
        Assert.Single(a.Read(1));
        Assert.Single(b.Read(1));
        using var c = new TcpTestClient(host.TcpPort);
        Assert.True(c.ClosedByServer());
        Assert.True(NetworkTestHost.Eventually(() => host.Tcp.Refused == 1));
        a.Send(TcpTestClient.Frame(3));
        Assert.Single(a.Read(1));
    }

    [Fact]
    public void ServesIPv6()
    {
        using var host = Spin(address: "::1");
        using var client = new TcpTestClient(host.TcpPort, IPAddress.IPv6Loopback);
        client.Send(TcpTestClient.Frame(9, payloadLength: 33));
        SpinReply reply = Assert.Single(client.Read(1));
        Assert.Equal(TcpTestClient.Pattern(9, 33), reply.Payload);
    }

    [Fact]
    public void TwoAppsOnTwoPortsAreEachAnsweredByTheirOwnHandler()
    {
        KernelOptions options = NetworkTestHost.Options("ps", 1);
        options.CoreAllocation = "standing-queue";
        var spin = NetworkTestHost.SpinOptions("spin", "127.0.0.1", 1);
        var upper = NetworkTestHost.SpinOptions("upper", "127.0.0.1", 1);
        spin.GuaranteedCores = upper.GuaranteedCores = 0;
        using var host = NetworkTestHost.Start(options, null, Backend,
            AppRegistration.LatencyCritical(spin, new global::NetStack.Apps.Spin.SpinApp(), new SpinProtocol(16)),
            AppRegistration.LatencyCritical(upper, new Uppercase(), new SpinProtocol(16)));
        int spinPort = host.Nics.TcpPortOf(0), upperPort = host.Nics.TcpPortOf(1);
        Assert.NotEqual(spinPort, upperPort);
        using var toSpin = new TcpTestClient(spinPort);
        using var toUpper = new TcpTestClient(upperPort);
        toSpin.Send(TcpTestClient.Frame(1, payload: "hello"u8.ToArray()));
        toUpper.Send(TcpTestClient.Frame(2, payload: "hello"u8.ToArray()));
        Assert.Equal("hello"u8.ToArray(), Assert.Single(toSpin.Read(1)).Payload);
        Assert.Equal("HELLO"u8.ToArray(), Assert.Single(toUpper.Read(1)).Payload);
        using var udp = new Udp.UdpTestClient(host.Nics.UdpPortOf(1));
        udp.Send(TcpTestClient.Frame(3, payload: "udp"u8.ToArray()));
        Assert.Equal(3ul, Assert.Single(udp.Collect(1, TimeSpan.FromSeconds(10))).Id);
    }

    [Fact]
    public void OverloadIsAnsweredInOrderWithRejectionsAndEveryRequestGetsExactlyOneAnswer()
    {
        // A queue bound of 4 and four connections pipelining 50 requests of 1 ms each: most are turned
        // away, each in its place among its connection's replies, none in silence.
        KernelOptions options = NetworkTestHost.Options("cfcfs", 1);
        options.QueueCapacity = 4;
        using var host = NetworkTestHost.Start(options, null, Backend, AppRegistration.LatencyCritical(
            NetworkTestHost.SpinOptions("spin", "127.0.0.1", 1), new global::NetStack.Apps.Spin.SpinApp(), new SpinProtocol(16)));
        var clients = Enumerable.Range(0, 4).Select(_ => new TcpTestClient(host.TcpPort)).ToList();
        int rejected = 0;
        try
        {
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                client.Send(Enumerable.Range(0, 50).SelectMany(i => TcpTestClient.Frame((ulong)(c * 100 + i), serviceNs: 1_000_000)).ToArray());
            }
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                List<SpinReply> replies = client.Read(50);
                Assert.Equal(Enumerable.Range(0, 50).Select(i => (ulong)(c * 100 + i)), replies.Select(r => r.Header.Id));
                Assert.All(replies, r => Assert.Contains(r.Header.Status, new[] { ResponseStatus.Ok, ResponseStatus.RejectedOverload }));
                rejected += replies.Count(r => r.Header.Status == ResponseStatus.RejectedOverload);
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
        host.Stop();
        Assert.True(rejected > 0, "a full queue must answer rejected-overload");
        Assert.Equal(rejected, host.Kernel.Counters.Rejected);
        Assert.Equal(200, host.Tcp.Replies);
        Assert.Equal(0, host.Tcp.DroppedReplies);
    }

    [Fact]
    public void ShutdownAnswersEveryAdmittedRequestThenClosesTheConnections()
    {
        var host = Spin();
        var clients = Enumerable.Range(0, 3).Select(_ => new TcpTestClient(host.TcpPort)).ToList();
        try
        {
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                client.Send(Enumerable.Range(0, 5).SelectMany(i => TcpTestClient.Frame((ulong)(c * 10 + i), serviceNs: 20_000_000, payloadLength: 7)).ToArray());
            }
            Assert.True(NetworkTestHost.Eventually(() => host.Tcp.Requests == 15), $"admitted {host.Tcp.Requests} of 15");
            var stop = new Thread(host.Stop) { IsBackground = true };
            stop.Start();
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                List<SpinReply> replies = client.Read(5);
                Assert.Equal(Enumerable.Range(0, 5).Select(i => (ulong)(c * 10 + i)), replies.Select(r => r.Header.Id));
                Assert.All(replies, r => Assert.Equal(ResponseStatus.Ok, r.Header.Status));
                Assert.True(client.ClosedByServer(), "the server should close the connection once it has answered");
            }
            Assert.True(stop.Join(TimeSpan.FromSeconds(60)));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            host.Dispose();
        }
        Assert.Equal(0, host.Kernel.Counters.Unfinished);
        Assert.Equal(15, host.Tcp.Replies);
    }

    [Fact]
    public void ManyPausesOnSmallWindowsLoseNothingAndKeepEveryConnectionsOrder()
    {
        // A window of 4 pauses each pipelining connection every few requests: reading stops and
        // starts again hundreds of times, and every request is still answered, in order.
        using var host = Spin(tcp: new TcpNicOptions { MaxInFlightPerConnection = 4 });
        var clients = Enumerable.Range(0, 16).Select(_ => new TcpTestClient(host.TcpPort)).ToList();
        try
        {
            var readers = clients.Select((client, c) => new Thread(() =>
            {
                client.Send(Enumerable.Range(0, 500).SelectMany(i => TcpTestClient.Frame((ulong)(c * 1000 + i), serviceNs: 1_000)).ToArray());
            })).ToList();
            readers.ForEach(t => t.Start());
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                List<SpinReply> replies = client.Read(500);
                Assert.Equal(Enumerable.Range(0, 500).Select(i => (ulong)(c * 1000 + i)), replies.Select(r => r.Header.Id));
            }
            readers.ForEach(t => t.Join());
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
        host.Stop();
        Assert.True(host.Tcp.Backpressured > 16, $"windows of 4 should have paused the connections often ({host.Tcp.Backpressured})");
        Assert.Equal(8000, host.Tcp.Replies);
    }

    private static void AssertServesAndHoldsNothing(NetworkTestHost host)
    {
        using (var client = new TcpTestClient(host.TcpPort))
        {
            client.Send(TcpTestClient.Frame(99, payloadLength: 9));
            Assert.Equal(99ul, Assert.Single(client.Read(1)).Header.Id);
        }
        Assert.True(NetworkTestHost.Eventually(() => host.Kernel.InFlight == 0 && host.Nics.Tcp!.ReceiveBlocksInUse == 0),
            $"in flight {host.Kernel.InFlight}, receive blocks {host.Nics.Tcp!.ReceiveBlocksInUse}");
    }

    /// <summary>Echoes; type 1 first awaits a timer, as a handler doing real I/O would.</summary>
    private sealed class AwaitsIoOnTypeOne : IRequestHandler
    {
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            if (ctx.Type == 1)
            {
                await Task.Delay(1).ConfigureAwait(false);
            }
            ctx.Reply.Write(ctx.RequestMemory.Span);
        }
    }

    /// <summary>Another app: upper-cases its payload.</summary>
    private sealed class Uppercase : IRequestHandler
    {
        [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            await ctx.Checkpoint();
            Span<byte> reply = ctx.Reply.GetSpan(ctx.Request.Length);
            for (int i = 0; i < ctx.Request.Length; i++)
            {
                byte c = ctx.Request[i];
                reply[i] = c is >= (byte)'a' and <= (byte)'z' ? (byte)(c - 32) : c;
            }
            ctx.Reply.Advance(ctx.Request.Length);
        }
    }
}

/// <summary>The TCP behaviour on the syscalls backend (edge-triggered epoll, recv, sendmsg).</summary>
public sealed class TcpNicOnSyscallsTests : TcpNicTests
{
    /// <inheritdoc />
    protected override NicBackend Backend => NicBackend.Syscalls;
}

/// <summary>The TCP behaviour on io_uring (multishot accept and recv into provided buffers, sendmsg SQEs).</summary>
public sealed class TcpNicOnIoUringTests : TcpNicTests
{
    /// <inheritdoc />
    protected override NicBackend Backend => NicBackend.IoUring;
}

/// <summary>All of it on the syscalls backend with carriers writing their own replies (<see cref="TcpNicOptions.WorkerSends"/>).</summary>
public sealed class TcpNicOnSyscallsWithWorkerSendsTests : TcpNicTests
{
    /// <inheritdoc />
    protected override NicBackend Backend => NicBackend.Syscalls;

    /// <inheritdoc />
    protected override bool WorkerSends => true;
}

/// <summary>All of it on io_uring with carriers writing their own replies beside the ring's sends.</summary>
public sealed class TcpNicOnIoUringWithWorkerSendsTests : TcpNicTests
{
    /// <inheritdoc />
    protected override NicBackend Backend => NicBackend.IoUring;

    /// <inheritdoc />
    protected override bool WorkerSends => true;
}
