// The network data path allocates nothing per request once warm, on either backend: request bytes in, handler, reply bytes out, UDP and TCP.
using NetStack.Apps.Spin;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Support;
using NetStack.Tests.Udp;
using Xunit;

namespace NetStack.Tests.Tcp;

public class NetworkAllocationTests
{
    [OptimizedBuildTheory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void TcpRequestsWithPayloadsAllocateNothingOnTheDataPathAfterWarmUp(NicBackend backend)
    {
        using NetworkTestHost host = MeasuredHost(backend, out long measureFrom);
        using var a = new TcpTestClient(host.TcpPort);
        using var b = new TcpTestClient(host.TcpPort);
        byte[] Burst(int from) => Enumerable.Range(from, 200)
            .SelectMany(i => TcpTestClient.Frame((ulong)i, type: (byte)(i % 16), serviceNs: i % 3 == 0 ? 5_000 : 0, payloadLength: i % 5 * 300))
            .ToArray();
        for (int round = 0; round < 3; round++)
        {
            a.Send(Burst(0));
            b.Send(Burst(0));
            Assert.Equal(200, a.Read(200).Count);
            Assert.Equal(200, b.Read(200).Count);
        }
        WaitIntoTheWindow(measureFrom);
        a.Send(Burst(1000));
        List<SpinReply> replies = a.Read(200);
        Assert.Equal(200, replies.Count);
        Assert.All(replies, r => Assert.Equal(TcpTestClient.Pattern(r.Header.Id, (int)(r.Header.Id % 5) * 300), r.Payload));
        host.Stop();
        Assert.Equal(0, host.Kernel.DataPathAllocatedBytes);
    }

    [OptimizedBuildTheory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void ConnectionsOpenedAndClosedAfterWarmUpAllocateNothingButPoolGrowth(NicBackend backend)
    {
        // Accepting, serving and closing a connection reuses a pooled connection object and its
        // descriptor number: no handle object per accept. Pools may still grow (if a close is
        // still being finished when the next connection comes), and that growth is counted apart.
        using NetworkTestHost host = MeasuredHost(backend, out long measureFrom);
        void OneConnection(ulong id)
        {
            using var client = new TcpTestClient(host.TcpPort);
            client.Send(TcpTestClient.Frame(id, payloadLength: 16));
            Assert.Single(client.Read(1));
        }
        for (int i = 0; i < 40; i++)
        {
            OneConnection((ulong)i);
        }
        WaitIntoTheWindow(measureFrom);
        for (int i = 0; i < 40; i++)
        {
            OneConnection(1000 + (ulong)i);
        }
        host.Stop();
        Assert.Equal(0, host.Kernel.DataPathAllocatedBytes - host.Kernel.DataPathPoolGrowthBytes);
    }

    /// <summary>
    /// A spin host on <paramref name="backend"/> whose data path counts its allocations from 2 s on
    /// (<paramref name="measureFrom"/>; the threads read it as they tick, so it is set before the
    /// warm-up ends). c-FCFS, so no request is suspended: a suspended one takes a pooled box whose
    /// pool follows the most ever suspended at once, the scheduler's high-water mark, not the network's.
    /// </summary>
    private static NetworkTestHost MeasuredHost(NicBackend backend, out long measureFrom)
    {
        measureFrom = Clock.Now() + Clock.FromMicros(2_000_000);
        NetworkTestHost host = NetworkTestHost.Start(NetworkTestHost.Options("cfcfs", 1), null, backend, Global.Spin());
        host.Kernel.MeasureAllocationsFrom = measureFrom;
        return host;
    }

    /// <summary>Waits until the measured window has begun on every data-path thread's clock.</summary>
    private static void WaitIntoTheWindow(long measureFrom)
    {
        while (Clock.Now() < measureFrom + Clock.FromMicros(50_000))
        {
            Thread.Sleep(10);
        }
    }

    [Theory]
    [InlineData(0, NicBackend.Syscalls)]
    [InlineData(1, NicBackend.Syscalls)]
    [InlineData(1400, NicBackend.Syscalls)]
    [InlineData(WireProtocol.MaxDatagramSize - WireProtocol.HeaderSize, NicBackend.Syscalls)]
    [InlineData(0, NicBackend.IoUring)]
    [InlineData(1, NicBackend.IoUring)]
    [InlineData(1400, NicBackend.IoUring)]
    [InlineData(WireProtocol.MaxDatagramSize - WireProtocol.HeaderSize, NicBackend.IoUring)]
    public void UdpReplyEchoesThePayloadByteForByte(int payload, NicBackend backend)
    {
        using var host = NetworkTestHost.Spin(backend: backend);
        using var client = new UdpTestClient(host.UdpPort);
        client.Send(TcpTestClient.Frame(5, type: 1, serviceNs: 1_000, payloadLength: payload));
        (ResponseHeader header, byte[] body) = Assert.Single(client.CollectWithPayloads(1, UdpTestClient.Deadline));
        Assert.Equal(ResponseStatus.Ok, header.Status);
        Assert.Equal(5ul, header.Id);
        Assert.Equal(TcpTestClient.Pattern(5, payload), body);
    }

    [Theory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void UdpReplyTooLargeForADatagramFailsWhole(NicBackend backend)
    {
        using var host = NetworkTestHost.Spin(handler: new Doubling(), backend: backend);
        using var client = new UdpTestClient(host.UdpPort);
        client.Send(TcpTestClient.Frame(6, payloadLength: 1000));
        (ResponseHeader header, byte[] body) = Assert.Single(client.CollectWithPayloads(1, UdpTestClient.Deadline));
        Assert.Equal(ResponseStatus.Error, header.Status);
        Assert.Empty(body);
        host.Stop();
        Assert.Equal(1, host.Nics.Udp!.Counters.OversizedReplies);
    }

    /// <summary>Replies twice its request: 2000 bytes do not fit the spin protocol's one datagram.</summary>
    private sealed class Doubling : global::NetStack.Runtime.Scheduling.IRequestHandler
    {
        public ValueTask HandleAsync(global::NetStack.Runtime.Scheduling.RequestContext ctx)
        {
            ctx.Reply.Write(ctx.Request);
            ctx.Reply.Write(ctx.Request);
            return ValueTask.CompletedTask;
        }
    }

    private static class Global
    {
        public static global::NetStack.IOKernel.AppRegistration Spin() => global::NetStack.IOKernel.AppRegistration.LatencyCritical(
            NetworkTestHost.SpinOptions("spin", "127.0.0.1", 1), new SpinApp(), new SpinProtocol(SpinApp.TypeCount));
    }
}
