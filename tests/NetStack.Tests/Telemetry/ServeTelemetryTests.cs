// The `serve` host's wiring: with the prometheus exporter configured, the running kernel's counts are scrapeable.
using Microsoft.Extensions.Hosting;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.Telemetry;

public class ServeTelemetryTests
{
    [Fact]
    public async Task HostWithPrometheusExporterServesTheRunningKernelsCounters()
    {
        int port = PrometheusScrape.FreeLoopbackPort();
        using IHost host = ServeTestHost.Build("--nic", "synthetic", "--workload", "exp-10", "--load", "0.2", "--apps", "spin",
            "--metrics", "prometheus", "--Telemetry:PrometheusPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await host.StartAsync();
        try
        {
            (string text, long completed) = await PrometheusScrape.UntilCompleted(port);
            Assert.True(completed > 0, text);
            Assert.Contains("netstack_cores{", text);
            Assert.NotNull(host.NetStack().Kernel);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
