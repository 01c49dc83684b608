// kv's server-side latency per operation type, counted on the threads that run requests and shown by `stats latency`.
using NetStack.Apps.Kv.Protocol;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;

namespace NetStack.Apps.Kv;

/// <summary>
/// Counts each request's server-side latency, from its arrival stamp (the IOKernel's NIC queue,
/// <see cref="RequestContext.ArrivalTicks"/>) to the end of its handler, in the
/// <see cref="LatencyBuckets"/> of its <see cref="KvRequestType"/>. A client that reads the counts
/// before and after a run (<c>stats latency</c>) learns what share of the latency it measured was
/// the server's: the rest is its own lateness, the kernel's sockets and the wire.
/// </summary>
/// <remarks>
/// Each thread that runs requests (a carrier, or the thread a detached request finishes on) counts
/// into its own array, with plain increments, so counting moves no cache line between cores; a
/// reader sums the arrays racily (a count read one behind is harmless for a delta). The arrays are
/// made once per thread, so counting allocates nothing after a thread's first request. Counts are
/// cumulative since start: <c>stats reset</c> does not clear them (a reset from another thread would
/// race the increments), so readers take differences.
/// </remarks>
internal sealed class KvLatency
{
    /// <summary>Types counted apart (<see cref="KvRequestType"/>).</summary>
    public const int Types = KvProtocol.RequestTypes;

    // Both ends padded by two cache lines: another thread's array may sit next to this one.
    private const int PadLongs = 16;

    // The calling thread's array of the last KvLatency it counted for (one in a process, as a rule).
    [ThreadStatic] private static KvLatency? t_owner;
    [ThreadStatic] private static long[]? t_counts;

    // Every thread's array, kept when the thread ends (ThreadLocal's would go with it), so counts
    // stay cumulative whoever counted them; by managed thread id (a reused id reuses the array of a
    // thread that has ended, which is still one writer).
    private readonly Dictionary<int, long[]> _byThread = [];

    /// <summary>A request of <paramref name="type"/> that arrived at <paramref name="arrivalTicks"/>
    /// ends now (a request with no arrival stamp, run outside a NIC, is not counted).</summary>
    public void Record(int type, long arrivalTicks, long nowTicks)
    {
        if (arrivalTicks <= 0)
        {
            return;
        }
        int t = (uint)type < Types ? type : (int)KvRequestType.Other;
        long[] counts = ReferenceEquals(t_owner, this) ? t_counts! : Attach();
        counts[PadLongs + t * LatencyBuckets.Count + LatencyBuckets.IndexOf(Clock.ToNs(nowTicks - arrivalTicks))]++;
    }

    /// <summary>The calling thread's first count for this instance: its array, made once.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private long[] Attach()
    {
        lock (_byThread)
        {
            int id = Environment.CurrentManagedThreadId;
            if (!_byThread.TryGetValue(id, out long[]? counts))
            {
                _byThread[id] = counts = new long[PadLongs + Types * LatencyBuckets.Count + PadLongs];
            }
            t_owner = this;
            t_counts = counts;
            return counts;
        }
    }

    /// <summary>Adds every thread's counts of <paramref name="type"/> into <paramref name="into"/>
    /// (<see cref="LatencyBuckets.Count"/> longs).</summary>
    public void AddTo(int type, Span<long> into)
    {
        int from = PadLongs + type * LatencyBuckets.Count;
        lock (_byThread)
        {
            foreach (long[] counts in _byThread.Values)
            {
                for (int i = 0; i < LatencyBuckets.Count; i++)
                {
                    into[i] += Volatile.Read(ref counts[from + i]);
                }
            }
        }
    }

    /// <summary>The name <c>stats latency</c> gives <paramref name="type"/>.</summary>
    public static string TypeName(int type) => KvProtocol.NameOf((KvRequestType)type);
}
