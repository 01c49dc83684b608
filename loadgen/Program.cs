// `netstack-loadgen`: the verbs that measure NetStack (demo, sched in-process, udp and tcp over the network, kv against memcached-compatible servers, echo as their trivial peer, and more), on System.CommandLine.
using System.CommandLine;
using NetStack.LoadGen.Cli;
using NetStack.Runtime;

namespace NetStack.LoadGen;

/// <summary>Entry point: a verb, then its options. <c>--help</c> on any verb; exit code 2, with one line, for a command line that cannot run.</summary>
internal static class Program
{
    /// <summary>What the program is, for help.</summary>
    public const string Description = "netstack-loadgen: measures NetStack: its policies in-process (sched, colocate, demo), servers over UDP, TCP " +
        "and memcached's protocols (udp, tcp, kv, soak), the machine's own floor (noise) and the queueing model (model)";

    /// <summary>Runs a verb.</summary>
    public static int Main(string[] args)
    {
        // "help" and "help VERB", as before, are --help.
        if (args is ["help", .. var rest])
        {
            args = [.. rest, "--help"];
        }
        string commandLine = "netstack-loadgen " + string.Join(' ', args.Select(Quote));
        RootCommand root = Root(commandLine);
        if (args.Length > 0 && root.Subcommands.FirstOrDefault(c => c.Name == args[0]) is { } verb)
        {
            args = [args[0], .. VerbParser.LastWins(verb, args[1..])];
        }
        ParseResult result = root.Parse(args, VerbParser.Configuration);
        // --help (and --version) answer whatever else the line holds.
        if (result.Action is not { ClearsParseErrors: true } && VerbParser.FirstError(result) is { } error)
        {
            if (args.Length == 0)
            {
                root.Parse(["--help"], VerbParser.Configuration).Invoke();
            }
            else
            {
                Console.Error.WriteLine($"netstack-loadgen: {error}");
            }
            return 2;
        }
        try
        {
            // Exceptions reach the handlers below; each verb that must stop in order on Ctrl+C registers for it.
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
        }
        catch (Exception e) when (e is UsageException or CoreNotAvailableException)
        {
            Console.Error.WriteLine($"netstack-loadgen: {VerbParser.Named(result.CommandResult.Command.Name, e.Message)}");
            return 2;
        }
    }

    /// <summary>The root command: every verb, each writing its report for <paramref name="commandLine"/>.</summary>
    public static RootCommand Root(string commandLine)
    {
        var root = new RootCommand(Description);
        Command[] verbs =
        [
            Demo.DemoCommand.Create(commandLine),
            Sched.SchedCommand.Create(commandLine),
            Udp.UdpCommand.Create(commandLine, "udp"),
            Udp.UdpCommand.Create(commandLine, "tcp"),
            Kv.KvCommand.Create(commandLine),
            Echo.EchoCommand.Create(),
            Colocate.ColocateCommand.Create(commandLine),
            Noise.NoiseCommand.Create(),
            Model.ModelCommand.Create(commandLine),
            Soak.SoakCommand.Create(),
        ];
        foreach (Command verb in verbs)
        {
            root.Subcommands.Add(verb);
        }
        return root;
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) || s.Contains('<', StringComparison.Ordinal) ? $"\"{s}\"" : s;
}
