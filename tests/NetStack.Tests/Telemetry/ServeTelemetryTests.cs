// The `serve` host's wiring: with the prometheus exporter configured, the running kernel's counts are scrapeable.
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NetStack.Apps.Hosting;
using NetStack.IOKernel.Nic;
using NetStack.Tests.Support;
using Xunit;

namespace NetStack.Tests.Telemetry;

public class ServeTelemetryTests
{
    [Fact]
    public async Task HostWithPrometheusExporterServesTheRunningKernelsCounters()
    {
        int port = FreeLoopbackPort();
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.AddNetStackTelemetry(new TelemetryOptions { Exporters = ["prometheus"], PrometheusPort = port });
        builder.Services.AddSingleton(Options.Create(TestKernel.Options("ps", mailboxDepth: 2)));
        builder.Services.AddSingleton(Options.Create(new SyntheticOptions { Workload = "exp-10", Load = 0.2 }));
        builder.Services.AddSingleton(Options.Create(new ServerOptions { Nic = "synthetic" }));
        builder.Services.AddSingleton(Options.Create(new UdpNicOptions()));
        builder.Services.AddSingleton(Options.Create(new AppsOptions()));
        builder.Services.AddSingleton<NetStackService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<NetStackService>());
        using IHost host = builder.Build();
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
            Assert.NotNull(host.Services.GetRequiredService<NetStackService>().Kernel);
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
