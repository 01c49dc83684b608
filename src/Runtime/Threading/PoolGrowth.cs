// The managed bytes a thread allocated growing a pool past its high-water mark, counted apart from the rest.
namespace NetStack.Runtime.Threading;

/// <summary>
/// Pools (green threads, receive blocks, reply segments, connections, suspended handlers' boxes) grow only when what is in
/// flight passes the most they have held so far, and never past their bound; each growth allocates
/// once, then the pool reuses what it made. The bytes of those growths are counted here, per thread,
/// so that an <see cref="AllocationMeter"/> can say how much of what the data path allocated was a
/// pool reaching a new high-water mark and how much was anything else (the part that must be 0 per
/// request). Every allocation a growth makes is inside a <see cref="Measure"/> scope.
/// </summary>
internal static class PoolGrowth
{
    [ThreadStatic]
    private static long t_bytes;

    /// <summary>Growth bytes this thread allocated so far.</summary>
    public static long OnThisThread => t_bytes;

    /// <summary>Counts what this thread allocates until the scope is disposed as pool growth.</summary>
    public static Scope Measure() => new(GC.GetAllocatedBytesForCurrentThread());

    /// <summary>One growth being counted.</summary>
    public readonly struct Scope(long startBytes) : IDisposable
    {
        /// <summary>Adds the bytes allocated since the scope began.</summary>
        public void Dispose() => t_bytes += GC.GetAllocatedBytesForCurrentThread() - startBytes;
    }
}
