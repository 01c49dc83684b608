// The core-allocation policies by name.
using NetStack.Runtime;

namespace NetStack.IOKernel.Allocation;

/// <summary>Creates core-allocation policies from their configured names.</summary>
internal static class AllocationCatalog
{
    private static readonly string[] s_names = ["static", "standing-queue", "queue-delay"];

    /// <summary>Valid names, for messages.</summary>
    public static string Names => string.Join(", ", s_names);

    /// <summary>True for a known name.</summary>
    public static bool IsKnown(string name) => s_names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>A new policy for <paramref name="apps"/> apps.</summary>
    public static ICoreAllocationPolicy Create(string name, double queueDelayMicros, int apps = 64) => name.ToLowerInvariant() switch
    {
        "static" => new StaticAllocation(),
        "standing-queue" => new StandingQueueAllocation(apps),
        "queue-delay" => new QueueDelayAllocation(Clock.FromMicros(queueDelayMicros)),
        _ => throw new ArgumentException($"unknown core allocation '{name}'; valid: {Names}"),
    };
}
