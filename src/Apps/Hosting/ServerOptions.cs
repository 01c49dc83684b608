// Which server the host runs (NetStack or the ThreadPool baseline) and where NetStack's requests come from.
namespace NetStack.Apps.Hosting;

/// <summary>The host's choice of server (section "Server").</summary>
internal sealed class ServerOptions
{
    /// <summary>Valid <see cref="Kind"/> values.</summary>
    public static readonly string[] Kinds = ["netstack", "threadpool"];

    /// <summary>Valid <see cref="Nic"/> values.</summary>
    public static readonly string[] Nics = ["network", "synthetic"];

    /// <summary>netstack: the IOKernel and its carriers; threadpool: the conventional baseline
    /// (a receive loop feeding the .NET ThreadPool) on the same port and protocol.</summary>
    public string Kind { get; set; } = "netstack";

    /// <summary>Where NetStack's requests come from: network (each app's UDP and TCP ports; sections
    /// "Udp" and "Tcp"), or synthetic, an in-process open-loop source (section "Synthetic") that
    /// measures the scheduler without a network.</summary>
    public string Nic { get; set; } = "network";

    /// <summary>The baseline's bound on requests in flight; past it a request is answered
    /// rejected-overload. The same as NetStack's default queue bound (NetStack:QueueCapacity).</summary>
    public int ThreadPoolMaxInFlight { get; set; } = 8192;

    /// <summary>Checks every value; throws <see cref="ConfigurationException"/> naming the valid choices.</summary>
    public void Validate()
    {
        if (!Kinds.Contains(Kind, StringComparer.OrdinalIgnoreCase))
        {
            throw new ConfigurationException($"unknown server '{Kind}'; valid: {string.Join(", ", Kinds)}");
        }
        if (!Nics.Contains(Nic, StringComparer.OrdinalIgnoreCase))
        {
            throw new ConfigurationException($"unknown nic '{Nic}'; valid: {string.Join(", ", Nics)}");
        }
        if (ThreadPoolMaxInFlight < 1)
        {
            throw new ConfigurationException($"thread-pool in-flight bound {ThreadPoolMaxInFlight} is out of range; valid: 1 or more");
        }
        if (IsThreadPool && IsSynthetic)
        {
            throw new ConfigurationException("the threadpool server serves the network only; valid: --server threadpool --nic network, or --server netstack with either nic");
        }
    }

    /// <summary>True for the baseline.</summary>
    public bool IsThreadPool => string.Equals(Kind, "threadpool", StringComparison.OrdinalIgnoreCase);

    /// <summary>True for the in-process source.</summary>
    public bool IsSynthetic => string.Equals(Nic, "synthetic", StringComparison.OrdinalIgnoreCase);
}
