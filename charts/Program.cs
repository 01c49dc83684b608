// The `NetStack.Charts DIR` command: renders every report.json under DIR and prints the PNG paths.
using System.Text.Json;

namespace NetStack.Charts;

/// <summary>Command-line entry: <c>dotnet run --project charts -- DIR</c>.</summary>
internal static class Program
{
    /// <summary>Exit code when the charts were rendered.</summary>
    public const int Ok = 0;

    /// <summary>Exit code when a report could not be read.</summary>
    public const int BadReport = 1;

    /// <summary>Exit code for a usage error: no DIR, a missing DIR, or no report.json in it.</summary>
    public const int UsageError = 2;

    /// <summary>Renders, printing to the console.</summary>
    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>Renders every report under args[0], printing each PNG path to <paramref name="output"/>; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count != 1)
        {
            error.WriteLine("usage: NetStack.Charts DIR (renders every report.json under DIR to PNG charts beside it)");
            return UsageError;
        }
        string dir = args[0];
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
