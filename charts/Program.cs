// The `NetStack.Charts DIR` command: renders every report.json under DIR and prints the PNG paths.
using System.CommandLine;
using System.Text.Json;

namespace NetStack.Charts;

/// <summary>Command-line entry: <c>dotnet run --project charts -- DIR</c>, on System.CommandLine.</summary>
internal static class Program
{
    /// <summary>Exit code when the charts were rendered.</summary>
    public const int Ok = 0;

    /// <summary>Exit code when a report could not be read.</summary>
    public const int BadReport = 1;

    /// <summary>Exit code for a usage error: no DIR, a missing DIR, or no report.json in it.</summary>
    public const int UsageError = 2;

    private const string Usage = "usage: NetStack.Charts DIR (renders every report.json under DIR to PNG charts beside it)";

    /// <summary>Renders, printing to the console.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Renders every report under args[0], printing each PNG path to <paramref name="output"/>; returns the exit code.
    /// <c>--help</c> prints help to <paramref name="output"/>.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var dirArgument = new Argument<string>("DIR")
        {
            Description = $"a folder: every {ChartRenderer.ReportFileName} under it, at any depth, is rendered to PNG charts beside it",
        };
        // An unknown option is an error, not a folder's name (a folder whose name starts with - is given as ./-name).
        dirArgument.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: var dir }] && dir.StartsWith('-'))
            {
                result.AddError($"unknown option {dir}");
            }
        });
        var root = new RootCommand("NetStack.Charts: renders NetStack's report.json files (sched, udp, tcp, kv, colocate, model) to PNG charts " +
            "and prints each chart's path; the measuring verbs do it at the end of a run unless --no-charts") { dirArgument };
        root.SetAction(result => Render(result.GetRequiredValue(dirArgument), output, error));
        // Response files off: a folder whose name starts with @ is that folder.
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Action is not { ClearsParseErrors: true } && parsed.Errors.Count > 0)
        {
            string? unknown = parsed.Errors.Select(e => e.Message).FirstOrDefault(m => m.StartsWith("unknown option", StringComparison.Ordinal));
            error.WriteLine(unknown is null ? Usage : $"charts: {unknown}; {Usage}");
            return UsageError;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    private static int Render(string dir, TextWriter output, TextWriter error)
    {
        if (!Directory.Exists(dir))
        {
            error.WriteLine($"charts: no directory {dir}");
            return UsageError;
        }
        if (ChartRenderer.FindReports(dir).Count == 0)
        {
            error.WriteLine($"charts: no {ChartRenderer.ReportFileName} under {dir}");
            return UsageError;
        }
        try
        {
            foreach (string png in ChartRenderer.RenderDirectory(dir))
            {
                output.WriteLine(png);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            error.WriteLine($"charts: {e.Message}");
            return BadReport;
        }
        return Ok;
    }
}
