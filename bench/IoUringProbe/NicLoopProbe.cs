// The IOKernel's empty loop on each NIC backend: loops per second and ns per loop with idle UDP queues and idle TCP connections, and the CPU it leaves to a thread on its core.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using NetStack.Runtime.Threading;

namespace NetStack.IoUringProbe;

/// <summary>
/// <c>netstack-iouring-probe nic-loop [--seconds S] [--json FILE]</c>: for each NIC set-up (1 and 16
/// idle UDP queues; 16 and 1024 idle TCP connections) and each backend, with nothing arriving:
/// <list type="bullet">
/// <item>the empty poll: the real NIC's RxBurst + TxBurst called through <see cref="INicQueue"/> in a
/// loop on a thread pinned to core 0 (what the NIC costs an IOKernel loop), the two backends'
/// NICs open together and polled in alternating blocks;</item>
/// <item>the empty loop: a real IOKernel (on core 0, one worker on core 1, <c>IOKernelIdle Spin</c>)
/// polling the real NIC, wrapped to count receive bursts, one per loop: loops per second, ns per
/// loop (every stage, not the NIC alone), io_uring_enter calls per loop;</item>
/// <item>the CPU left to a generator: the IOKernel as <c>serve</c> runs it by default (<c>SpinYield</c>,
/// yielding on every idle loop) with a CPU-bound thread pinned to its core: the thread's work per
/// second against the thread alone just before.</item>
/// </list>
/// </summary>
internal static class NicLoopProbe
{
    private const int IOKernelCore = 0;
    private const int WorkerCore = 1;

    private sealed record Setup(string Transport, int Queues, int Connections)
    {
        public override string ToString() => Transport == "udp" ? $"UDP, {Queues} idle queue{(Queues == 1 ? "" : "s")}" : $"TCP, {Connections} idle connections";
    }

    private sealed record Row(string Transport, int Queues, int Connections, string Backend, double PollNs, double LoopsPerSecond,
        double NsPerLoop, double EntersPerLoop, double GeneratorShare);

    public static int Run(string[] args)
    {
        double seconds = 2;
        string? json = null;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--seconds": seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--json": json = args[i + 1]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}; valid: --seconds S, --json FILE"); return 2;
            }
        }
        Setup[] setups = [new("udp", 1, 0), new("udp", 16, 0), new("tcp", 1, 16), new("tcp", 1, 1024)];
        NicBackend[] backends = [NicBackend.Syscalls, NicBackend.IoUring];
        var rows = new List<Row>();
        // Tiered compilation runs the generator's loop slower until it is recompiled: warm it first.
        GeneratorRate(0.5);
        Console.WriteLine($"## The IOKernel's empty poll and loop ({seconds:0.#} s per measurement; IOKernel on core {IOKernelCore}, worker on core {WorkerCore})");
        Console.WriteLine();
        Console.WriteLine("| NIC | backend | empty poll, ns (RxBurst + TxBurst) | loops/s (spinning IOKernel) | ns per loop | io_uring_enter per loop | core share left to a thread on the IOKernel's core (yielding IOKernel) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (Setup setup in setups)
        {
            Dictionary<NicBackend, double> polls = PollNs(setup, backends, seconds * backends.Length);
            foreach (NicBackend backend in backends)
            {
                double poll = polls[backend];
                (double loops, double enters) = Loops(setup, backend, seconds);
                double alone = GeneratorRate(seconds);
                double share = Share(setup, backend, seconds) / alone;
                var row = new Row(setup.Transport, setup.Queues, setup.Connections, NicOptions.NameOf(backend), poll, loops, 1e9 / loops, enters, share);
                rows.Add(row);
                Console.WriteLine($"| {setup} | {row.Backend} | {poll:N1} | {loops:N0} | {row.NsPerLoop:N0} | " +
                    $"{(backend == NicBackend.IoUring ? enters.ToString("0.####") : "-")} | {share:P1} |");
            }
        }
        Console.WriteLine();
        foreach (Setup setup in setups)
        {
            Row sys = rows.First(r => r.Transport == setup.Transport && r.Queues == setup.Queues && r.Connections == setup.Connections && r.Backend == "syscalls");
            Row ring = rows.First(r => r.Transport == setup.Transport && r.Queues == setup.Queues && r.Connections == setup.Connections && r.Backend == "io_uring");
            Console.WriteLine($"- {setup}: io_uring's empty poll is {sys.PollNs / ring.PollNs:0.0}x cheaper, its whole empty loop {sys.NsPerLoop / ring.NsPerLoop:0.0}x");
        }
        if (json is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(json))!);
            File.WriteAllText(json, JsonSerializer.Serialize(new
            {
                kind = "nic-loop",
                machine = new { cpus = Environment.ProcessorCount, kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim(), dotnet = Environment.Version.ToString() },
                secondsPerRow = seconds,
                placement = new { iokernelCore = IOKernelCore, workerCore = WorkerCore, generatorCore = IOKernelCore },
                rows,
            }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        }
        return 0;
    }

    /// <summary>
    /// ns per empty RxBurst + TxBurst of each backend's NIC, both open at once and polled from this one
    /// thread pinned to the IOKernel's core (a ring's issuer is its first poller) in alternating
    /// blocks of 1/20 of the time, so the two figures of a ratio see the same machine.
    /// </summary>
    private static Dictionary<NicBackend, double> PollNs(Setup setup, NicBackend[] backends, double seconds)
    {
        var ns = new Dictionary<NicBackend, double>();
        var thread = new Thread(() =>
        {
            Affinity.PinCurrentThread(IOKernelCore);
            var fixtures = backends.Select(b => new Fixture(setup, b)).ToArray();
            try
            {
                // Through the interface, as the IOKernel calls it, but not through the counting
                // wrapper the loop measurement needs: its two extra calls and store are the probe's.
                INicQueue[] queues = fixtures.Select(f => f.Nic).ToArray();
                var batch = new Arrival[32];
                foreach (INicQueue q in queues)
                {
                    q.Attach(new NoHost());
                }
                var clock = Stopwatch.StartNew();
                while (!fixtures.All(f => f.Opened()) && clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                    foreach (INicQueue q in queues)
                    {
                        q.RxBurst(0, batch);
                        q.TxBurst();
                    }
                }
                foreach (INicQueue q in queues)
                {
                    for (int i = 0; i < 10_000; i++)
                    {
                        q.RxBurst(0, batch);
                        q.TxBurst();
                    }
                }
                const int Blocks = 20;
                long blockTicks = (long)(seconds / Blocks * Stopwatch.Frequency);
                var polls = new long[queues.Length];
                var ticks = new long[queues.Length];
                for (int block = 0; block < Blocks; block++)
                {
                    for (int k = 0; k < queues.Length; k++)
                    {
                        INicQueue q = queues[k];
                        long start = Stopwatch.GetTimestamp();
                        long end = start + blockTicks;
                        long now;
                        do
                        {
                            for (int i = 0; i < 256; i++)
                            {
                                q.RxBurst(0, batch);
                                q.TxBurst();
                            }
                            polls[k] += 256;
                            now = Stopwatch.GetTimestamp();
                        }
                        while (now < end);
                        ticks[k] += now - start;
                    }
                }
                for (int k = 0; k < queues.Length; k++)
                {
                    ns[backends[k]] = ticks[k] * 1e9 / Stopwatch.Frequency / polls[k];
                }
            }
            finally
            {
                foreach (Fixture f in fixtures)
                {
                    f.Dispose();
                }
            }
        }) { Name = "poller" };
        thread.Start();
        thread.Join();
        return ns;
    }

    /// <summary>No request arrives in these runs: nothing is recycled.</summary>
    private sealed class NoHost : INicHost
    {
        public void Recycle(GreenThread thread) => throw new InvalidOperationException("no request was expected");
    }

    /// <summary>Loops per second of a spinning IOKernel, and io_uring_enter calls per loop.</summary>
    private static (double Loops, double Enters) Loops(Setup setup, NicBackend backend, double seconds)
    {
        using var nic = new Fixture(setup, backend);
        var options = Options(IdleStrategyKind.Spin);
        var kernel = new NetStack.IOKernel.Kernel(options, [nic.Counting], [App()]);
        kernel.Start();
        try
        {
            nic.WaitOpened();
            Thread.Sleep(300); // JIT and the first arms
            long loops0 = nic.Counting.Bursts;
            long enters0 = nic.Enters();
            long start = Stopwatch.GetTimestamp();
            Thread.Sleep(TimeSpan.FromSeconds(seconds));
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            long loops = nic.Counting.Bursts - loops0;
            return (loops / elapsed, (double)(nic.Enters() - enters0) / Math.Max(1, loops));
        }
        finally
        {
            kernel.Stop();
        }
    }

    /// <summary>Work units per second of a thread pinned to the IOKernel's core while the IOKernel runs as serve runs it.</summary>
    private static double Share(Setup setup, NicBackend backend, double seconds)
    {
        using var nic = new Fixture(setup, backend);
        var kernel = new NetStack.IOKernel.Kernel(Options(IdleStrategyKind.SpinYield), [nic.Counting], [App()]);
        kernel.Start();
        try
        {
            nic.WaitOpened();
            Thread.Sleep(300);
            return GeneratorRate(seconds);
        }
        finally
        {
            kernel.Stop();
        }
    }

    /// <summary>A CPU-bound thread on the IOKernel's core: how many units of work it does per second.</summary>
    private static double GeneratorRate(double seconds)
    {
        double rate = 0;
        var thread = new Thread(() =>
        {
            Affinity.PinCurrentThread(IOKernelCore);
            long units = 0;
            ulong x = 1;
            long start = Stopwatch.GetTimestamp();
            long end = start + (long)(seconds * Stopwatch.Frequency);
            long now;
            do
            {
                for (int i = 0; i < 1024; i++)
                {
                    x = x * 6364136223846793005UL + 1442695040888963407UL;
                }
                units++;
                now = Stopwatch.GetTimestamp();
            }
            while (now < end);
            rate = x == 0 ? 0 : units / Stopwatch.GetElapsedTime(start, now).TotalSeconds;
        }) { Name = "generator" };
        thread.Start();
        thread.Join();
        return rate;
    }

    private static KernelOptions Options(IdleStrategyKind idle) => new()
    {
        IOKernelCore = IOKernelCore,
        WorkerCores = [WorkerCore],
        Policy = "ps",
        CoreAllocation = "static",
        IOKernelIdle = idle,
        // serve's defaults (appsettings.json): yield at once when idle, never park.
        IdleSpinMicros = 0,
        IdleYieldMicros = 2000,
        IdleParkMicros = 200,
        CarrierIdle = IdleStrategyKind.SpinPark,
    };

    private static AppRegistration App() => AppRegistration.LatencyCritical(
        new AppOptions { Name = "idle", GuaranteedCores = 1, MaxCores = 1 }, new NothingHandler(), new SpinProtocol(16));

    private sealed class NothingHandler : IRequestHandler
    {
        public ValueTask HandleAsync(RequestContext ctx) => ValueTask.CompletedTask;
    }

    /// <summary>The NIC of a set-up, its idle peers, and a wrapper that counts the IOKernel's receive bursts.</summary>
    private sealed class Fixture : IDisposable
    {
        private readonly INicQueue _nic;
        private readonly List<Socket> _clients = [];

        public Fixture(Setup setup, NicBackend backend)
        {
            if (setup.Transport == "udp")
            {
                var udp = UdpNic.Open(new UdpNicOptions { Port = 0, Queues = setup.Queues },
                    [new UdpBinding(0, new SpinProtocol(16), IPAddress.Loopback, 0)], backend);
                _nic = udp;
                Enters = () => (udp as IoUringUdpNic)?.RingCounters.Enters ?? 0;
            }
            else
            {
                var tcp = TcpNic.Open(new TcpNicOptions(), [new TcpBinding(0, new SpinProtocol(16), IPAddress.Loopback, 0)], backend);
                _nic = tcp;
                Enters = () => (tcp as IoUringTcpNic)?.RingCounters.Enters ?? 0;
                for (int i = 0; i < setup.Connections; i++)
                {
                    var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    client.Connect(tcp.EndPoints[0]);
                    _clients.Add(client);
                }
                Opened = () => tcp.OpenConnections == setup.Connections;
            }
            Counting = new CountingNic(_nic);
        }

        /// <summary>The NIC as the IOKernel sees it, counting its receive bursts.</summary>
        public CountingNic Counting { get; }

        /// <summary>The NIC itself.</summary>
        public INicQueue Nic => _nic;

        /// <summary>io_uring_enter calls so far (0 on the syscalls backend).</summary>
        public Func<long> Enters { get; }

        /// <summary>True once the NIC has accepted every idle connection (read off the IOKernel thread: a monotonic count).</summary>
        public Func<bool> Opened { get; } = () => true;

        /// <summary>Waits (bounded) until every idle connection is accepted, so the loops measured accept nothing.</summary>
        public void WaitOpened()
        {
            var clock = Stopwatch.StartNew();
            while (!Opened() && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                Thread.Sleep(10);
            }
            if (!Opened())
            {
                throw new TimeoutException("the NIC did not accept every idle connection within 30 s");
            }
            Thread.Sleep(100); // the receives armed at the last accepts go out
        }

        public void Dispose()
        {
            _clients.ForEach(c => c.Dispose());
            (_nic as IDisposable)?.Dispose();
        }
    }

    /// <summary>Passes every call to the NIC, counting receive bursts: the IOKernel makes one per NIC per loop.</summary>
    private sealed class CountingNic(INicQueue inner) : INicQueue
    {
        private long _bursts;

        public long Bursts => Volatile.Read(ref _bursts);

        public bool Exhausted => inner.Exhausted;

        public bool Saturating => inner.Saturating;

        public void Attach(INicHost host) => inner.Attach(host);

        public int RxBurst(long now, Span<Arrival> batch)
        {
            // Written by the IOKernel thread alone, read by the probe's: a plain store made visible.
            Volatile.Write(ref _bursts, _bursts + 1);
            return inner.RxBurst(now, batch);
        }

        public void Transmit(GreenThread thread) => inner.Transmit(thread);

        public void Reject(in Arrival arrival, RequestStatus status) => inner.Reject(arrival, status);

        public bool TxBurst() => inner.TxBurst();

        public void Detach() => inner.Detach();
    }
}
