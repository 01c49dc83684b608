// The colocation figures: over the measured window, with the IOKernel's core counted.
using NetStack.LoadGen.Colocate;
using NetStack.Measurement.Reports;
using NetStack.Runtime.Workloads;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class ColocationReportTests
{
    [Fact]
    public void EfficiencyAndBatchsShareCountTheIOKernelsCoreOverTheMeasuredWindow()
    {
        Workload.TryGet("exp-10", out Workload? workload);
        var spec = new ColocateSpec
        {
            Workload = workload!,
            Phases = [new PatternPhase("steady", 0, 1, 0.5)],
            Pattern = "steady 0.5",
        };
        var totals = new ColocationTotals(new ColocateConfig("standing-queue", "standing-queue", WithBatch: true), 1, 1)
        {
            First = new ColocationRun { Label = "standing-queue" },
            // One worker, a measured window of 1000 ticks: the LC app used 400 of them and batch 540.
            Workers = 1,
            WindowTicks = 1000,
            LcTicks = 400,
            BatchTicks = 540,
            MeasuredSeconds = 1,
        };

        (ColocationRun run, _) = ColocationRunner.Report(spec, totals);

        Assert.Equal(940.0 / 2000, run.CpuEfficiency, 9);         // two cores: the IOKernel's and the worker's
        Assert.Equal(940.0 / 1000, run.WorkerCpuEfficiency, 9);
        Assert.Equal(540.0 / (2000 - 400), run.BatchShareOfIdle!.Value, 9);
        Assert.Equal(540.0 / (1000 - 400), run.BatchShareOfWorkerIdle!.Value, 9);
    }
}
