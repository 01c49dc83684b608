// Every IOKernel tunable in one place, with its unit in its name and the reason for its default.
using NetStack.Runtime;
using NetStack.Runtime.Threading;

namespace NetStack.IOKernel;

/// <summary>The IOKernel's configuration (bound from appsettings.json section "NetStack").</summary>
public sealed class KernelOptions
{
    /// <summary>The IOKernel's own core (Shenango dedicates core 0).</summary>
    public int IOKernelCore { get; set; } = 0;

    /// <summary>One carrier per core listed here.</summary>
    public int[] WorkerCores { get; set; } = [1];

    /// <summary>Scheduling policy: cfcfs, ps or dfcfs.</summary>
    public string Policy { get; set; } = "ps";

    /// <summary>Processor-sharing time slice. 5 µs is Shinjuku's default.</summary>
    public double QuantumMicros { get; set; } = 5;

    /// <summary>JBSQ's k: requests a worker may hold, the running one included. 2 hides the
    /// IOKernel's round trip behind the running request (Shinjuku, Perséphone use 1–2).</summary>
    public int MailboxDepth { get; set; } = 2;

    /// <summary>The central queue's bound; a request past it is rejected at once.</summary>
    public int QueueCapacity { get; set; } = 8192;

    /// <summary>Requests taken from a NIC queue per receive burst (Caladan's burst size).</summary>
    public int RxBatch { get; set; } = 32;

    /// <summary>How the IOKernel backs off when a whole loop found no work.</summary>
    public IdleStrategyKind IOKernelIdle { get; set; } = IdleStrategyKind.SpinYield;

    /// <summary>When the kernel starts, move every other thread of the process (and so the ones they
    /// start later: the thread pool, timers, logging) off the worker cores, onto the cores the
    /// workers do not use (the IOKernel's among them). Off in the library, so a test process or an
    /// embedding host keeps its threads where it put them; on in the <c>netstack</c> executable. On
    /// the reference VM the server's thread-pool workers took about 10 ms of the worker's core in one
    /// burst, in segments of 1.1–3.2 ms (traced with perf sched_switch, docs/results.md).</summary>
    public bool HelperThreadsOffWorkers { get; set; }

    /// <summary>The longest the IOKernel holds its core without offering it, while it finds work (µs;
    /// SpinYield and SpinPark only; 0, the default: never while busy). A busy loop otherwise keeps the
    /// core until the OS's next tick, 4 ms on the reference VM (HZ = 250, no kernel preemption), and a
    /// thread sharing the IOKernel's core (a load generator) waits that long: traced with perf
    /// sched_switch, 50 µs cut the IOKernel's holds of a millisecond or more from 37 to 3 in a 5 s stretch.
    /// It is off by default because side-by-side runs of kv against its generator on one core did not
    /// show the tail getting lower with it, and it costs a context switch each time another thread
    /// takes the offer (docs/results.md, "Who takes the IOKernel's core").</summary>
    public double IOKernelBusyYieldMicros { get; set; }

    /// <summary>Whether a worker ends its own slice under processor sharing (true, the default): a
    /// checkpoint yields once the slice has outlived its quantum while a request waits in the worker's
    /// mailbox, the very case the IOKernel's preemption word is written for, without waiting for the
    /// IOKernel to see it. The IOKernel still asks for the other cases (work waiting only in the
    /// central queue, a core taken away). false: only the IOKernel ends slices.</summary>
    public bool WorkerQuantumCheck { get; set; } = true;

    /// <summary>Experimental, off by default: a worker that ends its own slice (<see cref="WorkerQuantumCheck"/>)
    /// keeps the request and resumes it right after the one waiting in its mailbox, instead of handing it
    /// to the IOKernel to requeue at the central queue's tail. It saves the round trip through the IOKernel
    /// each such yield costs (a 1000-key multiget beside GETs yields once per GET), which is long when the
    /// IOKernel shares its core; the request stays counted at the worker, so JBSQ(k) keeps its bound. A
    /// second request in the mailbox sends the kept one to the queue's tail as before. It is off because
    /// it changes the discipline: the kept request runs again before what waits in the central queue. On
    /// the 2-core VM it lowered kv's client GET p99 beside 1000-key multigets (990 to 716 µs, fewer GETs
    /// behind a multiget on their connection) but raised its server-side GET p99 (164 to 194 µs), and in
    /// process, extreme-bimodal at 0.5, short requests' p50 went from 3.0 to 39.5 µs (docs/results.md).</summary>
    public bool WorkerHoldsYielded { get; set; }

    /// <summary>How carriers back off when their mailbox is empty: spin, yield, then park, so that on
    /// a small machine an idle carrier gives its core to the other threads (docs/design-notes.md).</summary>
    public IdleStrategyKind CarrierIdle { get; set; } = IdleStrategyKind.SpinPark;

    /// <summary>Spin this long before backing off further. 0: yield at once when a poll finds nothing.
    /// On the 2-core reference VM a 100 µs spin let the IOKernel starve a generator sharing its core
    /// (p50 538 µs at 0.1 load; 31 µs with 0, docs/results.md); a yield with nothing else runnable
    /// returns in well under a microsecond, so on a machine with spare cores 0 costs little.</summary>
    public double IdleSpinMicros { get; set; } = 0;

    /// <summary>Yield this long before parking (SpinPark only): 2 ms, so a carrier between requests
    /// at a few hundred requests per second is still awake, and an idle one parks soon after.</summary>
    public double IdleYieldMicros { get; set; } = 2000;

    /// <summary>One park's length: ~20 µs wake-ups make shorter parks pointless.</summary>
    public double IdleParkMicros { get; set; } = 200;

    /// <summary>On stop, how long in-flight requests may take to finish before the kernel gives up on them.</summary>
    public double DrainTimeoutMillis { get; set; } = 5000;

    /// <summary>A slice that runs this long without reaching a checkpoint (or a batch job that keeps a
    /// core this long after it was asked for) is reported and its core counted lost until it returns.
    /// 10 ms: a thousand times a typical request, far beyond any preemption latency.</summary>
    public double WatchdogMillis { get; set; } = 10;

    /// <summary>Per-request events (arrival, dispatch, preemption, completion) to keep; 0: none.</summary>
    public int TraceCapacity { get; set; }

    /// <summary>Core allocation between apps: static, standing-queue (Shenango) or queue-delay (Caladan).
    /// Standing-queue by default, so a batch app gets the cores the latency-critical ones leave idle.</summary>
    public string CoreAllocation { get; set; } = "standing-queue";

    /// <summary>How often the IOKernel checks apps for congestion. 5 µs is Shenango's interval.</summary>
    public double CongestionIntervalMicros { get; set; } = 5;

    /// <summary>queue-delay: an app is congested when its oldest request has queued this long
    /// (Caladan's default delay threshold is of this order: a few intervals).</summary>
    public double QueueDelayMicros { get; set; } = 10;

    /// <summary>A core whose carrier found no work for its latency-critical app this long goes to
    /// batch. Measured on the 2-core reference VM (exp-10 at 50 %, docs/results.md): batch got 91 %
    /// of the idle cycles at 2 µs, 81 % at 5 µs and 67 % at 10 µs, with the LC p99 within 1.1× of
    /// running alone at each; each release-and-grant cycle costs a few cross-core transfers, so
    /// shorter is better until those transfers dominate.</summary>
    public double ReleaseIdleMicros { get; set; } = 2;

    /// <summary>A congested latency-critical app that has found no idle or batch core for this long
    /// takes one from a latency-critical app holding more cores than it (0: never). Without it, an app
    /// whose only core another app's standing queue keeps busy waits as long as that queue stands;
    /// with it, two overloaded apps on one core take turns of about this length. 1 ms: 200 congestion
    /// intervals, so a congested app keeps a core long enough to drain a burst, short enough that
    /// the other's wait stays in the millisecond range.</summary>
    public double ShareMicros { get; set; } = 1000;

    /// <summary>Each green thread's inline reply buffer: a whole datagram (1472 B) and its header fit,
    /// so a UDP reply never needs a segment.</summary>
    public int InlineReplyBytes { get; set; } = 2048;

    /// <summary>Native memory for replies that outgrow their inline buffer (segments of 16 KiB and
    /// up, shared by all apps); past it such a reply fails.</summary>
    public int ReplyPoolMegabytes { get; set; } = 256;

    /// <summary>Green threads beyond the queues and workers, for replies that wait to be sent (a TCP
    /// client slow to read holds its replies until it reads them).</summary>
    public int ReplyBacklog { get; set; } = 4096;

    /// <summary>A gap longer than this in a pinned thread's loop is logged as a machine stall
    /// (<see cref="Runtime.Threading.StallLog.DefaultThresholdMicros"/> explains the default).</summary>
    public double StallThresholdMicros { get; set; } = Runtime.Threading.StallLog.DefaultThresholdMicros;

    /// <summary>Stalls kept per pinned thread (later ones are counted, not kept).</summary>
    public int StallLogCapacity { get; set; } = 1 << 16;

    /// <summary>Core moves kept in the allocation log.</summary>
    public int AllocationLogCapacity { get; set; } = 1 << 20;

    /// <summary>Quantum bounds: below 1 µs a slice is shorter than a handoff; above 1 ms it is c-FCFS.</summary>
    public const double MinQuantumMicros = 1, MaxQuantumMicros = 1000;

    /// <summary>JBSQ depth bound (mailboxes are sized for it).</summary>
    public const int MaxMailboxDepth = 8;

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> saying what is wrong and what is valid.</summary>
    public void Validate()
    {
        if (WorkerCores.Length == 0)
        {
            throw new ArgumentException("at least one worker core is needed");
        }
        if (!Policies.PolicyCatalog.IsKnown(Policy))
        {
            throw new ArgumentException($"unknown policy '{Policy}'; valid: {Policies.PolicyCatalog.Names}");
        }
        if (QuantumMicros < MinQuantumMicros || QuantumMicros > MaxQuantumMicros)
        {
            throw new ArgumentException($"quantum {QuantumMicros} µs is out of range; valid: {MinQuantumMicros} to {MaxQuantumMicros} µs");
        }
        if (MailboxDepth < 1 || MailboxDepth > MaxMailboxDepth)
        {
            throw new ArgumentException($"mailbox depth {MailboxDepth} is out of range; valid: 1 to {MaxMailboxDepth}");
        }
        if (QueueCapacity < 1 || RxBatch < 1)
        {
            throw new ArgumentException("queue capacity and receive batch must be positive");
        }
        if (WatchdogMillis <= 0 || DrainTimeoutMillis < 0 || TraceCapacity < 0 || IdleSpinMicros < 0 || IdleYieldMicros < 0 || IdleParkMicros <= 0
            || IOKernelBusyYieldMicros < 0)
        {
            throw new ArgumentException(
                $"WatchdogMillis ({WatchdogMillis}) and IdleParkMicros ({IdleParkMicros}) must be positive; DrainTimeoutMillis ({DrainTimeoutMillis}), " +
                $"TraceCapacity ({TraceCapacity}), IdleSpinMicros ({IdleSpinMicros}), IdleYieldMicros ({IdleYieldMicros}) " +
                $"and IOKernelBusyYieldMicros ({IOKernelBusyYieldMicros}) must not be negative");
        }
        if (StallThresholdMicros <= 0 || StallLogCapacity < 1)
        {
            throw new ArgumentException("StallThresholdMicros must be positive and StallLogCapacity at least 1");
        }
        if (InlineReplyBytes < Runtime.Buffers.AppProtocolLimits.MinInlineReplyBytes || ReplyPoolMegabytes < 1 || ReplyBacklog < 0)
        {
            throw new ArgumentException($"InlineReplyBytes must be at least {Runtime.Buffers.AppProtocolLimits.MinInlineReplyBytes}, ReplyPoolMegabytes at least 1, ReplyBacklog not negative");
        }
        if (!Allocation.AllocationCatalog.IsKnown(CoreAllocation))
        {
            throw new ArgumentException($"unknown core allocation '{CoreAllocation}'; valid: {Allocation.AllocationCatalog.Names}");
        }
        if (CongestionIntervalMicros <= 0 || QueueDelayMicros <= 0 || ReleaseIdleMicros < 0 || ShareMicros < 0)
        {
            throw new ArgumentException("congestion interval and queue delay must be positive, release and share times not negative");
        }
        Affinity.Validate([IOKernelCore, .. WorkerCores]);
    }
}
