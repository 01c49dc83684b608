// The padded layouts hold: every field two cores write sits alone on its cache line.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using Xunit;

namespace NetStack.Tests.Runtime;

public class LayoutTests
{
    [Fact]
    public void PaddedLongKeepsItsValueInTheSecondLine()
    {
        Assert.Equal(CacheLine.PaddedSize, Unsafe.SizeOf<PaddedLong>());
        Assert.Equal(CacheLine.Size, (int)Marshal.OffsetOf<PaddedLong>(nameof(PaddedLong.Value)));
    }

    [Fact]
    public void RingProducerAndConsumerLinesArePadded()
    {
        Assert.Equal(CacheLine.PaddedSize, Unsafe.SizeOf<RingProducerLine>());
        Assert.Equal(CacheLine.PaddedSize, Unsafe.SizeOf<RingConsumerLine>());
        Assert.Equal(CacheLine.Size, (int)Marshal.OffsetOf<RingProducerLine>(nameof(RingProducerLine.Tail)));
        Assert.Equal(CacheLine.Size + 8, (int)Marshal.OffsetOf<RingProducerLine>(nameof(RingProducerLine.CachedHead)));
        Assert.Equal(CacheLine.Size, (int)Marshal.OffsetOf<RingConsumerLine>(nameof(RingConsumerLine.Head)));
        Assert.Equal(CacheLine.Size + 8, (int)Marshal.OffsetOf<RingConsumerLine>(nameof(RingConsumerLine.CachedTail)));
    }

    [Fact]
    public void RingTailAndHeadAreAtLeastALineApartInALiveInstance()
    {
        var ring = new SpscRing<object>(4);
        Assert.True(ring.DistanceTailToHead() >= CacheLine.Size, $"tail and head are {ring.DistanceTailToHead()} bytes apart");
    }

    [Fact]
    public void PreemptionWordSitsAloneOnItsLine()
    {
        Assert.Equal(CacheLine.PaddedSize, Unsafe.SizeOf<PreemptionWord.PreemptionLine>());
        Assert.Equal(CacheLine.Size, (int)Marshal.OffsetOf<PreemptionWord.PreemptionLine>(nameof(PreemptionWord.PreemptionLine.Slice)));
        Assert.Equal(CacheLine.Size + 8, (int)Marshal.OffsetOf<PreemptionWord.PreemptionLine>(nameof(PreemptionWord.PreemptionLine.WrittenAtTicks)));
        Assert.Equal(CacheLine.Size + 16, (int)Marshal.OffsetOf<PreemptionWord.PreemptionLine>(nameof(PreemptionWord.PreemptionLine.Reason)));
    }

    [Fact]
    public void WorkerCarrierAndAssignmentLinesArePadded()
    {
        Assert.Equal(CacheLine.PaddedSize, Unsafe.SizeOf<Worker.CarrierLine>());
        Assert.Equal(CacheLine.Size, Worker.SliceOffset);
        Assert.Equal(CacheLine.Size + 8, (int)Marshal.OffsetOf<Worker.CarrierLine>(nameof(Worker.CarrierLine.IdleSince)));
        Assert.Equal(CacheLine.Size + 16, (int)Marshal.OffsetOf<Worker.CarrierLine>(nameof(Worker.CarrierLine.SeenEpoch)));
        Assert.Equal(CacheLine.Size + 24, (int)Marshal.OffsetOf<Worker.CarrierLine>(nameof(Worker.CarrierLine.SeenTicks)));
        // The slice id and its count share the carrier's one write per slice.
        Assert.Equal(CacheLine.Size + 32, (int)Marshal.OffsetOf<Worker.CarrierLine>(nameof(Worker.CarrierLine.SliceCount)));
        Assert.Equal(CacheLine.PaddedSize, Unsafe.SizeOf<Worker.AssignmentLine>());
        Assert.Equal(CacheLine.Size, (int)Marshal.OffsetOf<Worker.AssignmentLine>(nameof(Worker.AssignmentLine.Epoch)));
        Assert.Equal(CacheLine.Size + 8, (int)Marshal.OffsetOf<Worker.AssignmentLine>(nameof(Worker.AssignmentLine.App)));
    }

    [Fact]
    public void WorkerSlotIsOneCacheLine()
    {
        Assert.Equal(CacheLine.Size, Unsafe.SizeOf<global::NetStack.IOKernel.WorkerSlot>());
        Assert.Equal(0, (int)Marshal.OffsetOf<global::NetStack.IOKernel.WorkerSlot>(nameof(global::NetStack.IOKernel.WorkerSlot.Occupancy)));
        Assert.Equal(16, (int)Marshal.OffsetOf<global::NetStack.IOKernel.WorkerSlot>(nameof(global::NetStack.IOKernel.WorkerSlot.SlicesEnded)));
        Assert.Equal(48, (int)Marshal.OffsetOf<global::NetStack.IOKernel.WorkerSlot>(nameof(global::NetStack.IOKernel.WorkerSlot.GrantEvent)));
    }
}
