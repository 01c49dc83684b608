// The `echo` verb: a trivial UDP echo server for measuring the load generator's own ceiling.
using System.CommandLine;
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
    /// <summary>The verb, for the program's root command.</summary>
    public static Command Create()
    {
        Option<int> port = CliOption.Integer("port", 9100, 0, 65535, "the UDP port to listen on (0: any free port)", "PORT");
        Option<IPAddress?> address = CliOption.Parsed("address", "IP", "the address to listen on, an IP literal such as 127.0.0.1 or ::1 [default: 127.0.0.1]",
            text => IPAddress.TryParse(text, out IPAddress? a) ? a : throw new UsageException($"echo: --address must be an IP address such as 127.0.0.1 or ::1, not '{text}'"));
        Option<double?> duration = CliOption.OptionalNumber("duration-s", 0.01, 86_400, "stop after this many seconds [default: run until Ctrl+C or SIGTERM]", "S");
        Option<int?> core = CliOption.OptionalInteger("core", 0, int.MaxValue, "pin the server's thread to this core [default: unpinned]", "C");
        Command command = CliOption.Command("echo",
            "a trivial UDP server that answers every valid request ok at once, for measuring the load generator's own ceiling; prints its counts at the end",
            [port, address, duration, core]);
        command.SetAction(result => Run(result.GetValue(port), result.GetValue(address) ?? IPAddress.Loopback, result.GetValue(duration), result.GetValue(core) ?? -1));
        return command;
    }

    /// <summary>Serves until stopped, prints the counts; returns the exit code.</summary>
    public static int Run(int port, IPAddress address, double? duration, int core)
    {
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
