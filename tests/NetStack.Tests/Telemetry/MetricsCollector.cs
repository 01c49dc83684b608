// Test helper: reads one NetStackMetrics' instruments through a MeterListener, as any exporter would.
using System.Diagnostics.Metrics;
using NetStack.IOKernel.Telemetry.Metrics;

namespace NetStack.Tests.Telemetry;

/// <summary>One measurement: its value and tags.</summary>
internal sealed record Observed(double Value, IReadOnlyDictionary<string, string?> Tags)
{
    /// <summary>True when every given tag has the given value.</summary>
    public bool Has(params (string Key, string Value)[] tags) => tags.All(t => Tags.TryGetValue(t.Key, out string? v) && v == t.Value);
}

/// <summary>Collects the observable instruments of one <see cref="NetStackMetrics"/> (only that instance's Meter,
/// so tests running beside each other do not see each other's kernels).</summary>
internal static class MetricsCollector
{
    /// <summary>Every measurement of one collection, by instrument name.</summary>
    public static Dictionary<string, List<Observed>> Collect(NetStackMetrics metrics)
    {
        var result = new Dictionary<string, List<Observed>>();
        void Add(Instrument i, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var map = new Dictionary<string, string?>();
            foreach (KeyValuePair<string, object?> t in tags)
            {
                map[t.Key] = t.Value?.ToString();
            }
            if (!result.TryGetValue(i.Name, out List<Observed>? list))
            {
                result[i.Name] = list = [];
            }
            list.Add(new Observed(value, map));
        }
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        listener.Start();
        listener.RecordObservableInstruments();
        return result;
    }

    /// <summary>The one value of <paramref name="name"/> with these tags (0 when absent).</summary>
    public static double Value(this Dictionary<string, List<Observed>> observed, string name, params (string Key, string Value)[] tags) =>
        observed.TryGetValue(name, out List<Observed>? list) ? list.Where(o => o.Has(tags)).Sum(o => o.Value) : 0;
}
