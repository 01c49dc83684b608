// Builds serve's host from its configuration: NetStack.Hosting with the built-in apps, or the ThreadPool baseline.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NetStack.Hosting;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;

namespace NetStack.Apps.Hosting;

/// <summary>
/// The host behind <c>netstack serve</c>. Its own sections (<c>Server</c>, <c>Apps</c>,
/// <c>Synthetic</c>, <c>Telemetry</c>) are bound and checked here, before anything starts; the
/// IOKernel's (<c>NetStack</c>, <c>Udp</c>, <c>Tcp</c>, <c>Nic</c>) go to
/// <see cref="NetStackServiceCollectionExtensions.AddNetStack"/> as one <c>NetStack</c> section, the
/// layout a user's appsettings.json has, and are checked when the host starts.
/// </summary>
internal static class ServeHost
{
    /// <summary>The sections NetStack.Hosting reads; serve keeps them at the root of its configuration.</summary>
    private static readonly string[] s_kernelSections = ["NetStack", "Udp", "Tcp", "Nic"];

    /// <summary>Builds the host. <paramref name="settings"/> are configuration keys as command-line
    /// pairs (<c>--Section:Key value</c>), over appsettings.json.</summary>
    /// <exception cref="ConfigurationException">A value of serve's own sections is wrong (the message says which).</exception>
    public static IHost Build(IReadOnlyList<string> settings)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Configuration.AddCommandLine([.. settings]);
        IConfiguration config = builder.Configuration;
        var server = Bind(config, "Server", new ServerOptions());
        server.Validate();
        var apps = Bind(config, "Apps", new AppsOptions());
        apps.Spin.Validate();
        apps.Kv.Validate();
        apps.RunList();
        // The core list starts empty: the binder appends to an array it finds filled.
        var kernel = Bind(config, "NetStack", new KernelOptions { WorkerCores = [] });
        if (kernel.WorkerCores.Length == 0)
        {
            kernel.WorkerCores = new KernelOptions().WorkerCores;
        }
        if (server.IsThreadPool)
        {
            // The baseline pins nothing, so the IOKernel's cores do not apply to it.
            var udp = Bind(config, "Udp", new UdpNicOptions());
            udp.Validate();
            var tcp = Bind(config, "Tcp", new TcpNicOptions());
            tcp.Validate();
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(kernel));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(server));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(udp));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(tcp));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(apps));
            builder.Services.AddHostedService<ThreadPoolService>();
        }
        else
        {
            NetStackBuilder netstack = builder.Services.AddNetStack(KernelSection(config))
                .AddBuiltInApps(apps, kernel)
                .AddMetrics();
            if (server.IsSynthetic)
            {
                var synthetic = Bind(config, "Synthetic", new SyntheticOptions());
                netstack.UseSyntheticArrivals(synthetic.Workload, synthetic.Load, synthetic.Seed);
            }
        }
        builder.AddNetStackTelemetry(Bind(config, "Telemetry", new TelemetryOptions()));
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new PlainConsoleLoggerProvider());
        // A start that fails is reported by Program in one line; the host's own report of it would repeat it.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        return builder.Build();
    }

    /// <summary>serve's kernel and NIC keys as one <c>NetStack</c> section: <c>NetStack:X</c> stays,
    /// <c>Udp:X</c> becomes <c>NetStack:Udp:X</c>. serve's <c>Apps</c> keys are its own (ports, the
    /// apps to run), so NetStack.Hosting does not see them.</summary>
    private static IConfiguration KernelSection(IConfiguration config)
    {
        var keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (string section in s_kernelSections)
        {
            foreach ((string key, string? value) in config.GetSection(section).AsEnumerable(makePathsRelative: true))
            {
                if (value is not null)
                {
                    keys[section == "NetStack" ? $"NetStack:{key}" : $"NetStack:{section}:{key}"] = value;
                }
            }
        }
        return new ConfigurationBuilder().AddInMemoryCollection(keys).Build().GetSection("NetStack");
    }

    /// <summary>Binds a section; a value of the wrong type ("--port x") becomes a <see cref="ConfigurationException"/>
    /// naming the key, rather than the binder's exception deep inside the host.</summary>
    private static T Bind<T>(IConfiguration configuration, string section, T options)
    {
        try
        {
            configuration.GetSection(section).Bind(options);
            return options;
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationException(e.Message);
        }
    }
}
