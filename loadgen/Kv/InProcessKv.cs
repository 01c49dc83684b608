// kv served by NetStack inside the load generator's process, so a point can read the data path's allocations per thread.
using System.Net;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Threading;

namespace NetStack.LoadGen.Kv;

/// <summary>What an in-process kernel counted over one point.</summary>
/// <param name="DataPathAllocatedBytes">Bytes the IOKernel and carrier threads allocated from the point's warm-up end.</param>
/// <param name="DataPathPoolGrowthBytes">Of those, pools growing past their high-water mark.</param>
/// <param name="Preemptions">Yields that went back to the queue (a multiget's steps under ps).</param>
/// <param name="Rejected">Requests refused as overloaded.</param>
internal sealed record InProcessCounts(long DataPathAllocatedBytes, long DataPathPoolGrowthBytes, long Preemptions, long Rejected);

/// <summary>
/// One store for the whole run (loaded once), and for each point a fresh IOKernel with its TCP and UDP
/// NICs on kernel-chosen loopback ports: the kernel's allocation counters start at a time set before
/// it starts and are read once it stops, so each point gets its own exact figure (the serve host
/// does not print it). Placement and idling follow bench/run-all.sh's servers: IOKernel on the first
/// core, workers on the rest, threads that yield at once when idle so a generator sharing a core runs.
/// </summary>
internal sealed class InProcessKv : IDisposable
{
    private readonly KvEngine _engine;
    private readonly KernelOptions _options;
    private NetworkNics? _nics;
    private IOKernel.Kernel? _kernel;

    /// <param name="policy">cfcfs, ps or dfcfs.</param>
    /// <param name="cores">The IOKernel's core, then one worker per further core.</param>
    /// <param name="memoryMegabytes">Item memory (memcached's -m).</param>
    public InProcessKv(string policy, int[] cores, int memoryMegabytes)
    {
        _engine = new KvEngine(new KvStore(new KvOptions { MemoryLimitMegabytes = memoryMegabytes }));
        _options = new KernelOptions
        {
            Policy = policy,
            IOKernelCore = cores[0],
            WorkerCores = cores[1..],
            CoreAllocation = "static",
            IOKernelIdle = IdleStrategyKind.SpinPark,
            CarrierIdle = IdleStrategyKind.SpinPark,
            IdleSpinMicros = 0,
            IdleYieldMicros = 2000,
            IdleParkMicros = 200,
        };
        _options.Validate();
    }

    /// <summary>The server-side latency kv counts, read in place (no request through the data path,
    /// whose allocations this target measures).</summary>
    public KvLatency Latency => _engine.Latency;

    /// <summary>One line for the report's notes.</summary>
    public string Description => $"kv in this process: policy {_options.Policy}, IOKernel on core {_options.IOKernelCore}, " +
        $"workers on cores {string.Join(',', _options.WorkerCores)}, {_engine.Store.Options.MemoryLimitMegabytes} MB of item memory";

    /// <summary>Starts a kernel whose data-path allocations count from <paramref name="measureAllocationsFromTicks"/>;
    /// returns its TCP and UDP addresses.</summary>
    public (IPEndPoint Tcp, IPEndPoint Udp) Start(long measureAllocationsFromTicks)
    {
        if (_kernel is not null)
        {
            throw new InvalidOperationException("the in-process kv is already running");
        }
        int workers = _options.WorkerCores.Length;
        var app = new AppOptions
        {
            Name = "kv",
            Address = "127.0.0.1",
            TcpPort = 0,
            UdpPort = 0,
            GuaranteedCores = workers,
            MaxCores = workers,
            MaxReplyBytes = 64 << 20,
        };
        AppRegistration[] apps = [AppRegistration.LatencyCritical(app, new KvApp(_engine), _engine.Protocol)];
        _nics = NetworkNics.Open(apps, new UdpNicOptions(), new TcpNicOptions());
        try
        {
            _kernel = new IOKernel.Kernel(_options, _nics.All, apps) { MeasureAllocationsFrom = measureAllocationsFromTicks };
            _kernel.Start();
        }
        catch
        {
            _nics.Dispose();
            _nics = null;
            _kernel = null;
            throw;
        }
        return (new IPEndPoint(IPAddress.Loopback, _nics.TcpPortOf(0)), new IPEndPoint(IPAddress.Loopback, _nics.UdpPortOf(0)));
    }

    /// <summary>Stops the kernel (drains it) and returns what it counted.</summary>
    public InProcessCounts Stop()
    {
        IOKernel.Kernel kernel = _kernel ?? throw new InvalidOperationException("the in-process kv is not running");
        kernel.Stop();
        _nics?.Dispose();
        _nics = null;
        _kernel = null;
        KernelCounters c = kernel.Counters;
        return new InProcessCounts(kernel.DataPathAllocatedBytes, kernel.DataPathPoolGrowthBytes, c.Requeues, c.Rejected);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_kernel is not null)
        {
            Stop();
        }
        _engine.Store.Dispose();
    }
}
