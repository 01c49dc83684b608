// The scheduling policies by name: the one place that maps configuration to an implementation.
namespace NetStack.IOKernel.Policies;

/// <summary>Creates policies from their configured names.</summary>
internal static class PolicyCatalog
{
    private static readonly string[] s_names = ["cfcfs", "ps", "dfcfs"];

    /// <summary>Valid names, comma-separated, for error messages.</summary>
    public static string Names => string.Join(", ", s_names);

    /// <summary>True for a known name.</summary>
    public static bool IsKnown(string name) => s_names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>A new policy instance.</summary>
    public static ISchedulingPolicy Create(string name, double quantumMicros) => name.ToLowerInvariant() switch
    {
        "cfcfs" => new CentralFcfsPolicy(),
        "ps" => new ProcessorSharingPolicy(quantumMicros),
        "dfcfs" => new DistributedFcfsPolicy(),
        _ => throw new ArgumentException($"unknown policy '{name}'; valid: {Names}"),
    };
}
