// The `serve` host's wiring: with the prometheus exporter configured, the running kernel's counts are scrapeable.
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.Telemetry;

public class ServeTelemetryTests
{
    [Fact]
    public async Task HostWithPrometheusExporterServesTheRunningKernelsCounters()
    {
        int port = FreeLoopbackPort();
        using IHost host = ServeTestHost.Build("--nic", "synthetic", "--workload", "exp-10", "--load", "0.2", "--apps", "spin",
            "--metrics", "prometheus", "--Telemetry:PrometheusPort", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await host.StartAsync();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            // Poll until the synthetic source's requests show up (the exporter caches a scrape for 300 ms).
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            long completed = 0;
            string text = "";
            while (completed == 0 && DateTime.UtcNow < deadline)
            {
                text = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
                Match m = Regex.Match(text, @"^netstack_requests_completed_total\{[^}]*\} (\d+)", RegexOptions.Multiline);
                completed = m.Success ? long.Parse(m.Groups[1].Value) : 0;
                if (completed == 0)
                {
                    await Task.Delay(100);
                }
            }
            Assert.True(completed > 0, text);
            Assert.Contains("netstack_cores{", text);
            Assert.NotNull(host.NetStack().Kernel);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
