// The `serve` host: bad configuration is one line and exit 2; both servers start on UDP, answer, and report their counts.
using Microsoft.Extensions.Options;
using NetStack.Apps;
using NetStack.Apps.Hosting;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Support;
using NetStack.Tests.Udp;
using Xunit;

namespace NetStack.Tests.Apps;

public class ServeCommandTests
{
    [Theory]
    [InlineData("--server", "iis", "valid: netstack, threadpool")]
    [InlineData("--nic", "tcp", "valid: network, synthetic")]
    [InlineData("--port", "x", "Apps:Spin:Port")]
    [InlineData("--port", "70000", "0 (any free port) to 65535")]
    [InlineData("--queues", "0", "1 to 64")]
    [InlineData("--address", "localhost", "not an IP address")]
    [InlineData("--apps", "spin,redis", "valid: spin, batch")]
    [InlineData("--apps", "batch", "names no latency-critical app")]
    [InlineData("--max-connections", "0", "MaxConnections 0 is out of range")]
    [InlineData("--policy", "lifo", "valid: cfcfs, ps, dfcfs")]
    public void BadConfigurationIsOneLineNamingTheValidChoicesAndExitCode2(string option, string value, string expected)
    {
        TextWriter original = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            Assert.Equal(2, Program.Main(["serve", option, value]));
        }
        finally
        {
            Console.SetError(original);
        }
        string text = error.ToString().TrimEnd();
        Assert.DoesNotContain('\n', text);
        Assert.Contains(expected, text);
    }

    [Fact]
    public void ThreadPoolServerWithTheSyntheticNicIsRefused()
    {
        TextWriter original = Console.Error;
        Console.SetError(new StringWriter());
        try
        {
            Assert.Equal(2, Program.Main(["serve", "--server", "threadpool", "--nic", "synthetic"]));
        }
        finally
        {
            Console.SetError(original);
        }
    }

    [Fact]
    public async Task NetStackServiceServesUdpAndReportsItsCountsOnStop()
    {
        KernelOptions kernel = TestKernel.Options("ps", mailboxDepth: 2);
        var service = new NetStackService(Options.Create(kernel), Options.Create(new SyntheticOptions()),
            Options.Create(new ServerOptions()), Options.Create(new UdpNicOptions()), Options.Create(new TcpNicOptions()),
            Options.Create(new AppsOptions { Spin = { Port = 0 } }));
        await service.StartAsync(CancellationToken.None);
        try
        {
            using var client = new UdpTestClient(service.UdpNic!.Port);
            List<ResponseHeader> replies = client.SendAndCollect(
                [UdpTestClient.Request(1), UdpTestClient.Request(2, type: 99), new byte[3]], 2);
            Assert.Equal([ResponseStatus.Ok, ResponseStatus.BadRequest], replies.OrderBy(r => r.Id).Select(r => r.Status));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
        Assert.Contains("received 1, completed 1 (errors 0), rejected 0", service.Summary);
        Assert.Contains("unknown-type 1", service.Summary);
        Assert.Contains("too-short 1", service.Summary);
    }

    [Fact]
    public async Task ThreadPoolServiceServesUdpAndReportsItsCountsOnStop()
    {
        var service = new ThreadPoolService(Options.Create(new KernelOptions()),
            Options.Create(new ServerOptions { Kind = "threadpool" }), Options.Create(new UdpNicOptions()), Options.Create(new TcpNicOptions()),
            Options.Create(new AppsOptions { Spin = { Port = 0 } }));
        await service.StartAsync(CancellationToken.None);
        try
        {
            using var client = new UdpTestClient(service.Server!.Port);
            List<ResponseHeader> replies = client.SendAndCollect(
                [UdpTestClient.Request(1), UdpTestClient.Request(2, type: 99), new byte[3]], 2);
            Assert.Equal([ResponseStatus.Ok, ResponseStatus.BadRequest], replies.OrderBy(r => r.Id).Select(r => r.Status));
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
        Assert.Contains("received 1, completed 1 (errors 0), rejected 0", service.Summary);
        Assert.Contains("unknown-type 1", service.Summary);
        Assert.Contains("too-short 1", service.Summary);
    }

    [Fact]
    public async Task SecondServerOnTheSamePortIsAConfigurationError()
    {
        var first = new ThreadPoolService(Options.Create(new KernelOptions()),
            Options.Create(new ServerOptions { Kind = "threadpool" }), Options.Create(new UdpNicOptions()), Options.Create(new TcpNicOptions()),
            Options.Create(new AppsOptions { Spin = { Port = 0 } }));
        await first.StartAsync(CancellationToken.None);
        try
        {
            var second = new NetStackService(Options.Create(TestKernel.Options("ps")), Options.Create(new SyntheticOptions()),
                Options.Create(new ServerOptions()), Options.Create(new UdpNicOptions()), Options.Create(new TcpNicOptions()),
                Options.Create(new AppsOptions { Spin = { Port = first.Server!.Port } }));
            var e = await Assert.ThrowsAsync<ConfigurationException>(() => second.StartAsync(CancellationToken.None));
            Assert.Contains($"cannot listen on udp://127.0.0.1:{first.Server.Port}", e.Message);
        }
        finally
        {
            await first.StopAsync(CancellationToken.None);
        }
    }
}
