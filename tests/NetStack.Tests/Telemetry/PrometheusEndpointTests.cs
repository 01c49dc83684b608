// The Prometheus scrape endpoint answers on loopback with the NetStack counters of a short in-process run.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using NetStack.Apps.Hosting;
using NetStack.LoadGen.Sched;
using NetStack.Runtime.Threading;
using NetStack.Runtime.Workloads;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.Telemetry;

public class PrometheusEndpointTests
{
    [Fact]
    public async Task ScrapeAfterAShortRunShowsTheKernelsCounts()
    {
        int port = PrometheusScrape.FreeLoopbackPort();
        using InProcessMetrics metrics = InProcessMetrics.Start("prometheus", port)!;
        Workload.TryGet("exp-10", out Workload? workload);
        SchedPointResult result = InProcessRun.Run(new SchedPoint
        {
            Workload = workload!,
            Policy = "ps",
            Load = 0.3,
            DurationS = 0.2,
            CarrierIdle = IdleStrategyKind.SpinYield,
            IOKernelIdle = IdleStrategyKind.SpinYield,
            Metrics = metrics.Metrics,
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        string text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");

        var c = result.Kernel.Counters;
        Assert.True(c.Completed > 0);
        Assert.Equal(c.Received, Sample(text, "netstack_requests_received_total"));
        Assert.Equal(c.Completed, Sample(text, "netstack_requests_completed_total"));
        Assert.Equal(c.Rejected, Sample(text, "netstack_requests_rejected_total"));
        Assert.Equal(c.Completed, Sample(text, "netstack_request_latency_buckets_total", "le=\"+Inf\""));
        Assert.Contains("# TYPE netstack_requests_completed_total counter", text);
        // The point also says what the hypervisor took from each core in its window.
        Assert.NotNull(result.Report.StealMsPerCore);
        Assert.True(result.Report.StealMsPerCore!.Count >= Environment.ProcessorCount);
        Assert.All(result.Report.StealMsPerCore, ms => Assert.True(ms >= 0));
    }

    [Fact]
    public void PrometheusEndpointRefusesANonLoopbackAddress()
    {
        var options = new TelemetryOptions { Exporters = ["prometheus"], PrometheusHost = "0.0.0.0" };
        var e = Assert.Throws<ConfigurationException>(options.Validate);
        Assert.Contains("loopback", e.Message);
        Assert.Throws<ConfigurationException>(new TelemetryOptions { Exporters = ["statsd"] }.Validate);
        Assert.Null(TelemetryExporters.BuildMeterProvider(new TelemetryOptions()));
    }

    /// <summary>The value of the first sample of <paramref name="metric"/> whose labels contain <paramref name="label"/>.</summary>
    private static long Sample(string text, string metric, string label = "")
    {
        var m = Regex.Match(text, $@"^{Regex.Escape(metric)}(\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline);
        for (; m.Success; m = m.NextMatch())
        {
            if (m.Groups[1].Value.Contains(label, StringComparison.Ordinal))
            {
                return (long)double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
        }
        throw new Xunit.Sdk.XunitException($"no sample of {metric} {label} in:\n{text}");
    }

}
