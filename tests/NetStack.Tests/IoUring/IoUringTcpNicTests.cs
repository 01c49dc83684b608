// The io_uring TCP NIC's own contracts: idle connections cost no system call, only split requests are copied, few ids lose nothing, refusal falls back, the ring goes with the NIC.
using System.Net;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Tcp;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public class IoUringTcpNicTests
{
    private static readonly TcpBinding[] s_spin = [new TcpBinding(0, new SpinProtocol(16), IPAddress.Loopback, 0)];

    /// <summary>Nothing to recycle: these tests poll a NIC that frames no request.</summary>
    private sealed class NoHost : global::NetStack.IOKernel.Nic.INicHost
    {
        public void Recycle(GreenThread thread) => throw new InvalidOperationException("no request was expected");
    }

    [Fact]
    public void AnIdleLoopOverTwoHundredFiftySixOpenConnectionsMakesNoSystemCall()
    {
        const int connections = 256;
        using var nic = Assert.IsType<IoUringTcpNic>(TcpNic.Open(new TcpNicOptions(), s_spin, NicBackend.IoUring));
        nic.Attach(new NoHost());
        var batch = new global::NetStack.IOKernel.Nic.Arrival[32];
        var clients = new List<TcpTestClient>();
        try
        {
            for (int i = 0; i < connections; i++)
            {
                clients.Add(new TcpTestClient(nic.EndPoints[0].Port));
            }
            Assert.True(NetworkTestHost.Eventually(() =>
            {
                nic.RxBurst(0, batch);
                nic.TxBurst();
                return nic.OpenConnections == connections;
            }), $"{nic.OpenConnections} of {connections} connections accepted");
            // The receives armed at the last accepts go out with one more loop.
            nic.RxBurst(0, batch);
            nic.TxBurst();
            long enters = nic.RingCounters.Enters;
            for (int i = 0; i < 10_000; i++)
            {
                Assert.Equal(0, nic.RxBurst(0, batch));
                Assert.False(nic.TxBurst());
            }
            Assert.Equal(enters, nic.RingCounters.Enters);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public void OnlyTheBytesOfARequestSplitAcrossBuffersAreCopiedTheRestIsReadInPlace()
    {
        using var host = NetworkTestHost.Spin(backend: NicBackend.IoUring);
        using var client = new TcpTestClient(host.TcpPort);
        // A thousand requests in one write: chunks of up to 16 KiB, a request cut at each chunk's end at most.
        byte[] burst = Enumerable.Range(0, 1000).SelectMany(i => TcpTestClient.Frame((ulong)i, payloadLength: 60)).ToArray();
        client.Send(burst);
        Assert.Equal(1000, client.Read(1000).Count);
        Assert.InRange(host.Tcp.CopiedBytes, 0, burst.Length / 10);

        // One request in two writes, the second carrying the next request whole: only the first one's tail is copied.
        long copied = host.Tcp.CopiedBytes;
        byte[] split = TcpTestClient.Frame(5000, payloadLength: 60);
        client.Send(split.AsSpan(0, 30));
        Assert.True(NetworkTestHost.Eventually(() => host.Tcp.BytesIn == burst.Length + 30), "the first part should arrive alone");
        client.Send([.. split.AsSpan(30), .. TcpTestClient.Frame(5001, payloadLength: 60)]);
        Assert.Equal([5000ul, 5001ul], client.Read(2).Select(r => r.Header.Id));
        Assert.Equal(split.Length - 30, host.Tcp.CopiedBytes - copied);
    }

    [Fact]
    public void FourProvidedBuffersServeEveryConnectionInOrderThroughRearmedReceives()
    {
        // Eight pipelining connections and four 1 KiB ids: receives end with ENOBUFS and are
        // re-armed once ids are back; the bytes wait in the sockets meanwhile, in order.
        var tcp = new TcpNicOptions { ReceiveBlockBytes = 1024 };
        using var host = NetworkTestHost.Spin(tcp: tcp, backend: NicBackend.IoUring, ring: new IoUringOptions { ProvidedBuffers = 4 });
        var clients = Enumerable.Range(0, 8).Select(_ => new TcpTestClient(host.TcpPort)).ToList();
        try
        {
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                client.Send(Enumerable.Range(0, 200).SelectMany(i => TcpTestClient.Frame((ulong)(c * 1000 + i), payloadLength: i % 50 * 10)).ToArray());
            }
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                List<SpinReply> replies = client.Read(200);
                Assert.Equal(Enumerable.Range(0, 200).Select(i => (ulong)(c * 1000 + i)), replies.Select(r => r.Header.Id));
                Assert.All(replies, r => Assert.Equal(TcpTestClient.Pattern(r.Header.Id, (int)(r.Header.Id % 1000 % 50 * 10)), r.Payload));
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
        host.Stop();
        Assert.True(host.Tcp.ReceiveShortages > 0, "four ids should have run out under eight pipelining connections");
        Assert.Equal(1600, host.Tcp.Replies);
        Assert.Equal(0, host.Tcp.Reset + host.Tcp.BadInput);
    }

    [Fact]
    public void RefusedIoUringFallsBackToEpollUnderAutoAndIsAnErrorWhenAskedFor()
    {
        var refuse = new IoUringOptions { Simulate = IoUringSimulation.NotPermitted };
        using (TcpNic nic = TcpNic.Open(new TcpNicOptions(), s_spin, NicBackend.Auto, refuse))
        {
            Assert.IsType<EpollTcpNic>(nic);
            Assert.Contains("EPERM", nic.FallbackReason);
        }
        var e = Assert.Throws<NicBackendException>(() => TcpNic.Open(new TcpNicOptions(), s_spin, NicBackend.IoUring, refuse));
        Assert.Contains("EPERM", e.Message);
    }

    [Fact]
    public void StoppingWithConnectionsOpenTearsTheRingDownAndDisposeClosesEveryDescriptor()
    {
        // Warm up first, so descriptors the runtime opens once are open already.
        using (var warm = NetworkTestHost.Spin(backend: NicBackend.IoUring))
        using (var client = new TcpTestClient(warm.TcpPort))
        {
            client.Send(TcpTestClient.Frame(1));
            Assert.Single(client.Read(1));
        }
        int descriptors = OpenDescriptors();
        int rings = OpenIoUrings();
        var host = NetworkTestHost.Spin(backend: NicBackend.IoUring);
        var clients = Enumerable.Range(0, 4).Select(_ => new TcpTestClient(host.TcpPort)).ToList();
        foreach (TcpTestClient client in clients)
        {
            // One answered, and one that is still running when the host stops.
            client.Send([.. TcpTestClient.Frame(1), .. TcpTestClient.Frame(2, serviceNs: 50_000_000)]);
            Assert.Single(client.Read(1));
        }
        host.Stop();
        var nic = Assert.IsType<IoUringTcpNic>(host.Nics.Tcp);
        Assert.True(nic.RingTornDown, "the IOKernel's detach should have wound the ring down on its thread");
        Assert.Equal(0, host.Kernel.Counters.Unfinished);
        clients.ForEach(c => c.Dispose());
        Assert.Equal(rings, OpenIoUrings());
        Assert.Equal(descriptors, OpenDescriptors());
    }
}
