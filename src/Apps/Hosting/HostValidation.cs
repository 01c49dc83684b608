// Start-up checks of the host's configuration: one clear line for each bad value.
using System.Net.Sockets;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Workloads;

namespace NetStack.Apps.Hosting;

/// <summary>A configuration value the host cannot run with.</summary>
internal sealed class ConfigurationException(string message) : Exception(message);

/// <summary>Looks configuration names up, failing with the valid choices.</summary>
internal static class HostValidation
{
    /// <summary>The named workload, or a <see cref="ConfigurationException"/> listing the valid ones.</summary>
    public static Workload Workload(string name) =>
        Runtime.Workloads.Workload.TryGet(name, out Workload? w)
            ? w
            : throw new ConfigurationException($"unknown workload '{name}'; valid: {Runtime.Workloads.Workload.Names}");

    /// <summary>Opens a server's sockets; a port in use or an address that is not this machine's
    /// becomes one line saying which address failed and why.</summary>
    public static T Listen<T>(UdpNicOptions options, Func<UdpNicOptions, T> open)
    {
        try
        {
            return open(options);
        }
        catch (SocketException e)
        {
            throw new ConfigurationException(
                $"cannot listen on udp://{options.Address}:{options.Port}: {e.Message}; choose another --port or --address");
        }
    }
}
