// `netstack serve`: its options, each a shorthand for one configuration key, and the host it runs.
using System.CommandLine;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Hosting;
using NetStack.Apps.Hosting;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Workloads;

namespace NetStack.Apps.Cli;

/// <summary>
/// The <c>serve</c> command. Every option sets one configuration key (docs/configuration.md), and
/// any other key can be given as <c>--Section:Key value</c>; the options types hold every default
/// and check every value, so an option here only names a key, says what it means and shows its
/// default. Values are not parsed here: a bad one is refused by its options type in one line that
/// names the key and the valid choices.
/// </summary>
internal static class ServeCommand
{
    /// <summary>The options: name, key, the value's shape in help, meaning.</summary>
    private static readonly (string Name, string Key, string Value, string Meaning)[] s_options =
    [
        ("--apps", "Apps:Run", "spin,kv,batch", "The apps to run, comma-separated: spin (busy-works for the requested time and echoes; spin protocol on UDP and TCP), kv (memcached-compatible cache, TCP), batch (a SHA-256 chain on the cores the others leave)"),
        ("--server", "Server:Kind", "netstack|threadpool", "netstack: the IOKernel and its pinned carriers; threadpool: the conventional ThreadPool baseline, for spin"),
        ("--nic", "Server:Nic", "network|synthetic", "Where requests come from: the apps' ports, or an in-process open-loop source (--workload, --load) to the first app"),
        ("--backend", "Nic:Backend", "auto|io_uring|syscalls", "How the NICs talk to the kernel; auto: io_uring where it can run, else the syscalls, with one line saying why"),
        ("--address", "Apps:Spin:Address", "ADDRESS", "spin's address, IPv4 or IPv6"),
        ("--port", "Apps:Spin:Port", "PORT", "spin's port, on UDP and on TCP; 0: any free port"),
        ("--queues", "Udp:Queues", "N", "UDP NIC queues per port (sockets sharing it with SO_REUSEPORT)"),
        ("--max-connections", "Tcp:MaxConnections", "N", "TCP connections open at once, all ports together"),
        ("--kv-port", "Apps:Kv:Port", "PORT", "kv's TCP port"),
        ("--kv-udp-port", "Apps:Kv:UdpPort", "PORT", "kv's UDP port, with memcached's frame header; 0: off"),
        ("--kv-memory-mb", "Apps:Kv:MemoryMegabytes", "N", "kv's item memory, overhead included (memcached's -m)"),
        ("--kv-max-item-bytes", "Apps:Kv:MaxItemBytes", "N", "kv's largest item (memcached's -I)"),
        ("--policy", "NetStack:Policy", "cfcfs|ps|dfcfs", "The scheduling policy: c-FCFS (no preemption), processor sharing (c-FCFS with a time slice, Shinjuku), d-FCFS (per-worker queues by flow hash)"),
        ("--quantum-us", "NetStack:QuantumMicros", "MICROS", "The processor-sharing time slice, 1 to 1000 µs"),
        ("--mailbox-depth", "NetStack:MailboxDepth", "K", "JBSQ(k): requests a worker may hold, the running one included, 1 to 8"),
        ("--worker-cores", "NetStack:WorkerCores", "1,2", "The worker cores, one pinned carrier each; -1: an unpinned carrier"),
        ("--iokernel-core", "NetStack:IOKernelCore", "CORE", "The IOKernel thread's core"),
        ("--allocation", "NetStack:CoreAllocation", "static|standing-queue|queue-delay", "How cores move between apps: never (static), on a standing queue (Shenango), on queueing delay (Caladan)"),
        ("--batch", "Apps:Batch:Enabled", "true|false", "false: leave batch out of --apps"),
        ("--metrics", "Telemetry:Exporters:0", "console|otlp|prometheus", "An OpenTelemetry exporter for the NetStack Meter (more: --Telemetry:Exporters:1 NAME; docs/metrics.md)"),
        ("--max-in-flight", "Server:ThreadPoolMaxInFlight", "N", "The threadpool baseline's bound on UDP requests in flight"),
        ("--workload", "Synthetic:Workload", "NAME", $"With --nic synthetic: the workload, one of {Workload.Names}"),
        ("--load", "Synthetic:Load", "FRACTION", "With --nic synthetic: the offered load, a fraction of the worker cores' capacity"),
    ];

    /// <summary>The sections of serve's configuration and the types that hold their defaults.</summary>
    private static readonly Dictionary<string, Func<object>> s_sections = new(StringComparer.OrdinalIgnoreCase)
    {
        ["NetStack"] = () => new KernelOptions(),
        ["Udp"] = () => new UdpNicOptions(),
        ["Tcp"] = () => new TcpNicOptions(),
        ["Nic"] = () => new NicOptions(),
        ["Server"] = () => new ServerOptions(),
        ["Apps"] = () => new AppsOptions(),
        ["Synthetic"] = () => new SyntheticOptions(),
        ["Telemetry"] = () => new TelemetryOptions(),
    };

    /// <summary>The command, its action running the host until Ctrl+C or SIGTERM.</summary>
    public static Command Create()
    {
        var serve = new Command("serve",
            "Runs the host: the apps on their ports (spin and batch by default; spin on 127.0.0.1:9000, UDP and TCP) until " +
            "Ctrl+C or SIGTERM, which drains the requests in flight and prints the counts. Every configuration key can also be " +
            "given as --Section:Key value (for example --NetStack:QueueCapacity 1024; docs/configuration.md lists them all), " +
            "over src/Apps/appsettings.json.")
        {
            // `--Section:Key value` pairs are not options of this command: they are checked and passed on as configuration.
            TreatUnmatchedTokensAsErrors = false,
        };
        var options = new List<(Option<string> Option, string Key)>();
        foreach ((string name, string key, string value, string meaning) in s_options)
        {
            var option = new Option<string>(name)
            {
                HelpName = value,
                Description = $"{meaning} [default: {DefaultOf(key)}; key {KeyName(key)}]",
                // Given twice, the last one counts, as for any configuration key (a script's defaults, then "$@").
                Arity = ArgumentArity.OneOrMore,
                AllowMultipleArgumentsPerToken = false,
                CustomParser = r => r.Tokens[^1].Value,
            };
            serve.Options.Add(option);
            options.Add((option, key));
        }
        serve.SetAction(result =>
        {
            // The executable keeps its own helper threads off the worker cores (the library does not:
            // KernelOptions.HelperThreadsOffWorkers); a setting given on the line comes later and wins.
            using IHost host = ServeHost.Build(["--NetStack:HelperThreadsOffWorkers", "true", .. Settings(result, options)]);
            host.Run();
            return 0;
        });
        return serve;
    }

    /// <summary>serve's host as <c>netstack serve ARGS</c> would run it, built but not started (tests).</summary>
    internal static IHost BuildHost(params string[] args)
    {
        Command serve = Create();
        ParseResult result = new RootCommand { serve }.Parse(["serve", .. args]);
        if (result.Errors.Count > 0)
        {
            throw new UsageException(result.Errors[0].Message);
        }
        return ServeHost.Build(Settings(result, serve.Options.OfType<Option<string>>()
            .Select(o => (o, s_options.Single(s => s.Name == o.Name).Key)).ToList()));
    }

    /// <summary>The options given, as configuration pairs, then the <c>--Section:Key value</c> pairs as given.</summary>
    private static List<string> Settings(ParseResult result, IReadOnlyList<(Option<string> Option, string Key)> options)
    {
        var settings = new List<string>();
        foreach ((Option<string> option, string key) in options)
        {
            if (result.GetValue(option) is not string value)
            {
                continue;
            }
            if (key == "NetStack:WorkerCores")
            {
                // A list: the indexed keys the configuration binder expects.
                string[] cores = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                for (int c = 0; c < cores.Length; c++)
                {
                    settings.AddRange([$"--{key}:{c}", cores[c]]);
                }
            }
            else
            {
                settings.AddRange([$"--{key}", value]);
            }
        }
        IReadOnlyList<string> extra = result.UnmatchedTokens;
        for (int i = 0; i < extra.Count; i++)
        {
            string token = extra[i];
            if (!token.StartsWith("--", StringComparison.Ordinal) || !token.Contains(':'))
            {
                throw new UsageException(
                    $"unknown option '{token}'; valid: the options of 'netstack serve --help', or a configuration key as --Section:Key value (docs/configuration.md)");
            }
            if (token.Contains('='))
            {
                settings.Add(token);
            }
            else if (i + 1 < extra.Count)
            {
                settings.AddRange([token, extra[++i]]);
            }
            else
            {
                throw new UsageException($"{token} has no value; valid: {token} VALUE");
            }
        }
        return settings;
    }

    /// <summary>A key's default, read from its options type (the one place defaults live).</summary>
    private static string DefaultOf(string key)
    {
        string[] path = key.Split(':');
        object? value = s_sections[path[0]]();
        foreach (string name in path.Skip(1).TakeWhile(p => !char.IsDigit(p[0])))
        {
            value = value?.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)?.GetValue(value);
        }
        return value switch
        {
            null => "none",
            string s => s.Length == 0 ? "none" : s,
            bool b => b ? "true" : "false",
            System.Collections.IEnumerable list => list.Cast<object>().Any() ? string.Join(',', list.Cast<object>()) : "none",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "none",
        };
    }

    private static string KeyName(string key) => key.EndsWith(":0", StringComparison.Ordinal) ? key[..^2] : key;
}
