// netstack-iouring-probe: measures an empty poll, 64-byte UDP echo and round trips, io_uring against recvmmsg/sendmmsg, and the IOKernel's empty loop per NIC backend; prints tables.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime;

namespace NetStack.IoUringProbe;

/// <summary>
/// A measurement, not a test (docs/io_uring.md). Run the built executable on an otherwise idle
/// machine: <c>bench/IoUringProbe/bin/Release/net10.0/netstack-iouring-probe [--rounds 10]</c>
/// (about 15 s): the raw ring against recvmmsg/sendmmsg, servers pinned to core 0, the client to
/// core 1. <c>netstack-iouring-probe nic-loop [--seconds 2] [--json FILE]</c> measures the IOKernel's
/// empty loop on each NIC backend instead (<see cref="NicLoopProbe"/>).
/// </summary>
internal static class Probe
{
    /// <summary>How long one echo run may take before the probe gives up (a lost datagram would otherwise hang it).</summary>
    public static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(10);

    private const int ServerCore = 0;
    private const int ClientCore = 1;
    private const int EmptyPolls = 1_000_000;
    /// <summary>16 recvmmsg calls per poll cost several µs: 100,000 polls keep that row to a second.</summary>
    private const int EmptyPollsSixteen = 100_000;
    /// <summary>Datagrams waiting when an echo run starts: well inside a 4 MiB socket buffer (~1 KiB of it per 64-byte datagram).</summary>
    private const int Backlog = 4_000;
    private const int RoundTrips = 20_000;

    private static readonly IoUringTaskRun[] s_modes = [IoUringTaskRun.Deferred, IoUringTaskRun.Cooperative, IoUringTaskRun.Signal];

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "nic-loop")
        {
            return NicLoopProbe.Run(args[1..]);
        }
        int rounds = args.Length == 2 && args[0] == "--rounds" && int.TryParse(args[1], out int r) && r > 0 ? r : 10;
        if (!IoUringRing.TryCreate(new IoUringOptions(), out IoUringRing? probeRing, out string reason))
        {
            Console.Error.WriteLine($"io_uring unavailable: {reason}");
            return 1;
        }
        Console.WriteLine($"# io_uring probe: {Environment.ProcessorCount} CPUs ({CpuModel()}), Linux {KernelRelease()}, .NET {Environment.Version}");
        Console.WriteLine($"# {probeRing.Description}");
        probeRing.Dispose();

        Pin(ServerCore);
        Console.WriteLine();
        Console.WriteLine($"## Empty poll, ns per poll ({EmptyPolls:N0} polls; recvmmsg over 16 sockets: {EmptyPollsSixteen:N0})");
        Console.WriteLine();
        Console.WriteLine("| idle UDP sockets | recvmmsg on each (MSG_DONTWAIT, 64 slots) | io_uring loop: reap + publish + submit | io_uring_enter calls in that loop |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (int sockets in new[] { 1, 16 })
        {
            double mmsg = EmptyPollProbe.RecvMMsg(sockets, sockets == 1 ? EmptyPolls : EmptyPollsSixteen);
            (double ring, long enters) = EmptyPollProbe.Ring(sockets, EmptyPolls, IoUringTaskRun.Deferred);
            Console.WriteLine($"| {sockets} | {mmsg:N0} | {ring:N1} | {enters} |");
        }

        Pin(ClientCore);
        Console.WriteLine();
        Console.WriteLine($"## 64-byte UDP echo on one server thread (core {ServerCore}): {Backlog:N0} datagrams waiting, echoed; median of {rounds} runs");
        Console.WriteLine();
        Console.WriteLine("| server | datagrams/s | ns per datagram | system calls per datagram | replies lost |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        EchoRow("recvmmsg + sendmmsg (64)", s => new MMsgEchoServer(s), rounds);
        foreach (IoUringTaskRun mode in s_modes)
        {
            EchoRow($"io_uring, {mode} task work", s => new RingEchoServer(s, mode), rounds);
        }

        Console.WriteLine();
        Console.WriteLine($"## Round trip of one 64-byte datagram at a time, µs ({RoundTrips:N0}; client on core {ClientCore} spins on recvmmsg)");
        Console.WriteLine();
        Console.WriteLine("| server | p50 | p90 | p99 |");
        Console.WriteLine("|---|---:|---:|---:|");
        RoundTripRow("recvmmsg + sendmmsg (64)", s => new MMsgEchoServer(s));
        foreach (IoUringTaskRun mode in s_modes)
        {
            RoundTripRow($"io_uring, {mode} task work", s => new RingEchoServer(s, mode));
        }
        return 0;
    }

    private static void EchoRow(string name, Func<Socket, IEchoServer> make, int rounds)
    {
        using Socket serverSocket = BoundUdpSocket();
        using var client = new EchoClient((IPEndPoint)serverSocket.LocalEndPoint!);
        var go = new SemaphoreSlim(0);
        var done = new SemaphoreSlim(0);
        var seconds = new double[rounds];
        long systemCalls = 0;
        int lost = 0;
        RunServer(make, serverSocket, server =>
        {
            for (int round = -1; round < rounds; round++)
            {
                go.Wait();
                long callsBefore = server.SystemCalls;
                long start = Stopwatch.GetTimestamp();
                server.EchoBacklog(Backlog);
                if (round >= 0)
                {
                    seconds[round] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    systemCalls += server.SystemCalls - callsBefore;
                }
                done.Release();
            }
        }, () =>
        {
            for (int round = -1; round < rounds; round++)
            {
                client.SendBurst(Backlog);
                go.Release();
                done.Wait();
                lost += Backlog - client.Receive(Backlog);
            }
        });
        Array.Sort(seconds);
        double median = seconds[rounds / 2];
        Console.WriteLine($"| {name} | {Backlog / median:N0} | {median * 1e9 / Backlog:N0} | {(double)systemCalls / ((long)Backlog * rounds):N3} | {lost} |");
    }

    private static void RoundTripRow(string name, Func<Socket, IEchoServer> make)
    {
        using Socket serverSocket = BoundUdpSocket();
        using var client = new EchoClient((IPEndPoint)serverSocket.LocalEndPoint!);
        var stop = new StopSignal();
        var ready = new SemaphoreSlim(0);
        long[] rtts = [];
        RunServer(make, serverSocket, server =>
        {
            ready.Release();
            server.Serve(stop);
        }, () =>
        {
            ready.Wait();
            try
            {
                rtts = client.RoundTrips(RoundTrips, 2_000);
            }
            finally
            {
                stop.Stop = true;
            }
        });
        Array.Sort(rtts);
        double P(double q) => rtts[(int)(q * (rtts.Length - 1))] / 1000.0;
        Console.WriteLine($"| {name} | {P(0.5):N1} | {P(0.9):N1} | {P(0.99):N1} |");
    }

    /// <summary>Makes and runs the server on a thread pinned to the server core (a ring's single issuer is the thread that made it), the client on this one.</summary>
    private static void RunServer(Func<Socket, IEchoServer> make, Socket socket, Action<IEchoServer> serve, Action client)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Pin(ServerCore);
                using IEchoServer server = make(socket);
                serve(server);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }) { Name = "echo server" };
        thread.Start();
        client();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("the echo server failed", failure);
        }
    }

    internal static void ThrowIfPast(long deadline, int done, int count)
    {
        if (Environment.TickCount64 > deadline)
        {
            throw new TimeoutException($"{done} of {count} datagrams echoed within {RunTimeout.TotalSeconds} s");
        }
    }

    internal static Socket BoundUdpSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 4 << 20;
        socket.SendBufferSize = 4 << 20;
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    internal static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    private static void Pin(int core)
    {
        try
        {
            Affinity.PinCurrentThread(core);
        }
        catch (CoreNotAvailableException e)
        {
            Console.Error.WriteLine($"not pinned: {e.Message}");
        }
    }

    private static string KernelRelease() => ReadOr("/proc/sys/kernel/osrelease", "unknown").Trim();

    private static string CpuModel()
    {
        string? line = ReadOr("/proc/cpuinfo", "").Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line?[(line.IndexOf(':') + 1)..].Trim() ?? "unknown CPU";
    }

    private static string ReadOr(string path, string fallback)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return fallback;
        }
    }
}
