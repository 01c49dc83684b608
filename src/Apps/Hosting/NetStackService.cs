// The hosted service that runs the IOKernel for the host's lifetime and drains it on shutdown.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Runtime;
using NetStack.Runtime.Workloads;

namespace NetStack.Apps.Hosting;

/// <summary>
/// Starts the IOKernel and its carriers with the host, serving each app on its UDP and TCP ports on
/// the configured NIC backend (or the spin app from the synthetic NIC), and on Ctrl+C or SIGTERM
/// stops taking requests, lets in-flight ones finish and prints the counts. Where <c>Nic:Backend</c>
/// is <c>auto</c> and io_uring is refused, one line says why before the start-up line.
/// </summary>
public sealed class NetStackService(
    IOptions<KernelOptions> kernelOptions,
    IOptions<SyntheticOptions> syntheticOptions,
    IOptions<ServerOptions> serverOptions,
    IOptions<UdpNicOptions> udpOptions,
    IOptions<TcpNicOptions> tcpOptions,
    IOptions<AppsOptions> appsOptions,
    NetStackMetrics? metrics = null,
    IOptions<NicOptions>? nicOptions = null) : IHostedService
{
    /// <summary>Seconds of start-up (JIT, pools growing to their working size) before the pinned threads' allocations are counted.</summary>
    private const int AllocationWarmupSeconds = 10;

    private IOKernel.Kernel? _kernel;
    private NetworkNics? _network;
    private IDisposable? _metricsRegistration;
    private Timer? _watchdogLog;

    /// <summary>The running kernel (null before start).</summary>
    public IOKernel.Kernel? Kernel => _kernel;

    /// <summary>The UDP NIC, when some app is served on UDP and the service started.</summary>
    public UdpNic? UdpNic => _network?.Udp;

    /// <summary>The TCP NIC, when some app is served on TCP and the service started.</summary>
    public TcpNic? TcpNic => _network?.Tcp;

    /// <summary>The ports, once started.</summary>
    public NetworkNics? Network => _network;

    /// <summary>The shutdown summary, once stopped.</summary>
    public string? Summary { get; private set; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        KernelOptions options = kernelOptions.Value;
        IReadOnlyList<AppRegistration> registrations = appsOptions.Value.Registrations(options);
        IReadOnlyList<INicQueue> nics;
        string source;
        if (serverOptions.Value.IsSynthetic)
        {
            SyntheticOptions synthetic = syntheticOptions.Value;
            Workload workload = HostValidation.Workload(synthetic.Workload);
            double rate = workload.RateFor(synthetic.Load, options.WorkerCores.Length);
            nics = [new SyntheticNic(workload, rate, Clock.Now(), long.MaxValue / 4, synthetic.Seed)];
            source = $"the synthetic NIC: workload {workload.Name}, load {synthetic.Load:P0} ({rate:F0} req/s)";
        }
        else
        {
            try
            {
                _network = NetworkNics.Open(registrations, udpOptions.Value, tcpOptions.Value, nicOptions?.Value);
            }
            catch (Exception e) when (e is ListenException or NicBackendException)
            {
                throw new ConfigurationException(e.Message);
            }
            foreach (string note in _network.Notes)
            {
                Console.WriteLine($"netstack: {note}");
            }
            nics = _network.All;
            source = string.Join(", ", _network.Endpoints);
        }
        try
        {
            // With metrics, each carrier counts its completions' latency in buckets (one increment each).
            _kernel = new IOKernel.Kernel(options, nics, registrations,
                metrics is null ? null : LatencyBucketRecorder.Factory(registrations.Count));
            // What the pinned threads allocate once warm: the figure that says whether the data path can cause a collection.
            _kernel.MeasureAllocationsFrom = Clock.Now() + Clock.FromNs(AllocationWarmupSeconds * 1_000_000_000L);
            _kernel.Start();
            _metricsRegistration = metrics?.Register(_kernel, _network?.Udp?.Counters);
        }
        catch
        {
            // The sockets are open by now: close them, or a retry on the same port would be refused.
            _network?.Dispose();
            _network = null;
            _kernel = null;
            throw;
        }
        // The watchdog's events are logged off the data path, a few times a second.
        _watchdogLog = new Timer(_ => LogWatchdog(), null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
        string apps = string.Join(", ", _kernel.Apps.Select(a => a.IsLatencyCritical
            ? $"{a.Name} (latency-critical, {a.Protocol?.Name ?? "in-process"}, max {a.Options.MaxCores}, guaranteed {a.Options.GuaranteedCores} cores)"
            : $"{a.Name} (batch, max {a.Options.MaxCores} cores)"));
        Console.WriteLine(
            $"netstack: serving {source}; policy {options.Policy}, " +
            $"quantum {options.QuantumMicros} µs, JBSQ({options.MailboxDepth}), queue bound {options.QueueCapacity}; " +
            $"IOKernel on core {options.IOKernelCore}, workers on cores {string.Join(',', options.WorkerCores)}; " +
            $"apps: {apps}; core allocation {options.CoreAllocation}");
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_kernel is null)
        {
            return Task.CompletedTask;
        }
        // New requests are refused from now on; admitted ones may finish for NetStack:DrainTimeoutMillis,
        // then what has not started is refused too, and the carriers get a second. Bounded either way.
        bool stopped = _kernel.Stop();
        _watchdogLog?.Dispose();
        LogWatchdog();
        _metricsRegistration?.Dispose();
        KernelCounters c = _kernel.Counters;
        Summary =
            $"netstack: received {c.Received}, completed {c.Completed} (errors {c.Errors}), rejected {c.Rejected}, " +
            $"refused shutting down {c.ShutdownRefusals}, preemptions {c.Requeues}, unfinished {c.Unfinished}, core moves {c.CoreMoves}, " +
            $"batch {_kernel.Carriers.Sum(k => k.Batch.Units)} {(_kernel.Apps.FirstOrDefault(a => a.Job is not null)?.Job?.UnitName ?? "units")}";
        if (_kernel.StuckCarriers.Count > 0 || !stopped)
        {
            Summary += "; stuck carriers (inside a handler or batch job that never reached a checkpoint): " +
                string.Join(", ", _kernel.StuckCarriers.Select(k => $"core {k.Worker.Core}"));
        }
        Summary += $"; data path allocated {_kernel.DataPathAllocatedBytes} bytes after the first {AllocationWarmupSeconds} s; {GcMetrics.Describe()}";
        if (_network is { } network)
        {
            foreach ((string name, object counters) in network.CountersByBinding())
            {
                Summary += $"; {name}: {counters}";
            }
        }
        if (stopped)
        {
            _network?.Dispose();
        }
        Console.WriteLine(Summary);
        return Task.CompletedTask;
    }

    private void LogWatchdog()
    {
        while (_kernel?.TryReadWatchdogEvent(out WatchdogEvent e) == true)
        {
            Console.WriteLine($"netstack: {e}");
        }
    }
}
