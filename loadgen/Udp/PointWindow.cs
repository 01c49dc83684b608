// An open-loop point's run on the caller's thread: the process's allocations over the measured window, then bounded joins of its sender and receiver.
namespace NetStack.LoadGen.Udp;

/// <summary>What every open-loop point (udp, tcp, kv over TCP or UDP) does while its own threads send and receive.</summary>
internal static class PointWindow
{
    /// <summary>Sleeps to the measured window's start, then to the point's end, and returns the bytes
    /// the whole process allocated between the two (the generator's own figure, beside the server's).</summary>
    public static long AllocatedBytes(long measureFromTicks, long endTicks)
    {
        Reports.ReportFiles.SleepUntil(measureFromTicks);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Reports.ReportFiles.SleepUntil(endTicks);
        return GC.GetTotalAllocatedBytes(precise: true) - before;
    }

    /// <summary>
    /// Starts <paramref name="receiver"/> (none when the sender receives inline) and
    /// <paramref name="sender"/>, measures <see cref="AllocatedBytes"/>, and joins both within the
    /// grace bound plus 5 s (every loop checks the clock against the point's end, so the bound is a
    /// bound, not a hope). Throws when one did not finish, or with the first failure
    /// <paramref name="failure"/> returns; else returns the bytes allocated.
    /// </summary>
    public static long Run(Thread sender, Thread? receiver, long measureFromTicks, long endTicks, double maxGraceSeconds,
        string what, Func<Exception?> failure)
    {
        receiver?.Start();
        sender.Start();
        long allocated = AllocatedBytes(measureFromTicks, endTicks);
        TimeSpan bound = TimeSpan.FromSeconds(maxGraceSeconds + 5);
        if (!sender.Join(bound) || (receiver is not null && !receiver.Join(bound)))
        {
            throw new InvalidOperationException($"{what} did not finish within {bound.TotalSeconds:0} s of its end");
        }
        if (failure() is { } e)
        {
            throw new InvalidOperationException($"{what} failed: {e.Message}", e);
        }
        return allocated;
    }
}
