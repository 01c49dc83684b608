// Configuration of the synthetic NIC the host serves when no network queue is configured.
namespace NetStack.Apps.Hosting;

/// <summary>The synthetic arrival source (section "Synthetic").</summary>
internal sealed class SyntheticOptions
{
    /// <summary>A workload name from WORKLOADS.md.</summary>
    public string Workload { get; set; } = "exp-10";

    /// <summary>Offered load as a fraction of the worker cores' capacity.</summary>
    public double Load { get; set; } = 0.5;

    /// <summary>Random seed.</summary>
    public ulong Seed { get; set; } = 42;
}
