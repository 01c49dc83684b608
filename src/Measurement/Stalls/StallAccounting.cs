// A point's stalls and untouched figures, summed over its rounds: attribution per round, figures per class.
using NetStack.Measurement.Recording;
using NetStack.Measurement.Reports;
using NetStack.Runtime;
using NetStack.Runtime.Threading;

namespace NetStack.Measurement.Stalls;

/// <summary>
/// Collects, round by round (a sched point is one round, a colocate configuration several), the
/// requests each round's recorders logged and the stalls its threads saw; attributes them
/// (<see cref="StallAttribution"/>) within the round, where stamps and stalls share one clock and one
/// machine state; and sums what it found: the untouched requests' latency and slowdown per type,
/// how many were left out, and each core's stalls over the measured window. Runs after the threads
/// stopped, off the data path: it may allocate.
/// </summary>
internal sealed class StallAccounting
{
    private readonly LatencyRecorder _untouched;
    private readonly long[] _leftOutPerType;
    private readonly double _thresholdUs;
    private readonly string _seenBy;
    private readonly SortedDictionary<int, CoreTotals> _cores = [];
    private long _requests, _leftOut, _busyPeriods, _touchedBusyPeriods, _notLogged, _notKept, _windowTicks;
    private bool _attributed;

    /// <param name="types">Request types.</param>
    /// <param name="thresholdUs">The stall threshold the watches used.</param>
    /// <param name="seenBy">Which threads watched, for the report (what the figures can and cannot see).</param>
    public StallAccounting(int types, double thresholdUs, string seenBy)
    {
        _untouched = new LatencyRecorder(types);
        _leftOutPerType = new long[types];
        _thresholdUs = thresholdUs;
        _seenBy = seenBy;
    }

    /// <summary>What in-process runs say they saw.</summary>
    public const string SeenInProcess =
        "in-process: the IOKernel's loop, every carrier's loop and the spin handler's own clock reads";

    /// <summary>What network runs say they saw.</summary>
    public const string SeenByGenerator =
        "the load generator's own threads only: the server is another process, so its stalls are not seen, and untouched leaves out only the requests a stall of the generator's threads touched";

    /// <summary>Declares a watched thread's core, so a core that saw no stall is reported with none.</summary>
    public void Watched(int core, string thread)
    {
        CoreTotals c = Core(core);
        if (!c.Threads.Contains(thread))
        {
            c.Threads.Add(thread);
        }
    }

    /// <summary>
    /// One round: the logs of <paramref name="recorders"/> (those without a log are skipped), the
    /// stalls its threads kept and how many they could not keep, and its measured window
    /// [<paramref name="windowFrom"/>, <paramref name="windowUntil"/>): only requests that arrived in
    /// it are counted, but every logged request shapes the busy periods (one that began in warm-up
    /// still delays the window's first requests).
    /// </summary>
    public void AddRound(IEnumerable<LatencyRecorder> recorders, IReadOnlyList<Stall> stalls, long stallsNotKept, long windowFrom, long windowUntil)
    {
        List<RequestLog> logs = recorders.Select(r => r.Log).OfType<RequestLog>().ToList();
        _notKept += stallsNotKept;
        _windowTicks += windowUntil - windowFrom;
        AddCoreStalls(stalls, windowFrom, windowUntil);
        if (logs.Count == 0)
        {
            return;
        }
        _attributed = true;
        var requests = new RequestRecord[logs.Sum(l => l.Count)];
        int at = 0;
        foreach (RequestLog log in logs)
        {
            log.Records.CopyTo(requests.AsSpan(at));
            at += log.Count;
            _notLogged += log.Overflowed;
        }
        var touched = new bool[requests.Length];
        Stall[] all = [.. stalls];
        AttributionCounts counts = StallAttribution.Attribute(requests, all, touched);
        _busyPeriods += counts.BusyPeriods;
        _touchedBusyPeriods += counts.TouchedBusyPeriods;
        for (int i = 0; i < requests.Length; i++)
        {
            RequestRecord r = requests[i];
            if (r.ArrivalTicks < windowFrom || r.ArrivalTicks >= windowUntil)
            {
                continue;
            }
            _requests++;
            if (touched[i])
            {
                _leftOut++;
                _leftOutPerType[r.Type]++;
            }
            else
            {
                _untouched.Record(r.Type, Clock.ToNs(r.CompletionTicks - r.ArrivalTicks), r.ServiceNs, 0, false);
            }
        }
    }

    /// <summary>Writes the untouched figures into each class of <paramref name="point"/> (by type
    /// name) and the stall summary into its <see cref="PointReport.Stalls"/>.</summary>
    public void WriteTo(PointReport point, IReadOnlyList<string> typeNames)
    {
        if (_attributed)
        {
            (ClassReport all, List<ClassReport> types) = _untouched.ToClasses(typeNames);
            point.All.Untouched = Untouched(all, _leftOut);
            for (int t = 0; t < types.Count; t++)
            {
                ClassReport? target = point.Types.FirstOrDefault(c => c.Name == typeNames[t]);
                if (target is not null)
                {
                    target.Untouched = Untouched(types[t], _leftOutPerType[t]);
                }
            }
        }
        double windowUs = Clock.ToMicros(_windowTicks);
        point.Stalls = new StallReport
        {
            ThresholdUs = _thresholdUs,
            SeenBy = _seenBy,
            WindowS = windowUs / 1e6,
            Cores = _cores.Select(kv => new CoreStalls
            {
                Core = kv.Key,
                Threads = string.Join('+', kv.Value.Threads),
                Count = kv.Value.Count,
                TotalUs = Clock.ToMicros(kv.Value.TotalTicks),
                LongestUs = Clock.ToMicros(kv.Value.LongestTicks),
                ShareOfWindow = windowUs > 0 ? Clock.ToMicros(kv.Value.TotalTicks) / windowUs : 0,
            }).ToList(),
            NotKept = _notKept,
            Requests = _requests,
            LeftOut = _leftOut,
            ShareLeftOut = _requests > 0 ? (double)_leftOut / _requests : 0,
            BusyPeriods = _busyPeriods,
            TouchedBusyPeriods = _touchedBusyPeriods,
            NotLogged = _notLogged,
        };
    }

    private static UntouchedClass Untouched(ClassReport kept, long leftOut) => new()
    {
        Count = kept.Count,
        LeftOut = leftOut,
        LatencyUs = kept.LatencyUs,
        Slowdown = kept.Slowdown,
    };

    /// <summary>Per core, the stalls that began in the window: their count, their longest, and the
    /// time they covered (a union: two threads on one core see the same stall).</summary>
    private void AddCoreStalls(IReadOnlyList<Stall> stalls, long from, long until)
    {
        foreach (IGrouping<int, Stall> core in stalls.Where(s => s.StartTicks >= from && s.StartTicks < until).GroupBy(s => s.Core))
        {
            CoreTotals c = Core(core.Key);
            long coveredUntil = long.MinValue;
            foreach (Stall s in core.OrderBy(s => s.StartTicks))
            {
                c.Count++;
                c.LongestTicks = Math.Max(c.LongestTicks, s.LengthTicks);
                long start = Math.Max(s.StartTicks, coveredUntil);
                if (s.EndTicks > start)
                {
                    c.TotalTicks += s.EndTicks - start;
                }
                coveredUntil = Math.Max(coveredUntil, s.EndTicks);
            }
        }
    }

    private CoreTotals Core(int core)
    {
        if (!_cores.TryGetValue(core, out CoreTotals? c))
        {
            c = new CoreTotals();
            _cores[core] = c;
        }
        return c;
    }

    private sealed class CoreTotals
    {
        public readonly List<string> Threads = [];
        public long Count;
        public long TotalTicks;
        public long LongestTicks;
    }
}
