// kv served by NetStack itself for the tests: the IOKernel's TCP (and UDP) NICs, the kv handler on a carrier, as `serve --apps kv` runs it.
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Scheduling;
using NetStack.Tests.Tcp;

namespace NetStack.Tests.Kv;

/// <summary>A NetStack host serving kv on kernel-chosen loopback ports, with a handler that records what it threw.</summary>
internal sealed class KvHost : IDisposable
{
    private readonly NetworkTestHost _host;
    private readonly Recording _handler;

    public KvHost(KvOptions? options = null, KvClock? clock = null, bool udp = false, string policy = "ps",
        NicBackend backend = NicBackend.Syscalls)
    {
        Options = options ?? new KvOptions();
        Store = new KvStore(Options, clock);
        Engine = new KvEngine(Store);
        _handler = new Recording(new KvApp(Engine));
        var app = new AppOptions
        {
            Name = "kv",
            TcpPort = 0,
            UdpPort = udp ? 0 : null,
            GuaranteedCores = 1,
            MaxCores = 1,
            MaxReplyBytes = 64 << 20,
        };
        _host = NetworkTestHost.Start(NetworkTestHost.Options(policy, 1), null, backend, AppRegistration.LatencyCritical(app, _handler, Engine.Protocol));
    }

    public KvOptions Options { get; }
    public KvStore Store { get; }
    public KvEngine Engine { get; }
    public int Port => _host.Nics.TcpPortOf(0);
    public int UdpPort => _host.Nics.UdpPortOf(0);
    public Kernel Kernel => _host.Kernel;
    public NetStack.IOKernel.Nic.NetworkNics Nics => _host.Nics;

    /// <summary>Exceptions the handler threw (the engine must never throw).</summary>
    public IReadOnlyList<Exception> Errors => _handler.Errors;

    public void Dispose() => _host.Dispose();

    private sealed class Recording(KvApp inner) : IRequestHandler
    {
        private readonly List<Exception> _errors = [];

        public IReadOnlyList<Exception> Errors
        {
            get
            {
                lock (_errors)
                {
                    return [.. _errors];
                }
            }
        }

        public async ValueTask HandleAsync(RequestContext ctx)
        {
            try
            {
                await inner.HandleAsync(ctx);
            }
            catch (Exception e)
            {
                lock (_errors)
                {
                    _errors.Add(e);
                }
                throw;
            }
        }
    }
}
