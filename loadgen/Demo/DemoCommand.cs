// The `demo` verb: the first five minutes: every comparison NetStack offers, in one process, on loopback.
using System.CommandLine;
using System.Globalization;
using System.Text;
using NetStack.Apps.Baseline;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Colocate;
using NetStack.LoadGen.Reports;
using NetStack.LoadGen.Sched;
using NetStack.LoadGen.Udp;
using NetStack.Measurement.Reports;
using NetStack.Runtime;
using NetStack.Runtime.Threading;

namespace NetStack.LoadGen.Demo;

/// <summary>
/// <c>demo [--quick] [--quiet-wait-s 30] [--out DIR] [--no-charts]</c>: with no set-up, (0) waits for
/// the machine to be quiet and measures its floor (each core's stalls, as <c>noise</c> does), then runs
/// (1) extreme-bimodal under c-FCFS, processor sharing and d-FCFS over the synthetic NIC with the
/// queueing model beside each point, (2) the spin app over UDP on loopback, NetStack against the
/// conventional ThreadPool server, both started in this process, and (3) the spin app colocated
/// with the batch app under each core-allocation policy. Writes every report and chart under one
/// folder, and a summary (report.md): the floor, the policies compared on what the machine lets one
/// see (short requests' p50, p90, untouched p99, with ratios and the model's figures), what a
/// quiet machine would show, and the SLO tables.
/// </summary>
internal static class DemoCommand
{
    /// <summary>The synthetic part's SLOs: the papers' p99.9 bound, and the same bound at p99, which a
    /// VM whose cores stall for milliseconds a few times a second can still show.</summary>
    public const string SloText = "p99.9-slowdown<=50,p99-slowdown<=50";

    /// <summary>The UDP part's SLOs: a loopback round trip costs several µs, so looser bounds too.</summary>
    public const string UdpSlos = "p99.9-slowdown<=50,p99.9-slowdown<=100,p99.9-slowdown<=200,p99-latency<=500,p99-latency<=1000";

    /// <summary>The verb, for the program's root command.</summary>
    public static Command Create(string commandLine)
    {
        Option<bool> quickOption = CliOption.Flag("quick", "shorten every point and the floor's probe, and do not wait for a quiet machine: " +
            "seconds in all, and the numbers then mean little");
        Option<double> quietWaitOption = CliOption.Number("quiet-wait-s", 30, 0, 3600,
            Inv($"before measuring, wait at most this long for the machine to be quiet (no core losing more than {DemoFloor.QuietLostFraction:P0} ") +
            "of its time to stalls, as when a process that started the demo is still busy); 0: do not wait", "S");
        Option<string?> outOption = CommonOptions.Out("demo");
        Option<bool> noChartsOption = CommonOptions.NoCharts();
        Command command = CliOption.Command("demo",
            "the first five minutes: this machine's floor, then every comparison NetStack offers (the policies beside the queueing " +
            "model, NetStack against the ThreadPool server over UDP, colocation with a batch app), in one process, on loopback, with no set-up",
            [quickOption, quietWaitOption, outOption, noChartsOption]);
        return VerbParser.WithAction(command, result => Run(result.GetValue(quickOption), result.GetValue(quietWaitOption), result.GetValue(outOption),
            result.GetValue(noChartsOption), commandLine));
    }

    /// <summary>Runs the demo.</summary>
    public static void Run(bool quick, double quietWaitS, string? outDir, bool noCharts, string commandLine)
    {
        string dir = ReportFiles.OutputDirectory(outDir, "demo");
        IReadOnlyList<int> cores = Affinity.AvailableCores();
        if (cores.Count < 2)
        {
            throw new UsageException($"demo: needs two cores (the IOKernel's and a worker's); this machine allows {Affinity.Describe(cores)}");
        }
        string ioCore = cores[0].ToString(CultureInfo.InvariantCulture);
        string workerCore = cores[1].ToString(CultureInfo.InvariantCulture);
        string duration = quick ? "0.2" : "2";
        string[] charts = noCharts ? ["--no-charts"] : [];
        TextWriter log = Console.Out;
        var started = DateTime.UtcNow;

        log.WriteLine($"netstack demo: results in {dir}{(quick ? " (quick mode: every point shortened)" : "")}");

        log.WriteLine("[0/3] this machine's floor: how often each core is taken away from a pinned spinning thread (what `noise` measures)");
        DemoFloor floor = DemoFloor.Measure([cores[0], cores[1]], quick ? 0.3 : 3, quick ? 0 : quietWaitS, log);
        foreach (Noise.CoreNoise core in floor.Cores)
        {
            log.WriteLine($"      {core}");
        }
        if (!floor.Quiet)
        {
            log.WriteLine(Inv($"      the machine is still busy (core {floor.Busiest.Core} lost {floor.Busiest.StolenFraction:P0}): measuring anyway; every figure carries that load"));
        }

        log.WriteLine("[1/3] extreme-bimodal over the synthetic NIC: c-FCFS, processor sharing (5 µs), d-FCFS, each beside the queueing model");
        (RunReport sched, string schedDir) = SchedCommand.Execute(
        [
            "--workload", "extreme-bimodal", "--policy", "cfcfs,ps,dfcfs",
            "--loads", quick ? "0.3,0.7" : "0.1,0.3,0.5,0.6,0.7,0.8,0.9", "--duration-s", duration,
            "--iokernel-core", ioCore, "--worker-cores", workerCore, "--model",
            "--slo", SloText, "--out", Path.Combine(dir, "sched"), .. charts,
        ], commandLine + " (part 1)", null);
        if (DemoPolicies.Headline(sched) is { } headline)
        {
            log.WriteLine($"      {headline.Replace("**", "", StringComparison.Ordinal)}");
        }

        log.WriteLine("[2/3] the spin app over UDP on loopback: NetStack (ps) against the ThreadPool server");
        (RunReport udp, string udpDir) = RunUdp(dir, quick, duration, cores, charts, commandLine);

        log.WriteLine("[3/3] the spin app (50 % of a core, c-FCFS) colocated with the batch app: standing queue, static, alone");
        (RunReport coloc, string colocDir) = ColocateCommand.Execute(
        [
            // c-FCFS for the LC app: exp-10 has no long requests for processor sharing to cut short.
            "--workload", "exp-10", "--lc-load", "0.5", "--policy", "cfcfs", "--pattern", "steady", "--allocation", "standing-queue,static,alone",
            "--duration-s", quick ? "0.3" : "3", "--rounds", quick ? "1" : "3", "--iokernel-core", ioCore, "--worker-cores", workerCore,
            "--out", Path.Combine(dir, "colocate"), .. charts,
        ], commandLine + " (part 3)", null);

        string summary = Summary(floor, sched, udp, coloc, started, quick);
        File.WriteAllText(Path.Combine(dir, "report.md"), summary);
        log.WriteLine();
        log.WriteLine(summary);
        log.WriteLine($"reports: {Path.Combine(schedDir, "report.md")}, {Path.Combine(udpDir, "report.md")}, {Path.Combine(colocDir, "report.md")}");
        if (!noCharts)
        {
            foreach (string png in Directory.EnumerateFiles(dir, "*.png", SearchOption.AllDirectories).Order())
            {
                log.WriteLine($"chart {png}");
            }
        }
        log.WriteLine($"summary: {Path.Combine(dir, "report.md")}");
    }

    /// <summary>Starts both servers in this process on free loopback ports, measures them side by side, stops them.</summary>
    private static (RunReport, string) RunUdp(string dir, bool quick, string duration, IReadOnlyList<int> cores, string[] charts, string commandLine)
    {
        // Placement on two cores: the IOKernel and the load generator share the first core and both
        // yield the moment they are idle, so they alternate within microseconds instead of CFS's
        // milliseconds; the worker has the second core. Idle NetStack threads park after 2 ms, so
        // they take nothing from the ThreadPool server while its points run.
        var options = new KernelOptions
        {
            IOKernelCore = cores[0],
            WorkerCores = [cores[1]],
            Policy = "ps",
            QuantumMicros = 5,
            MailboxDepth = 2,
            IOKernelIdle = IdleStrategyKind.SpinYield,
            CarrierIdle = IdleStrategyKind.SpinPark,
            IdleSpinMicros = 0,
            IdleYieldMicros = 2000,
            IdleParkMicros = 200,
        };
        using var nic = UdpNic.Open(new UdpNicOptions { Port = 0 }, SpinApp.TypeCount);
        var kernel = new IOKernel.Kernel(options, nic, new SpinApp());
        using var pool = new ThreadPoolServer(new UdpNicOptions { Port = 0 }, new SpinApp(), SpinApp.TypeCount);
        kernel.Start();
        pool.Start();
        try
        {
            return UdpCommand.Execute(
            [
                "--target", $"netstack/ps=127.0.0.1:{nic.Port},threadpool=127.0.0.1:{pool.Port}",
                "--workload", "extreme-bimodal", "--loads", quick ? "0.1" : "0.05,0.1,0.15,0.2,0.25,0.3", "--workers", "1",
                "--duration-s", duration, "--receiver", "inline", "--cores", cores[0].ToString(CultureInfo.InvariantCulture),
                // The generator shares the IOKernel's core: its lateness runs to a few tens of µs,
                // and counts in every latency anyway (measured from the intended send time).
                "--behind-p99-us", "50",
                "--slo", UdpSlos, "--out", Path.Combine(dir, "udp"), .. charts,
            ], commandLine + " (part 2)", null);
        }
        finally
        {
            kernel.Stop();
            pool.Stop(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>The demo's report.md: the floor, the policies compared with ratios and the model beside them, then one SLO
    /// table per part, with ratios against the baseline of each.</summary>
    public static string Summary(DemoFloor floor, RunReport sched, RunReport udp, RunReport coloc, DateTime started, bool quick)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# NetStack demo");
        sb.AppendLine();
        sb.AppendLine(Inv($"- machine: {sched.Machine}"));
        sb.AppendLine(Inv($"- ran {(DateTime.UtcNow - started).TotalSeconds:0} s{(quick ? " in quick mode (points too short to mean much)" : "")}"));
        foreach (string note in sched.Config.Notes.Concat(udp.Config.Notes).Distinct())
        {
            sb.AppendLine($"- note: {note}");
        }
        sb.AppendLine();
        floor.AppendTo(sb);
        DemoPolicies.AppendTo(sb, sched);
        foreach (SloReport slo in sched.Slos ?? (sched.Slo is null ? [] : [sched.Slo]))
        {
            sb.AppendLine(Inv($"## 1. extreme-bimodal, 1 worker, synthetic NIC: SLO {slo.Slo} (the model's rows: a quiet machine)"));
            sb.AppendLine();
            AppendSloTable(sb, slo, baseline: "cfcfs");
        }
        foreach (SloReport slo in udp.Slos ?? (udp.Slo is null ? [] : [udp.Slo]))
        {
            sb.AppendLine(Inv($"## 2. spin over UDP (extreme-bimodal, 1 worker): SLO {slo.Slo}"));
            sb.AppendLine();
            AppendSloTable(sb, slo, baseline: "threadpool");
        }
        sb.AppendLine("## 3. colocation (exp-10 at 50 % of a core, with the batch app)");
        sb.AppendLine();
        sb.Append(ColocateCommand.Render(coloc));
        sb.AppendLine();
        sb.AppendLine("A load is the fraction of the worker cores' capacity offered (workers / mean service time). " +
            "\"Highest load\" is the highest offered load whose point held the SLO (lower loads that missed it are listed beside it), judged on latency " +
            "over all requests and over the untouched ones (no machine stall in their busy period); a point whose server dropped, rejected or left " +
            "requests unanswered misses it; what the generator did not do (keep its schedule, send every request) is flagged beside it, not counted as a miss.");
        return sb.ToString();
    }

    private static void AppendSloTable(StringBuilder sb, SloReport? slo, string baseline)
    {
        if (slo is null)
        {
            return;
        }
        SloRow? base0 = slo.Rows.FirstOrDefault(r => r.Label == baseline);
        sb.AppendLine($"| system | all requests: highest load holding it | krps | × {baseline} | untouched: highest load holding it | × {baseline} | generator flags |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (SloRow row in slo.Rows)
        {
            string all = row.MaxLoad is null ? "none | –" : Inv($"{row.MaxLoad:0.##}{MarkdownReport.Missed(row)} | {row.MaxRps / 1000:0.#}");
            string untouched = row.Untouched is null ? "–" : row.Untouched.MaxLoad is null ? "none"
                : Inv($"{row.Untouched.MaxLoad:0.##}{MarkdownReport.Missed(row.Untouched.MissedBelow)}");
            string flags = row.Flagged.Count == 0 ? "–" : string.Join("; ", row.Flagged.Select(f => Inv($"{f.Load:0.###}: {f.Flags}")));
            sb.AppendLine($"| {row.Label} | {all} | {Versus(row.MaxLoad, base0?.MaxLoad, base0 is not null, baseline)} | {untouched} | " +
                $"{Versus(row.Untouched?.MaxLoad, base0?.Untouched?.MaxLoad, base0?.Untouched is not null, baseline)} | {flags} |");
        }
        sb.AppendLine();
    }

    /// <summary>A system's highest load against the baseline's: a ratio, or why there is none.</summary>
    private static string Versus(double? load, double? baselineLoad, bool baselineJudged, string baseline) =>
        load is { } m && baselineLoad is { } b && b > 0 ? Inv($"{m / b:0.##}×")
        : load is not null && baselineJudged && baselineLoad is null ? $"{baseline} held it at no load"
        : "–";

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
