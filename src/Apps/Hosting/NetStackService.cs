// The hosted service that runs the IOKernel for the host's lifetime and drains it on shutdown.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Runtime;
using NetStack.Runtime.Workloads;

namespace NetStack.Apps.Hosting;

/// <summary>
/// Starts the IOKernel and its carriers with the host, serving the spin app from the UDP NIC (or
/// the synthetic one), and on Ctrl+C or SIGTERM stops taking requests, lets in-flight ones finish
/// and prints the counts.
/// </summary>
public sealed class NetStackService(
    IOptions<KernelOptions> kernelOptions,
    IOptions<SyntheticOptions> syntheticOptions,
    IOptions<ServerOptions> serverOptions,
    IOptions<UdpNicOptions> udpOptions,
    IOptions<AppsOptions> appsOptions,
    NetStackMetrics? metrics = null) : IHostedService
{
    private IOKernel.IOKernel? _kernel;
    private INicQueue? _nic;
    private IDisposable? _metricsRegistration;

    /// <summary>The running kernel (null before start).</summary>
    public IOKernel.IOKernel? Kernel => _kernel;

    /// <summary>The UDP NIC, when serving UDP and started.</summary>
    public UdpNic? UdpNic => _nic as UdpNic;

    /// <summary>The shutdown summary, once stopped.</summary>
    public string? Summary { get; private set; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        KernelOptions options = kernelOptions.Value;
        string source;
        if (serverOptions.Value.IsSynthetic)
        {
            SyntheticOptions synthetic = syntheticOptions.Value;
            Workload workload = HostValidation.Workload(synthetic.Workload);
            double rate = workload.RateFor(synthetic.Load, options.WorkerCores.Length);
            _nic = new SyntheticNic(workload, rate, Clock.Now(), long.MaxValue / 4, synthetic.Seed);
            source = $"the synthetic NIC: workload {workload.Name}, load {synthetic.Load:P0} ({rate:F0} req/s)";
        }
        else
        {
            UdpNic udp = HostValidation.Listen(udpOptions.Value, o => new UdpNic(o, SpinApp.TypeCount));
            _nic = udp;
            source = $"udp://{udp.LocalEndPoint} ({udp.QueueCount} NIC queue{(udp.QueueCount == 1 ? "" : "s")}, SO_REUSEPORT)";
        }
        try
        {
            IReadOnlyList<AppRegistration> registrations = appsOptions.Value.Registrations(options);
            // With metrics, each carrier counts its completions' latency in buckets (one increment each).
            _kernel = new IOKernel.IOKernel(options, _nic, registrations,
                metrics is null ? null : LatencyBucketRecorder.Factory(registrations.Count));
            _kernel.Start();
            _metricsRegistration = metrics?.Register(_kernel, (_nic as UdpNic)?.Counters);
        }
        catch
        {
            // The sockets are open by now: close them, or a retry on the same port would be refused.
            (_nic as IDisposable)?.Dispose();
            _kernel = null;
            throw;
        }
        string apps = string.Join(", ", _kernel.Apps.Select(a => a.IsLatencyCritical
            ? $"{a.Name} (latency-critical, max {a.Options.MaxCores}, guaranteed {a.Options.GuaranteedCores} cores)"
            : $"{a.Name} (batch, max {a.Options.MaxCores} cores)"));
        Console.WriteLine(
            $"netstack: serving spin ({SpinApp.TypeCount} request types) on {source}; policy {options.Policy}, " +
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
        // Stop intake; the kernel finishes what it admitted (up to NetStack:DrainTimeoutMillis) and flushes the replies.
        _kernel.Stop();
        _metricsRegistration?.Dispose();
        KernelCounters c = _kernel.Counters;
        Summary =
            $"netstack: received {c.Received}, completed {c.Completed} (errors {c.Errors}), rejected {c.Rejected}, " +
            $"preemptions {c.Requeues}, unfinished {c.Unfinished}, core moves {c.CoreMoves}, " +
            $"batch {_kernel.Carriers.Sum(k => k.Batch.Units)} {(_kernel.Apps.FirstOrDefault(a => a.Job is not null)?.Job?.UnitName ?? "units")}";
        if (_nic is UdpNic udp)
        {
            Summary += $"; udp: {udp.Counters}";
            udp.Dispose();
        }
        Console.WriteLine(Summary);
        return Task.CompletedTask;
    }
}
