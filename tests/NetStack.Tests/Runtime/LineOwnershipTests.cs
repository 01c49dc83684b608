// Each side writes its own lines: the ring words carry what the other side would read, counted rings
// need no marks back, and a recycled green thread never shows the last request's carrier fields.
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using Xunit;

namespace NetStack.Tests.Runtime;

public class LineOwnershipTests
{
    [Fact]
    public void CompletionTagCarriesEveryOutcomeStatusAndSegmentsFlag()
    {
        foreach (SliceOutcome outcome in Enum.GetValues<SliceOutcome>())
        {
            foreach (RequestStatus status in Enum.GetValues<RequestStatus>())
            {
                foreach (bool segments in new[] { false, true })
                {
                    byte tag = CompletionTag.Of(outcome, status, segments);
                    Assert.Equal(outcome, CompletionTag.Outcome(tag));
                    Assert.Equal(status, CompletionTag.Status(tag));
                    Assert.Equal(segments, CompletionTag.ReplyHasSegments(tag));
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void CountedRingKeepsOrderAndTagsAcrossLaps(int capacity)
    {
        var registry = new GreenThreadRegistry(64);
        var ring = new HandoffRing(capacity, registry, counted: true);
        var threads = Enumerable.Range(0, ring.Capacity).Select(i => { var t = new GreenThread { Id = i }; registry.Register(t); return t; }).ToArray();
        for (int lap = 0; lap < 6; lap++)
        {
            for (int i = 0; i < ring.Capacity; i++)
            {
                ring.Push(threads[i], (byte)(lap * 16 + i));
            }
            Assert.Equal(ring.Capacity, ring.Count);
            for (int i = 0; i < ring.Capacity; i++)
            {
                Assert.True(ring.TryPop(out GreenThread? t, out byte tag));
                Assert.Same(threads[i], t);
                Assert.Equal((byte)(lap * 16 + i), tag);
            }
            Assert.False(ring.TryPop(out _, out _));
            Assert.True(ring.IsEmptyForConsumer());
        }
    }

    [Fact]
    public void TagsLeaveTheIndexWholeUpToTheMarker()
    {
        var registry = new GreenThreadRegistry(4);
        var ring = new HandoffRing(2, registry, counted: true);
        var t = new GreenThread();
        registry.Register(t);
        ring.Push(t, byte.MaxValue);
        ring.Push(GreenThreadRegistry.Marker, byte.MaxValue);
        Assert.True(ring.TryPop(out GreenThread? first, out byte firstTag));
        Assert.Same(t, first);
        Assert.Equal(byte.MaxValue, firstTag);
        Assert.True(ring.TryPop(out GreenThread? second, out _));
        Assert.Same(GreenThreadRegistry.Marker, second);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GreenThreadRegistry(GreenThreadRegistry.MarkerIndex + 1));
    }

    /// <summary>The JBSQ discipline the counted rings rely on, across two threads: a dispatcher that
    /// pushes only while it holds fewer than k, a worker that pushes one completion per pop. Nothing is
    /// lost, nothing overwritten, and each completion's tag is the one its worker wrote.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void CountedRingsUnderJbsqLoseNothingAcrossThreads(int k)
    {
        const int N = 100_000;
        var registry = new GreenThreadRegistry(16);
        var threads = Enumerable.Range(0, 8).Select(i => { var t = new GreenThread { Id = i }; registry.Register(t); return t; }).ToArray();
        var mailbox = new HandoffRing(k, registry, counted: true);
        var completions = new HandoffRing(k, registry, counted: true);
        var free = new Stack<GreenThread>(threads);
        var worker = new Thread(() =>
        {
            for (int done = 0; done < N;)
            {
                if (mailbox.TryPop(out GreenThread? t, out byte tag))
                {
                    completions.Push(t, (byte)(tag ^ 0x5A));
                    done++;
                }
            }
        });
        worker.Start();
        long sum = 0;
        int dispatched = 0, completed = 0, held = 0;
        var bound = System.Diagnostics.Stopwatch.StartNew();
        while (completed < N && bound.Elapsed < TimeSpan.FromSeconds(60))
        {
            while (held < k && dispatched < N)
            {
                GreenThread t = free.Pop();
                mailbox.Push(t, (byte)(t.Id & 0xFF));
                held++;
                dispatched++;
            }
            while (completions.TryPop(out GreenThread? t, out byte tag))
            {
                Assert.Equal((byte)((t.Id & 0xFF) ^ 0x5A), tag);
                sum += t.Id;
                free.Push(t);
                held--;
                completed++;
            }
        }
        Assert.True(worker.Join(TimeSpan.FromSeconds(60)));
        Assert.Equal(N, completed);
        Assert.Equal(threads.Length, free.Count);
        Assert.True(sum > 0);
    }

    [Fact]
    public void CarrierFieldsArePaddedOffTheLinesAroundThem()
    {
        Assert.True(CarrierFields.First >= CacheLine.Size);
        Assert.True(CarrierFields.Size - CarrierFields.End >= CacheLine.Size);
        Assert.Equal(CarrierFields.Size, Unsafe.SizeOf<CarrierFields>());
    }

    [Fact]
    public void TheIOKernelsFieldGroupsAreALineApart()
    {
        Assert.True(GreenThread.KernelFields.A >= CacheLine.Size);
        Assert.True(GreenThread.KernelFields.B - GreenThread.KernelFields.AEnd >= CacheLine.Size);
        Assert.True(GreenThread.KernelFields.C - GreenThread.KernelFields.BEnd >= CacheLine.Size);
        Assert.Equal(GreenThread.KernelFields.Size, Unsafe.SizeOf<GreenThread.KernelFields>());
    }

    [Fact]
    public void TheAppsFieldsAreWrittenOnlyWhenTheyChangeAndSurviveTheRecycle()
    {
        var t = new GreenThread();
        var handler = new Throwing();
        t.SetApp(2, handler, null, 8, 100);
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.Done);
        t.MoveTo(GreenThreadState.Free);
        t.ResetState();
        Assert.Equal(2, t.AppId);
        Assert.Same(handler, t.Handler);
        Assert.Equal(8, t.ReplyHeaderBytes);
        Assert.Equal(100, t.MaxReplyBytes);
        t.SetApp(3, null, null, 0, 200);
        Assert.Equal(3, t.AppId);
        Assert.Null(t.Handler);
        Assert.Equal(0, t.ReplyHeaderBytes);
        Assert.Equal(200, t.MaxReplyBytes);
    }

    [Fact]
    public void ARecycledGreenThreadRefusedUnrunReportsNoneOfTheLastRequestsStamps()
    {
        var t = FailedAndRecycled(serviceTicks: 500, preemptions: 3);

        // The next request is refused before any carrier started it: the IOKernel clears the
        // carrier's fields itself, so the refusal says nothing of the last request.
        Assert.Equal(global::NetStack.Runtime.Scheduling.DispatchTag.Fresh, t.DispatchTag);
        t.MoveTo(GreenThreadState.Queued);
        t.Refuse(RequestStatus.ShuttingDown);
        Assert.Equal(RequestStatus.ShuttingDown, t.Status);
        Assert.Null(t.Error);
        Assert.Equal(0, t.ServiceTicks);
        Assert.Equal(0, t.Preemptions);
    }

    [Fact]
    public void AFreshDispatchClearsTheCarrierFieldsOnTheCarrierAndAYieldedOneKeepsThem()
    {
        var t = FailedAndRecycled();
        Assert.Equal(RequestStatus.Error, t.Status); // still the last request's: nothing cleared it yet

        t.Handler = new TwoCheckpointsHandler();
        GreenThreadTests.Ready(t);
        Assert.Equal(global::NetStack.Runtime.Scheduling.DispatchTag.Fresh, t.DispatchTag);
        t.BeginOnCarrier();
        Assert.Equal(RequestStatus.Ok, t.Status);
        Assert.Null(t.Error);
        var word = new PreemptionWord();
        word.Request(2, YieldReason.Quantum);
        Assert.Equal(SliceOutcome.Yielded, t.RunSlice(word, 2));
        t.CameBack(CompletionTag.Of(SliceOutcome.Yielded, RequestStatus.Ok, replyHasSegments: false));
        Assert.Equal(0, t.DispatchTag); // resumed, not restarted: the carrier keeps its continuation
        GreenThreadTests.Requeued(t);
        Assert.Equal(SliceOutcome.Completed, t.RunSlice(word, 3));
        Assert.Equal(RequestStatus.Ok, t.Status);
    }

    [Fact]
    public void TheReplyIsBegunWhenFirstAskedForWithTheBoundsSetAtSteer()
    {
        var t = new GreenThread { ReplyHeaderBytes = 8, MaxReplyBytes = 100 };
        t.BeginOnCarrier();
        Assert.False(t.ReplyBegun);
        Assert.False(t.ReplyOverflowed);
        Assert.False(t.ReplyHasSegments);
        var reply = t.Context.Reply;
        Assert.True(t.ReplyBegun);
        Assert.Equal(8, reply.HeaderBytes);
        Assert.Equal(100, reply.MaxBodyBytes);
        Assert.Equal(0, reply.WrittenBytes);
    }

    /// <summary>A request that failed on a carrier (with these stamps), taken back and recycled by
    /// the IOKernel: its recycle clears only the IOKernel's fields.</summary>
    private static GreenThread FailedAndRecycled(long serviceTicks = 0, int preemptions = 0)
    {
        var t = GreenThreadTests.Ready(new GreenThread { Id = 1, Handler = new Throwing() });
        Assert.Equal(SliceOutcome.Completed, t.RunSlice(new PreemptionWord(), 1));
        Assert.Equal(RequestStatus.Error, t.Status);
        t.ServiceTicks = serviceTicks;
        t.Preemptions = preemptions;
        t.CameBack(CompletionTag.Of(SliceOutcome.Completed, t.Status, replyHasSegments: false));
        // The completed slice moved it to Done on the carrier (a move Debug builds make and check), and
        // the pool's return moves it to Free, as the IOKernel's completion does.
        t.MoveTo(GreenThreadState.Free);
        t.ResetState();
        return t;
    }

        private sealed class Throwing : IRequestHandler
    {
        public ValueTask HandleAsync(RequestContext ctx) => throw new InvalidOperationException("boom");
    }

    private sealed class TwoCheckpointsHandler : IRequestHandler
    {
        [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            await ctx.Checkpoint();
            await ctx.Checkpoint();
        }
    }
}
