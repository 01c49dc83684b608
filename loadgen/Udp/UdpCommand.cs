// The `udp` verb: open-loop Poisson load over UDP against one or more servers, side by side at each rate, with SLO reports.
using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Reports;
using NetStack.LoadGen.Sched;
using NetStack.Measurement.Reports;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Workloads;

namespace NetStack.LoadGen.Udp;

/// <summary>
/// <c>udp --target [LABEL=]HOST:PORT[,...] --workload NAME (--rates R,.. | --loads L,.. --workers N) ...</c>:
/// at each rate, every target in turn (rate by rate, target by target), so the systems compared meet
/// the same machine conditions and the same arrival sequence; writes report.json and report.md.
/// <c>tcp</c> is the same verb over TCP: the schedule spread over <c>--connections</c> connections,
/// pipelined, replies checked for order on each.
/// </summary>
internal static class UdpCommand
{
    /// <summary>The verb ("udp" or "tcp"), for the program's root command: runs and writes the report to the console.</summary>
    public static Command Create(string commandLine, string transport)
    {
        var options = new UdpOptions(transport);
        return VerbParser.WithAction(options.Command(), result => Execute(options, result, commandLine, Console.Out));
    }

    /// <summary>Runs the verb from its arguments (as the demo runs it); see the other overload.</summary>
    public static (RunReport Report, string Dir) Execute(IReadOnlyList<string> args, string commandLine, TextWriter? output, string transport = "udp")
    {
        var options = new UdpOptions(transport);
        return Execute(options, VerbParser.Parse(options.Command(), args), commandLine, output);
    }

    /// <summary>Runs the verb; writes the report and (unless --no-charts) its charts to its folder,
    /// and the markdown and file paths to <paramref name="output"/> when given. Returns the report and the folder.</summary>
    public static (RunReport Report, string Dir) Execute(UdpOptions o, ParseResult a, string commandLine, TextWriter? output)
    {
        string transport = o.Transport;
        bool tcp = o.Tcp;
        List<UdpTarget> targets = a.GetRequiredValue(o.Target)!;
        Workload workload = CommonOptions.WorkloadOf(a.GetRequiredValue(o.Workload));
        int workers = a.GetValue(o.Workers);
        List<(double Load, double Rate)> points = ParseRates(o, a, workload, workers);
        double duration = a.GetValue(o.DurationS);
        double warmup = a.GetValue(o.Warmup);
        int senders = a.GetValue(o.Senders);
        int payload = a.GetValue(o.PayloadBytes);
        int connections = tcp ? a.GetValue(o.Connections) : 1;
        if (tcp && senders != 1)
        {
            throw new UsageException("tcp: replies are checked for order per connection, which needs one sender: --senders 1");
        }
        bool inline = o.Generator.Inline(a);
        if (inline && senders != 1)
        {
            throw new UsageException($"{transport}: --receiver inline makes the one sender thread receive too; it needs --senders 1");
        }
        ulong seed = (ulong)a.GetValue(o.Seed);
        double stallThreshold = a.GetValue(o.StallThreshold);
        GeneratorLimits limits = o.Generator.Limits(a);
        List<Slo> slos = a.GetValue(o.Slos) ?? [];
        (int[] senderCores, int receiverCore, string placement) = ParseCores(a.GetValue(o.Cores), senders, inline);
        foreach ((_, double rate) in points)
        {
            if (OpenLoopSchedule.ExpectedCount(rate, duration) > OpenLoopSchedule.MaxRequests)
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"udp: {rate:0} requests/s for {duration} s is more than {OpenLoopSchedule.MaxRequests} requests a point; shorten --duration-s"));
            }
        }
        string dir = ReportFiles.OutputDirectory(a.GetValue(o.Out), transport);

        var report = ReportFiles.Begin(transport, commandLine, workload, new RunConfig
        {
            DurationS = duration,
            WarmupFraction = warmup,
            IOKernelCore = -1,
            Seed = seed,
            Placement = placement,
        });
        if (Environment.ProcessorCount <= 2 + senders)
        {
            report.Config.Notes.Add($"{Environment.ProcessorCount} cores for {senders} sender(s), a receiver and the server(s): " +
                "they share cores, so the generator's lateness and the receiver's delays are part of every latency; see generatorLatenessUs");
        }
        report.Config.Notes.Add("targets: " + string.Join(", ", targets.Select(t => $"{t.Label} = {t.EndPoint}")));
        if (tcp)
        {
            report.Config.Notes.Add($"tcp: {connections} connections per target, request i on connection i mod {connections}, pipelined; " +
                "a reply out of its connection's order counts as failed (outOfOrder); fresh connections for every point, " +
                "closed with a reset when the point left requests unanswered or unsent, so no point inherits another's backlog");
        }
        if (payload > 0)
        {
            report.Config.Notes.Add($"{payload} payload bytes per request, echoed in every reply");
        }
        report.Config.Notes.Add(FormattableString.Invariant(
            $"stalls: only the generator's own threads are watched (gaps over {stallThreshold:0.#} µs in their clock reads). ") +
            "The server is another process: its stalls are not seen, so untouched here leaves out only the requests whose busy period " +
            "(as the generator saw it, intended send to answer) met a stall of the generator's threads; the server's own pauses stay in both figures");

        // TCP gets fresh connections for every point (below): a point past capacity leaves requests
        // in the server's socket buffers, and on the same connections the next point would queue
        // behind them. UDP has one socket per target for the whole run.
        var sockets = targets.Select(t => tcp ? [] : new[] { Connect(t) }).ToList();
        try
        {
            var schedule = new OpenLoopSchedule();
            var progress = new Progress(points.Count * targets.Count, duration + 0.3);
            uint serial = (uint)Random.Shared.Next();
            for (int r = 0; r < points.Count; r++)
            {
                (double load, double rate) = points[r];
                // One seed per rate: every target at this rate meets the very same arrivals and service times.
                schedule.Fill(workload, rate, duration, seed + (ulong)r * 0x9E3779B97F4A7C15UL);
                for (int t = 0; t < targets.Count; t++)
                {
                    string what = string.Create(CultureInfo.InvariantCulture, $"{workload.Name} {targets[t].Label} load {load:0.###} ({rate / 1000:0.#} krps)");
                    progress.Starting(what);
                    var spec = new UdpPointSpec
                    {
                        Target = targets[t],
                        Workload = workload,
                        RatePerSecond = rate,
                        OfferedLoad = load,
                        Workers = workers,
                        DurationS = duration,
                        WarmupFraction = warmup,
                        SenderCores = senderCores,
                        ReceiverCore = receiverCore,
                        InlineReceive = inline,
                        Limits = limits,
                        Serial = ++serial,
                        PayloadBytes = payload,
                        Connections = connections,
                        StallThresholdMicros = stallThreshold,
                    };
                    PointReport p;
                    if (tcp)
                    {
                        Socket[] fresh = ConnectTcp(targets[t], connections);
                        sockets[t] = fresh;
                        p = new Tcp.TcpOpenLoopPoint(spec, schedule, fresh).Run();
                        CloseTcp(fresh, leftUnanswered: p.Lost > 0 || p.Sent < p.Scheduled);
                    }
                    else
                    {
                        p = new OpenLoopPoint(spec, schedule, sockets[t][0]).Run();
                    }
                    report.Points.Add(p);
                    progress.Finished(OneLine(p));
                }
            }
        }
        finally
        {
            foreach (Socket s in sockets.SelectMany(x => x))
            {
                s.Dispose();
            }
        }

        ReportFiles.Finish(report, dir, slos, output, charts: !a.GetValue(o.NoCharts));
        return (report, dir);
    }

    /// <summary>One-line summary of a point for progress output.</summary>
    public static string OneLine(PointReport p)
    {
        string types = string.Join("; ", (p.Types.Count > 1 ? p.Types : [p.All]).Select(c =>
            string.Create(CultureInfo.InvariantCulture, $"{c.Name} p99.9 {c.LatencyUs.P999:0.#} µs, slowdown {c.Slowdown.P999:0.#}")));
        string behind = p.GeneratorFellBehind == true ? " GENERATOR FELL BEHIND;" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{p.AchievedRps / 1000:0.#} krps ok; sent {p.Sent}, ok {p.Ok}, rejected {p.Rejected}, failed {p.Failed}, lost {p.Lost}; " +
            $"lateness p99 {p.GeneratorLatenessUs?.P99:0.#} µs;{behind} {types}");
    }

    /// <summary>--rates (requests/s) or --loads (fractions of the capacity of --workers), exactly one; each as (load, rate).</summary>
    private static List<(double Load, double Rate)> ParseRates(UdpOptions o, ParseResult a, Workload workload, int workers)
    {
        NumberList? rates = a.GetValue(o.Rates);
        NumberList? loads = a.GetValue(o.Loads);
        if ((rates is null) == (loads is null))
        {
            throw new UsageException($"{o.Transport}: give exactly one of --rates R1,R2,... (requests/s) or --loads L1,L2,... (fractions of the capacity of --workers N)");
        }
        double meanNs = workload.MeanServiceNs;
        if (loads is not null)
        {
            if (meanNs <= 0)
            {
                throw new UsageException($"{o.Transport}: workload {workload.Name} has no service time to take a capacity from; use --rates");
            }
            return loads.Values.Select(l => (l, workload.RateFor(l, workers))).ToList();
        }
        // A rate is also stated as a load of --workers cores, so SLO rows compare alike (NaN-free) figures.
        return rates!.Values.Select(r => (meanNs <= 0 ? 0 : r * meanNs / (workers * 1e9), r)).ToList();
    }

    /// <summary>
    /// --cores C1,C2,...: sender k on the k-th core of the list, the receiver on the next; a shorter
    /// list wraps round, so threads may share a core. Without it the OS places the threads.
    /// </summary>
    private static (int[] SenderCores, int ReceiverCore, string Placement) ParseCores(string? text, int senders, bool inline)
    {
        if (text is null)
        {
            return (Enumerable.Repeat(-1, senders).ToArray(), -1, inline
                ? "1 thread sending and receiving (--receiver inline), unpinned: the OS placed it (no --cores)"
                : $"{senders} sender thread(s) and 1 receiver thread unpinned: the OS placed them (no --cores)");
        }
        int[] cores = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int c) && c >= 0
                ? c
                : throw new UsageException($"udp: --cores: '{s}' is not a core number; valid cores: {Affinity.Describe(Affinity.AvailableCores())}"))
            .ToArray();
        if (cores.Length == 0)
        {
            throw new UsageException("udp: --cores is empty");
        }
        try
        {
            Affinity.Validate(cores);
        }
        catch (CoreNotAvailableException e)
        {
            throw new UsageException("udp: --cores: " + e.Message);
        }
        int[] senderCores = Enumerable.Range(0, senders).Select(k => cores[k % cores.Length]).ToArray();
        if (inline)
        {
            return (senderCores, -1, $"pinned (--cores {text}): 1 thread sending and receiving (--receiver inline) on core {senderCores[0]}");
        }
        int receiverCore = cores[senders % cores.Length];
        string placement = $"pinned (--cores {text}): sender(s) on core(s) {string.Join(',', senderCores)}, receiver on core {receiverCore}";
        if (senderCores.Contains(receiverCore) || senderCores.Distinct().Count() < senders)
        {
            placement += "; threads share a core, so they yield to each other when idle";
        }
        return (senderCores, receiverCore, placement);
    }

    private static Socket[] ConnectTcp(UdpTarget target, int connections)
    {
        var sockets = new Socket[connections];
        try
        {
            for (int i = 0; i < connections; i++)
            {
                var socket = new Socket(target.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                sockets[i] = socket;
                socket.ReceiveBufferSize = 1 << 20;
                socket.SendBufferSize = 1 << 20;
                socket.Connect(target.EndPoint);
                socket.Blocking = false;
            }
            return sockets;
        }
        catch (SocketException e)
        {
            foreach (Socket? s in sockets)
            {
                s?.Dispose();
            }
            throw new UsageException($"tcp: cannot connect to target {target.Label} at {target.EndPoint}: {e.Message}");
        }
    }

    /// <summary>
    /// Ends a point's connections. When the point left requests unanswered or unsent, with a reset
    /// (SO_LINGER 0): the server then drops what it still holds for them, where a plain close would
    /// let it serve that backlog into the next point. Otherwise with a plain close.
    /// </summary>
    private static void CloseTcp(Socket[] sockets, bool leftUnanswered)
    {
        foreach (Socket s in sockets)
        {
            if (leftUnanswered)
            {
                try
                {
                    s.LingerState = new LingerOption(true, 0);
                }
                catch (SocketException)
                {
                    // Already reset by the server: closing it is all that is left.
                }
            }
            s.Dispose();
        }
    }

    private static Socket Connect(UdpTarget target)
    {
        var socket = new Socket(target.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Bursts of answers must not overflow the kernel's queue while the receiver is descheduled; the
            // kernel caps this at net.core.rmem_max, which is fine.
            socket.ReceiveBufferSize = 4 << 20;
            socket.SendBufferSize = 4 << 20;
            socket.Connect(target.EndPoint);
            socket.Blocking = false;
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new UsageException($"udp: cannot use target {target.Label} at {target.EndPoint}: {e.Message}");
        }
    }
}
