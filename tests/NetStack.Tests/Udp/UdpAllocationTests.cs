// The UDP data path allocates nothing per packet once warm, on either backend: receive, parse, steer, run, reply.
using NetStack.Apps.Spin;
using NetStack.IOKernel.Nic;
using NetStack.Measurement.Recording;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.Udp;

public class UdpAllocationTests
{
    [OptimizedBuildTheory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void ServingUdpAllocatesNothingOnTheIOKernelAndCarrierThreadsAfterWarmUp(NicBackend backend)
    {
        using var nic = UdpNic.Open(new UdpNicOptions { Port = 0 }, SpinApp.TypeCount, backend);
        Assert.Equal(backend, nic.Backend);
        // Count from a moment after the warm-up below: the first requests JIT and fill pools.
        long measureFrom = Clock.Now() + Clock.FromMicros(2_000_000);
        // c-FCFS: a preempted request keeps a state-machine box from the green-thread pool, which grows
        // to the most requests ever suspended at once; that high-water mark is the scheduler's, not
        // the network path's, and would make this test depend on timing.
        // The carriers record every completion as a measured run does: histograms and the stall attribution's request log.
        var kernel = new Kernel(TestKernel.Options("cfcfs", mailboxDepth: 2), nic, new SpinApp(),
            () => new LatencyRecorder(SpinApp.TypeCount, measureFrom, long.MaxValue, logCapacity: 8192)) { MeasureAllocationsFrom = measureFrom };
        kernel.Start();
        try
        {
            using var client = new UdpTestClient(nic.Port);
            // Good requests of every type and bad input (answered bad-request) take their paths.
            IEnumerable<byte[]> Mix(int offset) => Enumerable.Range(offset, 300).Select(i => i % 10 == 9
                ? UdpTestClient.Request((ulong)i, type: 200)
                : UdpTestClient.Request((ulong)i, type: (byte)(i % 16), serviceNs: i % 3 == 0 ? 20_000 : 1_000, payloadLength: i % 4));
            // Pools grow to the most requests ever in flight at once: the warm-up bursts are three
            // times the measured one, so the measured burst finds every pool at its size.
            for (int round = 0; round < 3; round++)
            {
                Assert.Equal(900, client.SendAndCollect(Mix(0).Concat(Mix(1000)).Concat(Mix(2000)), 900).Count);
            }
            while (Clock.Now() < measureFrom + Clock.FromMicros(50_000))
            {
                Thread.Sleep(10);
            }
            List<ResponseHeader> replies = client.SendAndCollect(Mix(3000), 300);
            Assert.Equal(300, replies.Count);
            Assert.Equal(270, replies.Count(r => r.Status == ResponseStatus.Ok));
        }
        finally
        {
            kernel.RequestStop();
            Assert.True(kernel.Wait(TimeSpan.FromSeconds(30)));
        }
        Assert.Equal(0, kernel.DataPathAllocatedBytes);
        Assert.Contains(kernel.Recorders, r => ((LatencyRecorder)r).Log!.Count > 0);
    }
}
