// Progress of a long run: which point runs, how many remain, and the time left; quiet off a terminal.
namespace NetStack.LoadGen;

/// <summary>Prints one status line per point to stderr when stderr is a terminal.</summary>
internal sealed class Progress(int total, double secondsPerPoint)
{
    private readonly bool _enabled = !Console.IsErrorRedirected;
    private int _done;

    /// <summary>A point is about to run.</summary>
    public void Starting(string what)
    {
        if (!_enabled)
        {
            return;
        }
        double left = (total - _done) * secondsPerPoint;
        Console.Error.WriteLine($"[{_done + 1}/{total}] {what}  (~{FormatSeconds(left)} left)");
    }

    /// <summary>A point finished, with a one-line result.</summary>
    public void Finished(string result)
    {
        _done++;
        if (_enabled)
        {
            Console.Error.WriteLine($"        {result}");
        }
    }

    private static string FormatSeconds(double s) => s >= 90 ? $"{s / 60:F1} min" : $"{s:F0} s";
}
