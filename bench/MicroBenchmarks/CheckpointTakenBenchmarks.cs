// Benchmark 4: a checkpoint taken: the green thread suspends at it and its carrier resumes it, on one thread.
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using NetStack.Runtime.Scheduling;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// One suspend and resume of a green thread on the same thread, per operation: a
/// <see cref="GreenThreadBuilder"/> handler awaits <c>ctx.Checkpoint()</c> in a loop, and each
/// <see cref="GreenThread.RunSlice"/> runs with the preemption word naming its slice, so each slice
/// resumes the handler's continuation, which reaches the next checkpoint and suspends again (the
/// continuation captured, the state machine kept in its pooled box). Between slices the green thread
/// takes the IOKernel's state moves (back to the queue, to a worker), not its queues. This is the
/// preemption's own CPU cost, without the cross-core transfers (benchmark 5 adds those); after
/// warm-up it allocates nothing. Baseline: <c>await Task.Yield()</c> in a plain async method, the
/// conventional way to give the thread up and be resumed (through the ThreadPool).
/// </summary>
[MemoryDiagnoser]
public class CheckpointTakenBenchmarks
{
    private const int Slices = 1000;
    private const long Slice = 7;

    private readonly GreenThread _thread = new();
    private readonly PreemptionWord _word = new();
    private readonly CheckpointLoop _handler = new();

    [GlobalSetup(Target = nameof(CheckpointTaken))]
    public void Setup()
    {
        _word.Request(Slice, YieldReason.Quantum); // every slice numbered Slice is asked to end
        _thread.Reset();
        _thread.Handler = _handler;
        // The first slice starts the handler, which suspends at its first checkpoint (its box is rented here).
        RunSlice(SliceOutcome.Yielded);
    }

    [GlobalCleanup(Target = nameof(CheckpointTaken))]
    public void Cleanup()
    {
        _handler.Stop = true;
        RunSlice(SliceOutcome.Completed); // the handler leaves its loop; the box goes back to its pool
    }

    /// <summary><c>await Task.Yield()</c>: the continuation queued to the ThreadPool and run there.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Slices)]
    public async Task TaskYield()
    {
        for (int i = 0; i < Slices; i++)
        {
            await Task.Yield();
        }
    }

    /// <summary>A slice that resumes the green thread and ends at its next checkpoint.</summary>
    [Benchmark(OperationsPerInvoke = Slices)]
    public void CheckpointTaken()
    {
        for (int i = 0; i < Slices; i++)
        {
            RunSlice(SliceOutcome.Yielded);
        }
    }

    private void RunSlice(SliceOutcome expected)
    {
        GreenThread t = _thread;
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.AtWorker);
        if (t.RunSlice(_word, Slice) != expected)
        {
            throw new InvalidOperationException($"the slice did not end {expected}");
        }
    }

    /// <summary>Checkpoints until told to stop.</summary>
    private sealed class CheckpointLoop : IRequestHandler
    {
        public volatile bool Stop;

        [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            while (!Stop)
            {
                await ctx.Checkpoint();
            }
        }
    }
}
