// The kinds of option the verbs take, on System.CommandLine: each checks its own value and names the valid choices in one line.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace NetStack.LoadGen.Cli;

/// <summary>A comma list of numbers as an option's value; its text is the list as one types it, so help shows defaults that way.</summary>
internal sealed class NumberList(IReadOnlyList<double> values)
{
    /// <summary>The numbers; +∞ where "max" was given.</summary>
    public IReadOnlyList<double> Values => values;

    /// <inheritdoc/>
    public override string ToString() =>
        string.Join(',', values.Select(v => double.IsPositiveInfinity(v) ? "max" : v.ToString(CultureInfo.InvariantCulture)));
}

/// <summary>A comma list of names as an option's value, each one of the option's valid names, as that list spells it.</summary>
internal sealed class NameList(IReadOnlyList<string> names)
{
    /// <summary>The names, in the order given.</summary>
    public IReadOnlyList<string> Names => names;

    /// <inheritdoc/>
    public override string ToString() => string.Join(',', names);
}

/// <summary>
/// Option factories. Every option reads one value (<c>--name value</c> or <c>--name=value</c>; given twice, the last
/// counts: <see cref="VerbParser.LastWins"/>), checks it when parsed and reports a bad one as a parse error in the words of the old hand-written parser
/// ("--quantum-us must be a number from 1 to 1000, not '0.1'"). A default is a DefaultValueFactory, which
/// help shows; an option without one reads null when absent (an array-typed one, an empty array) and its description
/// says what that means.
/// </summary>
internal static class CliOption
{
    /// <summary>A number with a default, within [min, max].</summary>
    public static Option<double> Number(string name, double fallback, double min, double max, string description, string helpName = "N") =>
        WithDefault(Create(name, helpName, description, text => ParseNumber(name, text, min, max)), fallback);

    /// <summary>A number within [min, max], null when absent.</summary>
    public static Option<double?> OptionalNumber(string name, double min, double max, string description, string helpName = "N") =>
        Create<double?>(name, helpName, description, text => ParseNumber(name, text, min, max));

    /// <summary>An integer with a default, within [min, max].</summary>
    public static Option<int> Integer(string name, int fallback, int min, int max, string description, string helpName = "N") =>
        WithDefault(Create(name, helpName, description, text => ParseInteger(name, text, min, max)), fallback);

    /// <summary>An integer within [min, max], null when absent.</summary>
    public static Option<int?> OptionalInteger(string name, int min, int max, string description, string helpName = "N") =>
        Create<int?>(name, helpName, description, text => ParseInteger(name, text, min, max));

    /// <summary>A comma list of numbers within [min, max] ("max" for +∞ when <paramref name="allowMax"/>); null when absent and no fallback.</summary>
    public static Option<NumberList> Numbers(string name, IReadOnlyList<double>? fallback, double min, double max, string description,
        string helpName = "N1,N2,...", bool allowMax = false)
    {
        Option<NumberList> option = Create(name, helpName, description, text => ParseNumbers(name, text, min, max, allowMax));
        return fallback is null ? option : WithDefault(option, new NumberList(fallback));
    }

    /// <summary>A comma list of names, each one of <paramref name="valid"/> (any case), with a default list.</summary>
    /// <param name="what">What a name is, for the message: "unknown policy 'lifo'; valid: cfcfs, ps, dfcfs".</param>
    public static Option<NameList> Names(string name, string fallback, IReadOnlyList<string> valid, string what, string description) =>
        WithDefault(Create(name, string.Join('|', valid) + "[,...]", description, text => new NameList(ParseNames(name, text, valid, what))),
            new NameList(ParseNames(name, fallback, valid, what)));

    /// <summary>One name of <paramref name="valid"/> (any case), with a default, or none (null when absent) when <paramref name="fallback"/> is null.</summary>
    public static Option<string> Name(string name, string? fallback, IReadOnlyList<string> valid, string what, string description, string? helpName = null)
    {
        Option<string> option = Create(name, helpName ?? string.Join('|', valid), description, text => ParseNames(name, text, valid, what) is [var one]
            ? one
            : throw new UsageException($"--{name} takes one of {string.Join(", ", valid)}, not '{text}'"));
        return fallback is null ? option : WithDefault(option, fallback);
    }

    /// <summary>Text, null when absent.</summary>
    public static Option<string?> Text(string name, string helpName, string description) =>
        Create<string?>(name, helpName, description, text => text);

    /// <summary>A value made by <paramref name="parse"/>, which throws <see cref="UsageException"/> for a bad one; when absent, <paramref name="fallback"/>.</summary>
    public static Option<T?> Parsed<T>(string name, string helpName, string description, Func<string, T> parse, T? fallback = null) where T : class
    {
        Option<T?> option = Create<T?>(name, helpName, description, parse);
        return fallback is null ? option : WithDefault(option, fallback);
    }

    /// <summary>A switch: true when given.</summary>
    public static Option<bool> Flag(string name, string description) => new("--" + name) { Description = description, Arity = ArgumentArity.Zero };

    /// <summary>Marks the option required (help says so; its absence is the error "--name is required").</summary>
    public static Option<T> Required<T>(this Option<T> option)
    {
        option.Required = true;
        return option;
    }

    /// <summary>A verb's command with its options, in the order help lists them.</summary>
    public static Command Command(string name, string description, IEnumerable<Option> options)
    {
        var command = new Command(name, description);
        foreach (Option option in options)
        {
            command.Options.Add(option);
        }
        return command;
    }

    private static Option<T> Create<T>(string name, string helpName, string description, Func<string, T> parse) => new("--" + name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = result =>
        {
            // A missing value is reported by VerbParser, which sees the whole line.
            if (result.Tokens.Count != 1)
            {
                return default!;
            }
            try
            {
                return parse(result.Tokens[0].Value);
            }
            catch (UsageException e)
            {
                result.AddError(e.Message);
                return default!;
            }
        },
    };

    private static Option<T> WithDefault<T>(Option<T> option, T fallback)
    {
        option.DefaultValueFactory = _ => fallback;
        return option;
    }

    private static double ParseNumber(string name, string text, double min, double max) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max
            ? v
            : throw new UsageException($"--{name} must be a number from {Inv(min)} to {Inv(max)}, not '{text}'");

    private static int ParseInteger(string name, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
            ? v
            : throw new UsageException($"--{name} must be an integer from {min} to {max}, not '{text}'");

    private static NumberList ParseNumbers(string name, string text, double min, double max, bool allowMax)
    {
        var list = new List<double>();
        foreach (string part in Split(name, text))
        {
            if (allowMax && part == "max")
            {
                list.Add(double.PositiveInfinity);
            }
            else if (double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max)
            {
                list.Add(v);
            }
            else
            {
                throw new UsageException($"--{name} takes a comma list of numbers from {Inv(min)} to {Inv(max)}{(allowMax ? " or 'max'" : "")}, not '{part}'");
            }
        }
        return new NumberList(list);
    }

    private static List<string> ParseNames(string name, string text, IReadOnlyList<string> valid, string what) =>
        Split(name, text).Select(part => valid.FirstOrDefault(v => string.Equals(v, part, StringComparison.OrdinalIgnoreCase))
            ?? throw new UsageException($"unknown {what} '{part}'; valid: {string.Join(", ", valid)}")).ToList();

    private static string[] Split(string name, string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length > 0 ? parts : throw new UsageException($"--{name} is empty");
    }

    private static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
