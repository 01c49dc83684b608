// Benchmark 5: a green thread suspended on one core and resumed on the other, against a continuation through the ThreadPool.
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using NetStack.MicroBenchmarks.Support;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// One migration, per operation: a suspended request resumed on another core, run to its next
/// suspension there, and handed on. One request bounces between BenchmarkDotNet's thread (pinned to
/// the main core) and a partner, so each operation is one one-way handoff plus one resume and
/// suspend on a core whose cache does not hold the request (its green thread, its state machine's
/// box): what a preempted request pays when it resumes on another worker.
/// <list type="bullet">
/// <item><see cref="ThreadPoolContinuation"/> (Baseline): an async method's continuation hops to the
/// ThreadPool with ThreadPool.UnsafeQueueUserWorkItem (a preallocated work item) and back to the main
/// thread through an SPSC ring, alternately: the conventional way to move a continuation, paid on
/// every other hop (the main thread waits with a SpinWait, which yields its core to a pool thread
/// queued there).</item>
/// <item><see cref="GreenThreadMigration"/>: a <see cref="GreenThreadBuilder"/> handler awaiting
/// checkpoints, its <see cref="GreenThread"/> handed between the two cores through two SPSC rings,
/// each side running one <see cref="GreenThread.RunSlice"/> with its own preemption word naming the
/// slice (so each slice ends at the next checkpoint).</item>
/// <item><see cref="CrossCoreRoundTrip"/>: the machine's round trip, the unit of the Ops/RT column
/// (a migration cannot take less than half of one: Ops/RT ≤ 2).</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
[PerRoundTripColumn]
public class MigrationBenchmarks
{
    /// <summary>Round trips per invocation: two migrations each.</summary>
    private const int Rounds = 2048;
    private const long Slice = 11;

    private Cores.MainThreadPin? _pin;
    private PinnedThread? _partner;
    private CrossCorePingPong? _pingPong;

    private readonly SpscRing<GreenThread> _toPartner = new(1);
    private readonly SpscRing<GreenThread> _toMain = new(1);
    private readonly PreemptionWord _mainWord = new();
    private readonly PreemptionWord _partnerWord = new();
    private readonly GreenThread _thread = new();
    private readonly CheckpointLoop _handler = new();

    private Bouncer? _bouncer;

    [GlobalSetup(Target = nameof(ThreadPoolContinuation))]
    public void SetupThreadPool()
    {
        _pin = Cores.PinMainThread();
        _bouncer = new Bouncer();
        _bouncer.Start(); // runs to its first await, which sends it to the ThreadPool
    }

    [GlobalSetup(Target = nameof(GreenThreadMigration))]
    public void SetupGreenThread()
    {
        _pin = Cores.PinMainThread();
        _mainWord.Request(Slice, YieldReason.Quantum);
        _partnerWord.Request(Slice, YieldReason.Quantum);
        SpscRing<GreenThread> toPartner = _toPartner, toMain = _toMain;
        PreemptionWord word = _partnerWord;
        _partner = new PinnedThread("bench-migrate", Cores.Partner, self =>
        {
            var backoff = new IdleBackoff();
            while (!self.StopRequested)
            {
                if (toPartner.TryPop(out GreenThread? t))
                {
                    backoff.Reset();
                    RunSlice(t, word, SliceOutcome.Yielded);
                    while (!toMain.TryPush(t))
                    {
                    }
                }
                else
                {
                    backoff.Idle();
                }
            }
        });
        _thread.Reset();
        _thread.Handler = _handler;
        // The first slice, here, starts the handler up to its first checkpoint; then it goes across.
        RunSlice(_thread, _mainWord, SliceOutcome.Yielded);
        Push(_toPartner, _thread);
    }

    [GlobalSetup(Target = nameof(CrossCoreRoundTrip))]
    public void SetupPingPong()
    {
        _pin = Cores.PinMainThread();
        _pingPong = new CrossCorePingPong(Cores.Partner);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _bouncer?.Finish();
        _bouncer = null;
        if (_partner is not null)
        {
            // Wait until the request is back here, then let it end its loop on this thread.
            GreenThread t = Pop(_toMain);
            _handler.Stop = true;
            RunSlice(t, _mainWord, SliceOutcome.Completed);
            _partner.Stop();
            _partner = null;
        }
        _pingPong?.Stop();
        _pingPong = null;
        _pin?.Dispose();
        _pin = null;
    }

    /// <summary>A continuation moved to a ThreadPool thread and back, alternately.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = 2 * Rounds)]
    public void ThreadPoolContinuation()
    {
        Bouncer b = _bouncer!;
        for (int i = 0; i < Rounds; i++)
        {
            b.ResumeHere();
        }
    }

    /// <summary>A green thread resumed on the other core and back, each time to its next checkpoint.</summary>
    [Benchmark(OperationsPerInvoke = 2 * Rounds)]
    public void GreenThreadMigration()
    {
        for (int i = 0; i < Rounds; i++)
        {
            GreenThread t = Pop(_toMain);
            RunSlice(t, _mainWord, SliceOutcome.Yielded);
            Push(_toPartner, t);
        }
    }

    /// <summary>One cross-core cache-line round trip (ping-pong on two padded longs), in this run.</summary>
    [Benchmark(OperationsPerInvoke = Rounds)]
    public void CrossCoreRoundTrip() => _pingPong!.RoundTrips(Rounds);

    /// <summary>One slice of a suspended green thread, walked through the IOKernel's state moves first.</summary>
    private static void RunSlice(GreenThread t, PreemptionWord word, SliceOutcome expected)
    {
        t.MoveTo(GreenThreadState.Queued);
        t.MoveTo(GreenThreadState.AtWorker);
        if (t.RunSlice(word, Slice) != expected)
        {
            throw new InvalidOperationException($"the slice did not end {expected}");
        }
    }

    private static GreenThread Pop(SpscRing<GreenThread> ring)
    {
        GreenThread? t;
        while (!ring.TryPop(out t))
        {
        }
        return t;
    }

    private static void Push(SpscRing<GreenThread> ring, GreenThread t)
    {
        while (!ring.TryPush(t))
        {
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

    /// <summary>
    /// An ordinary async method (the default builder) whose awaits send its continuation to the
    /// ThreadPool and to the main thread in turn. The work item is allocated once and reused, as
    /// Kestrel's IOQueue does, so the baseline allocates nothing per hop either.
    /// </summary>
    private sealed class Bouncer : IThreadPoolWorkItem
    {
        private readonly SpscRing<Action> _toMain = new(1);
        private Action? _toPool;
        private bool _nextToPool = true;
        private volatile bool _stop;
        private Task? _running;

        public void Start() => _running = RunAsync();

        /// <summary>Waits for the continuation to come back to this thread and runs it to its next await.</summary>
        public void ResumeHere()
        {
            Action? continuation;
            var wait = new SpinWait();
            while (!_toMain.TryPop(out continuation))
            {
                // The pool's thread may be queued behind this one on its core: yield after a few spins
                // (a pure spin would starve it for an OS time slice).
                wait.SpinOnce(sleep1Threshold: -1);
            }
            continuation();
        }

        /// <summary>Ends the method: its next run here leaves the loop.</summary>
        public void Finish()
        {
            Action? continuation;
            while (!_toMain.TryPop(out continuation))
            {
            }
            _stop = true;
            continuation();
            _running!.GetAwaiter().GetResult();
        }

        public void Execute()
        {
            Action continuation = _toPool!;
            _toPool = null;
            continuation();
        }

        private async Task RunAsync()
        {
            while (!_stop)
            {
                await new Hop(this);
            }
        }

        private void Send(Action continuation)
        {
            // Flip before sending: the continuation may run, and send again, before this returns.
            bool toPool = _nextToPool;
            _nextToPool = !toPool;
            if (toPool)
            {
                _toPool = continuation;
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
            else
            {
                while (!_toMain.TryPush(continuation))
                {
                }
            }
        }

        private readonly struct Hop(Bouncer owner) : ICriticalNotifyCompletion
        {
            public Hop GetAwaiter() => this;

            public bool IsCompleted => false;

            public void GetResult() { }

            public void OnCompleted(Action continuation) => owner.Send(continuation);

            public void UnsafeOnCompleted(Action continuation) => owner.Send(continuation);
        }
    }
}
