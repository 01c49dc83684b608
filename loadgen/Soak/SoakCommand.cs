// The `soak` verb: mixed good and bad traffic against a running host for a long time, counted per class (bench/soak.sh).
using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using NetStack.Apps.Kv;
using NetStack.LoadGen.Cli;

namespace NetStack.LoadGen.Soak;

/// <summary>
/// <c>soak --spin 127.0.0.1:9000 --kv 127.0.0.1:11211 [--kv-udp 127.0.0.1:11212] [--duration-s 600] [--seed 1]</c>:
/// drives every traffic class at once against a host serving spin (UDP and TCP on one port) and kv
/// (TCP, and UDP when given), each class on its own thread and sockets, at rates a 2-core machine
/// shares with the host: good spin requests over UDP and TCP, kv sets and gets over TCP, bad datagrams
/// to spin and kv, connections dropped mid-request, a client that stops reading for seconds, and
/// overload bursts (which, beside the batch app, make the standing-queue allocator move cores).
/// At the end (or on Ctrl+C / SIGTERM) every class waits, bounded, for the replies it is owed, and one
/// line per class says what it sent and what came back; bench/soak.sh checks them against the host's counts.
/// </summary>
internal static class SoakCommand
{
    /// <summary>The verb, for the program's root command.</summary>
    public static Command Create()
    {
        Option<IPEndPoint?> spinOption = Endpoint("spin", "the host's spin app: UDP and TCP on this port").Required();
        Option<IPEndPoint?> kvOption = Endpoint("kv", "the host's kv app over TCP").Required();
        Option<IPEndPoint?> kvUdpOption = Endpoint("kv-udp", "the host's kv app over UDP [default: no kv UDP traffic]");
        Option<double> durationOption = CommonOptions.DurationS(600, 1, 7 * 86_400, "seconds of traffic; Ctrl+C or SIGTERM ends it sooner, in order");
        Option<int> seedOption = CliOption.Integer("seed", 1, int.MinValue, int.MaxValue, "random seed of every traffic class");
        Option<double> progressOption = CliOption.Number("progress-s", 30, 1, 86_400, "seconds between progress lines on stderr", "S");
        Command command = CliOption.Command("soak",
            "mixed good and bad traffic against a running host (spin over UDP and TCP, kv over TCP and UDP) for a long time, each class " +
            "counted; exit code 1 when a request went unanswered or an answer was unexpected (bench/soak.sh)",
            [spinOption, kvOption, kvUdpOption, durationOption, seedOption, progressOption]);
        command.SetAction(result => Run(result.GetValue(spinOption)!, result.GetValue(kvOption)!, result.GetValue(kvUdpOption),
            result.GetValue(durationOption), result.GetValue(seedOption), result.GetValue(progressOption)));
        return command;
    }

    /// <summary>Drives the traffic for the duration, prints each class's counts; returns the exit code.</summary>
    public static int Run(IPEndPoint spin, IPEndPoint kv, IPEndPoint? kvUdp, double duration, int seed, double progress)
    {
        var classes = new List<(SoakCounts Counts, Action<CancellationToken, int> Run)>();
        void Add(string name, Func<SoakCounts, Action<CancellationToken, int>> make)
        {
            var counts = new SoakCounts(name);
            classes.Add((counts, make(counts)));
        }
        // Rates are kept to a few thousand requests per second in all: the host and this process share two cores.
        Add("spin-udp", c => new UdpTraffic(c, spin, TimeSpan.FromMilliseconds(1), UdpTraffic.Good(2), spin: true).Run);
        Add("spin-udp-burst", c => new UdpTraffic(c, spin, TimeSpan.FromSeconds(4), UdpTraffic.Burst(200, 100_000), spin: true).Run);
        Add("spin-udp-bad", c => new UdpTraffic(c, spin, TimeSpan.FromMilliseconds(10), UdpTraffic.BadSpin(3), spin: true).Run);
        if (kvUdp is not null)
        {
            Add("kv-udp-bad", c => new UdpTraffic(c, kvUdp, TimeSpan.FromMilliseconds(10), UdpTraffic.BadKv(3, new KvOptions()), spin: false).Run);
        }
        for (int i = 0; i < 2; i++)
        {
            Add($"spin-tcp-{i}", c => (stop, s) => TcpTraffic.Spin(c, spin, depth: 4, serviceNs: 0, TimeSpan.FromMilliseconds(1), stop, s));
            Add($"kv-tcp-{i}", c => (stop, s) => TcpTraffic.Kv(c, kv, TimeSpan.FromMilliseconds(1), stop, s));
        }
        Add("spin-tcp-burst", c => (stop, s) => TcpTraffic.Spin(c, spin, depth: 400, serviceNs: 50_000, TimeSpan.FromSeconds(7), stop, s));
        Add("spin-tcp-slow-reader", c => (stop, s) => TcpTraffic.SlowReader(c, spin, TimeSpan.FromSeconds(5), stop, s));
        Add("spin-tcp-drop", c => (stop, s) => TcpTraffic.DropSpin(c, spin, TimeSpan.FromMilliseconds(250), stop, s));
        Add("kv-tcp-drop", c => (stop, s) => TcpTraffic.DropKv(c, kv, TimeSpan.FromMilliseconds(300), stop, s));

        using var stop = new CancellationTokenSource();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak: {classes.Count} classes against spin {spin} and kv {kv}{(kvUdp is null ? "" : $" (udp {kvUdp})")} for {duration:0.#} s"));
        var threads = classes.Select((c, i) => new Thread(() => c.Run(stop.Token, seed * 1000 + i)) { IsBackground = true, Name = $"soak {c.Counts.Name}" }).ToList();
        threads.ForEach(t => t.Start());
        long end = Environment.TickCount64 + (long)(duration * 1000);
        long started = Environment.TickCount64;
        while (!stop.IsCancellationRequested && Environment.TickCount64 < end)
        {
            stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(Math.Min(progress, Math.Max(0.001, (end - Environment.TickCount64) / 1000.0))));
            if (!stop.IsCancellationRequested && Environment.TickCount64 < end)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"soak: {(Environment.TickCount64 - started) / 1000.0:0} s: sent {classes.Sum(c => Interlocked.Read(ref c.Counts.Sent))}, " +
                    $"awaiting replies {classes.Sum(c => c.Counts.Unanswered)}"));
            }
        }
        stop.Cancel();
        // Each class finishes what it started and waits for what it is owed (bounded by its reply timeouts).
        bool joined = threads.All(t => t.Join(TimeSpan.FromSeconds(60)));
        foreach ((SoakCounts counts, _) in classes)
        {
            Console.WriteLine($"soak: {counts}");
        }
        long sent = classes.Sum(c => c.Counts.Sent);
        long unanswered = classes.Sum(c => c.Counts.Unanswered);
        long unexpected = classes.Sum(c => c.Counts.Unexpected);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak: total sent {sent}, unanswered {unanswered}, unexpected {unexpected}, seconds {(Environment.TickCount64 - started) / 1000.0:0.#}{(joined ? "" : ", some classes did not stop within 60 s")}"));
        return unanswered == 0 && unexpected == 0 && joined ? 0 : 1;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // finish in order and print the counts
            stop.Cancel();
        }
    }

    private static Option<IPEndPoint?> Endpoint(string name, string description) => CliOption.Parsed(name, "HOST:PORT", description,
        text => IPEndPoint.TryParse(text, out IPEndPoint? e) && e.Port > 0
            ? e
            : throw new UsageException($"soak: --{name} must be HOST:PORT such as 127.0.0.1:9000, not '{text}'"));
}
