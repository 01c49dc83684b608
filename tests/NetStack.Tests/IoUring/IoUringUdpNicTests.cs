// The io_uring UDP NIC's own contracts: idle loops make no system call, few ids and little memory lose nothing, refusal falls back, the ring goes with the NIC.
using NetStack.Apps.Spin;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Support;
using NetStack.Tests.Udp;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public class IoUringUdpNicTests
{
    private static IoUringUdpNic Open(UdpNicOptions? options = null, IoUringOptions? ring = null) =>
        Assert.IsType<IoUringUdpNic>(UdpNic.Open(options ?? new UdpNicOptions { Port = 0 }, SpinApp.TypeCount, NicBackend.IoUring, ring));

    /// <summary>Serves <paramref name="requests"/> through an IOKernel on <paramref name="nic"/> and returns the replies.</summary>
    private static List<ResponseHeader> Serve(UdpNic nic, IEnumerable<byte[]> requests, int expected, out Kernel kernel)
    {
        kernel = new Kernel(TestKernel.Options("cfcfs", mailboxDepth: 2), nic, new SpinApp());
        kernel.Start();
        try
        {
            using var client = new UdpTestClient(nic.Port);
            return client.SendAndCollect(requests, expected);
        }
        finally
        {
            kernel.RequestStop();
            Assert.True(kernel.Wait(TimeSpan.FromSeconds(30)));
        }
    }

    [Fact]
    public void AnIdleLoopOverSixteenQueuesMakesNoSystemCall()
    {
        using IoUringUdpNic nic = Open(new UdpNicOptions { Port = 0, Queues = 16 });
        var batch = new global::NetStack.IOKernel.Nic.Arrival[32];
        nic.RxBurst(0, batch);
        nic.TxBurst(); // submits the sixteen arms
        long enters = nic.RingCounters.Enters;
        for (int i = 0; i < 10_000; i++)
        {
            Assert.Equal(0, nic.RxBurst(0, batch));
            Assert.False(nic.TxBurst());
        }
        Assert.Equal(enters, nic.RingCounters.Enters);
    }

    [Fact]
    public void FourProvidedBuffersServeTwoThousandRequestsThroughEndedAndRearmedReceives()
    {
        // A burst drains four ids at once: the multishot ends with ENOBUFS, datagrams wait in the
        // socket, and the receive is re-armed once ids are back. Nothing is lost.
        const int count = 2000;
        using IoUringUdpNic nic = Open(ring: new IoUringOptions { ProvidedBuffers = 4 });
        List<ResponseHeader> replies = Serve(nic,
            Enumerable.Range(0, count).Select(i => UdpTestClient.Request((ulong)i, payloadLength: i % 100)), count, out _);
        Assert.Equal(Enumerable.Range(0, count).Select(i => (ulong)i), replies.Select(r => r.Id).Order());
        Assert.All(replies, r => Assert.Equal(ResponseStatus.Ok, r.Status));
        Assert.Equal(count, nic.Counters.OkReplies);
        Assert.Equal(0, nic.Counters.ReceiveFailures + nic.Counters.SendFailures);
        Assert.True(nic.Counters.ReceiveBufferShortages > 0, "four ids should have run dry under a burst");
    }

    [Fact]
    public void RequestsHoldingAllReceiveMemoryMakeIdsWaitAndNothingIsLost()
    {
        // 1 MiB of receive memory is 512 blocks, and the ring's 512 ids take them all at start: the
        // first datagram that becomes a request leaves its id without a block until requests complete.
        const int count = 600;
        using IoUringUdpNic nic = Open(new UdpNicOptions { Port = 0, ReceiveMemoryMegabytes = 1 }, new IoUringOptions { ProvidedBuffers = 512 });
        List<ResponseHeader> replies = Serve(nic,
            Enumerable.Range(0, count).Select(i => UdpTestClient.Request((ulong)i, serviceNs: 20_000)), count, out var kernel);
        Assert.Equal(count, replies.Count);
        Assert.Equal(count, replies.Count(r => r.Status == ResponseStatus.Ok));
        Assert.True(nic.Counters.ReceiveBufferShortages > 0, "ids should have waited for receive memory");
        Assert.Equal(0, nic.Counters.ReceiveFailures);
        Assert.Equal(0, kernel.Counters.Unfinished);
    }

    [Fact]
    public void RefusedIoUringFallsBackToTheSyscallsUnderAutoAndIsAnErrorWhenAskedFor()
    {
        var refuse = new IoUringOptions { Simulate = IoUringSimulation.NotPermitted };
        using (UdpNic nic = UdpNic.Open(new UdpNicOptions { Port = 0 }, SpinApp.TypeCount, NicBackend.Auto, refuse))
        {
            Assert.IsType<SyscallUdpNic>(nic);
            Assert.Contains("EPERM", nic.FallbackReason);
            List<ResponseHeader> replies = Serve(nic, [UdpTestClient.Request(1)], 1, out _);
            Assert.Equal(ResponseStatus.Ok, Assert.Single(replies).Status);
        }
        var e = Assert.Throws<NicBackendException>(() => UdpNic.Open(new UdpNicOptions { Port = 0 }, SpinApp.TypeCount, NicBackend.IoUring, refuse));
        Assert.Contains("EPERM", e.Message);
        using UdpNic auto = UdpNic.Open(new UdpNicOptions { Port = 0 }, SpinApp.TypeCount, NicBackend.Auto);
        Assert.Equal(NicBackend.IoUring, auto.Backend);
        Assert.Null(auto.FallbackReason);
    }

    [Fact]
    public void StoppingTheKernelTearsTheRingDownAndDisposeClosesEveryDescriptor()
    {
        // Warm the pools first, so descriptors the runtime opens once (epoll, eventfd) are open already.
        using (IoUringUdpNic warm = Open())
        {
            Serve(warm, [UdpTestClient.Request(1)], 1, out _);
        }
        int descriptors = OpenDescriptors();
        int rings = OpenIoUrings();
        IoUringUdpNic nic = Open(new UdpNicOptions { Port = 0, Queues = 4 });
        List<ResponseHeader> replies = Serve(nic, Enumerable.Range(0, 100).Select(i => UdpTestClient.Request((ulong)i)), 100, out _);
        Assert.Equal(100, replies.Count);
        Assert.True(nic.RingTornDown, "the IOKernel's detach should have wound the ring down on its thread");
        Assert.Equal(rings, OpenIoUrings());
        nic.Dispose();
        Assert.Equal(0, nic.ReceiveBlocksInUse);
        Assert.Equal(descriptors, OpenDescriptors());
    }
}
