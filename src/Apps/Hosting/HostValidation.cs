// Start-up checks of the host's configuration: one clear line for each bad value.
using NetStack.Runtime.Workloads;

namespace NetStack.Apps.Hosting;

/// <summary>A configuration value the host cannot run with.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>Looks configuration names up, failing with the valid choices.</summary>
public static class HostValidation
{
    /// <summary>The named workload, or a <see cref="ConfigurationException"/> listing the valid ones.</summary>
    public static Workload Workload(string name) =>
        Runtime.Workloads.Workload.TryGet(name, out Workload? w)
            ? w
            : throw new ConfigurationException($"unknown workload '{name}'; valid: {Runtime.Workloads.Workload.Names}");
}
