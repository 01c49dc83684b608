// The "NetStack" Meter: observable instruments that read the IOKernel's own counters at collection time.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using NetStack.IOKernel.Allocation;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Protocol;

namespace NetStack.IOKernel.Telemetry.Metrics;

/// <summary>
/// Owns the <c>NetStack</c> <see cref="Meter"/> (System.Diagnostics.Metrics; any listener reads it:
/// the OpenTelemetry SDK, <c>dotnet-counters</c>, a <see cref="MeterListener"/>). Every instrument is
/// observable: its callback runs when a reader collects, and reads the plain counters the IOKernel
/// and the carriers keep anyway (<see cref="KernelCounters"/>, per-carrier fields, the allocation
/// log, the <see cref="LatencyBucketRecorder"/> buckets). So the data path never calls into the
/// metrics API; it pays one bucket increment per completion, and only when the kernel was built
/// with <see cref="LatencyBucketRecorder.Factory"/>. docs/metrics.md lists the instruments.
/// </summary>
/// <remarks>
/// Kernels come and go (the <c>sched</c> verb runs one per point): <see cref="Register"/> adds one,
/// and disposing the registration folds its final counts into a running total, so counters stay
/// monotonic across kernels. Callbacks may run on any thread, several at once; one lock serialises them.
/// </remarks>
public sealed class NetStackMetrics : IDisposable
{
    /// <summary>The Meter's name, to pass to <c>AddMeter</c>.</summary>
    public const string MeterName = "NetStack";

    /// <summary>The quantiles the latency gauge reports.</summary>
    internal static readonly double[] Quantiles = [0.5, 0.99, 0.999];

    // Cumulative latency buckets are exported at powers of two from 128 ns to ~17 s (2^7..2^34 ns),
    // plus +Inf: enough for histogram_quantile at microsecond scale, without 156 series per app.
    private const int FirstLePower = 7;
    private const int LastLePower = 34;

    // One collection calls every counter's callback in turn; they share one reading of the
    // kernel, so the counters of a scrape agree with each other (completed ≤ received).
    // Readers collect far less often than this.
    private static readonly long s_snapshotReuseTicks = Stopwatch.Frequency / 20;

    private readonly Meter _meter;
    private readonly object _gate = new();
    private readonly List<KernelSource> _sources = [];
    private readonly Dictionary<SeriesKey, long> _retired = [];
    private Dictionary<SeriesKey, long>? _snapshot;
    private long _snapshotTicks;
    private bool _disposed;

    /// <summary>Creates the Meter and its instruments; nothing is read until a kernel is registered.</summary>
    internal NetStackMetrics()
    {
        _meter = new Meter(MeterName, typeof(NetStackMetrics).Assembly.GetName().Version?.ToString());
        Counter(Names.Received, "{request}", "Requests the IOKernel took from its NIC queues (KernelCounters.Received).");
        Counter(Names.Completed, "{request}", "Requests answered after running, ok or error (KernelCounters.Completed).");
        Counter(Names.Errors, "{request}", "Completed requests whose handler threw (KernelCounters.Errors).");
        Counter(Names.Rejected, "{request}", "Requests answered rejected-overload because the app's queue was full (KernelCounters.Rejected).");
        Counter(Names.Dropped, "{request}", "Requests that never ran, by reason: queue-full, no-app, and the UDP bad-input reasons.");
        Counter(Names.Preemptions, "{preemption}", "Green threads that yielded at a checkpoint and were requeued (KernelCounters.Requeues).");
        Counter(Names.PreemptRequests, "{request}", "Preemption words the IOKernel wrote (KernelCounters.PreemptRequests).");
        Counter(Names.Dispatches, "{dispatch}", "Green threads handed to worker mailboxes (KernelCounters.Dispatches).");
        Counter(Names.CoreMoves, "{move}", "Core moves after the initial partition (KernelCounters.CoreMoves).");
        Counter(Names.BackloggedLoops, "{loop}", "IOKernel loops that read only what they handed the workers, the IOKernel being what was short (KernelCounters.BackloggedLoops).");
        Counter(Names.WatchdogStuck, "{slice}", "Slices the watchdog found running past its bound without a checkpoint, by kind (request, batch).");
        Counter(Names.Grants, "{grant}", "Cores given to an app, by app and reason (AllocationLog; initial partition included).");
        Counter(Names.Revokes, "{revoke}", "Cores taken from an app, by app and reason (AllocationLog).");
        Counter(Names.BatchUnits, "{unit}", "Units of work the batch job reported (sum of Carrier.Batch.Units).");
        Counter(Names.WorkerCompleted, "{request}", "Requests completed on each worker core's carrier (Carrier.Completed).");
        Counter(Names.WorkerSlices, "{slice}", "Green-thread slices run on each worker core (Carrier.Slices).");
        Counter(Names.WorkerYields, "{slice}", "Slices that ended in a yield, per worker core (Carrier.Yields).");
        Seconds(Names.WorkerBusyTime, "Time each worker core spent in latency-critical slices (Carrier.BusyTicks).");
        Seconds(Names.WorkerBatchTime, "Time each worker core spent in the batch job (Carrier.BatchTicks).");
        Counter(Names.LatencyBuckets, "{request}",
            "Completions whose latency was below the le bound (µs), cumulative, by app: a Prometheus-style histogram from the carriers' log2 buckets.");
        Counter(Names.UdpDatagrams, "{datagram}", "Datagrams the UDP NIC received, good and bad (UdpCounters.Received).");
        Counter(Names.UdpReplies, "{datagram}", "Replies the UDP NIC sent, by status.");
        Counter(Names.UdpSendFailures, "{datagram}", "Replies the kernel refused to send (UdpCounters.SendFailures).");
        Counter(Names.UdpReceiveFailures, "{call}", "Receive calls that failed (UdpCounters.ReceiveFailures).");

        Gauge(Names.QueueDepth, "{request}", "Requests waiting in each latency-critical app's queue (ISchedulingPolicy.Count).", static (s, add) => s.QueueDepths(add));
        Gauge(Names.Cores, "{core}", "Worker cores assigned to each app now (IOKernel.OwnerOf); app=none: unassigned.", static (s, add) => s.Cores(add));
        Gauge(Names.InFlight, "{request}", "Requests admitted and not yet answered (IOKernel.InFlight).", static (s, add) => s.InFlight(add));
        _meter.CreateObservableGauge(Names.Latency, ObserveLatency, "us",
            "Request latency quantiles (0.5, 0.99, 0.999), µs, over the completions since the previous collection, by app.");
        GcMetrics.CreateInstruments(_meter);
    }

    /// <summary>The Meter (for listeners that want it directly).</summary>
    internal Meter Meter => _meter;

    /// <summary>
    /// Starts reporting <paramref name="kernel"/> (and the UDP NIC's <paramref name="udp"/> counts,
    /// when it serves UDP). The latency instruments need the kernel built with
    /// <see cref="LatencyBucketRecorder.Factory"/>; without it they report nothing for this kernel.
    /// Dispose the result after the kernel has stopped: its final counts stay in the counters.
    /// </summary>
    internal IDisposable Register(Kernel kernel, UdpCounters? udp = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var source = new KernelSource(this, kernel, udp);
            _sources.Add(source);
            _snapshot = null;
            return source;
        }
    }

    /// <summary>Disposes the Meter; listeners see its instruments end.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _sources.Clear();
        }
        _meter.Dispose();
    }

    private void Unregister(KernelSource source)
    {
        lock (_gate)
        {
            if (!_sources.Remove(source))
            {
                return;
            }
            source.AddCounters(_retired);
            _snapshot = null;
        }
    }

    private void Counter(string name, string unit, string description) =>
        _meter.CreateObservableCounter(name, () => ObserveCounter(name), unit, description);

    private void Seconds(string name, string description) =>
        _meter.CreateObservableCounter(name, () => ObserveSeconds(name), "s", description);

    private void Gauge(string name, string unit, string description, Action<KernelSource, Action<SeriesKey, long>> read) =>
        _meter.CreateObservableGauge(name, () => ObserveGauge(read), unit, description);

    private IEnumerable<Measurement<long>> ObserveCounter(string name) =>
        CollectCounters(name).Select(static kv => new Measurement<long>(kv.Value, kv.Key.Tags()));

    private IEnumerable<Measurement<double>> ObserveSeconds(string name) =>
        CollectCounters(name).Select(static kv => new Measurement<double>((double)kv.Value / Stopwatch.Frequency, kv.Key.Tags()));

    private List<KeyValuePair<SeriesKey, long>> CollectCounters(string name)
    {
        lock (_gate)
        {
            long now = Stopwatch.GetTimestamp();
            if (_snapshot is null || now - _snapshotTicks > s_snapshotReuseTicks)
            {
                // Every series of every instrument is read at once: a few hundred reads, off the
                // data path, and one code path for live and retired kernels.
                _snapshot = new Dictionary<SeriesKey, long>(_retired);
                foreach (KernelSource source in _sources)
                {
                    source.AddCounters(_snapshot);
                }
                _snapshotTicks = now;
            }
            return _snapshot.Where(kv => kv.Key.Instrument == name).ToList();
        }
    }

    private IEnumerable<Measurement<long>> ObserveGauge(Action<KernelSource, Action<SeriesKey, long>> read)
    {
        lock (_gate)
        {
            var values = new Dictionary<SeriesKey, long>();
            foreach (KernelSource source in _sources)
            {
                read(source, (key, value) => values[key] = values.GetValueOrDefault(key) + value);
            }
            return values.Select(static kv => new Measurement<long>(kv.Value, kv.Key.Tags())).ToList();
        }
    }

    private IEnumerable<Measurement<double>> ObserveLatency()
    {
        lock (_gate)
        {
            var deltas = new Dictionary<string, long[]>();
            foreach (KernelSource source in _sources)
            {
                source.LatencyDeltas(deltas);
            }
            var result = new List<Measurement<double>>();
            foreach ((string app, long[] counts) in deltas)
            {
                foreach (double q in Quantiles)
                {
                    double micros = LatencyBuckets.QuantileMicros(counts, q);
                    // No completions in the interval: no value, rather than a 0 µs that never happened.
                    if (!double.IsNaN(micros))
                    {
                        result.Add(new Measurement<double>(micros,
                            new KeyValuePair<string, object?>("app", app),
                            new KeyValuePair<string, object?>("quantile", q.ToString(CultureInfo.InvariantCulture))));
                    }
                }
            }
            return result;
        }
    }

    /// <summary>The instrument names (docs/metrics.md describes each).</summary>
    public static class Names
    {
        /// <summary>Requests received.</summary>
        public const string Received = "netstack.requests.received";
        /// <summary>Requests completed.</summary>
        public const string Completed = "netstack.requests.completed";
        /// <summary>Completed with an error.</summary>
        public const string Errors = "netstack.requests.errors";
        /// <summary>Rejected because the queue was full.</summary>
        public const string Rejected = "netstack.requests.rejected";
        /// <summary>Never ran, by reason.</summary>
        public const string Dropped = "netstack.requests.dropped";
        /// <summary>Admitted, not yet answered.</summary>
        public const string InFlight = "netstack.requests.in_flight";
        /// <summary>Yields requeued.</summary>
        public const string Preemptions = "netstack.preemptions";
        /// <summary>Preemption words written.</summary>
        public const string PreemptRequests = "netstack.preemption.requests";
        /// <summary>Mailbox hand-offs.</summary>
        public const string Dispatches = "netstack.dispatches";
        /// <summary>Requests waiting, per app.</summary>
        public const string QueueDepth = "netstack.queue.depth";
        /// <summary>Cores per app.</summary>
        public const string Cores = "netstack.cores";
        /// <summary>Core moves.</summary>
        public const string CoreMoves = "netstack.core.moves";
        /// <summary>Loops whose receive budget was what they handed out.</summary>
        public const string BackloggedLoops = "netstack.iokernel.backlogged_loops";
        /// <summary>Slices stuck past the watchdog's bound.</summary>
        public const string WatchdogStuck = "netstack.watchdog.stuck";
        /// <summary>Cores granted, by app and reason.</summary>
        public const string Grants = "netstack.core.grants";
        /// <summary>Cores revoked, by app and reason.</summary>
        public const string Revokes = "netstack.core.revokes";
        /// <summary>Batch work units.</summary>
        public const string BatchUnits = "netstack.batch.units";
        /// <summary>Completions per worker core.</summary>
        public const string WorkerCompleted = "netstack.worker.completed";
        /// <summary>Slices per worker core.</summary>
        public const string WorkerSlices = "netstack.worker.slices";
        /// <summary>Yields per worker core.</summary>
        public const string WorkerYields = "netstack.worker.yields";
        /// <summary>Busy time per worker core.</summary>
        public const string WorkerBusyTime = "netstack.worker.busy_time";
        /// <summary>Batch time per worker core.</summary>
        public const string WorkerBatchTime = "netstack.worker.batch_time";
        /// <summary>Latency quantiles.</summary>
        public const string Latency = "netstack.request.latency";
        /// <summary>Cumulative latency buckets.</summary>
        public const string LatencyBuckets = "netstack.request.latency.buckets";
        /// <summary>UDP datagrams.</summary>
        public const string UdpDatagrams = "netstack.udp.datagrams";
        /// <summary>UDP replies by status.</summary>
        public const string UdpReplies = "netstack.udp.replies";
        /// <summary>UDP send failures.</summary>
        public const string UdpSendFailures = "netstack.udp.send_failures";
        /// <summary>UDP receive failures.</summary>
        public const string UdpReceiveFailures = "netstack.udp.receive_failures";
        /// <summary>Garbage collections by generation.</summary>
        public const string GcCollections = "netstack.gc.collections";
        /// <summary>Time paused for garbage collection.</summary>
        public const string GcPauseTime = "netstack.gc.pause_time";
    }

    /// <summary>One time series: an instrument and up to two tags.</summary>
    private readonly record struct SeriesKey(string Instrument, string? Key1 = null, string? Value1 = null, string? Key2 = null, string? Value2 = null)
    {
        public KeyValuePair<string, object?>[] Tags() => (Key1, Key2) switch
        {
            (null, _) => [],
            (_, null) => [new(Key1, Value1)],
            _ => [new(Key1, Value1), new(Key2!, Value2)],
        };
    }

    /// <summary>One registered kernel: how its counters become series.</summary>
    private sealed class KernelSource(NetStackMetrics owner, Kernel kernel, UdpCounters? udp) : IDisposable
    {
        private readonly LatencyBucketRecorder[] _buckets = kernel.Recorders.OfType<LatencyBucketRecorder>().ToArray();
        private readonly long[][] _lastLatency = kernel.Apps.Select(_ => new long[LatencyBuckets.Count]).ToArray();
        // Grants and revokes tallied from the allocation log up to _logCursor (the log only grows).
        private readonly Dictionary<SeriesKey, long> _moves = [];
        private int _logCursor;

        public void Dispose() => owner.Unregister(this);

        /// <summary>Adds every counter series of this kernel into <paramref name="into"/>.</summary>
        public void AddCounters(Dictionary<SeriesKey, long> into)
        {
            // The IOKernel thread writes these plain fields; an aligned long read is atomic on a
            // 64-bit runtime, and Volatile keeps each a fresh read. The set is not one snapshot:
            // counters may be a request apart from each other, as any scrape of a live system is.
            // Outcomes are read before arrivals, so a reading never shows more answered than received.
            KernelCounters c = kernel.Counters;
            Add(into, new(Names.Completed), Volatile.Read(ref c.Completed));
            Add(into, new(Names.Errors), Volatile.Read(ref c.Errors));
            Add(into, new(Names.Rejected), Volatile.Read(ref c.Rejected));
            Add(into, new(Names.Dropped, "reason", "queue-full"), Volatile.Read(ref c.Rejected));
            Add(into, new(Names.Dropped, "reason", "no-app"), Volatile.Read(ref c.Misaddressed));
            Add(into, new(Names.Dropped, "reason", "shutting-down"), Volatile.Read(ref c.ShutdownRefusals));
            Add(into, new(Names.WatchdogStuck, "kind", "request"), Volatile.Read(ref c.StuckSlices));
            Add(into, new(Names.WatchdogStuck, "kind", "batch"), Volatile.Read(ref c.StuckBatchSlices));
            Add(into, new(Names.Preemptions), Volatile.Read(ref c.Requeues));
            Add(into, new(Names.PreemptRequests), Volatile.Read(ref c.PreemptRequests));
            Add(into, new(Names.Dispatches), Volatile.Read(ref c.Dispatches));
            Add(into, new(Names.CoreMoves), Volatile.Read(ref c.CoreMoves));
            Add(into, new(Names.BackloggedLoops), Volatile.Read(ref c.BackloggedLoops));
            Add(into, new(Names.Received), Volatile.Read(ref c.Received));

            long units = 0;
            foreach (var carrier in kernel.Carriers)
            {
                string core = carrier.Worker.Core.ToString(CultureInfo.InvariantCulture);
                // Carrier properties are plain fields written by the carrier thread (see above).
                Add(into, new(Names.WorkerCompleted, "core", core), carrier.Completed);
                Add(into, new(Names.WorkerSlices, "core", core), carrier.Slices);
                Add(into, new(Names.WorkerYields, "core", core), carrier.Yields);
                Add(into, new(Names.WorkerBusyTime, "core", core), carrier.BusyTicks);
                Add(into, new(Names.WorkerBatchTime, "core", core), carrier.BatchTicks);
                units += carrier.Batch.Units;
            }
            Add(into, new(Names.BatchUnits), units);

            ReadAllocationLog();
            foreach ((SeriesKey key, long n) in _moves)
            {
                Add(into, key, n);
            }

            Span<long> counts = stackalloc long[LatencyBuckets.Count];
            foreach (KernelApp app in kernel.Apps)
            {
                if (!app.IsLatencyCritical || _buckets.Length == 0)
                {
                    continue;
                }
                counts.Clear();
                foreach (LatencyBucketRecorder r in _buckets)
                {
                    r.AddTo(app.Id, counts);
                }
                long below = 0;
                int next = 0;
                for (int power = FirstLePower; power <= LastLePower; power++)
                {
                    int end = LatencyBuckets.CountBelowPowerOfTwo(power);
                    for (; next < end; next++)
                    {
                        below += counts[next];
                    }
                    string le = ((1L << power) / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
                    Add(into, new(Names.LatencyBuckets, "app", app.Name, "le", le), below);
                }
                for (; next < counts.Length; next++)
                {
                    below += counts[next];
                }
                Add(into, new(Names.LatencyBuckets, "app", app.Name, "le", "+Inf"), below);
            }

            if (udp is not null)
            {
                for (int i = 1; i < udp.BadFrames.Length; i++)
                {
                    Add(into, new(Names.Dropped, "reason", udp.ErrorNames[i]), Volatile.Read(ref udp.BadFrames[i]));
                }
                Add(into, new(Names.UdpDatagrams), Volatile.Read(ref udp.Received));
                Add(into, new(Names.UdpReplies, "status", "ok"), Volatile.Read(ref udp.OkReplies));
                Add(into, new(Names.UdpReplies, "status", "error"), Volatile.Read(ref udp.ErrorReplies));
                Add(into, new(Names.UdpReplies, "status", "rejected-overload"), Volatile.Read(ref udp.RejectedReplies));
                Add(into, new(Names.UdpReplies, "status", "bad-request"), Volatile.Read(ref udp.BadRequestReplies));
                Add(into, new(Names.UdpReplies, "status", "shutting-down"), Volatile.Read(ref udp.ShuttingDownReplies));
                Add(into, new(Names.UdpSendFailures), Volatile.Read(ref udp.SendFailures));
                Add(into, new(Names.UdpReceiveFailures), Volatile.Read(ref udp.ReceiveFailures));
            }
        }

        public void QueueDepths(Action<SeriesKey, long> add)
        {
            foreach (KernelApp app in kernel.Apps)
            {
                if (app.Policy is { } policy)
                {
                    // Count is the policy's head/tail difference, written by the IOKernel thread:
                    // a racy read is at worst a moment old.
                    add(new(Names.QueueDepth, "app", app.Name), policy.Count);
                }
            }
        }

        public void Cores(Action<SeriesKey, long> add)
        {
            var perApp = new long[kernel.Apps.Count];
            long none = 0;
            for (int w = 0; w < kernel.Workers.Count; w++)
            {
                int owner = kernel.OwnerOf(w);
                if ((uint)owner < (uint)perApp.Length)
                {
                    perApp[owner]++;
                }
                else
                {
                    none++;
                }
            }
            foreach (KernelApp app in kernel.Apps)
            {
                add(new(Names.Cores, "app", app.Name), perApp[app.Id]);
            }
            add(new(Names.Cores, "app", "none"), none);
        }

        public void InFlight(Action<SeriesKey, long> add) => add(new(Names.InFlight), kernel.InFlight);

        /// <summary>Bucket counts since the previous call, added per app name into <paramref name="into"/>.</summary>
        public void LatencyDeltas(Dictionary<string, long[]> into)
        {
            if (_buckets.Length == 0)
            {
                return;
            }
            Span<long> now = stackalloc long[LatencyBuckets.Count];
            foreach (KernelApp app in kernel.Apps)
            {
                if (!app.IsLatencyCritical)
                {
                    continue;
                }
                now.Clear();
                foreach (LatencyBucketRecorder r in _buckets)
                {
                    r.AddTo(app.Id, now);
                }
                if (!into.TryGetValue(app.Name, out long[]? delta))
                {
                    into[app.Name] = delta = new long[LatencyBuckets.Count];
                }
                long[] last = _lastLatency[app.Id];
                for (int i = 0; i < now.Length; i++)
                {
                    delta[i] += now[i] - last[i];
                    last[i] = now[i];
                }
            }
        }

        private void ReadAllocationLog()
        {
            // Records below the published count are complete: the IOKernel fills a record, then
            // publishes the count with a release store, and this acquire load pairs with it, on any
            // memory model (not only x64's). Only the fields fixed at Add are read.
            AllocationLog log = kernel.AllocationLog;
            int count = log.PublishedCount;
            ReadOnlySpan<AllocationRecord> records = log.Records;
            for (; _logCursor < Math.Min(count, records.Length); _logCursor++)
            {
                ref readonly AllocationRecord r = ref records[_logCursor];
                string reason = ReasonName(r.Reason);
                if ((uint)r.To < (uint)kernel.Apps.Count)
                {
                    Bump(new(Names.Grants, "app", kernel.Apps[r.To].Name, "reason", reason));
                }
                if ((uint)r.From < (uint)kernel.Apps.Count)
                {
                    Bump(new(Names.Revokes, "app", kernel.Apps[r.From].Name, "reason", reason));
                }
            }
        }

        private void Bump(SeriesKey key) => _moves[key] = _moves.GetValueOrDefault(key) + 1;

        private static void Add(Dictionary<SeriesKey, long> into, SeriesKey key, long value) =>
            into[key] = into.GetValueOrDefault(key) + value;

        private static string ReasonName(AllocationReason reason) => reason switch
        {
            AllocationReason.Initial => "initial",
            AllocationReason.Guaranteed => "guaranteed",
            AllocationReason.Congestion => "congestion",
            AllocationReason.QueueDelay => "queue-delay",
            AllocationReason.Share => "share",
            AllocationReason.IdleRelease => "idle-release",
            AllocationReason.BatchFill => "batch-fill",
            AllocationReason.Shutdown => "shutdown",
            _ => reason.ToString().ToLowerInvariant(),
        };
    }
}
