// The hosted service that runs the IOKernel for the host's lifetime and drains it on shutdown.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;
using NetStack.Runtime.Workloads;

namespace NetStack.Apps.Hosting;

/// <summary>
/// Starts the IOKernel and its carriers with the host, and on Ctrl+C or SIGTERM stops taking
/// requests, lets in-flight ones finish and prints the counts.
/// </summary>
public sealed class NetStackService(
    IOptions<KernelOptions> kernelOptions,
    IOptions<SyntheticOptions> syntheticOptions,
    ILogger<NetStackService> logger) : IHostedService
{
    private IOKernel.IOKernel? _kernel;
    private SyntheticNic? _nic;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        KernelOptions options = kernelOptions.Value;
        SyntheticOptions synthetic = syntheticOptions.Value;
        Workload workload = HostValidation.Workload(synthetic.Workload);
        double rate = workload.RateFor(synthetic.Load, options.WorkerCores.Length);
        _nic = new SyntheticNic(workload, rate, Clock.Now(), long.MaxValue / 4, synthetic.Seed);
        _kernel = new IOKernel.IOKernel(options, _nic, new SpinApp());
        _kernel.Start();
        logger.LogInformation(
            "NetStack serving the synthetic NIC: workload {Workload}, load {Load:P0} ({Rate:F0} req/s); policy {Policy}, quantum {Quantum} µs, JBSQ({Depth}); IOKernel on core {Core}, workers on cores {Workers}",
            workload.Name, synthetic.Load, rate, options.Policy, options.QuantumMicros, options.MailboxDepth,
            options.IOKernelCore, string.Join(',', options.WorkerCores));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_kernel is null)
        {
            return Task.CompletedTask;
        }
        _kernel.Stop();
        KernelCounters c = _kernel.Counters;
        Console.WriteLine(
            $"netstack: received {c.Received}, completed {c.Completed} (errors {c.Errors}), rejected {c.Rejected}, " +
            $"preemptions {c.Requeues}, unfinished {c.Unfinished}");
        return Task.CompletedTask;
    }
}
