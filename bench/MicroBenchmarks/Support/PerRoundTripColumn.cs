// A summary column that states each result in cross-core round trips measured in the same run.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NetStack.MicroBenchmarks.Support;

/// <summary>
/// "Ops/RT": how many operations (requests, migrations) fit in one cross-core round trip: the mean of
/// the class's <c>CrossCoreRoundTrip</c> benchmark with the same parameters and job, divided by this
/// row's mean. Below 1, an operation costs more than a round trip; a dispatcher bound by its batch
/// rather than by the round trip shows well above 1 (the issue this serves). The round trip row
/// itself reads 1.
/// </summary>
internal sealed class PerRoundTripColumn : IColumn
{
    /// <summary>The benchmark method that measures the round trip.</summary>
    public const string RoundTripMethod = "CrossCoreRoundTrip";

    public string Id => nameof(PerRoundTripColumn);
    public string ColumnName => "Ops/RT";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"Operations per cross-core round trip: {RoundTripMethod}'s mean (same run, same parameters) / this mean";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkCase? roundTrip = summary.BenchmarksCases.FirstOrDefault(c =>
            c.Descriptor.Type == benchmarkCase.Descriptor.Type
            && c.Descriptor.WorkloadMethod.Name == RoundTripMethod
            && c.Parameters.ValueInfo == benchmarkCase.Parameters.ValueInfo
            && c.Job.DisplayInfo == benchmarkCase.Job.DisplayInfo);
        double? rt = roundTrip is null ? null : summary[roundTrip]?.ResultStatistics?.Mean;
        double? op = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (rt is not > 0 || op is not > 0)
        {
            return "NA";
        }
        return (rt.Value / op.Value).ToString("0.00", style.CultureInfo);
    }

    public override string ToString() => ColumnName;
}

/// <summary>Adds <see cref="PerRoundTripColumn"/> to a benchmark class that has a <c>CrossCoreRoundTrip</c> benchmark.</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class PerRoundTripColumnAttribute() : ColumnConfigBaseAttribute(new PerRoundTripColumn());
