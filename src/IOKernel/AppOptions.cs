// What an app asks of the IOKernel when it registers: priority, cores, and how its requests are scheduled.
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

/// <summary>An app's class of service.</summary>
internal enum AppPriority
{
    /// <summary>Serves requests and must keep microsecond tails: gets cores when congested.</summary>
    LatencyCritical,
    /// <summary>Best effort: gets every core no latency-critical app needs.</summary>
    Batch,
}

/// <summary>An app's registration settings (bound from appsettings.json "Apps" entries).</summary>
public sealed class AppOptions
{
    /// <summary>Name in logs and reports.</summary>
    internal string Name { get; set; } = "app";

    /// <summary>Latency-critical or batch.</summary>
    internal AppPriority Priority { get; set; } = AppPriority.LatencyCritical;

    /// <summary>Cores it may hold at most.</summary>
    public int MaxCores { get; set; } = int.MaxValue;

    /// <summary>Cores it gets whenever it has work, before any congestion test (Shenango's guaranteed cores).
    /// Under the static allocation policy, the cores it holds for the whole run.</summary>
    public int GuaranteedCores { get; set; }

    /// <summary>Cores it keeps even when idle, spinning for the next request (Shenango's spinning kthreads).</summary>
    public int SpinningCores { get; set; }

    /// <summary>Scheduling policy of its requests (latency-critical apps); null: the kernel's
    /// (<see cref="KernelOptions.Policy"/>), so there is one default, not two.</summary>
    public string? Policy { get; set; }

    /// <summary>Time slice for ps; null: the kernel's (<see cref="KernelOptions.QuantumMicros"/>).</summary>
    public double? QuantumMicros { get; set; }

    /// <summary>The largest reply body a handler may write; past it the request fails with the
    /// protocol's error reply and nothing of the body goes out.</summary>
    public int MaxReplyBytes { get; set; } = DefaultMaxReplyBytes;

    /// <summary>The address its listeners bind (IPv4 or IPv6). Loopback unless configured.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The UDP port it is served on; null: not on UDP; 0: any free port (tests).</summary>
    public int? UdpPort { get; set; }

    /// <summary>The TCP port it is served on; null: not on TCP; 0: any free port (tests).</summary>
    public int? TcpPort { get; set; }

    /// <summary>1 MiB, as the issue of real requests asks.</summary>
    public const int DefaultMaxReplyBytes = 1 << 20;

    /// <summary>Checks the values; throws naming what is wrong.</summary>
    public void Validate()
    {
        if (MaxCores < 0 || GuaranteedCores < 0 || SpinningCores < 0)
        {
            throw new ArgumentException($"app {Name}: core counts must not be negative");
        }
        if (GuaranteedCores > MaxCores || SpinningCores > MaxCores)
        {
            throw new ArgumentException($"app {Name}: guaranteed ({GuaranteedCores}) and spinning ({SpinningCores}) cores cannot exceed max cores ({MaxCores})");
        }
        if (Priority == AppPriority.LatencyCritical && Policy is not null && !Policies.PolicyCatalog.IsKnown(Policy))
        {
            throw new ArgumentException($"app {Name}: unknown policy '{Policy}'; valid: {Policies.PolicyCatalog.Names}");
        }
        if (QuantumMicros is < KernelOptions.MinQuantumMicros or > KernelOptions.MaxQuantumMicros)
        {
            throw new ArgumentException($"app {Name}: quantum {QuantumMicros} µs is out of range; valid: {KernelOptions.MinQuantumMicros} to {KernelOptions.MaxQuantumMicros} µs");
        }
        if (MaxReplyBytes < AppProtocol.MaxFailureReplyBytes)
        {
            throw new ArgumentException($"app {Name}: MaxReplyBytes {MaxReplyBytes} is below {AppProtocol.MaxFailureReplyBytes}");
        }
        if (UdpPort is < 0 or > 65535 || TcpPort is < 0 or > 65535)
        {
            throw new ArgumentException($"app {Name}: a port must be 0 (any free port) to 65535");
        }
        if (!System.Net.IPAddress.TryParse(Address, out _))
        {
            throw new ArgumentException($"app {Name}: address '{Address}' is not an IP address; valid: 127.0.0.1, ::1, 0.0.0.0, ...");
        }
    }
}

/// <summary>An app to run: its settings and its code (a request handler, or a batch job).</summary>
internal sealed class AppRegistration
{
    /// <summary>A latency-critical app; <paramref name="protocol"/> frames its requests on the network
    /// (null: in-process requests only).</summary>
    public static AppRegistration LatencyCritical(AppOptions options, IRequestHandler handler, AppProtocol? protocol = null)
    {
        options.Priority = AppPriority.LatencyCritical;
        return new AppRegistration(options, handler, null, protocol);
    }

    /// <summary>A batch app.</summary>
    public static AppRegistration Batch(AppOptions options, IBatchJob job)
    {
        options.Priority = AppPriority.Batch;
        return new AppRegistration(options, null, job, null);
    }

    private AppRegistration(AppOptions options, IRequestHandler? handler, IBatchJob? job, AppProtocol? protocol)
    {
        Options = options;
        Handler = handler;
        Job = job;
        Protocol = protocol;
    }

    /// <summary>Its protocol (latency-critical apps on the network).</summary>
    public AppProtocol? Protocol { get; }

    /// <summary>Settings.</summary>
    public AppOptions Options { get; }

    /// <summary>The request handler (latency-critical apps).</summary>
    public IRequestHandler? Handler { get; }

    /// <summary>The batch job (batch apps).</summary>
    public IBatchJob? Job { get; }
}
