// `netstack-loadgen`: the verbs that measure NetStack (sched in-process, udp over the network, kv against memcached-compatible servers, echo as its trivial peer; more as they land).
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Echo;
using NetStack.LoadGen.Sched;
using NetStack.LoadGen.Udp;
using NetStack.Runtime;

namespace NetStack.LoadGen;

/// <summary>Entry point: a verb, then its options. Exit code 2 for a command line that cannot run.</summary>
internal static class Program
{
    /// <summary>Runs a verb.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            PrintUsage(Console.Out);
            return args.Length == 0 ? 2 : 0;
        }
        string commandLine = "netstack-loadgen " + string.Join(' ', args.Select(Quote));
        try
        {
            return args[0] switch
            {
                "sched" => SchedCommand.Run(args[1..], commandLine),
                "udp" => UdpCommand.Run(args[1..], commandLine),
                "tcp" => UdpCommand.Run(args[1..], commandLine, "tcp"),
                "echo" => EchoCommand.Run(args[1..]),
                "colocate" => Colocate.ColocateCommand.Run(args[1..], commandLine),
                "noise" => Noise.NoiseCommand.Run(args[1..]),
                "demo" => Demo.DemoCommand.Run(args[1..], commandLine),
                "model" => Model.ModelCommand.Run(args[1..], commandLine),
                "kv" => Kv.KvCommand.Run(args[1..], commandLine),
                "soak" => Soak.SoakCommand.Run(args[1..]),
                _ => throw new UsageException($"unknown verb '{args[0]}'; valid: demo, sched, udp, tcp, kv, echo, colocate, noise, model, soak"),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"netstack-loadgen: {e.Message}");
            return 2;
        }
        catch (CoreNotAvailableException e)
        {
            Console.Error.WriteLine($"netstack-loadgen: {e.Message}");
            return 2;
        }
    }

    private static void PrintUsage(TextWriter w)
    {
        w.WriteLine("usage: netstack-loadgen VERB [options]");
        w.WriteLine("  " + Demo.DemoCommand.Usage);
        w.WriteLine("  " + SchedCommand.Usage);
        w.WriteLine("  " + Colocate.ColocateCommand.Usage);
        w.WriteLine("  " + Noise.NoiseCommand.Usage);
        w.WriteLine("  " + UdpCommand.Usage);
        w.WriteLine("  " + Kv.KvCommand.Usage);
        w.WriteLine("  " + EchoCommand.Usage);
        w.WriteLine("  " + Model.ModelCommand.Usage);
        w.WriteLine("  " + Soak.SoakCommand.Usage);
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Contains('<', StringComparison.Ordinal) ? $"\"{s}\"" : s;
}
