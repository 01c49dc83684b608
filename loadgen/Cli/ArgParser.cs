// A small, strict command-line parser: every option known, every error one line naming the valid choices.
using System.Globalization;

namespace NetStack.LoadGen.Cli;

/// <summary>A command line that cannot run; the message is the whole story (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Parses "--name value" options and "--flag" switches of one verb.</summary>
internal sealed class ArgParser
{
    private readonly string _verb;
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    /// <param name="verb">The verb, for messages.</param>
    /// <param name="args">Arguments after the verb.</param>
    /// <param name="options">Options that take a value (without the dashes).</param>
    /// <param name="flags">Options that take none.</param>
    public ArgParser(string verb, IReadOnlyList<string> args, IEnumerable<string> options, IEnumerable<string>? flags = null)
    {
        _verb = verb;
        var known = new HashSet<string>(options, StringComparer.Ordinal);
        var knownFlags = new HashSet<string>(flags ?? [], StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"{verb}: unexpected argument '{arg}'; options start with --");
            }
            string name = arg[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            if (knownFlags.Contains(name))
            {
                _flags.Add(name);
            }
            else if (known.Contains(name))
            {
                if (inline is null && i + 1 >= args.Count)
                {
                    throw new UsageException($"{verb}: --{name} needs a value");
                }
                _values[name] = inline ?? args[++i];
            }
            else
            {
                string valid = string.Join(", ", known.Concat(knownFlags).Order().Select(o => "--" + o));
                throw new UsageException($"{verb}: unknown option --{name}; valid: {valid}");
            }
        }
    }

    /// <summary>True when the flag was given.</summary>
    public bool Has(string flag) => _flags.Contains(flag);

    /// <summary>The option's text, or the default.</summary>
    public string? Get(string name, string? fallback = null) => _values.GetValueOrDefault(name, fallback!);

    /// <summary>The option's text; a usage error when missing.</summary>
    public string Require(string name) =>
        _values.TryGetValue(name, out string? v) ? v : throw new UsageException($"{_verb}: --{name} is required");

    /// <summary>A number option.</summary>
    public double GetDouble(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            return fallback;
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < min || v > max)
        {
            throw new UsageException($"{_verb}: --{name} must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, not '{text}'");
        }
        return v;
    }

    /// <summary>An integer option.</summary>
    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min || v > max)
        {
            throw new UsageException($"{_verb}: --{name} must be an integer from {min} to {max}, not '{text}'");
        }
        return v;
    }

    /// <summary>A comma list of numbers; the word "max" stands for saturation (+∞) when allowed.</summary>
    public List<double> GetDoubleList(string name, IReadOnlyList<double> fallback, double min, double max, bool allowMax = false)
    {
        if (!_values.TryGetValue(name, out string? text))
        {
            return [.. fallback];
        }
        var list = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
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
                string range = $"numbers from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}";
                throw new UsageException($"{_verb}: --{name} takes a comma list of {range}{(allowMax ? " or 'max'" : "")}, not '{part}'");
            }
        }
        if (list.Count == 0)
        {
            throw new UsageException($"{_verb}: --{name} is empty");
        }
        return list;
    }

    /// <summary>A comma list of names, each checked against <paramref name="valid"/>.</summary>
    public List<string> GetChoiceList(string name, string fallback, IReadOnlyCollection<string> valid, string what)
    {
        var list = new List<string>();
        foreach (string part in Get(name, fallback)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string? match = valid.FirstOrDefault(v => string.Equals(v, part, StringComparison.OrdinalIgnoreCase));
            if (match is null)
            {
                throw new UsageException($"{_verb}: unknown {what} '{part}'; valid: {string.Join(", ", valid)}");
            }
            list.Add(match);
        }
        if (list.Count == 0)
        {
            throw new UsageException($"{_verb}: --{name} is empty");
        }
        return list;
    }
}
