// The Generic Host extension: a user's handler registered through AddNetStack runs like the built-in apps; bad registrations fail at start in one line.
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NetStack.Hosting;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;
using NetStack.Tests.Tcp;
using OpenTelemetry.Metrics;
using Xunit;

namespace NetStack.Tests.Hosting;

public class NetStackHostingTests
{
    [Fact]
    public async Task HandlerRegisteredThroughTheExtensionIsPreemptedAndAShortRequestOvertakesALongOne()
    {
        using IHost host = Build(b => b.AddLatencyCriticalApp<SpinsThenEchoes>("mine", NetStackPorts.Both(0), new SpinProtocol(16)),
            ("NetStack:Policy", "ps"), ("NetStack:QuantumMicros", "5"));
        await host.StartAsync();
        NetStackHost netstack = host.Services.GetRequiredService<NetStackHost>();
        int port = netstack.Network!.TcpPortOf(0);
        using var slow = new TcpTestClient(port);
        using var quick = new TcpTestClient(port);
        // Warm the path up (first calls compile), then: a 300 ms request first, a short one after it.
        quick.Send(TcpTestClient.Frame(9, serviceNs: 1_000));
        Assert.Single(quick.Read(1));
        slow.Send(TcpTestClient.Frame(1, serviceNs: 300_000_000, payloadLength: 3));
        Assert.True(NetworkTestHost.Eventually(() => netstack.Kernel!.Counters.Dispatches >= 2));
        quick.Send(TcpTestClient.Frame(2, serviceNs: 1_000, payloadLength: 3));
        // Processor sharing preempts the long one and lets the short one through; c-FCFS would hold
        // it until the long one had run its 300 ms.
        SpinReply shortReply = Assert.Single(quick.Read(1));
        bool longStillRunning = slow.Socket.Available == 0;
        SpinReply longReply = Assert.Single(slow.Read(1));
        Assert.Equal(TcpTestClient.Pattern(2, 3), shortReply.Payload);
        Assert.Equal(TcpTestClient.Pattern(1, 3), longReply.Payload);
        Assert.True(longStillRunning, "the short request's reply should come while the long one still runs");
        Assert.True(longReply.Header.Preemptions > 0, "the long request should have been preempted");
        await host.StopAsync();
        Assert.Contains("completed 3", netstack.Summary);
    }

    [Fact]
    public async Task AddMetricsPutsTheNetStackMeterInTheApplicationsOwnOpenTelemetryPipeline()
    {
        // The application configures an exporter and names no meter: AddMetrics has added NetStack's.
        int port = PrometheusScrape.FreeLoopbackPort();
        using IHost host = Build(
            b => b.AddLatencyCriticalApp<SpinsThenEchoes>("mine", NetStackPorts.UdpOnly(0), new SpinProtocol(16))
                .UseSyntheticArrivals("exp-10", 0.2)
                .AddMetrics(),
            s => s.AddOpenTelemetry().WithMetrics(m => m.AddPrometheusHttpListener(o =>
            {
                o.Host = "127.0.0.1";
                o.Port = port;
            })));
        await host.StartAsync();
        try
        {
            (string text, long completed) = await PrometheusScrape.UntilCompleted(port);
            Assert.True(completed > 0, text);
            Assert.Contains("app=\"mine\"", text);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Theory]
    [InlineData("two apps on one port", "both listen on tcp port")]
    [InlineData("unknown policy", "unknown policy 'lifo'")]
    [InlineData("missing core", "does not exist or is not allowed")]
    [InlineData("no app", "no app is registered")]
    public async Task BadRegistrationsFailAtStartWithOneClearLine(string fault, string expected)
    {
        using IHost host = fault switch
        {
            "two apps on one port" => Build(b => b
                .AddLatencyCriticalApp<SpinsThenEchoes>("a", NetStackPorts.TcpOnly(47321), new SpinProtocol(16))
                .AddLatencyCriticalApp<SpinsThenEchoes>("b", NetStackPorts.TcpOnly(47321), new SpinProtocol(16))),
            "unknown policy" => Build(b => b.AddLatencyCriticalApp<SpinsThenEchoes>("a", NetStackPorts.TcpOnly(0), new SpinProtocol(16)),
                ("NetStack:Apps:a:Policy", "lifo")),
            "missing core" => Build(b => b.AddLatencyCriticalApp<SpinsThenEchoes>("a", NetStackPorts.TcpOnly(0), new SpinProtocol(16)),
                ("NetStack:WorkerCores:0", "4096")),
            _ => Build(_ => { }),
        };
        var e = await Assert.ThrowsAsync<NetStackConfigurationException>(() => host.StartAsync());
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    private static IHost Build(Action<NetStackBuilder> apps, params (string Key, string Value)[] settings) => Build(apps, null, settings);

    private static IHost Build(Action<NetStackBuilder> apps, Action<IServiceCollection>? configure, params (string Key, string Value)[] settings)
    {
        HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [] });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["NetStack:IOKernelCore"] = "0",
            ["NetStack:WorkerCores:0"] = "1",
            ["NetStack:CoreAllocation"] = "static",
            ["NetStack:IOKernelIdle"] = "SpinYield",
            ["NetStack:CarrierIdle"] = "SpinYield",
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        apps(builder.Services.AddNetStack(builder.Configuration.GetSection("NetStack")));
        configure?.Invoke(builder.Services);
        return builder.Build();
    }

    /// <summary>A user's handler: spins for the asked time with checkpoints, then echoes its request.</summary>
    private sealed class SpinsThenEchoes : IRequestHandler
    {
        [AsyncMethodBuilder(typeof(GreenThreadBuilder))]
        public async ValueTask HandleAsync(RequestContext ctx)
        {
            long remaining = Clock.FromNs(ctx.ServiceNs);
            long last = Clock.Now();
            while (remaining > 0)
            {
                await ctx.Checkpoint();
                long now = Clock.Now();
                remaining -= now - Math.Max(last, ctx.SliceStartTicks);
                last = now;
            }
            ctx.Reply.Write(ctx.Request);
        }
    }
}
