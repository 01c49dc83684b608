// Choosing the NIC backend: auto falls back to the syscalls with one line saying why, a named backend is honoured or refused, and everything is still served.
using Microsoft.Extensions.Hosting;
using NetStack.Apps;
using NetStack.Hosting;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Support;
using NetStack.Tests.Tcp;
using NetStack.Tests.Udp;
using Xunit;

namespace NetStack.Tests.Apps;

public class NicBackendTests
{

    private static void AssertServesBoth(NetworkTestHost host)
    {
        using var tcp = new TcpTestClient(host.TcpPort);
        tcp.Send(TcpTestClient.Frame(1, payloadLength: 10));
        Assert.Equal(TcpTestClient.Pattern(1, 10), Assert.Single(tcp.Read(1)).Payload);
        using var udp = new UdpTestClient(host.UdpPort);
        Assert.Equal(ResponseStatus.Ok, Assert.Single(udp.SendAndCollect([UdpTestClient.Request(2)], 1)).Status);
    }

    [Fact]
    public void RefusedIoUringUnderAutoRunsBothTransportsOnTheSyscallsWithOneLineSayingWhy()
    {
        var nic = new NicOptions { IoUring = { Simulate = IoUringSimulation.NotPermitted } };
        using var host = NetworkTestHost.Start(NetworkTestHost.Options("ps", 1), null, nic, AppSpin());
        Assert.Equal(NicBackend.Syscalls, host.Nics.Udp!.Backend);
        Assert.Equal(NicBackend.Syscalls, host.Nics.Tcp!.Backend);
        string note = Assert.Single(host.Nics.Notes);
        Assert.Contains("EPERM", note);
        Assert.Contains("UDP and TCP", note);
        AssertServesBoth(host);
    }

    [Theory]
    [InlineData("refuse", "refused")]
    [InlineData("enosys", "ENOSYS")]
    [InlineData("old-kernel", "6.0")]
    public void TheEnvironmentCanRefuseIoUringForTheWholeProcessAndAutoStillServes(string value, string reason)
    {
        // As a kernel without io_uring, an old one, or a container's seccomp profile would.
        Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, value);
        try
        {
            using var host = NetworkTestHost.Start(NetworkTestHost.Options("ps", 1), null, new NicOptions(), AppSpin());
            Assert.Contains(reason, Assert.Single(host.Nics.Notes));
            Assert.Equal(NicBackend.Syscalls, host.Nics.Tcp!.Backend);
            AssertServesBoth(host);
        }
        finally
        {
            Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, null);
        }
    }

    [Fact]
    public void AutoRunsOnIoUringWhereItCanAndSaysNothing()
    {
        using var host = NetworkTestHost.Start(NetworkTestHost.Options("ps", 1), null, new NicOptions(), AppSpin());
        Assert.Equal(NicBackend.IoUring, host.Nics.Udp!.Backend);
        Assert.Equal(NicBackend.IoUring, host.Nics.Tcp!.Backend);
        Assert.Empty(host.Nics.Notes);
        Assert.All(host.Nics.Endpoints, e => Assert.EndsWith("(io_uring)", e));
        AssertServesBoth(host);
    }

    [Fact]
    public void ATransportsOwnBackendOverridesTheNicsOne()
    {
        var apps = new[] { AppSpin() };
        using var nics = NetworkNics.Open(apps, new UdpNicOptions { Backend = "syscalls" }, new TcpNicOptions(), new NicOptions { Backend = "io_uring" });
        Assert.Equal(NicBackend.Syscalls, nics.Udp!.Backend);
        Assert.Equal(NicBackend.IoUring, nics.Tcp!.Backend);
        Assert.Empty(nics.Notes);
    }

    [Fact]
    public async Task ServeWithIoUringRefusedPrintsOneLineWhyAndItsStartLineNamesTheSyscallsAndServes()
    {
        TextWriter original = Console.Out;
        var output = new StringWriter();
        Console.SetOut(output);
        using IHost host = ServeTestHost.Build("--Nic:IoUring:Simulate", "NotPermitted");
        try
        {
            await host.StartAsync();
            using var client = new UdpTestClient(host.NetStack().UdpPortOf("spin"));
            Assert.Equal(ResponseStatus.Ok, Assert.Single(client.SendAndCollect([UdpTestClient.Request(1)], 1)).Status);
        }
        finally
        {
            await host.StopAsync();
            Console.SetOut(original);
        }
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.Contains("io_uring unavailable") && l.Contains("EPERM"));
        string start = Assert.Single(lines, l => l.StartsWith("netstack: serving"));
        Assert.Contains("udp://127.0.0.1", start);
        Assert.Contains("(syscalls)", start);
        Assert.DoesNotContain("(io_uring)", start);
    }

    [Fact]
    public async Task IoUringAskedForByNameButRefusedIsAConfigurationErrorThatNamesTheReason()
    {
        using IHost host = ServeTestHost.Build("--backend", "io_uring", "--Nic:IoUring:Simulate", "NotPermitted");
        var e = await Assert.ThrowsAsync<NetStackConfigurationException>(() => host.StartAsync());
        Assert.Contains("io_uring", e.Message);
        Assert.Contains("EPERM", e.Message);
    }

    [Theory]
    [InlineData("--backend", "dpdk", "Nic:Backend 'dpdk' is unknown; valid: auto, io_uring, syscalls")]
    [InlineData("--Udp:Backend", "fast", "Udp:Backend 'fast' is unknown")]
    [InlineData("--Tcp:Backend", "x", "Tcp:Backend 'x' is unknown")]
    public void AnUnknownBackendIsOneLineNamingTheValidChoicesAndExitCode2(string option, string value, string expected)
    {
        (int exitCode, string error) = ServeTestHost.RunCommandLine("serve", option, value);
        Assert.Equal(2, exitCode);
        string text = error.TrimEnd();
        Assert.DoesNotContain('\n', text);
        Assert.Contains(expected, text);
    }

    private static global::NetStack.IOKernel.AppRegistration AppSpin() => global::NetStack.IOKernel.AppRegistration.LatencyCritical(
        NetworkTestHost.SpinOptions("spin", "127.0.0.1", 1), new global::NetStack.Apps.Spin.SpinApp(),
        new SpinProtocol(global::NetStack.Apps.Spin.SpinApp.TypeCount));
}
