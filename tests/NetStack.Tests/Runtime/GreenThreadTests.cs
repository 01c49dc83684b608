// Green threads: a checkpoint yields only when its slice is named, and a yielded request resumes intact elsewhere.
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.Runtime;

public class GreenThreadTests
{
    [Fact]
    public void PreemptedRequestResumesOnAnotherThreadWithItsLocalStateIntact()
    {
        const int Steps = 50;
        var handler = new FibonacciHandler(Steps);
        var ctx = Ready(new GreenThread { Id = 7, Handler = handler });
        var word = new PreemptionWord();

        // Slice 1 is named by the word before it starts: the first checkpoint yields.
        word.Request(1, YieldReason.Quantum);
        Assert.Equal(SliceOutcome.Yielded, ctx.RunSlice(word, 1));

        // Each later slice runs on a new thread, and is preempted again until the last one.
        int yields = 1;
        SliceOutcome outcome = SliceOutcome.Yielded;
        for (long slice = 2; outcome == SliceOutcome.Yielded; slice++)
        {
            if (slice < 10)
            {
                word.Request(slice, YieldReason.Quantum);
            }
            long s = slice;
            Requeued(ctx);
            var t = new Thread(() => outcome = ctx.RunSlice(word, s));
            t.Start();
            t.Join();
            if (outcome == SliceOutcome.Yielded)
            {
                yields++;
            }
        }

        Assert.Equal(SliceOutcome.Completed, outcome);
        Assert.Equal(RequestStatus.Ok, ctx.Status);
        Assert.Equal(9, yields);
        Assert.Equal(FibonacciHandler.Expected(Steps), handler.Results[7]);
        Assert.True(handler.Threads[7].Count >= 2, "the handler should have run on several threads");
    }

    [Fact]
    public void CheckpointDoesNotYieldWhenTheWordNamesAnotherSlice()
    {
        var handler = new FibonacciHandler(20);
        var ctx = Ready(new GreenThread { Id = 1, Handler = handler });
        var word = new PreemptionWord();
        word.Request(5, YieldReason.Quantum); // an earlier slice's request, already stale
        Assert.Equal(SliceOutcome.Completed, ctx.RunSlice(word, 6));
        Assert.Equal(FibonacciHandler.Expected(20), handler.Results[1]);
    }

    [Theory]
    [InlineData(true, 1, true)]             // past its quantum, a request waiting in the mailbox: yields unasked
    [InlineData(false, 1, false)]           // nothing waits: runs on
    [InlineData(true, int.MaxValue, false)] // its quantum (2 s) not over: runs on
    [InlineData(true, 0, false)]            // no quantum (a policy that does not share by time): runs on
    public void WithAQuantumACheckpointYieldsUnaskedOnlyPastItWithARequestInTheMailbox(bool waiting, int quantumTicks, bool yields)
    {
        SliceOutcome expected = yields ? SliceOutcome.Yielded : SliceOutcome.Completed;
        var handler = new FibonacciHandler(20);
        var t = new GreenThread { Id = 4, Handler = handler };
        t.SetApp(0, handler, null, 0, 0, quantumTicks);
        var ctx = Ready(t);
        var registry = new GreenThreadRegistry(4);
        var mailbox = new HandoffRing(2, registry, counted: true);
        if (waiting)
        {
            var next = new GreenThread();
            registry.Register(next);
            mailbox.Push(next, 0);
        }
        var word = new PreemptionWord(); // the IOKernel never asks

        // The slice id is its start on the clock: this one started a millisecond ago.
        long slice = NetStack.Runtime.Clock.Now() - NetStack.Runtime.Clock.FromMicros(1000);
        Assert.Equal(expected, ctx.RunSlice(word, slice, mailbox));
        if (expected == SliceOutcome.Yielded)
        {
            // Resumed with the mailbox drained, it finishes; its result is whole.
            mailbox.TryPop(out _);
            Requeued(ctx);
            Assert.Equal(SliceOutcome.Completed, ctx.RunSlice(word, slice + 1, mailbox));
        }
        Assert.Equal(FibonacciHandler.Expected(20), handler.Results[4]);
    }

    [Fact]
    public void HandlerThatThrowsCompletesWithErrorStatus()
    {
        var ctx = Ready(new GreenThread { Id = 3, Type = 1, Handler = new ThrowingForTypeOne() });
        Assert.Equal(SliceOutcome.Completed, ctx.RunSlice(new PreemptionWord(), 1));
        Assert.Equal(RequestStatus.Error, ctx.Status);
        Assert.IsType<InvalidOperationException>(ctx.Error);
    }

    [OptimizedBuildFact]
    public void YieldingAndResumingAllocatesNothingAfterWarmUp()
    {
        var handler = new TwoCheckpoints();
        var word = new PreemptionWord();
        var contexts = Enumerable.Range(0, 64).Select(_ => new GreenThread()).ToArray();
        var outcomes = new SliceOutcome[2 * contexts.Length];
        long slice = 0;

        // Suspends 64 requests at once, as a processor-sharing queue holds many, then finishes them
        // all. Outcomes go to a preallocated array: assertions allocate, so they come after.
        void RunBatch()
        {
            for (int i = 0; i < contexts.Length; i++)
            {
                GreenThread c = contexts[i];
                c.Reset();
                c.Handler = handler;
                Ready(c);
                word.Request(++slice, YieldReason.Quantum);
                outcomes[i] = c.RunSlice(word, slice);
            }
            for (int i = 0; i < contexts.Length; i++)
            {
                Requeued(contexts[i]);
                outcomes[contexts.Length + i] = contexts[i].RunSlice(word, ++slice);
            }
        }

        RunBatch(); // fills the box pool
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            RunBatch();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.All(outcomes.Take(contexts.Length), o => Assert.Equal(SliceOutcome.Yielded, o));
        Assert.All(outcomes.Skip(contexts.Length), o => Assert.Equal(SliceOutcome.Completed, o));
        Assert.All(contexts, c => Assert.Equal(RequestStatus.Ok, c.Status));
        Assert.Equal(0, allocated);
    }

    /// <summary>Walks a fresh green thread to a worker, as the IOKernel does before a first slice.</summary>
    internal static GreenThread Ready(GreenThread t)
    {
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.AtWorker);
        return t;
    }

    /// <summary>A yielded green thread back through the queue to a worker.</summary>
    internal static void Requeued(GreenThread t)
    {
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.AtWorker);
    }

    private sealed class TwoCheckpoints : IRequestHandler
    {
        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            await ctx.Checkpoint();
            await ctx.Checkpoint();
        }
    }
}

/// <summary>The detached-request race: preemption asked, then the handler awaits real I/O before any checkpoint.</summary>
public class DetachedRequestTests
{
    [Fact]
    public void RequestMarkedForPreemptionThatDetachesFinishesOnTheThreadThatCompletesIt()
    {
        var io = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new AwaitsIoThenCheckpoints(io.Task);
        var finished = new ManualResetEventSlim();
        var thread = GreenThreadTests.Ready(new GreenThread { Id = 1, Handler = handler });
        thread.DetachedCompletion = _ => finished.Set();
        var word = new PreemptionWord();

        // The IOKernel names slice 7 before the handler reaches a checkpoint; the handler then awaits
        // I/O, so the slice ends detached, with the word still naming it.
        word.Request(7, YieldReason.Quantum);
        Assert.Equal(SliceOutcome.Detached, thread.RunSlice(word, 7));

        // The I/O completes on a pool thread; there the handler passes checkpoints with the worker's
        // word unchanged. None may suspend it (no carrier would ever resume it): it must finish.
        io.SetResult();
        Assert.True(finished.Wait(TimeSpan.FromSeconds(10)), "the detached request never finished");
        Assert.Equal(RequestStatus.Ok, thread.Status);
        Assert.Equal(100, handler.CheckpointsPassed);
    }

    private sealed class AwaitsIoThenCheckpoints(Task io) : IRequestHandler
    {
        public int CheckpointsPassed;

        public async ValueTask HandleAsync(RequestContext ctx)
        {
            await io.ConfigureAwait(false);
            for (int i = 0; i < 100; i++)
            {
                await ctx.Checkpoint();
                CheckpointsPassed++;
            }
        }
    }
}
