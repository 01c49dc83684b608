// Configuration of the apps the host runs side by side: the spin app (latency-critical) and the batch app.
using NetStack.IOKernel;

namespace NetStack.Apps.Hosting;

/// <summary>Section "Apps": what the host registers with the IOKernel.</summary>
public sealed class AppsOptions
{
    /// <summary>The spin app's core settings (its policy and quantum come from the NetStack section).</summary>
    public SpinAppOptions Spin { get; set; } = new();

    /// <summary>The batch app.</summary>
    public BatchAppOptions Batch { get; set; } = new();

    /// <summary>The registrations, validated against the kernel's options.</summary>
    public IReadOnlyList<AppRegistration> Registrations(KernelOptions kernel)
    {
        int workers = kernel.WorkerCores.Length;
        var spin = new AppOptions
        {
            Name = "spin",
            Policy = kernel.Policy,
            QuantumMicros = kernel.QuantumMicros,
            MaxCores = Math.Min(Spin.MaxCores ?? workers, workers),
            GuaranteedCores = Spin.GuaranteedCores ?? (kernel.CoreAllocation == "static" ? workers - (Batch.Enabled ? Math.Min(workers - 1, Batch.MaxCores ?? 0) : 0) : 0),
            SpinningCores = Spin.SpinningCores,
        };
        var apps = new List<AppRegistration> { AppRegistration.LatencyCritical(spin, new Spin.SpinApp()) };
        if (Batch.Enabled)
        {
            apps.Add(AppRegistration.Batch(new AppOptions { Name = "batch", MaxCores = Math.Min(Batch.MaxCores ?? workers, workers) },
                new Batch.HashChainJob(workers)));
        }
        foreach (AppRegistration app in apps)
        {
            app.Options.Validate();
        }
        return apps;
    }
}

/// <summary>The spin app's cores.</summary>
public sealed class SpinAppOptions
{
    /// <summary>Cores it may hold (default: every worker core).</summary>
    public int? MaxCores { get; set; }

    /// <summary>Cores it gets whenever it has work (default: 0; under static allocation, the cores batch does not hold).</summary>
    public int? GuaranteedCores { get; set; }

    /// <summary>Cores it keeps spinning while idle.</summary>
    public int SpinningCores { get; set; }
}

/// <summary>The batch app (a SHA-256 hash chain: CPU-bound work in ~1 µs units).</summary>
public sealed class BatchAppOptions
{
    /// <summary>Run it beside the spin app.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Cores it may hold (default: every worker core; under static allocation, 0 unless set).</summary>
    public int? MaxCores { get; set; }
}
