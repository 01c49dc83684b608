// The Generic Host extension: services.AddNetStack(configuration) and the apps a user registers on what it returns.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using OpenTelemetry.Metrics;

namespace NetStack.Hosting;

/// <summary>Where an app listens: a UDP port, a TCP port, or both, on one address.</summary>
/// <param name="Udp">The UDP port (null: not on UDP; 0: any free port).</param>
/// <param name="Tcp">The TCP port (null: not on TCP; 0: any free port).</param>
/// <param name="Address">The address, IPv4 or IPv6; loopback unless given.</param>
public readonly record struct NetStackPorts(int? Udp = null, int? Tcp = null, string Address = NetStackPorts.Loopback)
{
    /// <summary>The address an app listens on unless given: IPv4 loopback, reachable from this machine only.</summary>
    public const string Loopback = "127.0.0.1";

    /// <summary>The same port on UDP and TCP.</summary>
    public static NetStackPorts Both(int port, string address = Loopback) => new(port, port, address);

    /// <summary>TCP only.</summary>
    public static NetStackPorts TcpOnly(int port, string address = Loopback) => new(null, port, address);

    /// <summary>UDP only.</summary>
    public static NetStackPorts UdpOnly(int port, string address = Loopback) => new(port, null, address);
}

/// <summary>Adds NetStack to a host.</summary>
public static class NetStackServiceCollectionExtensions
{
    /// <summary>
    /// Adds the IOKernel and its carriers as a hosted service, started with the host and drained on
    /// Ctrl+C or SIGTERM. <paramref name="configuration"/> (for example
    /// <c>builder.Configuration.GetSection("NetStack")</c>) holds the kernel's settings at its top
    /// (the keys of <see cref="KernelOptions"/>: cores, policy, quantum, idle strategies...), the NICs'
    /// in <c>Udp</c>, <c>Tcp</c> and <c>Nic</c> (<see cref="UdpNicOptions"/>, <see cref="TcpNicOptions"/>,
    /// <see cref="NicOptions"/>: queues, buffers, the io_uring or syscalls backend), and each app's in
    /// <c>Apps:NAME</c> (the keys of <see cref="AppOptions"/>); what configuration says overrides what
    /// code says. Without a configuration, code and the options types' defaults decide.
    /// </summary>
    public static NetStackBuilder AddNetStack(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new NetStackBuilder(services, configuration);
        services.AddSingleton(sp => new NetStackHost(builder.Definition, sp,
            sp.GetService<ILogger<NetStackHost>>() ?? NullLogger<NetStackHost>.Instance));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<NetStackHost>());
        return builder;
    }
}

/// <summary>What the builder collected: read by <see cref="NetStackHost"/> when the host starts.</summary>
internal sealed class NetStackDefinition
{
    public IConfiguration? Configuration { get; init; }
    public List<Action<KernelOptions>> Kernel { get; } = [];
    public List<AppDefinition> Apps { get; } = [];
    public SyntheticArrivals? Synthetic { get; set; }
    public bool Metrics { get; set; }
}

/// <summary>The in-process source <see cref="NetStackBuilder.UseSyntheticArrivals"/> asked for.</summary>
internal sealed record SyntheticArrivals(string Workload, double Load, ulong Seed);

/// <summary>One app as registered: its name, how to make its code, its ports and protocol, and its settings from code.</summary>
internal sealed record AppDefinition(
    string Name,
    AppPriority Priority,
    Func<IServiceProvider, object> Create,
    NetStackPorts Ports,
    Func<IServiceProvider, AppProtocol>? Protocol,
    Action<AppOptions>? Configure);

/// <summary>
/// Registers the apps NetStack runs: latency-critical apps, each on its own ports with its own
/// queue and policy, and batch jobs that take the cycles they leave.
/// </summary>
public sealed class NetStackBuilder
{
    internal NetStackBuilder(IServiceCollection services, IConfiguration? configuration)
    {
        Services = services;
        Definition = new NetStackDefinition { Configuration = configuration };
    }

    /// <summary>The host's services.</summary>
    public IServiceCollection Services { get; }

    internal NetStackDefinition Definition { get; }

    /// <summary>Sets kernel options from code (configuration still overrides them).</summary>
    public NetStackBuilder ConfigureKernel(Action<KernelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Definition.Kernel.Add(configure);
        return this;
    }

    /// <summary>
    /// A latency-critical app: requests arriving on <paramref name="ports"/>, framed by
    /// <paramref name="protocol"/>, served by a <typeparamref name="THandler"/> (made from the host's
    /// services, once), under the kernel's policy and quantum, on any worker core; <c>Apps:NAME</c> in
    /// configuration may set its own (the keys of <see cref="AppOptions"/>).
    /// </summary>
    public NetStackBuilder AddLatencyCriticalApp<THandler>(string name, NetStackPorts ports, AppProtocol protocol)
        where THandler : class, IRequestHandler =>
        AddLatencyCriticalApp<THandler>(name, ports, protocol, null);

    /// <summary>As above; <paramref name="configure"/> sets the app's policy, quantum and cores from code
    /// (<c>Apps:NAME</c> in configuration still overrides them).</summary>
    public NetStackBuilder AddLatencyCriticalApp<THandler>(string name, NetStackPorts ports, AppProtocol protocol, Action<AppOptions>? configure)
        where THandler : class, IRequestHandler
    {
        ArgumentNullException.ThrowIfNull(protocol);
        return AddLatencyCriticalApp(name, ports, _ => protocol, static sp => ActivatorUtilities.GetServiceOrCreateInstance<THandler>(sp), configure);
    }

    /// <summary>As above, with the handler and protocol made by factories (they may share state, as kv's engine does);
    /// <paramref name="configure"/> may be null.</summary>
    public NetStackBuilder AddLatencyCriticalApp(string name, NetStackPorts ports, Func<IServiceProvider, AppProtocol> protocol,
        Func<IServiceProvider, IRequestHandler> handler, Action<AppOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(protocol);
        ArgumentNullException.ThrowIfNull(handler);
        Definition.Apps.Add(new AppDefinition(name, AppPriority.LatencyCritical, handler, ports, protocol, configure));
        return this;
    }

    /// <summary>A batch app: <typeparamref name="TJob"/> (made from the host's services) runs on every core
    /// the latency-critical apps leave idle.</summary>
    public NetStackBuilder AddBatchJob<TJob>(string name) where TJob : class, IBatchJob => AddBatchJob<TJob>(name, null);

    /// <summary>As above; <paramref name="configure"/> bounds its cores from code (<c>Apps:NAME:MaxCores</c> overrides it).</summary>
    public NetStackBuilder AddBatchJob<TJob>(string name, Action<AppOptions>? configure) where TJob : class, IBatchJob =>
        AddBatchJob(name, static sp => ActivatorUtilities.GetServiceOrCreateInstance<TJob>(sp), configure);

    /// <summary>As above, with the job made by a factory; <paramref name="configure"/> may be null.</summary>
    public NetStackBuilder AddBatchJob(string name, Func<IServiceProvider, IBatchJob> job, Action<AppOptions>? configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(job);
        Definition.Apps.Add(new AppDefinition(name, AppPriority.Batch, job, default, null, configure));
        return this;
    }

    /// <summary>
    /// Feeds the first latency-critical app from an in-process open-loop source instead of the
    /// network, to measure a handler and the scheduler without one: Poisson arrivals whose types and
    /// service times (<see cref="RequestContext.ServiceNs"/>; the request bytes are empty) follow
    /// <paramref name="workload"/>, one of the named workloads (exp-10, extreme-bimodal, ...), at
    /// <paramref name="load"/> times the worker cores' capacity. No port is opened.
    /// </summary>
    public NetStackBuilder UseSyntheticArrivals(string workload, double load, ulong seed = 42)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(workload);
        if (!(load > 0) || double.IsInfinity(load))
        {
            throw new ArgumentOutOfRangeException(nameof(load), load, "the offered load is a fraction of capacity above 0");
        }
        Definition.Synthetic = new SyntheticArrivals(workload, load, seed);
        return this;
    }

    /// <summary>
    /// Reports the kernel's counters, cores and latency on the <c>NetStack</c> Meter
    /// (<see cref="NetStackMetrics.MeterName"/>; docs/metrics.md lists the instruments) and adds that
    /// Meter to the host's OpenTelemetry metrics pipeline, so an exporter the application configures
    /// (<c>services.AddOpenTelemetry().WithMetrics(m => m.AddPrometheusHttpListener())</c>, OTLP, console)
    /// exports it; without a pipeline the Meter is still there for <c>dotnet-counters</c>. Each
    /// completion then also counts into a latency bucket (one increment on the carrier).
    /// </summary>
    public NetStackBuilder AddMetrics()
    {
        Definition.Metrics = true;
        Services.TryAddSingleton(_ => new NetStackMetrics());
        Services.ConfigureOpenTelemetryMeterProvider(m => m.AddMeter(NetStackMetrics.MeterName));
        return this;
    }
}
