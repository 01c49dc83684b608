// The scheduling policies the model simulates, by the names NetStack's PolicyCatalog gives them.
namespace NetStack.Measurement.Model;

/// <summary>A policy of NetStack's, as the model simulates it.</summary>
internal enum ModelPolicy
{
    /// <summary>cfcfs: one central FIFO, run to completion.</summary>
    CentralFcfs,
    /// <summary>ps: the central FIFO with a time slice; a preempted request rejoins the tail with its arrival stamp.</summary>
    ProcessorSharing,
    /// <summary>dfcfs: one FIFO per worker chosen by the flow hash, run to completion, no stealing.</summary>
    DistributedFcfs,
}

/// <summary>Policy names as configuration, command lines and reports spell them.</summary>
internal static class ModelPolicies
{
    /// <summary>Every name, in NetStack's order.</summary>
    public static IReadOnlyList<string> Names { get; } = ["cfcfs", "ps", "dfcfs"];

    /// <summary>The policy's name.</summary>
    public static string Name(this ModelPolicy policy) => policy switch
    {
        ModelPolicy.CentralFcfs => "cfcfs",
        ModelPolicy.ProcessorSharing => "ps",
        ModelPolicy.DistributedFcfs => "dfcfs",
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, null),
    };

    /// <summary>The policy a name stands for (case-insensitive).</summary>
    public static bool TryParse(string name, out ModelPolicy policy)
    {
        for (int i = 0; i < Names.Count; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                policy = (ModelPolicy)i;
                return true;
            }
        }
        policy = default;
        return false;
    }

    /// <summary>The policy a name stands for; throws naming the valid ones.</summary>
    public static ModelPolicy Parse(string name) => TryParse(name, out ModelPolicy p)
        ? p
        : throw new ArgumentException($"unknown policy '{name}'; valid: {string.Join(", ", Names)}", nameof(name));
}
