// The `serve` host: bad configuration is one line and exit 2; both servers start on UDP, answer, and report their counts.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NetStack.Apps;
using NetStack.Apps.Hosting;
using NetStack.Hosting;
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
    [InlineData("--apps", "spin,redis", "valid: spin, kv, batch")]
    [InlineData("--kv-memory-mb", "0", "kv:")]
    [InlineData("--apps", "batch", "names no latency-critical app")]
    [InlineData("--max-connections", "0", "MaxConnections 0 is out of range")]
    [InlineData("--policy", "lifo", "valid: cfcfs, ps, dfcfs")]
    public void BadConfigurationIsOneLineNamingTheValidChoicesAndExitCode2(string option, string value, string expected)
    {
        (int exitCode, string error) = ServeTestHost.RunCommandLine("serve", option, value);
        Assert.Equal(2, exitCode);
        string text = error.TrimEnd();
        Assert.DoesNotContain('\n', text);
        Assert.Contains(expected, text);
    }

    [Fact]
    public void ThreadPoolServerWithTheSyntheticNicIsRefused()
    {
        Assert.Equal(2, ServeTestHost.RunCommandLine("serve", "--server", "threadpool", "--nic", "synthetic").ExitCode);
    }

    [Fact]
    public async Task ServeServesUdpAndReportsItsCountsOnStop()
    {
        using IHost host = ServeTestHost.Build();
        await host.StartAsync();
        NetStackHost service = host.NetStack();
        try
        {
            using var client = new UdpTestClient(service.UdpPortOf("spin"));
            // The too-short datagram first: it gets no reply, and the server's one receive loop takes
            // datagrams in order, so it has been counted once the replies to the other two are back.
            List<ResponseHeader> replies = client.SendAndCollect(
                [new byte[3], UdpTestClient.Request(1), UdpTestClient.Request(2, type: 99)], 2);
            Assert.Equal([ResponseStatus.Ok, ResponseStatus.BadRequest], replies.OrderBy(r => r.Id).Select(r => r.Status));
        }
        finally
        {
            await host.StopAsync();
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
            // The too-short datagram first: it gets no reply, and the server's one receive loop takes
            // datagrams in order, so it has been counted once the replies to the other two are back.
            List<ResponseHeader> replies = client.SendAndCollect(
                [new byte[3], UdpTestClient.Request(1), UdpTestClient.Request(2, type: 99)], 2);
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
            using IHost second = ServeTestHost.Build("--port", first.Server!.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var e = await Assert.ThrowsAsync<NetStackConfigurationException>(() => second.StartAsync());
            Assert.Contains($"cannot listen on udp://127.0.0.1:{first.Server.Port}", e.Message);
        }
        finally
        {
            await first.StopAsync(CancellationToken.None);
        }
    }
}

/// <summary>`serve --apps spin,kv`: two latency-critical apps, each on its own ports, answered by its own handler.</summary>
public class ServeKvTests
{
    [Fact]
    public async Task ServeRunsSpinAndKvSideBySideOnTheirOwnPorts()
    {
        using IHost host = ServeTestHost.Build("--apps", "spin,kv", "--kv-port", "0", "--allocation", "standing-queue");
        await host.StartAsync();
        NetStackHost service = host.NetStack();
        try
        {
            int kvPort = service.TcpPortOf("kv");
            using var kv = new System.Net.Sockets.TcpClient("127.0.0.1", kvPort);
            var stream = kv.GetStream();
            stream.Write("set greeting 5 0 5\r\nhello\r\nget greeting\r\n"u8);
            var expected = "STORED\r\nVALUE greeting 5 5\r\nhello\r\nEND\r\n"u8.ToArray();
            var got = new byte[expected.Length];
            stream.ReadTimeout = 10_000;
            stream.ReadExactly(got);
            Assert.Equal(expected, got);

            using var spin = new global::NetStack.Tests.Tcp.TcpTestClient(service.TcpPortOf("spin"));
            spin.Send(global::NetStack.Tests.Tcp.TcpTestClient.Frame(5, payloadLength: 3));
            Assert.Equal(5ul, Assert.Single(spin.Read(1)).Header.Id);
        }
        finally
        {
            await host.StopAsync();
        }
        Assert.Contains("tcp kv: connections accepted 1", service.Summary);
        Assert.Contains("tcp spin: connections accepted 1", service.Summary);
    }
}
