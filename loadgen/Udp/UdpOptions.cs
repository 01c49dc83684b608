// The udp and tcp verbs' command line: every option, its default, its range and its help line.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Protocol;

namespace NetStack.LoadGen.Udp;

/// <summary>udp's options, or tcp's (the same and <c>--connections</c>); one instance per command built.</summary>
internal sealed class UdpOptions
{
    /// <param name="transport">"udp" or "tcp".</param>
    public UdpOptions(string transport)
    {
        Transport = transport;
        Target = CliOption.Parsed("target", "[LABEL[/POLICY]=]HOST:PORT[,...]",
            "the servers, measured side by side: HOST an IP address or localhost; LABEL becomes the point's system in report.json " +
            "and POLICY its policy (the client cannot see the server's), e.g. netstack/ps=127.0.0.1:9000,threadpool=127.0.0.1:9001",
            text => UdpTarget.ParseList(text, transport)).Required();
        PayloadBytes = CliOption.Integer("payload-bytes", 0, 0, Tcp ? WireProtocol.MaxStreamPayloadBytes : WireProtocol.MaxDatagramSize - WireProtocol.HeaderSize,
            "payload bytes added to every request (the spin app echoes them)");
        Out = CommonOptions.Out(transport);
    }

    /// <summary>"udp" or "tcp".</summary>
    public string Transport { get; }

    /// <summary>True for tcp.</summary>
    public bool Tcp => Transport == "tcp";

    /// <summary><c>--target</c>.</summary>
    public Option<List<UdpTarget>?> Target { get; }
    /// <summary><c>--workload</c>.</summary>
    public Option<string> Workload { get; } = CommonOptions.Workload();
    /// <summary><c>--rates</c>.</summary>
    public Option<NumberList> Rates { get; } = CliOption.Numbers("rates", null, 1, 1e8,
        "offered requests/s, one point each (each also written as a load of --workers cores); give this or --loads", "R1,R2,...");
    /// <summary><c>--loads</c>.</summary>
    public Option<NumberList> Loads { get; } = CliOption.Numbers("loads", null, 0.001, 10,
        "offered loads, fractions of capacity: rate = load × workers / mean service time; give this or --rates", "L1,L2,...");
    /// <summary><c>--workers</c>.</summary>
    public Option<int> Workers { get; } = CliOption.Integer("workers", 1, 1, 1024, "the server's worker cores, for capacity (the generator cannot know it)");
    /// <summary><c>--duration-s</c>.</summary>
    public Option<double> DurationS { get; } = CommonOptions.DurationS(2, description: "seconds of sending per point, warm-up included");
    /// <summary><c>--warmup</c>.</summary>
    public Option<double> Warmup { get; } = CommonOptions.Warmup();
    /// <summary><c>--senders</c>.</summary>
    public Option<int> Senders { get; } = CliOption.Integer("senders", 1, 1, 64,
        "sender threads; together they send one Poisson sequence (request i goes to sender i mod N)");
    /// <summary><c>--receiver</c>, <c>--behind-p99-us</c>, <c>--max-grace-s</c>, <c>--spin-below-us</c>.</summary>
    public GeneratorOptions Generator { get; } = new();
    /// <summary><c>--cores</c>.</summary>
    public Option<string?> Cores { get; } = CliOption.Text("cores", "C1,C2,...",
        "pin sender k to the k-th core of the list and the receiver to the next; a shorter list wraps round [default: unpinned, the OS places them]");
    /// <summary><c>--slo</c>.</summary>
    public Option<List<Slo>?> Slos { get; } = CommonOptions.Slos();
    /// <summary><c>--payload-bytes</c>.</summary>
    public Option<int> PayloadBytes { get; }
    /// <summary><c>--connections</c> (tcp only).</summary>
    public Option<int> Connections { get; } = CliOption.Integer("connections", 16, 1, 4096,
        "tcp: connections per target; request i goes on connection i mod N, pipelined");
    /// <summary><c>--stall-threshold-us</c>.</summary>
    public Option<double> StallThreshold { get; } = CommonOptions.StallThreshold("a generator thread's");
    /// <summary><c>--seed</c>.</summary>
    public Option<int> Seed { get; } = CommonOptions.Seed(what: "arrivals and service times, one seed per rate so every target meets the same sequence");
    /// <summary><c>--out</c>.</summary>
    public Option<string?> Out { get; }
    /// <summary><c>--no-charts</c>.</summary>
    public Option<bool> NoCharts { get; } = CommonOptions.NoCharts();

    /// <summary>The verb's command, without an action.</summary>
    public Command Command() => CliOption.Command(Transport, Tcp
        ? "open-loop Poisson load over TCP against one or more servers side by side: the schedule spread over --connections connections, " +
          "pipelined, replies checked for order on each; writes report.json, report.md and charts"
        : "open-loop Poisson load over UDP against one or more servers side by side, every target at each rate in turn so they meet the " +
          "same machine conditions and the same arrivals; writes report.json, report.md and charts",
    [
        Target, Workload, Rates, Loads, Workers, DurationS, Warmup, Senders, .. Generator.All, Cores, Slos, PayloadBytes,
        .. (Tcp ? new Option[] { Connections } : []), StallThreshold, Seed, Out, NoCharts,
    ]);
}
