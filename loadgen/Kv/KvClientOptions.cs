// The kv verb's command line: every option, its default, its range and its help line.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Udp;
using NetStack.Measurement.Reports;

namespace NetStack.LoadGen.Kv;

/// <summary>kv's options (the client's; the server's are NetStack.Apps.Kv.KvOptions); one instance per command built.</summary>
internal sealed class KvClientOptions
{
    /// <summary><c>--target</c> (parsed with <c>--udp-ports</c>).</summary>
    public Option<string?> Target { get; } = CliOption.Text("target", "[LABEL[/POLICY]=]HOST:PORT|inprocess[,...]",
        "the servers, measured side by side, as for udp (HOST an IP address or localhost, labels unique); LABEL[/POLICY]=inprocess hosts kv " +
        "in this process, e.g. netstack/ps=127.0.0.1:11211,memcached=127.0.0.1:21211").Required();
    /// <summary><c>--workload</c>.</summary>
    public Option<string> Workload { get; } = CliOption.Name("workload", null, KvWorkload.Names, "workload",
        "usr: 19-byte keys, 2-byte values, 99.8 % GET; etc: Facebook's ETC key and value sizes, GET:SET 30:1 (WORKLOADS.md)").Required();
    /// <summary><c>--keys</c>.</summary>
    public Option<int> Keys { get; } = CliOption.Integer("keys", 100_000, 1, 50_000_000, "keys loaded into every target before the first point");
    /// <summary><c>--popularity</c>.</summary>
    public Option<string> Popularity { get; } = CliOption.Name("popularity", "uniform", KeyPopularity.Names, "popularity",
        "which key a request asks for: uniform, or zipf (YCSB's generator, key 0 the most popular)");
    /// <summary><c>--zipf-exponent</c>.</summary>
    public Option<double> ZipfExponent { get; } = CliOption.Number("zipf-exponent", 0.99, 0.01, 0.999, "zipf's exponent (YCSB's default)", "S");
    /// <summary><c>--arrivals</c> (fb_ia is accepted for fb-ia).</summary>
    public Option<string?> Arrivals { get; } = CliOption.Parsed("arrivals", "poisson|fb-ia",
        "inter-arrival gaps: exponential, or Facebook's generalized Pareto gaps (mutilate's fb_ia, accepted too), scaled to the offered rate",
        text => Kv.Arrivals.Create(text.Replace('_', '-')) is null
            ? throw new UsageException($"unknown arrivals '{text}'; valid: {string.Join(", ", Kv.Arrivals.Names)}")
            : text.Replace('_', '-'), fallback: "poisson");
    /// <summary><c>--miss-fraction</c>.</summary>
    public Option<double> MissFraction { get; } = CliOption.Number("miss-fraction", 0, 0, 1, "share of the keys gets ask for that were never stored (they miss)", "F");
    /// <summary><c>--long-fraction</c>.</summary>
    public Option<double> LongFraction { get; } = CliOption.Number("long-fraction", 0, 0, 0.5, "share of requests that are multigets (the long request type), TCP only", "F");
    /// <summary><c>--long-keys</c>.</summary>
    public Option<int> LongKeys { get; } = CliOption.Integer("long-keys", 100, 1, 1024, "keys per multiget");
    /// <summary><c>--protocol</c>.</summary>
    public Option<string> Protocol { get; } = CliOption.Name("protocol", "text", ["text", "binary"], "protocol", "memcached's text or binary protocol");
    /// <summary><c>--transport</c>.</summary>
    public Option<string> Transport { get; } = CliOption.Name("transport", "tcp", ["tcp", "udp"], "transport",
        "over udp the measured requests are one-key gets with memcached's frame header (the workload's sets are not sent); loading goes over TCP");
    /// <summary><c>--udp-ports</c>.</summary>
    public Option<NumberList> UdpPorts { get; } = CliOption.Numbers("udp-ports", null, 1, 65535,
        "with --transport udp, each target's UDP port, in target order [default: each target's port]", "P1,P2,...");
    /// <summary><c>--connections</c>.</summary>
    public Option<int> Connections { get; } = CliOption.Integer("connections", 16, 1, 4096,
        "TCP connections per target; request i goes on connection i mod N, pipelined");
    /// <summary><c>--rates</c>.</summary>
    public Option<NumberList> Rates { get; } = CliOption.Numbers("rates", null, 1, 1e8, "offered requests/s, one point each; give this or --loads", "R1,R2,...");
    /// <summary><c>--loads</c>.</summary>
    public Option<NumberList> Loads { get; } = CliOption.Numbers("loads", null, 0.001, 10, "offered loads, fractions of --capacity-rps (needs it); give this or --rates", "L1,L2,...");
    /// <summary><c>--capacity-rps</c>.</summary>
    public Option<double?> CapacityRps { get; } = CliOption.OptionalNumber("capacity-rps", 1, 1e9,
        "the capacity loads are fractions of: a kv request's service time is the server's, so state it [default: a nominal 1 M requests/s for --rates]", "C");
    /// <summary><c>--duration-s</c>.</summary>
    public Option<double> DurationS { get; } = CommonOptions.DurationS(2, description: "seconds of sending per point, warm-up included");
    /// <summary><c>--warmup</c>.</summary>
    public Option<double> Warmup { get; } = CommonOptions.Warmup();
    /// <summary><c>--receiver</c>, <c>--behind-p99-us</c>, <c>--max-grace-s</c>, <c>--spin-below-us</c>.</summary>
    public GeneratorOptions Generator { get; } = new();
    /// <summary><c>--cores</c>.</summary>
    public Option<string?> Cores { get; } = CliOption.Text("cores", "C1[,C2]",
        "pin the sender to C1 and a receiver thread to C2 (or C1) [default: unpinned, the OS places them]");
    /// <summary><c>--slo</c>.</summary>
    public Option<List<Slo>?> Slos { get; } = CommonOptions.Slos();
    /// <summary><c>--inprocess-cores</c>.</summary>
    public Option<string?> InProcessCores { get; } = CliOption.Text("inprocess-cores", "IO,W1[,W2...]",
        "an in-process target's IOKernel core, then its worker cores [default: 0,1]");
    /// <summary><c>--inprocess-memory-mb</c>.</summary>
    public Option<int> InProcessMemoryMb { get; } = CliOption.Integer("inprocess-memory-mb", 64, 8, 65536, "an in-process target's item memory, MB", "MB");
    /// <summary><c>--seed</c>.</summary>
    public Option<int> Seed { get; } = CommonOptions.Seed(what: "the schedule: operations, keys, value sizes and arrivals, one seed per rate");
    /// <summary><c>--out</c>.</summary>
    public Option<string?> Out { get; } = CommonOptions.Out("kv");
    /// <summary><c>--no-load</c>.</summary>
    public Option<bool> NoLoad { get; } = CliOption.Flag("no-load",
        "skip loading (the targets already hold the key space of an earlier run with the same --keys)");
    /// <summary><c>--no-warmup-point</c>.</summary>
    public Option<bool> NoWarmupPoint { get; } = CliOption.Flag("no-warmup-point",
        "measure from the first point on (by default every target first runs a discarded point at the first rate, so that no server's first measured point pays for its own start)");
    /// <summary><c>--warmup-target</c>.</summary>
    public Option<string?> WarmupTarget { get; } = CliOption.Text("warmup-target", "HOST:PORT",
        "run the discarded warm-up point against this server alone (loaded like the targets), not against the targets: the generator starts warm, " +
        "and each target's first measured point is its first traffic after the load (a service's first seconds, bench/cold-start.sh) [default: the targets]");
    /// <summary><c>--no-charts</c>.</summary>
    public Option<bool> NoCharts { get; } = CommonOptions.NoCharts();

    /// <summary>The verb's command, without an action.</summary>
    public Command Command() => CliOption.Command("kv",
        "an open-loop memcached client (text or binary, TCP or UDP) with the Facebook workloads usr and etc: loads the key space into every " +
        "target, then at each rate runs every target in turn with the same schedule; writes report.json, report.md and charts",
    [
        Target, Workload, Keys, Popularity, ZipfExponent, Arrivals, MissFraction, LongFraction, LongKeys, Protocol, Transport, UdpPorts,
        Connections, Rates, Loads, CapacityRps, DurationS, Warmup, .. Generator.All, Cores, Slos, InProcessCores, InProcessMemoryMb,
        Seed, Out, NoLoad, NoWarmupPoint, WarmupTarget, NoCharts,
    ]);
}
