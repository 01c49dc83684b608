// A lookup service on NetStack: keys in, values out, from an in-memory table, on UDP and TCP port 9001.
using Lookup;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NetStack.Hosting;
using NetStack.Runtime.Protocol;

// Settings from the appsettings.json beside the executable, wherever it is started from, then the command line.
HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
// The table is an ordinary service: NetStack makes the handler from the host's services.
builder.Services.AddSingleton(new PriceTable(rows: 1 << 20));
builder.Services.AddNetStack(builder.Configuration.GetSection("NetStack"))
    .AddLatencyCriticalApp<LookupHandler>("lookup", NetStackPorts.Both(9001), new SpinProtocol(typeCount: 16),
        // From code: processor sharing with a 10 µs slice for this app (NetStack:Apps:lookup in configuration overrides it).
        app =>
        {
            app.Policy = "ps";
            app.QuantumMicros = 10;
        })
    // Reports the kernel's counts and latency on the NetStack Meter (dotnet-counters, or any OpenTelemetry exporter).
    .AddMetrics();
using IHost host = builder.Build();
try
{
    host.Run();
    return 0;
}
catch (NetStackConfigurationException e)
{
    Console.Error.WriteLine($"lookup: {e.Message}");
    return 2;
}
