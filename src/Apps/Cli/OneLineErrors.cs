// Runs a System.CommandLine command tree the way NetStack's tools report bad input: one line on stderr, exit code 2.
using System.CommandLine;
using System.CommandLine.Parsing;

namespace NetStack.Apps.Cli;

/// <summary>Bad command-line input, found after parsing (a value the options types refuse, an unknown key).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parses and invokes a <see cref="RootCommand"/> with NetStack's conventions: <c>--help</c> on every
/// command; a parse error (an unknown command or option, a missing value) is one line on stderr,
/// <c>TOOL: what is wrong; see TOOL COMMAND --help</c>, with exit code 2; so is a
/// <see cref="UsageException"/> thrown by an action. Other exceptions propagate to the caller.
/// </summary>
internal static class OneLineErrors
{
    /// <summary>The exit code for bad input.</summary>
    public const int BadInput = 2;

    /// <summary>Parses <paramref name="args"/> and runs the chosen command's action; returns its exit code.</summary>
    public static int Invoke(RootCommand root, string[] args, string tool)
    {
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            ParseError first = result.Errors[0];
            Console.Error.WriteLine($"{tool}: {Lower(first.Message.TrimEnd('.'))}; see {HelpFor(result, tool)}");
            return BadInput;
        }
        try
        {
            // No handler of System.CommandLine's own for Ctrl+C or SIGTERM: the actions run hosts that have theirs.
            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"{tool}: {e.Message}");
            return BadInput;
        }
    }

    /// <summary>The help command line for the command a parse reached ("netstack serve --help").</summary>
    private static string HelpFor(ParseResult result, string tool)
    {
        var path = new List<string>();
        for (CommandResult? c = result.CommandResult; c?.Parent is CommandResult parent; c = parent)
        {
            path.Insert(0, c.Command.Name);
        }
        return string.Join(' ', [tool, .. path, "--help"]);
    }

    private static string Lower(string message) =>
        message.Length > 1 && char.IsUpper(message[0]) && !char.IsUpper(message[1]) ? char.ToLowerInvariant(message[0]) + message[1..] : message;
}
