// The two servers under test behind one face: NetStack over the UDP NIC, and the ThreadPool baseline.
using NetStack.Apps.Baseline;
using NetStack.Apps.Spin;
using NetStack.IOKernel.Nic;
using NetStack.Tests.Support;

namespace NetStack.Tests.Udp;

/// <summary>A server on a kernel-chosen loopback port, with the counts both kinds keep.</summary>
internal interface ITestServer : IDisposable
{
    /// <summary>The bound port.</summary>
    int Port { get; }

    /// <summary>The server's UDP counts (exact after <see cref="Stop"/>).</summary>
    UdpCounters Counters { get; }

    /// <summary>Requests turned away for overload.</summary>
    long Rejected { get; }

    /// <summary>Requests whose handler ran to the end.</summary>
    long Completed { get; }

    /// <summary>Stops intake, drains, flushes.</summary>
    void Stop();
}

/// <summary>Starts the servers the tests compare.</summary>
internal static class TestServers
{
    /// <summary>"threadpool", or a NetStack policy name on <paramref name="backend"/> (the baseline has no backend to choose).</summary>
    public static ITestServer Start(string server, NicBackend backend = NicBackend.Syscalls, int queueCapacity = 8192, int queues = 1) =>
        server == "threadpool" ? new ThreadPoolTestServer(queueCapacity) : new NetStackTestServer(server, backend, queueCapacity, queues);

    private sealed class NetStackTestServer : ITestServer
    {
        private readonly UdpNic _nic;
        private readonly Kernel _kernel;
        private bool _stopped;

        public NetStackTestServer(string policy, NicBackend backend, int queueCapacity, int queues)
        {
            _nic = UdpNic.Open(new UdpNicOptions { Port = 0, Queues = queues }, SpinApp.TypeCount, backend);
            Xunit.Assert.Equal(backend, _nic.Backend);
            var options = TestKernel.Options(policy, mailboxDepth: 2);
            options.QueueCapacity = queueCapacity;
            _kernel = new Kernel(options, _nic, new SpinApp());
            _kernel.Start();
        }

        public int Port => _nic.Port;
        public UdpCounters Counters => _nic.Counters;
        public long Rejected => _kernel.Counters.Rejected;
        public long Completed => _kernel.Counters.Completed;

        public void Stop()
        {
            if (!_stopped)
            {
                _stopped = true;
                _kernel.RequestStop();
                if (!_kernel.Wait(TimeSpan.FromSeconds(30)))
                {
                    throw new Xunit.Sdk.XunitException("the IOKernel did not stop within 30 s");
                }
            }
        }

        public void Dispose()
        {
            Stop();
            _nic.Dispose();
        }
    }

    private sealed class ThreadPoolTestServer : ITestServer
    {
        private readonly ThreadPoolServer _server;
        private bool _stopped;

        public ThreadPoolTestServer(int maxInFlight)
        {
            _server = new ThreadPoolServer(new UdpNicOptions { Port = 0 }, new SpinApp(), SpinApp.TypeCount, maxInFlight);
            _server.Start();
        }

        public int Port => _server.Port;
        public UdpCounters Counters => _server.Counters;
        public long Rejected => _server.Rejected;
        public long Completed => _server.Completed;

        public void Stop()
        {
            if (!_stopped)
            {
                _stopped = true;
                Xunit.Assert.Equal(0, _server.Stop(TimeSpan.FromSeconds(30)));
            }
        }

        public void Dispose() => Stop();
    }
}
