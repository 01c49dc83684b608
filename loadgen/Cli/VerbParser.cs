// Parsing a verb's command line with System.CommandLine; a line that cannot run becomes one line naming the valid choices.
using System.CommandLine;
using System.CommandLine.Parsing;

namespace NetStack.LoadGen.Cli;

/// <summary>Parses verbs' command lines and turns a failed parse into the one line a user reads (exit code 2).</summary>
internal static class VerbParser
{
    /// <summary>Response files off: an argument that starts with @ is the text it says, as it always was.</summary>
    public static ParserConfiguration Configuration { get; } = new() { ResponseFileTokenReplacer = null };

    /// <summary>The verb's command, running <paramref name="run"/> (exit code 0 when it returns).</summary>
    public static Command WithAction(Command verb, Action<ParseResult> run)
    {
        verb.SetAction(result =>
        {
            run(result);
            return 0;
        });
        return verb;
    }

    /// <summary>Parses <paramref name="args"/> against one verb's command (a verb run from another, as the demo runs sched).</summary>
    /// <exception cref="UsageException">The line cannot run.</exception>
    public static ParseResult Parse(Command verb, IReadOnlyList<string> args)
    {
        ParseResult result = verb.Parse(LastWins(verb, args), Configuration);
        return FirstError(result) is { } error ? throw new UsageException(error) : result;
    }

    /// <summary>
    /// <paramref name="args"/> (a verb's, after its name) with each option that is given more than once given only its
    /// last time, as the hand-written parser took it: a script may append an override to a line of defaults.
    /// </summary>
    public static string[] LastWins(Command verb, IReadOnlyList<string> args)
    {
        var byName = new Dictionary<string, Option>(StringComparer.Ordinal);
        foreach (Option option in verb.Options)
        {
            foreach (string name in option.Aliases.Prepend(option.Name))
            {
                byName[name] = option;
            }
        }
        var keep = Enumerable.Repeat(true, args.Count).ToArray();
        var last = new Dictionary<Option, (int At, int Tokens)>();
        for (int i = 0; i < args.Count && args[i] != "--"; i++)
        {
            int eq = args[i].IndexOf('=', StringComparison.Ordinal);
            if (!byName.TryGetValue(eq > 0 ? args[i][..eq] : args[i], out Option? option))
            {
                continue;
            }
            int tokens = eq < 0 && option.Arity.MaximumNumberOfValues > 0 && i + 1 < args.Count ? 2 : 1;
            if (last.TryGetValue(option, out var earlier))
            {
                keep.AsSpan(earlier.At, earlier.Tokens).Fill(false);
            }
            last[option] = (i, tokens);
            i += tokens - 1;
        }
        return args.Where((_, i) => keep[i]).ToArray();
    }

    /// <summary>
    /// The one line for a parse that failed, or null. In order: an argument no option takes (naming
    /// the valid options, or the valid verbs at the top), an option without
    /// its value, a required option missing, then the first value an option's own check refused.
    /// </summary>
    public static string? FirstError(ParseResult result)
    {
        if (result.Errors.Count == 0)
        {
            return null;
        }
        Command command = result.CommandResult.Command;
        string? unmatched = result.UnmatchedTokens.FirstOrDefault();
        if (command is RootCommand)
        {
            return unmatched is null
                ? $"a verb is needed; valid: {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
                : $"unknown verb '{unmatched}'; valid: {string.Join(", ", command.Subcommands.Select(c => c.Name))}";
        }
        string verb = command.Name;
        if (unmatched is not null)
        {
            return unmatched.StartsWith('-')
                ? $"{verb}: unknown option {unmatched}; valid: {string.Join(", ", ValidOptions(command))}"
                : $"{verb}: unexpected argument '{unmatched}'; options start with --";
        }
        foreach (Option option in command.Options)
        {
            OptionResult? given = result.GetResult(option);
            if (given is { Implicit: false, Tokens.Count: 0 } && option.Arity.MinimumNumberOfValues > 0)
            {
                return $"{verb}: {option.Name} needs a value";
            }
            // A required option that is absent may still have a result (the parser hangs its error there): no token names it.
            if (option.Required && given is null or { IdentifierTokenCount: 0 })
            {
                return $"{verb}: {option.Name} is required";
            }
        }
        return Named(verb, result.Errors[0].Message);
    }

    /// <summary>A usage error's line, naming the verb unless it already does.</summary>
    public static string Named(string verb, string message) =>
        message.StartsWith(verb + ":", StringComparison.Ordinal) ? message : $"{verb}: {message}";

    private static IEnumerable<string> ValidOptions(Command command) => command.Options
        .Concat(command.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive)))
        .Where(o => !o.Hidden)
        .Select(o => o.Name)
        .Distinct()
        .Order(StringComparer.Ordinal);
}
