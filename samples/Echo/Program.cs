// An echo service on NetStack: the spin wire protocol on UDP and TCP port 9000, each request's payload echoed.
using Echo;
using Microsoft.Extensions.Hosting;
using NetStack.Hosting;
using NetStack.Runtime.Protocol;

// Settings from the appsettings.json beside the executable, wherever it is started from, then the command line.
HostApplicationBuilder builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});
builder.Services.AddNetStack(builder.Configuration.GetSection("NetStack"))
    // 16 request types, as netstack-loadgen's workloads use; the type only labels a request here.
    .AddLatencyCriticalApp<EchoHandler>("echo", NetStackPorts.Both(9000), new SpinProtocol(typeCount: 16));
using IHost host = builder.Build();
try
{
    // Ctrl+C or SIGTERM: new requests are refused, those in flight finish, the counts are logged.
    host.Run();
    return 0;
}
catch (NetStackConfigurationException e)
{
    // A bad setting (a port in use, an unknown policy, a core that does not exist): the one line that says which.
    Console.Error.WriteLine($"echo: {e.Message}");
    return 2;
}
