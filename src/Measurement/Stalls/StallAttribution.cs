// Which requests a machine stall could have delayed: every request of a busy period that a stall touches.
using NetStack.Measurement.Recording;
using NetStack.Runtime.Threading;

namespace NetStack.Measurement.Stalls;

/// <summary>What one attribution found.</summary>
/// <param name="BusyPeriods">Maximal stretches with a request in flight.</param>
/// <param name="TouchedBusyPeriods">Of those, the ones a stall overlapped.</param>
/// <param name="TouchedRequests">Requests in touched busy periods.</param>
internal readonly record struct AttributionCounts(int BusyPeriods, int TouchedBusyPeriods, int TouchedRequests);

/// <summary>
/// Tells the requests a stall could have delayed from the ones no stall could have. A stall delays
/// not only the requests in flight while it lasts but every request queued behind them, until the
/// server next empties: so the unit is the busy period, the maximal interval in which some request
/// was in flight (the union of overlapping [arrival, completion] intervals). A busy period is
/// touched when any stall, on any core of the run, overlaps it; all of its requests are left out of
/// the untouched figures, and the requests of every other busy period are kept. A request that
/// arrives during a stall while the server is idle starts a busy period the stall overlaps, so it
/// is touched too: it waited for the machine. Pure over its inputs, so tests drive it with made-up
/// times.
/// </summary>
internal static class StallAttribution
{
    /// <summary>
    /// Marks <paramref name="touched"/>[i] for every request i in a busy period some stall overlaps.
    /// A stall overlaps [b0, b1] when it starts before b1 and ends after b0: a stall that begins
    /// exactly as the last request completes, or ends exactly as the first arrives, delayed nothing.
    /// </summary>
    /// <param name="requests">Requests in any order (each with completion ≥ arrival; a completion
    /// before its arrival is read as the arrival).</param>
    /// <param name="stalls">Stalls in any order, on any core.</param>
    /// <param name="touched">One flag per request, written for every request.</param>
    public static AttributionCounts Attribute(ReadOnlySpan<RequestRecord> requests, ReadOnlySpan<Stall> stalls, Span<bool> touched)
    {
        if (touched.Length < requests.Length)
        {
            throw new ArgumentException("one flag per request is needed", nameof(touched));
        }
        int n = requests.Length;
        var order = new int[n];
        var arrivals = new long[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            arrivals[i] = requests[i].ArrivalTicks;
        }
        Array.Sort(arrivals, order);

        var starts = new long[stalls.Length];
        var ends = new long[stalls.Length];
        for (int s = 0; s < stalls.Length; s++)
        {
            starts[s] = stalls[s].StartTicks;
            ends[s] = stalls[s].EndTicks;
        }
        Array.Sort(starts, ends);

        int periods = 0, touchedPeriods = 0, touchedRequests = 0;
        int nextStall = 0;
        // The latest end of every stall that starts before the current period ends. Periods come in
        // time order and do not overlap, so one pass over the stalls serves them all: a period
        // [b0, b1] is touched exactly when some stall starting before b1 ends after b0.
        long latestEnd = long.MinValue;
        for (int first = 0; first < n;)
        {
            long b0 = arrivals[first];
            long b1 = Math.Max(b0, requests[order[first]].CompletionTicks);
            int last = first;
            while (last + 1 < n && arrivals[last + 1] <= b1)
            {
                last++;
                b1 = Math.Max(b1, requests[order[last]].CompletionTicks);
            }
            while (nextStall < starts.Length && starts[nextStall] < b1)
            {
                latestEnd = Math.Max(latestEnd, ends[nextStall]);
                nextStall++;
            }
            bool hit = latestEnd > b0;
            periods++;
            if (hit)
            {
                touchedPeriods++;
                touchedRequests += last - first + 1;
            }
            for (int k = first; k <= last; k++)
            {
                touched[order[k]] = hit;
            }
            first = last + 1;
        }
        return new AttributionCounts(periods, touchedPeriods, touchedRequests);
    }
}
