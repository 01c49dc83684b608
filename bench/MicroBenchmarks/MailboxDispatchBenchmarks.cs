// Benchmark 2: a request's round trip IOKernel → carrier → IOKernel through a worker's mailbox and completion ring, against the ThreadPool.
using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using NetStack.MicroBenchmarks.Support;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.MicroBenchmarks;

/// <summary>
/// The dispatcher's cost per request, and how many requests it moves per cross-core round trip.
/// BenchmarkDotNet's thread, pinned to the main core, plays the IOKernel: it keeps up to
/// <see cref="Depth"/> requests at one worker on the partner core (JBSQ(k), as the IOKernel's
/// Dispatch stage does), pushing green threads into the worker's <see cref="Worker.Mailbox"/> and
/// popping them back from its <see cref="Worker.Completions"/>, until <see cref="Requests"/> have come
/// back. Zero-service requests: what is measured is the handoff (the <c>--workload zero</c> ceiling
/// in docs/results.md, without NIC, queue or policy). The dispatcher is bound by its batch rather
/// than by the round trip when Ops/RT grows with k. Variants:
/// <list type="bullet">
/// <item><see cref="ThreadPoolRoundTrip"/> (Baseline): the conventional server's handoff, a work item
/// queued with ThreadPool.UnsafeQueueUserWorkItem that hands itself back through a ConcurrentQueue
/// (the dispatcher waits for it with a SpinWait, which yields its core to a pool thread queued there).</item>
/// <item><see cref="MailboxRings"/>: the two rings alone, a pinned thread moving each green thread
/// from the mailbox to the completion ring untouched.</item>
/// <item><see cref="MailboxCarrier"/>: the real <see cref="Carrier"/> running each request's (empty)
/// slice, and the IOKernel's own per-request writes (state moves, recycling): the full handoff.</item>
/// <item><see cref="CrossCoreRoundTrip"/>: the machine's round trip, the unit of the Ops/RT column.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
[PerRoundTripColumn]
public class MailboxDispatchBenchmarks
{
    private const int Requests = 4096;

    private Cores.MainThreadPin? _pin;
    private Worker? _worker;
    private PinnedThread? _ringPartner;
    private Carrier? _carrier;
    private CrossCorePingPong? _pingPong;
    private GreenThreadRegistry _registry = new(1);
    private GreenThread[] _free = [];
    private int _freeCount;
    private RoundTripItem[] _items = [];
    private readonly ConcurrentQueue<RoundTripItem> _done = new();

    /// <summary>JBSQ's k: requests the dispatcher keeps at the worker (the mailbox's depth).</summary>
    [Params(1, 2, 4)]
    public int Depth { get; set; }

    [GlobalSetup(Target = nameof(ThreadPoolRoundTrip))]
    public void SetupThreadPool()
    {
        _pin = Cores.PinMainThread();
        _items = new RoundTripItem[Depth];
        for (int i = 0; i < Depth; i++)
        {
            _items[i] = new RoundTripItem(_done);
        }
        _freeCount = Depth;
    }

    [GlobalSetup(Target = nameof(MailboxRings))]
    public void SetupRings()
    {
        _pin = Cores.PinMainThread();
        MakeGreenThreads();
        Worker worker = _worker = new Worker(0, Cores.Partner, Depth, _registry);
        _ringPartner = new PinnedThread("bench-rings", Cores.Partner, self =>
        {
            var backoff = new IdleBackoff();
            while (!self.StopRequested)
            {
                if (worker.Mailbox.TryPop(out GreenThread? t))
                {
                    backoff.Reset();
                    worker.Completions.Push(t, 0); // counted: one completion per request popped, at most k
                }
                else
                {
                    backoff.Idle();
                }
            }
        });
    }

    [GlobalSetup(Target = nameof(MailboxCarrier))]
    public void SetupCarrier()
    {
        _pin = Cores.PinMainThread();
        MakeGreenThreads();
        _worker = new Worker(0, Cores.Partner, Depth, _registry);
        // SpinYield: the carrier spins while requests come, and yields its core between iterations.
        _carrier = new Carrier(_worker, IdleStrategyKind.SpinYield, recorder: null);
        _carrier.Start();
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
        _carrier?.Stop();
        _carrier = null;
        _ringPartner?.Stop();
        _ringPartner = null;
        _pingPong?.Stop();
        _pingPong = null;
        _pin?.Dispose();
        _pin = null;
    }

    /// <summary>ThreadPool.UnsafeQueueUserWorkItem of a preallocated work item, k in flight, each
    /// coming back through a ConcurrentQueue the dispatcher polls.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Requests)]
    public int ThreadPoolRoundTrip()
    {
        int dispatched = 0, completed = 0;
        var wait = new SpinWait();
        while (completed < Requests)
        {
            while (_freeCount > 0 && dispatched < Requests)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_items[--_freeCount], preferLocal: false);
                dispatched++;
            }
            bool any = false;
            while (_done.TryDequeue(out RoundTripItem? item))
            {
                _items[_freeCount++] = item;
                completed++;
                any = true;
            }
            if (any)
            {
                wait.Reset();
            }
            else
            {
                // The pool's threads are not pinned and may be queued behind this one on its core:
                // a pure spin would starve them for a whole OS time slice (PLATFORM.md); SpinWait
                // yields after a few spins, as a conventional .NET waiter does.
                wait.SpinOnce(sleep1Threshold: -1);
            }
        }
        return completed;
    }

    /// <summary>Mailbox → pinned thread → completion ring, k in flight, the green threads untouched.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public int MailboxRings()
    {
        Worker worker = _worker!;
        int dispatched = 0, completed = 0;
        while (completed < Requests)
        {
            while (_freeCount > 0 && dispatched < Requests)
            {
                worker.Mailbox.Push(_free[--_freeCount], 0); // counted: fewer than k in flight
                dispatched++;
            }
            while (worker.Completions.TryPop(out GreenThread? t))
            {
                _free[_freeCount++] = t;
                completed++;
            }
        }
        return completed;
    }

    /// <summary>Mailbox → <see cref="Carrier"/> (an empty slice per request) → completion ring, k in
    /// flight, with the IOKernel's per-request state moves and recycling of each green thread.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public int MailboxCarrier()
    {
        Worker worker = _worker!;
        int dispatched = 0, completed = 0;
        while (completed < Requests)
        {
            while (_freeCount > 0 && dispatched < Requests)
            {
                GreenThread t = _free[--_freeCount];
                // Steer and dispatch, as the IOKernel's stages move it.
                t.Handler = EmptyHandler.Instance;
                t.MoveTo(GreenThreadState.Queued);
                t.MoveTo(GreenThreadState.AtWorker);
                bool wasEmpty = dispatched - completed == 0;
                worker.Mailbox.Push(t, t.DispatchTag); // counted: fewer than k in flight
                if (wasEmpty)
                {
                    worker.CarrierIdle?.WakeIfParked(); // as Dispatch does at level 0 (a no-op for SpinYield)
                }
                dispatched++;
            }
            while (worker.Completions.TryPop(out GreenThread? t, out byte tag))
            {
                // As Kernel.Complete does: the word says how the slice ended.
                if (CompletionTag.Outcome(tag) != SliceOutcome.Completed)
                {
                    throw new InvalidOperationException($"a zero-service request came back {CompletionTag.Outcome(tag)}");
                }
                t.CameBack(tag);
                // Answered and recycled, as GreenThreadPool.Return does.
                t.MoveTo(GreenThreadState.Free);
                t.ResetState();
                _free[_freeCount++] = t;
                completed++;
            }
        }
        return completed;
    }

    /// <summary>One cross-core cache-line round trip (ping-pong on two padded longs), in this run.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public int CrossCoreRoundTrip()
    {
        _pingPong!.RoundTrips(Requests);
        return Requests;
    }

    private void MakeGreenThreads()
    {
        // The rings carry registry indexes: every green thread is registered before any handoff.
        _registry = new GreenThreadRegistry(Depth);
        _free = new GreenThread[Depth];
        for (int i = 0; i < Depth; i++)
        {
            _free[i] = new GreenThread();
            _registry.Register(_free[i]);
        }
        _freeCount = Depth;
    }

    /// <summary>The conventional server's unit of work: queued to the pool, it reports back.</summary>
    private sealed class RoundTripItem(ConcurrentQueue<RoundTripItem> done) : IThreadPoolWorkItem
    {
        public void Execute() => done.Enqueue(this);
    }

    /// <summary>A zero-service handler: the slice is the carrier's bookkeeping alone.</summary>
    private sealed class EmptyHandler : IRequestHandler
    {
        public static readonly EmptyHandler Instance = new();

        public ValueTask HandleAsync(RequestContext ctx) => default;
    }
}
