// The IOKernel's loop makes at most one io_uring_enter per ring, however much it receives and sends, on both io_uring NICs.
using NetStack.Apps.Spin;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;
using NetStack.Tests.Tcp;
using NetStack.Tests.Udp;
using Xunit;

namespace NetStack.Tests.IoUring;

public class OneEnterPerLoopTests
{
    /// <summary>Passes every call through, counting the IOKernel's loops (one TxBurst each) and the ring's enters in each.</summary>
    private sealed class LoopCounter(INicQueue inner, Func<IoUringCounters> ring) : INicQueue
    {
        private long _entersAtLastLoop;

        public long Loops { get; private set; }
        public long MostEntersInALoop { get; private set; }
        public long EntersBeforeDetach { get; private set; }
        public long FullQueueEnters { get; private set; }
        public bool Exhausted => inner.Exhausted;
        public bool Saturating => inner.Saturating;
        public void Attach(INicHost host) => inner.Attach(host);
        public int RxBurst(long now, Span<Arrival> batch) => inner.RxBurst(now, batch);
        public void Transmit(GreenThread thread) => inner.Transmit(thread);
        public void Reject(in Arrival arrival, RequestStatus status) => inner.Reject(arrival, status);

        public bool TxBurst()
        {
            Loops++;
            bool worked = inner.TxBurst();
            // Everything since the last loop's TxBurst: this loop's receive burst and its transmit burst.
            long enters = ring().Enters;
            if (Loops > 1)
            {
                // The first loop also submits the arms, at its first receive burst.
                MostEntersInALoop = Math.Max(MostEntersInALoop, enters - _entersAtLastLoop);
            }
            _entersAtLastLoop = enters;
            return worked;
        }

        public void Detach()
        {
            EntersBeforeDetach = ring().Enters;
            FullQueueEnters = ring().FullQueueEnters;
            inner.Detach();
        }
    }

    [Fact]
    public void UdpServingThousandsOfRequestsMakesAtMostOneEnterPerLoop()
    {
        using var nic = Assert.IsType<IoUringUdpNic>(UdpNic.Open(new UdpNicOptions { Port = 0, Queues = 4 }, SpinApp.TypeCount, NicBackend.IoUring));
        var counter = new LoopCounter(nic, () => nic.RingCounters);
        var kernel = new Kernel(TestKernel.Options("cfcfs", mailboxDepth: 2), counter, new SpinApp());
        kernel.Start();
        try
        {
            var clients = Enumerable.Range(0, 4).Select(_ => new UdpTestClient(nic.Port)).ToList();
            foreach (UdpTestClient client in clients)
            {
                Assert.Equal(1000, client.SendAndCollect(Enumerable.Range(0, 1000).Select(i => UdpTestClient.Request((ulong)i, payloadLength: i % 64)), 1000).Count);
            }
            clients.ForEach(c => c.Dispose());
        }
        finally
        {
            kernel.RequestStop();
            Assert.True(kernel.Wait(TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(1, counter.MostEntersInALoop);
        Assert.InRange(counter.EntersBeforeDetach, 1, counter.Loops + 1);
        Assert.Equal(0, counter.FullQueueEnters);
        Assert.Equal(4000, nic.Counters.OkReplies);
    }

    [Fact]
    public void TcpServingPipelinedConnectionsMakesAtMostOneEnterPerLoop()
    {
        var nic = Assert.IsType<IoUringTcpNic>(TcpNic.Open(new TcpNicOptions(),
            [new TcpBinding(0, new SpinProtocol(SpinApp.TypeCount), System.Net.IPAddress.Loopback, 0)], NicBackend.IoUring));
        var counter = new LoopCounter(nic, () => nic.RingCounters);
        var kernel = new Kernel(TestKernel.Options("cfcfs", mailboxDepth: 2), counter, new SpinApp());
        kernel.Start();
        try
        {
            var clients = Enumerable.Range(0, 8).Select(_ => new TcpTestClient(nic.EndPoints[0].Port)).ToList();
            foreach (TcpTestClient client in clients)
            {
                client.Send(Enumerable.Range(0, 500).SelectMany(i => TcpTestClient.Frame((ulong)i, payloadLength: i % 100)).ToArray());
            }
            Assert.All(clients, c => Assert.Equal(Enumerable.Range(0, 500).Select(i => (ulong)i), c.Read(500).Select(r => r.Header.Id)));
            clients.ForEach(c => c.Dispose());
        }
        finally
        {
            kernel.RequestStop();
            Assert.True(kernel.Wait(TimeSpan.FromSeconds(30)));
            nic.Dispose();
        }
        Assert.Equal(1, counter.MostEntersInALoop);
        Assert.InRange(counter.EntersBeforeDetach, 1, counter.Loops + 1);
        Assert.Equal(0, counter.FullQueueEnters);
        Assert.Equal(4000, nic.Counters.Replies);
    }
}
