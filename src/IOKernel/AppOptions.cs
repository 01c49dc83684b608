// What an app asks of the IOKernel when it registers: priority, cores, and how its requests are scheduled.
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel;

/// <summary>An app's class of service.</summary>
public enum AppPriority
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
    public string Name { get; set; } = "app";

    /// <summary>Latency-critical or batch.</summary>
    public AppPriority Priority { get; set; } = AppPriority.LatencyCritical;

    /// <summary>Cores it may hold at most.</summary>
    public int MaxCores { get; set; } = int.MaxValue;

    /// <summary>Cores it gets whenever it has work, before any congestion test (Shenango's guaranteed cores).
    /// Under the static allocation policy, the cores it holds for the whole run.</summary>
    public int GuaranteedCores { get; set; }

    /// <summary>Cores it keeps even when idle, spinning for the next request (Shenango's spinning kthreads).</summary>
    public int SpinningCores { get; set; }

    /// <summary>Scheduling policy of its requests (latency-critical apps).</summary>
    public string Policy { get; set; } = "ps";

    /// <summary>Time slice for ps.</summary>
    public double QuantumMicros { get; set; } = 5;

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
        if (Priority == AppPriority.LatencyCritical && !Policies.PolicyCatalog.IsKnown(Policy))
        {
            throw new ArgumentException($"app {Name}: unknown policy '{Policy}'; valid: {Policies.PolicyCatalog.Names}");
        }
    }
}

/// <summary>An app to run: its settings and its code (a request handler, or a batch job).</summary>
public sealed class AppRegistration
{
    /// <summary>A latency-critical app.</summary>
    public static AppRegistration LatencyCritical(AppOptions options, IRequestHandler handler)
    {
        options.Priority = AppPriority.LatencyCritical;
        return new AppRegistration(options, handler, null);
    }

    /// <summary>A batch app.</summary>
    public static AppRegistration Batch(AppOptions options, IBatchJob job)
    {
        options.Priority = AppPriority.Batch;
        return new AppRegistration(options, null, job);
    }

    private AppRegistration(AppOptions options, IRequestHandler? handler, IBatchJob? job)
    {
        Options = options;
        Handler = handler;
        Job = job;
    }

    /// <summary>Settings.</summary>
    public AppOptions Options { get; }

    /// <summary>The request handler (latency-critical apps).</summary>
    public IRequestHandler? Handler { get; }

    /// <summary>The batch job (batch apps).</summary>
    public IBatchJob? Job { get; }
}
