// The contract of a core-allocation policy: when is a latency-critical app congested enough to get a core.
namespace NetStack.IOKernel.Allocation;

/// <summary>What the allocator knows of an app at one check: a snapshot the IOKernel fills.</summary>
internal struct AppView
{
    /// <summary>Latency-critical or batch.</summary>
    public AppPriority Priority;
    /// <summary>Cores it may hold at most.</summary>
    public int MaxCores;
    /// <summary>Cores it gets whenever it has work.</summary>
    public int GuaranteedCores;
    /// <summary>Cores it keeps while idle.</summary>
    public int SpinningCores;
    /// <summary>Cores assigned to it now (granted, acknowledged or not).</summary>
    public int Cores;
    /// <summary>Requests waiting in its queue.</summary>
    public int Queued;
    /// <summary>Requests that ever joined its queue (the ring's tail).</summary>
    public long TotalQueued;
    /// <summary>Requests that ever left its queue for a worker (the ring's head).</summary>
    public long TotalTaken;
    /// <summary>When the request at the head joined the queue (0: empty).</summary>
    public long OldestQueuedTicks;
}

/// <summary>What the allocator knows of a worker core at one check.</summary>
internal struct WorkerView
{
    /// <summary>The app it is assigned to (-1: none).</summary>
    public int Owner;
    /// <summary>Requests at the worker (mailbox and running).</summary>
    public int Occupancy;
    /// <summary>When its carrier last found nothing to run for its latency-critical owner (0: busy).</summary>
    public long IdleSinceTicks;
    /// <summary>True while its carrier has not yet acted on its latest assignment.</summary>
    public bool GrantPending;
}

/// <summary>Why a latency-critical app wants another core.</summary>
internal enum CongestionSignal
{
    /// <summary>Not congested.</summary>
    None,
    /// <summary>A request queued at the previous check is still queued (Shenango).</summary>
    StandingQueue,
    /// <summary>The oldest queued request has waited past the threshold (Caladan).</summary>
    QueueDelay,
}

/// <summary>
/// Decides, at each check (every 5 µs by default), whether a latency-critical app is congested.
/// The allocator does the rest (which core, from whom) and the IOKernel does the moving; a new
/// policy implements only this. Called on the IOKernel thread only, once per latency-critical app
/// per check, in app order; it may keep per-app state between checks.
/// </summary>
internal interface ICoreAllocationPolicy
{
    /// <summary>The name configuration and reports use.</summary>
    string Name { get; }

    /// <summary>False for a static partition: cores never move after the start.</summary>
    bool Reallocates { get; }

    /// <summary>Is app <paramref name="appId"/> congested now?</summary>
    CongestionSignal Check(int appId, in AppView app, long now);
}
