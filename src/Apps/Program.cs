// The `netstack` host: runs the IOKernel, its carriers and the apps until Ctrl+C or SIGTERM.
using System.CommandLine;
using NetStack.Apps.Cli;
using NetStack.Apps.Hosting;
using NetStack.Hosting;
using NetStack.Runtime;

namespace NetStack.Apps;

/// <summary>Entry point.</summary>
internal static class Program
{
    /// <summary>Runs the command line. Exit code 2 for bad input or a bad configuration value, 1 for a failure.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "netstack: a microsecond-scale request scheduler for .NET. A pinned IOKernel thread polls the NICs and " +
            "dispatches requests to green threads on pinned worker cores, preempts long ones, and moves cores " +
            "between latency-critical apps and a batch app. `netstack` alone is `netstack serve`.")
        {
            ServeCommand.Create(),
        };
        try
        {
            return OneLineErrors.Invoke(root, ServeByDefault(args), "netstack");
        }
        catch (Exception e) when (e is NetStackConfigurationException or ConfigurationException)
        {
            Console.Error.WriteLine($"netstack: {e.Message}");
            return OneLineErrors.BadInput;
        }
        catch (Exception e) when (e is ArgumentException or CoreNotAvailableException or FormatException)
        {
            Console.Error.WriteLine($"netstack: {Innermost(e).Message}");
            return OneLineErrors.BadInput;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"netstack: failed: {Innermost(e).Message}");
            return 1;
        }
    }

    /// <summary>`netstack --port 9100` is `netstack serve --port 9100`, as before there were commands.</summary>
    private static string[] ServeByDefault(string[] args) =>
        args.Length == 0 || (args[0].StartsWith('-') && args[0] is not ("-h" or "--help" or "-?" or "/?" or "/h" or "--version"))
            ? ["serve", .. args]
            : args;

    private static Exception Innermost(Exception e) => e.InnerException is null ? e : Innermost(e.InnerException);
}
