// Per-carrier latency counts in log2 buckets: the one thing the data path does for metrics, per completion.
using System.Numerics;
using System.Runtime.CompilerServices;
using NetStack.Runtime;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Telemetry.Metrics;

/// <summary>
/// Log2 buckets with four linear sub-buckets per power of two (HdrHistogram with two bits of
/// precision): a value lands in a bucket whose width is at most a quarter of its lower bound, so a
/// quantile read from the buckets is within ~25% (interpolated: usually much closer) of the exact one.
/// Values are nanoseconds; everything from 2^40 ns (~18 min) up shares the last bucket.
/// </summary>
internal static class LatencyBuckets
{
    /// <summary>Sub-buckets per power of two, as a bit count.</summary>
    public const int SubBucketBits = 2;

    /// <summary>Values at or above this (ns) are clamped into the last bucket.</summary>
    public const long MaxTrackableNs = (1L << 40) - 1;

    /// <summary>Buckets per app.</summary>
    public const int Count = (40 - 1) << SubBucketBits;

    private const int SubBuckets = 1 << SubBucketBits;

    /// <summary>The bucket of <paramref name="ns"/> (negative values count as 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(long ns)
    {
        ulong v = (ulong)Math.Clamp(ns, 0, MaxTrackableNs);
        if (v < SubBuckets)
        {
            return (int)v;
        }
        int exponent = BitOperations.Log2(v);
        int sub = (int)(v >> (exponent - SubBucketBits)) & (SubBuckets - 1);
        return ((exponent - SubBucketBits + 1) << SubBucketBits) + sub;
    }

    /// <summary>The smallest value (ns) in bucket <paramref name="index"/>.</summary>
    public static long LowerBoundNs(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }
        int exponent = (index >> SubBucketBits) + SubBucketBits - 1;
        int sub = index & (SubBuckets - 1);
        return (long)(SubBuckets + sub) << (exponent - SubBucketBits);
    }

    /// <summary>One past the largest value (ns) in bucket <paramref name="index"/>.</summary>
    public static long UpperBoundNs(int index) => index + 1 < Count ? LowerBoundNs(index + 1) : MaxTrackableNs + 1;

    /// <summary>Buckets holding only values below 2^<paramref name="power"/> ns: the first this many.</summary>
    public static int CountBelowPowerOfTwo(int power) => power <= SubBucketBits ? 1 << power : (power - SubBucketBits + 1) << SubBucketBits;

    /// <summary>The <paramref name="quantile"/> (0..1] of the counts, in µs, interpolated linearly
    /// inside its bucket; NaN when the counts are all zero.</summary>
    public static double QuantileMicros(ReadOnlySpan<long> counts, double quantile)
    {
        long total = 0;
        foreach (long n in counts)
        {
            total += n;
        }
        if (total == 0)
        {
            return double.NaN;
        }
        long rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long before = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] == 0)
            {
                continue;
            }
            if (before + counts[i] >= rank)
            {
                double fraction = (double)(rank - before) / counts[i];
                long lower = LowerBoundNs(i);
                return (lower + fraction * (UpperBoundNs(i) - lower)) / 1000.0;
            }
            before += counts[i];
        }
        return UpperBoundNs(counts.Length - 1) / 1000.0;
    }
}

/// <summary>
/// A <see cref="CompletionRecorder"/> that counts each completion's latency (arrival stamp to
/// completion, the server-side sojourn) in the <see cref="LatencyBuckets"/> of its app, then
/// forwards it to an inner recorder (the run's HdrHistogram recorder from NetStack.Measurement, or none).
/// One instance per carrier, like every recorder: the carrier is the only writer of its array, so
/// the increment is a plain one; <see cref="NetStackMetrics"/> reads the array at collection time.
/// </summary>
internal sealed class LatencyBucketRecorder : CompletionRecorder
{
    // Both ends padded by two cache lines: another carrier's array may sit next to this one on
    // the heap, and its writes must not invalidate our lines (nor the adjacent-line prefetch).
    private const int PadLongs = 16;

    private readonly long[] _counts;
    private readonly int _apps;

    /// <param name="inner">Receives every call after it is counted (null: none).</param>
    /// <param name="apps">The kernel's app count; completions of an app id outside it count as app 0.</param>
    public LatencyBucketRecorder(CompletionRecorder? inner = null, int apps = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(apps, 1);
        Inner = inner;
        _apps = apps;
        _counts = new long[PadLongs + apps * LatencyBuckets.Count + PadLongs];
    }

    /// <summary>The recorder this one forwards to.</summary>
    public CompletionRecorder? Inner { get; }

    /// <summary>Apps this recorder keeps buckets for.</summary>
    public int Apps => _apps;

    /// <summary>A factory for the IOKernel's constructor: one bucket recorder per carrier (and one
    /// for the IOKernel's own completions), each wrapping what <paramref name="inner"/> makes.</summary>
    public static Func<CompletionRecorder> Factory(int apps, Func<CompletionRecorder>? inner = null) =>
        () => new LatencyBucketRecorder(inner?.Invoke(), apps);

    /// <inheritdoc />
    public override void RecordCompletion(in CompletionStamps ctx)
    {
        int app = ctx.AppId;
        int bucket = LatencyBuckets.IndexOf(Clock.ToNs(ctx.CompletionTicks - ctx.ArrivalTicks));
        int slot = PadLongs + ((uint)app < (uint)_apps ? app * LatencyBuckets.Count : 0) + bucket;
        // Single writer (this carrier's thread): no Interlocked. The reader's Volatile.Read of an
        // aligned long is never torn on a 64-bit runtime, so at worst it sees the count one behind.
        _counts[slot]++;
        Inner?.RecordCompletion(in ctx);
    }

    /// <inheritdoc />
    public override void RecordPreemptionLatency(long ticks) => Inner?.RecordPreemptionLatency(ticks);

    /// <summary>Adds this recorder's counts for <paramref name="app"/> into <paramref name="into"/>
    /// (<see cref="LatencyBuckets.Count"/> long); safe from any thread while the carrier runs.</summary>
    public void AddTo(int app, Span<long> into)
    {
        if ((uint)app >= (uint)_apps)
        {
            return;
        }
        int from = PadLongs + app * LatencyBuckets.Count;
        for (int i = 0; i < LatencyBuckets.Count; i++)
        {
            // Acquire is not needed for correctness (counts are independent); Volatile keeps the
            // JIT from caching a read, and documents that another thread writes the array.
            into[i] += Volatile.Read(ref _counts[from + i]);
        }
    }

    /// <summary>Completions counted, every app.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = PadLongs; i < _counts.Length - PadLongs; i++)
            {
                sum += Volatile.Read(ref _counts[i]);
            }
            return sum;
        }
    }
}
