// The `echo` verb: a trivial UDP echo server for measuring the load generator's own ceiling.
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using NetStack.LoadGen.Cli;
using NetStack.Runtime;

namespace NetStack.LoadGen.Echo;

/// <summary>
/// <c>echo [--port 9100] [--address 127.0.0.1] [--duration-s S] [--core N]</c>: answers every valid
/// request ok at once until Ctrl+C (or SIGTERM) or the duration, then prints its counts.
/// </summary>
internal static class EchoCommand
{
    /// <summary>Usage line.</summary>
    public const string Usage = "echo [--port 9100] [--address 127.0.0.1] [--duration-s S] [--core N]";

    private static readonly string[] s_options = ["port", "address", "duration-s", "core"];

    /// <summary>Parses, serves until stopped, prints the counts; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> args)
    {
        var a = new ArgParser("echo", args, s_options);
        int port = a.GetInt("port", 9100, 0, 65535);
        string addressText = a.Get("address", "127.0.0.1")!;
        if (!IPAddress.TryParse(addressText, out IPAddress? address))
        {
            throw new UsageException($"echo: --address must be an IP address such as 127.0.0.1 or ::1, not '{addressText}'");
        }
        double? duration = a.Get("duration-s") is null ? null : a.GetDouble("duration-s", 0, 0.01, 86_400);
        int core = a.GetInt("core", -1, 0);
        if (core >= 0)
        {
            try
            {
                Affinity.Validate([core]);
            }
            catch (CoreNotAvailableException e)
            {
                throw new UsageException("echo: --core: " + e.Message);
            }
        }

        EchoServer server;
        try
        {
            server = new EchoServer(new IPEndPoint(address, port), core);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new UsageException($"echo: cannot listen on {address}:{port}: {e.Message}");
        }
        using (server)
        using (var stop = new ManualResetEventSlim())
        {
            using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            server.Start();
            string pinned = core >= 0 ? $" on core {core}" : "";
            Console.WriteLine($"echo: listening on udp {server.LocalEndPoint}{pinned}; answers every valid request ok at once; Ctrl+C stops");
            long started = Clock.Now();
            if (duration is { } d)
            {
                stop.Wait(TimeSpan.FromSeconds(d));
            }
            else
            {
                stop.Wait();
            }
            double seconds = Clock.ToMicros(Clock.Now() - started) / 1e6;
            server.Stop(TimeSpan.FromSeconds(2));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"echo: {seconds:0.##} s: received {server.Received}, answered ok {server.AnsweredOk} ({server.AnsweredOk / Math.Max(seconds, 1e-9) / 1000:0.#} k/s), " +
                $"bad-request {server.AnsweredBadRequest}, ignored {server.Ignored}, socket errors {server.Errors}, bytes allocated while serving {server.AllocatedBytes}"));

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true; // stop in order and print the counts, rather than die
                stop.Set();
            }
        }
        return 0;
    }
}
