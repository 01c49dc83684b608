// An app as the IOKernel runs it: its registration, its policy, and the cores it holds now.
using NetStack.IOKernel.Policies;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

/// <summary>A registered app, inside the IOKernel.</summary>
internal sealed class KernelApp
{
    internal KernelApp(int id, AppRegistration registration, int workers, KernelOptions kernel)
    {
        Id = id;
        Options = registration.Options;
        Handler = registration.Handler;
        Job = registration.Job;
        Protocol = registration.Protocol;
        if (Options.Priority == AppPriority.LatencyCritical)
        {
            PolicyName = Options.Policy ?? kernel.Policy;
            QuantumMicros = Options.QuantumMicros ?? kernel.QuantumMicros;
            Policy = PolicyCatalog.Create(PolicyName, QuantumMicros);
            Policy.Initialize(workers, kernel.QueueCapacity);
            QuantumTicks = kernel.WorkerQuantumCheck ? (int)Math.Min(int.MaxValue, Policy.QuantumTicks) : 0;
        }
    }

    /// <summary>The quantum its workers check themselves, in ticks (<see cref="KernelOptions.WorkerQuantumCheck"/>);
    /// 0 when they do not (a policy without a quantum, or the check turned off).</summary>
    public int QuantumTicks { get; }

    /// <summary>Its id: its index in the IOKernel's app table, and <see cref="RequestContext.AppId"/>.</summary>
    public int Id { get; }

    /// <summary>Its settings.</summary>
    public AppOptions Options { get; }

    /// <summary>Its name.</summary>
    public string Name => Options.Name;

    /// <summary>True for a latency-critical app.</summary>
    public bool IsLatencyCritical => Options.Priority == AppPriority.LatencyCritical;

    /// <summary>Its request handler (latency-critical apps).</summary>
    public IRequestHandler? Handler { get; }

    /// <summary>Its protocol (latency-critical apps served over a network); null for in-process requests.</summary>
    public Runtime.Protocol.AppProtocol? Protocol { get; }

    /// <summary>Its batch job (batch apps).</summary>
    public IBatchJob? Job { get; }

    /// <summary>The policy it runs under: its own, or the kernel's.</summary>
    public string PolicyName { get; } = "";

    /// <summary>The quantum it runs with: its own, or the kernel's.</summary>
    public double QuantumMicros { get; }

    /// <summary>Its scheduling policy (latency-critical apps).</summary>
    public ISchedulingPolicy? Policy { get; }

    /// <summary>Cores assigned to it now.</summary>
    public int Cores { get; internal set; }

    /// <summary>Of those, cores the watchdog found stuck in a slice (or a batch job) that does not return.</summary>
    public int StuckCores { get; internal set; }
}
