// Benchmark 3: what `await ctx.Checkpoint()` costs a handler when no preemption was asked.
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// A checkpoint not taken, per checkpoint: a <see cref="GreenThreadBuilder"/> handler loops over
/// <see cref="Steps"/> steps of one multiply-add each, awaiting <c>ctx.Checkpoint()</c> after every
/// step, run as one slice by <see cref="GreenThread.RunSlice"/> with a preemption word that names
/// another slice, so no checkpoint yields. The README promises "a few ns" per checkpoint: this is
/// the figure (the variant's time less the baseline's). The step keeps the loop from being optimized
/// away and is a few cycles long, so the checkpoint's cost stands out as far as it can; its loads and
/// compare do not depend on the step, so an out-of-order core runs them in the shadow of the step's
/// multiply, as it would in a handler's own work (which checkpoints every microsecond or so, not
/// every few cycles). Variants against the same loop without checkpoints (Baseline): an
/// <c>await ValueTask.CompletedTask</c> per step, the conventional no-op await, and
/// <c>await Task.Yield()</c> per step, the conventional preemption point, which always yields.
/// The slice's own start and finish are amortized over the steps.
/// </summary>
[MemoryDiagnoser]
public class CheckpointNotTakenBenchmarks
{
    private const int Steps = 1000;
    private const long NotThisSlice = 1;
    private const long Slice = 2;

    private readonly GreenThread _thread = new();
    private readonly GreenThread _shared = new();
    private readonly GreenThreadRegistry _registry = new(4);
    private HandoffRing _emptyMailbox = null!;
    private HandoffRing _busyMailbox = null!;
    private readonly PreemptionWord _word = new();
    private readonly StepHandler _noCheckpoint = new NoCheckpointHandler();
    private readonly StepHandler _checkpoint = new CheckpointHandler();
    private readonly StepHandler _completedValueTask = new CompletedValueTaskHandler();
    private long _sink;

    [GlobalSetup]
    public void Setup()
    {
        _word.Request(NotThisSlice, YieldReason.Quantum); // a stale request: names another slice
        _emptyMailbox = new HandoffRing(2, _registry, counted: true);
        _busyMailbox = new HandoffRing(2, _registry, counted: true);
        var waiting = new GreenThread();
        _registry.Register(waiting);
        _busyMailbox.Push(waiting, 0);
    }

    /// <summary>The steps alone, in a handler run as a slice.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Steps)]
    public long NoCheckpoint() => RunSlice(_noCheckpoint);

    /// <summary><c>await ctx.Checkpoint()</c> after each step, none taken.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public long Checkpoint() => RunSlice(_checkpoint);

    /// <summary>As <see cref="Checkpoint"/>, for an app shared by time (a quantum, here 2 s, never over):
    /// the worker-side quantum check adds a load of the mailbox's slot, found empty.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public long CheckpointWithQuantumMailboxEmpty() => RunSlice(_checkpoint, _emptyMailbox);

    /// <summary>As above with a request waiting in the mailbox: each checkpoint reads the clock as well
    /// (the worst case, which lasts at most one quantum in a real slice).</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public long CheckpointWithQuantumRequestWaiting() => RunSlice(_checkpoint, _busyMailbox);

    /// <summary><c>await ValueTask.CompletedTask</c> after each step.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public long AwaitCompletedValueTask() => RunSlice(_completedValueTask);

    /// <summary><c>await Task.Yield()</c> after each step, in a plain async method on the ThreadPool.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public async Task<long> TaskYield()
    {
        long x = _sink;
        for (int i = 0; i < Steps; i++)
        {
            x = StepHandler.Step(x, i);
            await Task.Yield();
        }
        return _sink = x;
    }

    private long RunSlice(StepHandler handler, HandoffRing mailbox)
    {
        GreenThread t = _shared;
        t.Reset();
        t.Handler = handler;
        t.SetApp(0, handler, null, 0, 0, quantumTicks: int.MaxValue);
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.AtWorker);
        // The slice id is its start on the clock: the quantum counts from now.
        if (t.RunSlice(_word, Clock.Now(), mailbox) != SliceOutcome.Completed)
        {
            throw new InvalidOperationException("a checkpoint within its quantum yielded");
        }
        return handler.Result;
    }

    private long RunSlice(StepHandler handler)
    {
        GreenThread t = _thread;
        t.Reset();
        t.Handler = handler;
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.AtWorker);
        if (t.RunSlice(_word, Slice) != SliceOutcome.Completed)
        {
            throw new InvalidOperationException("a checkpoint not asked for yielded");
        }
        return handler.Result;
    }

    /// <summary>A handler of <see cref="Steps"/> steps; its result is kept so the steps are not dead code.</summary>
    private abstract class StepHandler : IRequestHandler
    {
        public long Result;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static long Step(long x, int i) => x * 6364136223846793005L + i;

        public abstract ValueTask HandleAsync(RequestContext ctx);
    }

    private sealed class NoCheckpointHandler : StepHandler
    {
        public override ValueTask HandleAsync(RequestContext ctx)
        {
            long x = Result;
            for (int i = 0; i < Steps; i++)
            {
                x = Step(x, i);
            }
            Result = x;
            return default;
        }
    }

    private sealed class CheckpointHandler : StepHandler
    {
        [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public override async ValueTask HandleAsync(RequestContext ctx)
        {
            long x = Result;
            for (int i = 0; i < Steps; i++)
            {
                x = Step(x, i);
                await ctx.Checkpoint();
            }
            Result = x;
        }
    }

    private sealed class CompletedValueTaskHandler : StepHandler
    {
        public override async ValueTask HandleAsync(RequestContext ctx)
        {
            long x = Result;
            for (int i = 0; i < Steps; i++)
            {
                x = Step(x, i);
                await ValueTask.CompletedTask;
            }
            Result = x;
        }
    }
}
