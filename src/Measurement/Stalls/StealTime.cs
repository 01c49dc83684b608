// The hypervisor's share of a run: each vCPU's steal time from /proc/stat, read before and after.
using System.Globalization;

namespace NetStack.Measurement.Stalls;

/// <summary>
/// Time the hypervisor ran something else while a vCPU of this guest wanted to run ("steal", the
/// eighth field of /proc/stat's cpuN lines), per core. The guest cannot see those gaps as a
/// context switch: the thread that was running simply did not run, so a stall the in-process
/// watches (and the watchdog) see, with steal beside it, is the host's, not the scheduler's nor the
/// kernel's. Counted in USER_HZ ticks (10 ms each on Linux): coarse, but enough to tell a
/// multi-millisecond stall's cause apart. Empty where /proc/stat is not there.
/// </summary>
internal static class StealTime
{
    private const double MillisPerTick = 10; // USER_HZ is 100 on every Linux architecture .NET runs on

    /// <summary>Each core's steal ticks so far (index = core), or an empty array.</summary>
    public static long[] Read()
    {
        try
        {
            var ticks = new List<long>();
            foreach (string line in File.ReadLines("/proc/stat"))
            {
                if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
                {
                    continue;
                }
                string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length > 8 && int.TryParse(f[0].AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out int core)
                    && long.TryParse(f[8], NumberStyles.None, CultureInfo.InvariantCulture, out long steal))
                {
                    while (ticks.Count <= core)
                    {
                        ticks.Add(0);
                    }
                    ticks[core] = steal;
                }
            }
            return [.. ticks];
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Milliseconds stolen from each core between two <see cref="Read"/>s; null when either read had none.</summary>
    public static List<double>? Between(long[] before, long[] after)
    {
        if (before.Length == 0 || after.Length != before.Length)
        {
            return null;
        }
        return before.Select((b, i) => Math.Max(0, after[i] - b) * MillisPerTick).ToList();
    }
}
