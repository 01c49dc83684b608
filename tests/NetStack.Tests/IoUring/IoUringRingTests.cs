// The ring itself: submission and completion round trips, one io_uring_enter per batch, idle polls without system calls, CQ overflow, the single issuer, teardown.
using NetStack.IOKernel.Nic.IoUring;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public class IoUringRingTests
{
    [Fact]
    public void NopRoundTripsWithItsUserData()
    {
        using IoUringRing ring = CreateRing();
        IoUringPrep.Nop(ref ring.GetSqe(), userData: 0x1234_5678_9ABC_DEF0);
        Assert.Equal(1, ring.Submit());

        var completions = new List<IoUringCqe>();
        PollUntil(ring, () => completions.Count == 1, completions.Add, what: "the NOP");
        Assert.Equal(0x1234_5678_9ABC_DEF0ul, completions[0].UserData);
        Assert.Equal(0, completions[0].Res);
        Assert.Equal(1, ring.Counters.Enters);
    }

    [Fact]
    public void OneEnterSubmits32NopsAndAll32AreReaped()
    {
        using IoUringRing ring = CreateRing();
        for (uint i = 0; i < 32; i++)
        {
            IoUringPrep.Nop(ref ring.GetSqe(), IoUringUserData.Pack(kind: 1, index: i));
        }
        Assert.Equal(32, ring.PendingSubmissions);
        Assert.Equal(32, ring.Submit());
        Assert.Equal(0, ring.PendingSubmissions);

        var seen = new List<uint>();
        PollUntil(ring, () => seen.Count == 32, cqe =>
        {
            Assert.Equal(0, cqe.Res);
            Assert.Equal(1, IoUringUserData.Kind(cqe.UserData));
            seen.Add(IoUringUserData.Index(cqe.UserData));
        }, what: "32 NOPs");
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (uint)i), seen.Order());
        Assert.Equal(1, ring.Counters.Enters);
        Assert.Equal(32, ring.Counters.SqesSubmitted);
    }

    [Fact]
    public void AnIdlePollMakesNoSystemCallAndAllocatesNothing()
    {
        using IoUringRing ring = CreateRing();
        Span<IoUringCqe> batch = stackalloc IoUringCqe[64];
        for (int i = 0; i < 1000; i++)
        {
            ring.Reap(batch);
            ring.Submit();
        }
        long work = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200_000; i++)
        {
            work += ring.Reap(batch);
            work += ring.Submit();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, work);
        Assert.Equal(0, ring.Counters.Enters);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void ACqOverflowIsFlushedInOrderWithNoCompletionLost()
    {
        // 8 CQ slots and 32 completions posted before any is reaped: 24 wait in the kernel (IORING_FEAT_NODROP).
        using IoUringRing ring = CreateRing(new IoUringOptions { SubmissionEntries = 8, CompletionEntries = 8 });
        for (uint batch = 0; batch < 4; batch++)
        {
            for (uint i = 0; i < 8; i++)
            {
                IoUringPrep.Nop(ref ring.GetSqe(), batch * 8 + i);
            }
            Assert.Equal(8, ring.Submit());
        }
        Assert.True((ring.KernelFlags & IoUringSqFlags.CqOverflow) != 0, $"no overflow flagged: {ring.KernelFlags}");

        var seen = new List<ulong>();
        PollUntil(ring, () => seen.Count == 32, cqe => seen.Add(cqe.UserData), what: "32 NOPs through an 8-slot CQ");
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ulong)i), seen);
        Assert.True(ring.Counters.OverflowsSeen >= 1);
        Assert.Equal(0u, ring.DroppedCompletions);
    }

    [Fact]
    public void AFullSubmissionQueueIsSubmittedBeforeTheNextSqeIsHandedOut()
    {
        using IoUringRing ring = CreateRing(new IoUringOptions { SubmissionEntries = 4, CompletionEntries = 64 });
        for (uint i = 0; i < 10; i++)
        {
            IoUringPrep.Nop(ref ring.GetSqe(), i);
        }
        ring.Submit();
        var seen = new List<ulong>();
        PollUntil(ring, () => seen.Count == 10, cqe => seen.Add(cqe.UserData), what: "10 NOPs through a 4-entry SQ");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i), seen);
        Assert.Equal(2, ring.Counters.FullQueueEnters);
        Assert.Equal(3, ring.Counters.Enters);
    }

    [Fact]
    public void ADisabledRingBelongsToTheThreadThatEnablesItAndRefusesOthers()
    {
        using IoUringRing ring = CreateRing(new IoUringOptions { StartDisabled = true });
        Assert.False(ring.IsEnabled);
        IoUringPrep.Nop(ref ring.GetSqe(), 1);
        Assert.Throws<InvalidOperationException>(() => ring.Submit());

        Exception? failure = null;
        int reaped = 0;
        var poller = new Thread(() =>
        {
            try
            {
                ring.Enable();
                PollUntil(ring, () => reaped == 1, _ => reaped++, what: "the NOP on the enabling thread");
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        poller.Start();
        Assert.True(poller.Join(Deadline));
        Assert.Null(failure);
        Assert.Equal(1, reaped);

        // The test thread is not the single issuer: the kernel says EEXIST, and the ring names it.
        IoUringPrep.Nop(ref ring.GetSqe(), 2);
        IoUringException refused = Assert.Throws<IoUringException>(() => ring.Submit());
        Assert.Contains("single issuer", refused.Message);
    }

    [Fact]
    public void TeardownClosesTheRingAndLeaksNoDescriptor()
    {
        int uringsBefore = OpenIoUrings();
        int descriptorsBefore = OpenDescriptors();
        const int cycles = 10;
        for (int cycle = 0; cycle < cycles; cycle++)
        {
            using var socket = BoundUdpSocket();
            IoUringRing ring = CreateRing();
            IoUringBufferRing buffers = ring.RegisterBufferRing(group: 3, count: 16, bufferBytes: 256);
            unsafe
            {
                var msg = AllocRecvMsgHdr();
                IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Fd(socket), msg, buffers.Group, 7);
                ring.Submit();
                System.Runtime.InteropServices.NativeMemory.Free(msg);
            }
            Assert.Equal(uringsBefore + 1, OpenIoUrings());
            ring.Dispose();
            Assert.Equal(uringsBefore, OpenIoUrings());
        }
        // Other threads of the test host may open a descriptor meanwhile; a leak per cycle would show as at least `cycles`.
        Assert.InRange(OpenDescriptors() - descriptorsBefore, int.MinValue, cycles - 1);
        Assert.Equal(uringsBefore, OpenIoUrings());
    }
}
