// The `netstack` host: runs the IOKernel, its carriers and the apps until Ctrl+C or SIGTERM.
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NetStack.Apps.Hosting;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime;

namespace NetStack.Apps;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Command-line shorthands for the configuration keys users change most.</summary>
    private static readonly Dictionary<string, string> s_switches = new()
    {
        ["--policy"] = "NetStack:Policy",
        ["--quantum-us"] = "NetStack:QuantumMicros",
        ["--mailbox-depth"] = "NetStack:MailboxDepth",
        ["--iokernel-core"] = "NetStack:IOKernelCore",
        ["--workload"] = "Synthetic:Workload",
        ["--load"] = "Synthetic:Load",
        ["--server"] = "Server:Kind",
        ["--nic"] = "Server:Nic",
        ["--max-in-flight"] = "Server:ThreadPoolMaxInFlight",
        ["--address"] = "Apps:Spin:Address",
        ["--port"] = "Apps:Spin:Port",
        ["--queues"] = "Udp:Queues",
        ["--apps"] = "Apps:Run",
        ["--kv-port"] = "Apps:Kv:Port",
        ["--kv-udp-port"] = "Apps:Kv:UdpPort",
        ["--kv-memory-mb"] = "Apps:Kv:MemoryMegabytes",
        ["--kv-max-item-bytes"] = "Apps:Kv:MaxItemBytes",
        ["--max-connections"] = "Tcp:MaxConnections",
        ["--backend"] = "Nic:Backend",
        ["--allocation"] = "NetStack:CoreAllocation",
        ["--batch"] = "Apps:Batch:Enabled",
        ["--metrics"] = "Telemetry:Exporters:0",
    };

    /// <summary>The one-line usage.</summary>
    internal const string Usage =
        "usage: netstack [serve] [--apps spin,kv,batch] [--kv-port 11211] [--kv-udp-port 0] [--kv-memory-mb 64] [--kv-max-item-bytes 1048576] " +
        "[--server netstack|threadpool] [--nic network|synthetic] [--backend auto|io_uring|syscalls] " +
        "[--address A] [--port P] [--queues N] [--max-connections N] " +
        "[--policy cfcfs|ps|dfcfs] [--quantum-us N] [--mailbox-depth K] [--worker-cores 1,2] [--iokernel-core N] " +
        "[--allocation static|standing-queue|queue-delay] [--batch true|false] " +
        "[--metrics console|otlp|prometheus] " +
        "[--max-in-flight N] [--workload NAME] [--load F] [--Section:Key value ...]  (see docs/configuration.md)";

    /// <summary>Runs the host. Exit code 2 for a bad configuration value.</summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        string[] rest = args.Length > 0 && args[0] == "serve" ? args[1..] : args;
        try
        {
            rest = ExpandCoreList(rest);
            HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
            {
                ContentRootPath = AppContext.BaseDirectory,
                Args = [],
            });
            builder.Configuration.AddCommandLine(rest, s_switches);
            // Bind and check everything before the host starts, so a bad value is one line and exit 2.
            var server = Bind(builder.Configuration, "Server", new ServerOptions());
            server.Validate();
            // The core list starts empty: the binder appends to an array it finds filled.
            var kernel = Bind(builder.Configuration, "NetStack", new KernelOptions { WorkerCores = [] });
            if (kernel.WorkerCores.Length == 0)
            {
                kernel.WorkerCores = [1];
            }
            var udp = Bind(builder.Configuration, "Udp", new UdpNicOptions());
            udp.Validate();
            var tcp = Bind(builder.Configuration, "Tcp", new TcpNicOptions());
            tcp.Validate();
            var nic = Bind(builder.Configuration, "Nic", new NicOptions());
            nic.Validate();
            var synthetic = Bind(builder.Configuration, "Synthetic", new SyntheticOptions());
            var apps = Bind(builder.Configuration, "Apps", new AppsOptions());
            apps.Spin.Validate();
            apps.Kv.Validate();
            apps.RunList();
            if (server.IsThreadPool)
            {
                // The baseline pins nothing, so the IOKernel's cores do not apply to it.
                builder.Services.AddHostedService<ThreadPoolService>();
            }
            else
            {
                kernel.Validate();
                apps.Registrations(kernel);
                if (server.IsSynthetic)
                {
                    HostValidation.Workload(synthetic.Workload);
                }
                builder.Services.AddHostedService<NetStackService>();
            }
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(kernel));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(synthetic));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(server));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(udp));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(tcp));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(nic));
            builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(apps));
            builder.AddNetStackTelemetry(Bind(builder.Configuration, "Telemetry", new TelemetryOptions()));
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
            using IHost host = builder.Build();
            host.Run();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or ConfigurationException or CoreNotAvailableException or FormatException)
        {
            Console.Error.WriteLine($"netstack: {Innermost(e).Message}");
            return 2;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"netstack: failed: {Innermost(e).Message}");
            return 1;
        }
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

    /// <summary>"--worker-cores 1,2" becomes the indexed keys the configuration binder expects.</summary>
    private static string[] ExpandCoreList(string[] args)
    {
        var result = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--worker-cores" && i + 1 < args.Length)
            {
                string[] cores = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                for (int c = 0; c < cores.Length; c++)
                {
                    result.Add($"--NetStack:WorkerCores:{c}");
                    result.Add(cores[c]);
                }
            }
            else
            {
                result.Add(args[i]);
            }
        }
        return [.. result];
    }

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
