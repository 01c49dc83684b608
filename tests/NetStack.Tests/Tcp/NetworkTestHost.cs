// A NetStack host for the network tests: apps on kernel-chosen loopback ports, UDP and TCP, on either backend, one or more workers.
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using NetStack.Runtime;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Support;

namespace NetStack.Tests.Tcp;

/// <summary>An IOKernel serving apps over the network NICs, stopped and checked by the test.</summary>
internal sealed class NetworkTestHost : IDisposable
{
    private bool _stopped;

    private NetworkTestHost(Kernel kernel, NetworkNics nics)
    {
        Kernel = kernel;
        Nics = nics;
    }

    /// <summary>The kernel.</summary>
    public Kernel Kernel { get; }

    /// <summary>Its NICs.</summary>
    public NetworkNics Nics { get; }

    /// <summary>The first app's TCP port.</summary>
    public int TcpPort => Nics.TcpPortOf(0);

    /// <summary>The first app's UDP port.</summary>
    public int UdpPort => Nics.UdpPortOf(0);

    /// <summary>The TCP NIC's counts for the first port.</summary>
    public TcpCounters Tcp => Nics.Tcp!.Counters;

    /// <summary>The spin app on UDP and TCP (same port), under <paramref name="policy"/>, both NICs on <paramref name="backend"/>.</summary>
    /// <param name="workers">Carriers; more than one run unpinned, so a 2-core machine can hold them.</param>
    public static NetworkTestHost Spin(string policy = "ps", int workers = 1, TcpNicOptions? tcp = null, string address = "127.0.0.1",
        IRequestHandler? handler = null, int maxReplyBytes = AppOptions.DefaultMaxReplyBytes, double quantumMicros = 5,
        NicBackend backend = NicBackend.Syscalls, IoUringOptions? ring = null) =>
        Start(Options(policy, workers, quantumMicros), tcp, new NicOptions { Backend = NicOptions.NameOf(backend), IoUring = ring ?? new() },
            AppRegistration.LatencyCritical(SpinOptions("spin", address, workers, maxReplyBytes), handler ?? new SpinApp(),
                new SpinProtocol(SpinApp.TypeCount)));

    /// <summary>Kernel options for <paramref name="workers"/> workers.</summary>
    public static KernelOptions Options(string policy, int workers, double quantumMicros = 5)
    {
        KernelOptions options = TestKernel.Options(policy, quantumMicros, mailboxDepth: 2);
        options.WorkerCores = workers == 1 ? [1] : Enumerable.Repeat(Affinity.Unpinned, workers).ToArray();
        options.CoreAllocation = "static";
        options.DrainTimeoutMillis = 10_000;
        return options;
    }

    /// <summary>An app on both transports, kernel-chosen port, every worker guaranteed.</summary>
    public static AppOptions SpinOptions(string name, string address, int workers, int maxReplyBytes = AppOptions.DefaultMaxReplyBytes) => new()
    {
        Name = name,
        Address = address,
        UdpPort = 0,
        TcpPort = 0,
        GuaranteedCores = workers,
        MaxCores = workers,
        MaxReplyBytes = maxReplyBytes,
    };

    /// <summary>Any apps, both NICs on <paramref name="backend"/> (checked: a test never runs on a backend it did not ask for).</summary>
    public static NetworkTestHost Start(KernelOptions options, TcpNicOptions? tcp, NicBackend backend, params AppRegistration[] apps) =>
        Start(options, tcp, new NicOptions { Backend = NicOptions.NameOf(backend) }, apps);

    /// <summary>Any apps, the NICs as <paramref name="nic"/> says; a named backend is checked, <c>auto</c> is not.</summary>
    public static NetworkTestHost Start(KernelOptions options, TcpNicOptions? tcp, NicOptions nic, params AppRegistration[] apps)
    {
        NetworkNics nics = NetworkNics.Open(apps, new UdpNicOptions(), tcp ?? new TcpNicOptions(), nic);
        NicBackend backend = nic.ParsedBackend;
        if (backend != NicBackend.Auto)
        {
            Xunit.Assert.All(new[] { nics.Udp?.Backend, nics.Tcp?.Backend }.OfType<NicBackend>(), b => Xunit.Assert.Equal(backend, b));
        }
        try
        {
            var kernel = new Kernel(options, nics.All, apps);
            kernel.Start();
            return new NetworkTestHost(kernel, nics);
        }
        catch
        {
            nics.Dispose();
            throw;
        }
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds; false if it never did.</summary>
    public static bool Eventually(Func<bool> condition, TimeSpan? timeout = null)
    {
        long deadline = Environment.TickCount64 + (long)(timeout ?? TimeSpan.FromSeconds(20)).TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(5);
        }
        return condition();
    }

    /// <summary>Stops intake, drains, closes the sockets.</summary>
    public void Stop()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        Kernel.RequestStop();
        if (!Kernel.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new Xunit.Sdk.XunitException("the kernel did not stop within 30 s");
        }
        Nics.Dispose();
    }

    /// <inheritdoc />
    public void Dispose() => Stop();
}
