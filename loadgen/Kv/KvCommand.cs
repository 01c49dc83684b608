// The `kv` verb: an open-loop memcached client (text or binary, TCP or UDP) with the literature's workloads, against one or more servers side by side.
using System.CommandLine;
using System.Globalization;
using System.Net;
using NetStack.Measurement.Reports;
using NetStack.Measurement.Stalls;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Kv.Protocol;
using NetStack.LoadGen.Reports;
using NetStack.LoadGen.Sched;
using NetStack.LoadGen.Udp;
using NetStack.Runtime;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// <c>kv --target [LABEL=]HOST:PORT[,...] --workload usr|etc (--rates R,.. | --loads L,.. --capacity-rps C) ...</c>:
/// loads the key space into every target, then at each rate runs every target in turn with the same
/// schedule (rate by rate, target by target, as the udp verb does), and writes report.json, report.md and charts.
/// </summary>
internal static class KvCommand
{
    /// <summary>Without --capacity-rps, a load is the rate in millions of requests/s (a nominal capacity of 1 M/s).</summary>
    public const double NominalCapacityRps = 1_000_000;

    /// <summary>The verb, for the program's root command: exit code 1 when a point could not run.</summary>
    public static Command Create(string commandLine)
    {
        var options = new KvClientOptions();
        Command command = options.Command();
        command.SetAction(result => Run(options, result, commandLine));
        return command;
    }

    /// <summary>Parses, runs every point, writes the reports; returns the exit code (1 when a point could not run).</summary>
    public static int Run(KvClientOptions options, ParseResult result, string commandLine)
    {
        try
        {
            Execute(options, result, commandLine, Console.Out);
            return 0;
        }
        catch (KvRunException e)
        {
            Console.Error.WriteLine($"netstack-loadgen: kv: {e.Message}");
            return 1;
        }
    }

    /// <summary>Runs the verb; writes the report (and unless --no-charts its charts) to its folder, and the
    /// markdown and file paths to <paramref name="output"/> when given. Returns the report and the folder.</summary>
    public static (RunReport Report, string Dir) Execute(KvClientOptions options, ParseResult result, string commandLine, TextWriter? output)
    {
        KvRun run = Parse(options, result);
        string dir = ReportFiles.OutputDirectory(run.Out, "kv");
        RunReport report = ReportFiles.Begin("kv", commandLine, run.Mix.Workload.ToReportWorkload(), new RunConfig
        {
            DurationS = run.DurationS,
            WarmupFraction = run.Warmup,
            IOKernelCore = -1,
            Seed = run.Seed,
            Placement = run.Placement,
        });
        report.Config.Notes.AddRange(Notes(run));

        var inProcess = new Dictionary<KvTarget, InProcessKv>();
        try
        {
            foreach (KvTarget t in run.Targets.Where(t => t.InProcess))
            {
                InProcessKv kv = StartInProcess(run, t);
                inProcess[t] = kv;
                report.Config.Notes.Add($"{t.Label}: {kv.Description}");
            }
            Dictionary<KvTarget, KvLoadResult?> loaded = Load(run, inProcess, output);
            RunPoints(run, report, inProcess, loaded);
        }
        finally
        {
            foreach (InProcessKv kv in inProcess.Values)
            {
                kv.Dispose();
            }
        }
        ReportFiles.Finish(report, dir, run.Slos, output, charts: !run.NoCharts);
        return (report, dir);
    }

    private static InProcessKv StartInProcess(KvRun run, KvTarget t)
    {
        string policy = t.Server.Policy is "" or "netstack" ? "ps" : t.Server.Policy;
        try
        {
            return new InProcessKv(policy, run.InProcessCores, run.InProcessMemoryMegabytes);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"kv: in-process target {t.Label}: {e.Message}");
        }
    }

    /// <summary>Loads the key space into every target (an in-process one through a kernel started for it),
    /// and into the warm-up target first, whose load is not reported: its points are discarded.</summary>
    private static Dictionary<KvTarget, KvLoadResult?> Load(KvRun run, Dictionary<KvTarget, InProcessKv> inProcess, TextWriter? output)
    {
        if (run.WarmupTarget is { } warmup)
        {
            LoadOne(run, warmup, inProcess, output);
        }
        var loaded = new Dictionary<KvTarget, KvLoadResult?>();
        foreach (KvTarget t in run.Targets)
        {
            loaded[t] = LoadOne(run, t, inProcess, output);
        }
        return loaded;
    }

    /// <summary>Loads the key space into <paramref name="t"/>; null when the run loads nothing into a server outside this process.</summary>
    private static KvLoadResult? LoadOne(KvRun run, KvTarget t, Dictionary<KvTarget, InProcessKv> inProcess, TextWriter? output)
    {
        if (run.NoLoad && !t.InProcess)
        {
            return null;
        }
        IPEndPoint endPoint = t.Server.EndPoint;
        if (t.InProcess)
        {
            endPoint = inProcess[t].Start(long.MaxValue).Tcp;
        }
        try
        {
            // Generous: 1 M keys take a few seconds on loopback; a server that stops answering fails the run.
            var timeout = TimeSpan.FromSeconds(30 + run.Keys.Count / 20_000.0);
            KvLoadResult result = KvLoader.Load(endPoint, run.Protocol, run.Keys, run.Connections, timeout);
            output?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loaded {result.Keys} keys ({result.Bytes / 1e6:0.##} MB of keys and values) into {t.Label} in {result.Seconds:0.##} s; {result.Errors} not stored"));
            return result;
        }
        catch (Exception e) when (e is InvalidOperationException or System.Net.Sockets.SocketException)
        {
            throw new KvRunException($"loading {t.Label} at {endPoint}: {e.Message}", e);
        }
        finally
        {
            if (t.InProcess)
            {
                inProcess[t].Stop();
            }
        }
    }

    private static void RunPoints(KvRun run, RunReport report, Dictionary<KvTarget, InProcessKv> inProcess,
        Dictionary<KvTarget, KvLoadResult?> loaded)
    {
        ValuePattern.Reserve(run.Mix.Workload.Values.MaxBytes);
        var schedule = new KvSchedule();
        if (run.WarmupPoint && run.Points.Count > 0)
        {
            // A discarded point per target at the first rate, as `sched` runs one per policy: the
            // paths a server first reaches under load (its JIT, its caches, its pools) warm up here,
            // not in the first measured point.
            (double load, double rate) = run.Points[0];
            KvRun warm = run with { DurationS = Math.Min(run.DurationS, WarmupPointSeconds) };
            schedule.Fill(run.Mix, rate, warm.DurationS, run.Seed ^ 0xA5A5_A5A5_A5A5_A5A5UL);
            foreach (KvTarget t in run.WarmupTarget is { } w ? [w] : run.Targets)
            {
                RunPoint(warm, t, load, rate, schedule, inProcess.GetValueOrDefault(t));
            }
        }
        var progress = new Progress(run.Points.Count * run.Targets.Count, run.DurationS + 0.3);
        for (int r = 0; r < run.Points.Count; r++)
        {
            (double load, double rate) = run.Points[r];
            // One seed per rate: every target at this rate meets the very same requests.
            schedule.Fill(run.Mix, rate, run.DurationS, run.Seed + (ulong)r * 0x9E3779B97F4A7C15UL);
            foreach (KvTarget t in run.Targets)
            {
                progress.Starting(string.Create(CultureInfo.InvariantCulture,
                    $"{run.Mix.Workload.Name} {t.Label} load {load:0.###} ({rate / 1000:0.#} krps)"));
                PointReport p = RunPoint(run, t, load, rate, schedule, inProcess.GetValueOrDefault(t));
                if (loaded[t] is { } l)
                {
                    p.Kv!.KeysLoaded = l.Keys;
                    p.Kv.BytesLoaded = l.Bytes;
                    p.Kv.LoadSeconds = l.Seconds;
                    p.Kv.LoadErrors = l.Errors;
                }
                report.Points.Add(p);
                progress.Finished(UdpCommand.OneLine(p));
            }
        }
    }

    /// <summary>Longest discarded warm-up point (<c>--no-warmup-point</c> turns it off).</summary>
    private const double WarmupPointSeconds = 1;

    private static PointReport RunPoint(KvRun run, KvTarget t, double load, double rate, KvSchedule schedule, InProcessKv? kv)
    {
        var spec = new KvPointSpec
        {
            Target = t,
            EndPoint = t.Server.EndPoint,
            Mix = run.Mix,
            Protocol = run.Protocol,
            RatePerSecond = rate,
            OfferedLoad = load,
            DurationS = run.DurationS,
            WarmupFraction = run.Warmup,
            SenderCore = run.SenderCore,
            ReceiverCore = run.ReceiverCore,
            InlineReceive = run.Inline,
            Limits = run.Limits,
            Connections = run.Connections,
        };
        IPEndPoint udp = new(t.Server.EndPoint.Address, t.UdpPort);
        if (kv is not null)
        {
            // The kernel counts allocations from the point's warm-up end, so it starts first, with time to spare.
            long start = Clock.Now() + Clock.FromMicros(200_000);
            (IPEndPoint tcp, udp) = kv.Start(spec.MeasureFrom(start));
            spec = spec with { EndPoint = tcp, StartAtTicks = start };
        }
        if (spec.StartAtTicks == 0)
        {
            spec = spec with { StartAtTicks = Clock.Now() + Clock.FromMicros(KvPointSpec.StartDelayMillis * 1000) };
        }
        try
        {
            long[] stealBefore = StealTime.Read();
            // The server's own count of its latency (kv only), read at the warm-up's end and after the point.
            var atWarmupEnd = KvServerLatency.ReadAt(spec.EndPoint, spec.MeasureFrom(spec.StartAtTicks), kv?.Latency);
            PointReport p = run.Udp
                ? new KvUdpPoint(spec with { EndPoint = udp }, schedule).Run()
                : new KvTcpPoint(spec, schedule).Run();
            p.StealMsPerCore = StealTime.Between(stealBefore, StealTime.Read());
            (KvServerLatency? before, string? why) = atWarmupEnd.Result;
            KvServerLatency? after = before is null ? null
                : kv is not null ? KvServerLatency.Of(kv.Latency) : KvServerLatency.TryRead(spec.EndPoint, out why);
            if (p.Kv is not null)
            {
                p.Kv.ServerLatency = before is not null && after is not null ? KvServerLatency.Between(before, after) : null;
                p.Kv.ServerLatencyNote = why;
            }
            if (kv is not null)
            {
                InProcessCounts counts = kv.Stop();
                kv = null;
                p.DataPathAllocatedBytesPerRequest = p.All.Count == 0 ? 0 : (double)counts.DataPathAllocatedBytes / p.All.Count;
                p.DataPathPoolGrowthBytesPerRequest = p.All.Count == 0 ? 0 : (double)counts.DataPathPoolGrowthBytes / p.All.Count;
                p.Preemptions = counts.Preemptions;
            }
            return p;
        }
        catch (InvalidOperationException e)
        {
            throw new KvRunException(e.Message, e);
        }
        finally
        {
            kv?.Stop();
        }
    }

    private static IEnumerable<string> Notes(KvRun run)
    {
        KvMix mix = run.Mix;
        KvWorkload w = mix.Workload;
        yield return $"workload {w.Name}: {w.Description}";
        yield return Inv($"key space: {mix.Keys.Count} keys (longest {mix.Keys.MaxKeyBytes} bytes), loaded before the first point; popularity {mix.Popularity.Name}") +
            (mix.Popularity.Exponent > 0 ? Inv($" (exponent {mix.Popularity.Exponent}, top key {mix.Popularity.TopKeyShare:P2} of requests)") : "");
        if (mix.MissFraction > 0)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"{mix.MissFraction:P1} of the keys gets ask for were never stored (they miss)");
        }
        if (w.LongFraction > 0)
        {
            yield return Inv($"long request: {w.LongFraction:P2} of requests are multigets of {w.LongKeys} keys ") +
                (run.Protocol == KvProtocolKind.Text ? "(one get line)" : "(GETKQ per key, then NOOP)");
        }
        yield return mix.Arrivals.Name == "poisson"
            ? "arrivals: Poisson"
            : string.Create(CultureInfo.InvariantCulture,
                $"arrivals: generalized Pareto gaps (mutilate's fb_ia: shape {Arrivals.FacebookShape}, measured scale {Arrivals.FacebookScaleMicros} µs), scaled to each offered rate");
        yield return run.Udp
            ? $"{(run.Protocol == KvProtocolKind.Text ? "text" : "binary")} protocol; gets over UDP with memcached's frame header (the workload's sets are not sent), loading over TCP ({run.Connections} connections)"
            : $"{(run.Protocol == KvProtocolKind.Text ? "text" : "binary")} protocol over TCP: {run.Connections} connections per target, request i on connection i mod {run.Connections}, pipelined; replies matched in order per connection";
        if (run.WarmupTarget is { } warmup)
        {
            yield return Inv($"the generator first ran a discarded point at the first rate ({Math.Min(run.DurationS, WarmupPointSeconds):0.##} s) against {warmup.Server.EndPoint} (--warmup-target), not against the targets: each target's first measured point is its first traffic after the load");
        }
        else if (run.WarmupPoint)
        {
            yield return Inv($"each target first ran a discarded point at the first rate ({Math.Min(run.DurationS, WarmupPointSeconds):0.##} s), so that no server's first measured point pays for its own start");
        }
        yield return "targets: " + string.Join(", ", run.Targets.Select(t => t.InProcess ? $"{t.Label} = in this process" : $"{t.Label} = {t.Server.EndPoint}"));
        yield return run.CapacityRps is { } c
            ? string.Create(CultureInfo.InvariantCulture, $"load = rate / {c:0} requests/s (--capacity-rps)")
            : "no --capacity-rps: load = rate / 1 M requests/s (the load column reads in millions of requests/s)";
        if (Environment.ProcessorCount <= 2)
        {
            yield return $"{Environment.ProcessorCount} cores for the generator and the server(s): they share cores, so the generator's lateness is part of every latency; see generatorLatenessUs";
        }
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Everything a run needs, parsed and checked.</summary>
    private sealed record KvRun
    {
        public required List<KvTarget> Targets { get; init; }
        public required KvMix Mix { get; init; }
        public required KeySpace Keys { get; init; }
        public required KvProtocolKind Protocol { get; init; }
        public required bool Udp { get; init; }
        public required int Connections { get; init; }
        public required List<(double Load, double Rate)> Points { get; init; }
        public required double? CapacityRps { get; init; }
        public required double DurationS { get; init; }
        public required double Warmup { get; init; }
        public required bool Inline { get; init; }
        public required int SenderCore { get; init; }
        public required int ReceiverCore { get; init; }
        public required string Placement { get; init; }
        public required GeneratorLimits Limits { get; init; }
        public required List<Slo> Slos { get; init; }
        public required ulong Seed { get; init; }
        public required int[] InProcessCores { get; init; }
        public required int InProcessMemoryMegabytes { get; init; }
        public required string? Out { get; init; }
        public required bool NoLoad { get; init; }
        public required bool WarmupPoint { get; init; }
        /// <summary>The server the warm-up point runs against instead of the targets (<c>--warmup-target</c>), or null.</summary>
        public required KvTarget? WarmupTarget { get; init; }
        public required bool NoCharts { get; init; }
    }

    private static KvRun Parse(KvClientOptions o, ParseResult a)
    {
        KvWorkload workload = KvWorkload.Create(a.GetRequiredValue(o.Workload))!;
        KvProtocolKind protocol = a.GetValue(o.Protocol) == "binary" ? KvProtocolKind.Binary : KvProtocolKind.Text;
        bool udp = a.GetValue(o.Transport) == "udp";
        List<int>? udpPorts = a.GetValue(o.UdpPorts)?.Values
            .Select(p => p == Math.Floor(p) ? (int)p : throw new UsageException($"kv: --udp-ports takes port numbers, not '{p}'")).ToList();
        if (udpPorts is not null && !udp)
        {
            throw new UsageException("kv: --udp-ports is for --transport udp");
        }
        List<KvTarget> targets = KvTarget.ParseList(a.GetRequiredValue(o.Target)!, udpPorts);
        int keyCount = a.GetValue(o.Keys);
        double missFraction = a.GetValue(o.MissFraction);
        double longFraction = a.GetValue(o.LongFraction);
        int longKeys = a.GetValue(o.LongKeys);
        if (longFraction > 0)
        {
            if (udp)
            {
                throw new UsageException("kv: --long-fraction needs --transport tcp (over UDP the verb sends one-key gets only)");
            }
            workload = workload.WithLong(longFraction, longKeys);
        }
        if (udp)
        {
            workload = workload.GetsOnly();
        }
        double exponent = a.GetValue(o.ZipfExponent);
        KeyPopularity popularity = a.GetValue(o.Popularity) == "zipf" ? KeyPopularity.Zipf(keyCount, exponent) : KeyPopularity.Uniform(keyCount);
        Arrivals arrivals = Arrivals.Create(a.GetValue(o.Arrivals)!)!;
        var keys = new KeySpace(workload, keyCount);

        double? capacity = a.GetValue(o.CapacityRps);
        List<(double Load, double Rate)> points = ParseRates(a.GetValue(o.Rates), a.GetValue(o.Loads), capacity);
        double duration = a.GetValue(o.DurationS);
        foreach ((_, double rate) in points)
        {
            if (KvSchedule.ExpectedCount(rate, duration) > KvSchedule.MaxRequests)
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"kv: {rate:0} requests/s for {duration} s is more than {KvSchedule.MaxRequests} requests a point; shorten --duration-s"));
            }
        }
        bool inline = o.Generator.Inline(a);
        (int senderCore, int receiverCore, string placement) = ParseCores(a.GetValue(o.Cores), inline);
        // Checked only when some target is hosted here: a client-only run may be confined to fewer cores.
        string? inProcessText = a.GetValue(o.InProcessCores);
        int[] inProcessCores = targets.Any(t => t.InProcess) || inProcessText is not null
            ? ParseCoreList(inProcessText ?? "0,1", "inprocess-cores")
            : [0, 1];
        if (inProcessCores.Length < 2)
        {
            throw new UsageException("kv: --inprocess-cores takes the IOKernel's core, then at least one worker core, e.g. 0,1");
        }
        KvTarget? warmupTarget = ParseWarmupTarget(a.GetValue(o.WarmupTarget), !a.GetValue(o.NoWarmupPoint), udp);
        return new KvRun
        {
            Targets = targets,
            Mix = new KvMix(workload, keys, popularity, arrivals, missFraction),
            Keys = keys,
            Protocol = protocol,
            Udp = udp,
            Connections = a.GetValue(o.Connections),
            Points = points,
            CapacityRps = capacity,
            DurationS = duration,
            Warmup = a.GetValue(o.Warmup),
            Inline = inline,
            SenderCore = senderCore,
            ReceiverCore = receiverCore,
            Placement = placement,
            Limits = o.Generator.Limits(a),
            Slos = a.GetValue(o.Slos) ?? [],
            Seed = (ulong)a.GetValue(o.Seed),
            InProcessCores = inProcessCores,
            InProcessMemoryMegabytes = a.GetValue(o.InProcessMemoryMb),
            Out = a.GetValue(o.Out),
            NoLoad = a.GetValue(o.NoLoad),
            WarmupPoint = !a.GetValue(o.NoWarmupPoint),
            WarmupTarget = warmupTarget,
            NoCharts = a.GetValue(o.NoCharts),
        };
    }

    /// <summary>--warmup-target: one server over TCP, for a run that has a warm-up point.</summary>
    private static KvTarget? ParseWarmupTarget(string? text, bool warmupPoint, bool udp)
    {
        if (text is null)
        {
            return null;
        }
        if (!warmupPoint)
        {
            throw new UsageException("kv: --warmup-target names where the warm-up point runs; it cannot go with --no-warmup-point");
        }
        if (udp)
        {
            throw new UsageException("kv: --warmup-target is for --transport tcp");
        }
        if (text.Contains(',') || text.Contains('='))
        {
            throw new UsageException($"kv: --warmup-target takes one HOST:PORT, not '{text}'");
        }
        KvTarget t = KvTarget.ParseList("warmup=" + text, udpPorts: null).Single();
        if (t.InProcess)
        {
            throw new UsageException("kv: --warmup-target is a server to connect to, not inprocess");
        }
        return t;
    }

    /// <summary>--rates (requests/s) or --loads (fractions of --capacity-rps), exactly one; each as (load, rate).</summary>
    private static List<(double Load, double Rate)> ParseRates(NumberList? rates, NumberList? loads, double? capacity)
    {
        if ((rates is null) == (loads is null))
        {
            throw new UsageException("kv: give exactly one of --rates R1,R2,... (requests/s) or --loads L1,L2,... (fractions of --capacity-rps)");
        }
        if (loads is not null)
        {
            if (capacity is not { } c)
            {
                throw new UsageException("kv: --loads needs --capacity-rps (a kv request's service time is the server's, so the capacity must be stated); or use --rates");
            }
            return loads.Values.Select(l => (l, l * c)).ToList();
        }
        double per = capacity ?? NominalCapacityRps;
        return rates!.Values.Select(r => (r / per, r)).ToList();
    }

    /// <summary>--cores C1[,C2]: the sender on C1, the receiver thread on C2 (or C1). Without it the OS places them.</summary>
    private static (int Sender, int Receiver, string Placement) ParseCores(string? text, bool inline)
    {
        if (text is null)
        {
            return (-1, -1, inline
                ? "1 thread sending and receiving (--receiver inline), unpinned: the OS placed it (no --cores)"
                : "1 sender and 1 receiver thread, unpinned: the OS placed them (no --cores)");
        }
        int[] cores = ParseCoreList(text, "cores");
        if (inline)
        {
            return (cores[0], -1, $"pinned (--cores {text}): 1 thread sending and receiving (--receiver inline) on core {cores[0]}");
        }
        int receiver = cores.Length > 1 ? cores[1] : cores[0];
        string placement = $"pinned (--cores {text}): sender on core {cores[0]}, receiver on core {receiver}";
        return (cores[0], receiver, receiver == cores[0] ? placement + "; they share a core, so they yield to each other when idle" : placement);
    }

    private static int[] ParseCoreList(string text, string option)
    {
        int[] cores = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int c) && c >= 0
                ? c
                : throw new UsageException($"kv: --{option}: '{s}' is not a core number; valid cores: {Affinity.Describe(Affinity.AvailableCores())}"))
            .ToArray();
        if (cores.Length == 0)
        {
            throw new UsageException($"kv: --{option} is empty");
        }
        try
        {
            Affinity.Validate(cores);
        }
        catch (CoreNotAvailableException e)
        {
            throw new UsageException($"kv: --{option}: " + e.Message);
        }
        return cores;
    }
}

/// <summary>A run that started but could not finish (a target unreachable, a point that failed); exit code 1.</summary>
internal sealed class KvRunException(string message, Exception inner) : Exception(message, inner);
