// The hosted service: builds the apps, opens their ports, runs the IOKernel for the host's lifetime, drains it on shutdown.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Workloads;

namespace NetStack.Hosting;

/// <summary>A registration the host cannot run with: the message is the one line that says why.</summary>
public sealed class NetStackConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Runs NetStack for the host: at start it binds the options (configuration over code), checks the
/// registrations (one clear line for a bad one), opens every app's ports, starts the IOKernel and
/// its carriers, and logs what it serves; while it runs it logs the watchdog's events; on Ctrl+C or
/// SIGTERM (the host's stop) it refuses new requests, drains the admitted ones for
/// <see cref="KernelOptions.DrainTimeoutMillis"/>, refuses the rest, and logs its counts, all within
/// a bounded time (<see cref="IOKernel.Kernel.StopBound"/>).
/// </summary>
public sealed class NetStackHost : IHostedService, IDisposable
{
    private readonly NetStackDefinition _definition;
    private readonly IServiceProvider _services;
    private readonly ILogger<NetStackHost> _log;
    private IOKernel.Kernel? _kernel;
    private NetworkNics? _network;
    private IDisposable? _metricsRegistration;
    private Timer? _watchdogLog;

    internal NetStackHost(NetStackDefinition definition, IServiceProvider services, ILogger<NetStackHost> log)
    {
        _definition = definition;
        _services = services;
        _log = log;
    }

    /// <summary>Seconds of start-up (JIT, pools growing to their working size) before the pinned threads' allocations are counted.</summary>
    internal const int AllocationWarmupSeconds = 10;

    /// <summary>The running kernel (null before start).</summary>
    internal IOKernel.Kernel? Kernel => _kernel;

    /// <summary>The apps' ports, once started (null with synthetic arrivals).</summary>
    internal NetworkNics? Network => _network;

    /// <summary>The kernel's options as bound at start.</summary>
    public KernelOptions? Options { get; private set; }

    /// <summary>The lines logged before the start-up line: why a NIC asked for <c>auto</c> does not run on io_uring.</summary>
    public IReadOnlyList<string> Notes { get; private set; } = [];

    /// <summary>The start-up line: what is served where, on which cores, under which policies.</summary>
    public string? StartLine { get; private set; }

    /// <summary>The UDP port app <paramref name="name"/> listens on, once started (-1: none).</summary>
    public int UdpPortOf(string name) => _network?.UdpPortOf(AppIndex(name)) ?? -1;

    /// <summary>The TCP port app <paramref name="name"/> listens on, once started (-1: none).</summary>
    public int TcpPortOf(string name) => _network?.TcpPortOf(AppIndex(name)) ?? -1;

    private int AppIndex(string name)
    {
        IReadOnlyList<KernelApp> apps = _kernel?.Apps ?? [];
        for (int i = 0; i < apps.Count; i++)
        {
            if (string.Equals(apps[i].Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The shutdown summary, once stopped.</summary>
    public string? Summary { get; private set; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        KernelOptions options = BindKernel();
        IReadOnlyList<AppRegistration> registrations = BuildApps(options);
        IReadOnlyList<INicQueue> nics = OpenNics(registrations, options, out string source);
        foreach (string note in Notes)
        {
            _log.LogInformation("{Line}", $"netstack: {note}");
        }
        NetStackMetrics? metrics = _definition.Metrics ? _services.GetService<NetStackMetrics>() : null;
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
        catch (Exception e)
        {
            // The sockets are open by now: close them, or a retry on the same port would be refused.
            CloseNics();
            _kernel = null;
            throw e is CoreNotAvailableException or ArgumentException
                ? new NetStackConfigurationException(e.Message, e)
                : e;
        }
        // The watchdog's events are logged off the data path, a few times a second.
        _watchdogLog = new Timer(_ => LogWatchdog(), null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
        string apps = string.Join(", ", _kernel.Apps.Select(a => a.IsLatencyCritical
            ? $"{a.Name} (latency-critical, {a.Protocol?.Name ?? "in-process"}, {a.PolicyName}{(a.PolicyName == "ps" ? $" {a.QuantumMicros} µs" : "")}, max {a.Options.MaxCores}, guaranteed {a.Options.GuaranteedCores} cores)"
            : $"{a.Name} (batch, max {a.Options.MaxCores} cores)"));
        StartLine =
            $"netstack: serving {source}; JBSQ({options.MailboxDepth}), queue bound {options.QueueCapacity}; " +
            $"IOKernel on core {options.IOKernelCore}, workers on cores {string.Join(',', options.WorkerCores)}" +
            (_kernel.HelperCores.Count > 0 ? $", the process's other threads on cores {string.Join(',', _kernel.HelperCores)}; " : "; ") +
            $"apps: {apps}; core allocation {options.CoreAllocation}; JIT {NetStack.Runtime.JitMode.Current}";
        _log.LogInformation("{Line}", StartLine);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_kernel is null)
        {
            return Task.CompletedTask;
        }
        // New requests are refused from now on; admitted ones may finish for DrainTimeoutMillis, then
        // what has not started is refused too, and the carriers get a second. Bounded either way.
        bool stopped = _kernel.Stop();
        _watchdogLog?.Dispose();
        LogWatchdog();
        _metricsRegistration?.Dispose();
        KernelCounters c = _kernel.Counters;
        string summary =
            $"netstack: received {c.Received}, completed {c.Completed} (errors {c.Errors}), rejected {c.Rejected}, " +
            $"refused shutting down {c.ShutdownRefusals}, preemptions {c.Requeues}, unfinished {c.Unfinished}, core moves {c.CoreMoves}, " +
            $"backlogged loops {c.BackloggedLoops}, IOKernel's busy yields {_kernel.BusyYields}";
        IBatchJob? job = _kernel.Apps.FirstOrDefault(a => a.Job is not null)?.Job;
        if (job is not null)
        {
            summary += $", batch {_kernel.Carriers.Sum(k => k.Batch.Units)} {job.UnitName}";
        }
        if (_kernel.StuckCarriers.Count > 0 || !stopped)
        {
            summary += "; stuck carriers (inside a handler or batch job that never reached a checkpoint): " +
                string.Join(", ", _kernel.StuckCarriers.Select(k => $"core {k.Worker.Core}"));
        }
        summary += $"; data path allocated {_kernel.DataPathAllocatedBytes} bytes after the first {AllocationWarmupSeconds} s " +
            $"({_kernel.DataPathPoolGrowthBytes} of them pools growing past their high-water mark; the IOKernel's {_kernel.IOKernelAllocatedBytes}, " +
            $"the carriers' {_kernel.DataPathAllocatedBytes - _kernel.IOKernelAllocatedBytes}); {GcMetrics.Describe()}";
        if (_network is { } network)
        {
            foreach ((string name, object counters) in network.CountersByBinding())
            {
                summary += $"; {name}: {counters}";
            }
        }
        Summary = summary;
        _log.LogInformation("{Line}", summary);
        if (stopped)
        {
            CloseNics();
        }
        return Task.CompletedTask;
    }

    /// <summary>Closes the ports (after a stop).</summary>
    public void Dispose()
    {
        _watchdogLog?.Dispose();
    }

    private KernelOptions BindKernel()
    {
        // The core list starts empty: the binder appends to an array it finds filled.
        var options = new KernelOptions();
        foreach (Action<KernelOptions> configure in _definition.Kernel)
        {
            configure(options);
        }
        if (_definition.Configuration is { } config)
        {
            int[] cores = options.WorkerCores;
            options.WorkerCores = [];
            Bind(config, options, "NetStack");
            if (options.WorkerCores.Length == 0)
            {
                options.WorkerCores = cores;
            }
        }
        try
        {
            options.Validate();
        }
        catch (Exception e) when (e is ArgumentException or CoreNotAvailableException)
        {
            throw new NetStackConfigurationException(e.Message, e);
        }
        Options = options;
        return options;
    }

    private IReadOnlyList<AppRegistration> BuildApps(KernelOptions kernel)
    {
        if (_definition.Apps.Count == 0)
        {
            throw new NetStackConfigurationException("no app is registered: call AddLatencyCriticalApp on what AddNetStack returned");
        }
        if (!_definition.Apps.Any(a => a.Priority == AppPriority.LatencyCritical))
        {
            throw new NetStackConfigurationException("no latency-critical app is registered: a batch job alone has nothing to yield to");
        }
        if (_definition.Apps.GroupBy(a => a.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new NetStackConfigurationException($"two apps are named '{twice.Key}'; each app needs its own name");
        }
        int workers = kernel.WorkerCores.Length;
        var registrations = new List<AppRegistration>();
        foreach (AppDefinition app in _definition.Apps)
        {
            var options = new AppOptions
            {
                Name = app.Name,
                MaxCores = workers,
                // default(NetStackPorts) (a batch job's) has no address: loopback, never used.
                Address = app.Ports.Address ?? NetStackPorts.Loopback,
                UdpPort = app.Ports.Udp,
                TcpPort = app.Ports.Tcp,
            };
            app.Configure?.Invoke(options);
            if (_definition.Configuration is { } config)
            {
                Bind(config, options, $"Apps:{app.Name}");
            }
            options.Name = app.Name;
            options.MaxCores = Math.Min(options.MaxCores, workers);
            if (kernel.CoreAllocation == "static" && app.Priority == AppPriority.LatencyCritical && options.GuaranteedCores == 0)
            {
                // Under a static partition an app holds its guaranteed cores only: give the first one every core.
                options.GuaranteedCores = registrations.Any(r => r.Options.Priority == AppPriority.LatencyCritical) ? 0 : options.MaxCores;
            }
            try
            {
                object code = app.Create(_services);
                registrations.Add(app.Priority == AppPriority.LatencyCritical
                    ? AppRegistration.LatencyCritical(options, (IRequestHandler)code, app.Protocol!(_services))
                    : AppRegistration.Batch(options, (IBatchJob)code));
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new NetStackConfigurationException(e.Message, e);
            }
        }
        CheckPorts(registrations);
        return registrations;
    }

    /// <summary>Two apps on one port would split its traffic (or fail to bind): refused before anything opens.</summary>
    private static void CheckPorts(IReadOnlyList<AppRegistration> apps)
    {
        var seen = new Dictionary<(string Transport, string Address, int Port), string>();
        foreach (AppRegistration app in apps.Where(a => a.Options.Priority == AppPriority.LatencyCritical))
        {
            foreach ((string transport, int? port) in new[] { ("udp", app.Options.UdpPort), ("tcp", app.Options.TcpPort) })
            {
                if (port is not int p || p == 0)
                {
                    continue;
                }
                var key = (transport, app.Options.Address, p);
                if (seen.TryGetValue(key, out string? other))
                {
                    throw new NetStackConfigurationException($"apps '{other}' and '{app.Options.Name}' both listen on {transport} port {p}; give each app its own port");
                }
                seen[key] = app.Options.Name;
            }
        }
    }

    private IReadOnlyList<INicQueue> OpenNics(IReadOnlyList<AppRegistration> registrations, KernelOptions options, out string source)
    {
        if (_definition.Synthetic is { } synthetic)
        {
            if (!Workload.TryGet(synthetic.Workload, out Workload? workload))
            {
                throw new NetStackConfigurationException($"unknown workload '{synthetic.Workload}'; valid: {Workload.Names}");
            }
            double rate = workload.RateFor(synthetic.Load, options.WorkerCores.Length);
            int app = registrations.ToList().FindIndex(r => r.Options.Priority == AppPriority.LatencyCritical);
            source = $"the synthetic NIC: workload {workload.Name}, load {synthetic.Load:P0} ({rate:F0} req/s) to {registrations[app].Options.Name}";
            return [new SyntheticNic(workload, rate, Clock.Now(), long.MaxValue / 4, synthetic.Seed, appId: app)];
        }
        var udp = new UdpNicOptions();
        var tcp = new TcpNicOptions();
        var nic = new NicOptions();
        if (_definition.Configuration is { } config)
        {
            Bind(config, udp, "Udp");
            Bind(config, tcp, "Tcp");
            Bind(config, nic, "Nic");
        }
        try
        {
            udp.Validate();
            tcp.Validate();
            nic.Validate();
            _network = NetworkNics.Open(registrations, udp, tcp, nic);
        }
        catch (Exception e) when (e is ListenException or NicBackendException or ArgumentException)
        {
            throw new NetStackConfigurationException(e.Message, e);
        }
        if (_network.All.Count == 0)
        {
            CloseNics();
            throw new NetStackConfigurationException("no app listens on a port: give each latency-critical app a UDP or TCP port (NetStackPorts)");
        }
        Notes = _network.Notes;
        source = string.Join(", ", _network.Endpoints);
        return _network.All;
    }

    private void CloseNics()
    {
        _network?.Dispose();
        _network = null;
    }

    private void LogWatchdog()
    {
        while (_kernel?.TryReadWatchdogEvent(out WatchdogEvent e) == true)
        {
            _log.LogWarning("{Event}", $"netstack: {e}");
        }
    }

    /// <summary>
    /// Binds one part of the configuration AddNetStack was given. It may be the NetStack section
    /// itself (kernel keys at its top, then <c>Udp</c>, <c>Tcp</c>, <c>Apps:NAME</c> inside it), or a
    /// root that holds a <c>NetStack</c> section (then <c>Udp</c>, <c>Tcp</c> and <c>Apps:NAME</c> may
    /// also sit beside it, as the <c>netstack</c> host's appsettings.json has them). A value of the
    /// wrong type is one line naming the key.
    /// </summary>
    private static void Bind(IConfiguration configuration, object options, string part)
    {
        bool isRoot = configuration.GetSection("NetStack").Exists();
        IConfiguration kernel = isRoot ? configuration.GetSection("NetStack") : configuration;
        IConfiguration section = part == "NetStack" ? kernel : kernel.GetSection(part);
        if (isRoot && part != "NetStack" && !section.GetChildren().Any())
        {
            section = configuration.GetSection(part);
        }
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new NetStackConfigurationException(e.Message, e);
        }
    }
}
