// Opens the NIC queues a set of apps asks for: one UDP NIC for every UDP port, one TCP NIC for every TCP port, each on its backend.
using System.Net;
using System.Net.Sockets;

namespace NetStack.IOKernel.Nic;

/// <summary>A port could not be listened on: in use, or an address that is not this machine's.</summary>
internal sealed class ListenException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The network side of a host: apps are found by the port a request reaches, so each
/// latency-critical app with a UDP or TCP port gets a binding in the UDP NIC or the TCP NIC. An app
/// served on both with port 0 gets the same port for both (the UDP one, chosen by the kernel). Each
/// NIC runs on the backend its configuration names (<see cref="NicOptions.Backend"/>, or the
/// transport's own); where <c>auto</c> found io_uring refused, <see cref="Notes"/> says why in one line.
/// </summary>
internal sealed class NetworkNics : IDisposable
{
    private NetworkNics(UdpNic? udp, TcpNic? tcp, IReadOnlyList<string> endpoints)
    {
        Udp = udp;
        Tcp = tcp;
        Endpoints = endpoints;
        All = new INicQueue?[] { udp, tcp }.OfType<INicQueue>().ToArray();
        Notes = FallbackNotes(udp?.FallbackReason, tcp?.FallbackReason);
    }

    /// <summary>Lines for the log: why a NIC asked for <c>auto</c> does not run on io_uring (none when all do, or none asked).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The UDP NIC, when some app is served on UDP.</summary>
    public UdpNic? Udp { get; }

    /// <summary>The TCP NIC, when some app is served on TCP.</summary>
    public TcpNic? Tcp { get; }

    /// <summary>Both, for the IOKernel.</summary>
    public IReadOnlyList<INicQueue> All { get; }

    /// <summary>"spin: udp://127.0.0.1:9000 (io_uring)", one per binding, for the start-up line.</summary>
    public IReadOnlyList<string> Endpoints { get; }

    /// <summary>The UDP port app <paramref name="appId"/> is served on (-1: none).</summary>
    public int UdpPortOf(int appId) => PortOf(_udpApps, Udp?.EndPoints, appId);

    /// <summary>The TCP port app <paramref name="appId"/> is served on (-1: none).</summary>
    public int TcpPortOf(int appId) => PortOf(_tcpApps, Tcp?.EndPoints, appId);

    private int[] _udpApps = [];
    private int[] _tcpApps = [];

    /// <summary>Opens every port the apps ask for.</summary>
    /// <exception cref="ListenException">A port cannot be listened on (the message says which and why).</exception>
    /// <exception cref="NicBackendException">io_uring was asked for by name and is refused here.</exception>
    public static NetworkNics Open(IReadOnlyList<AppRegistration> apps, UdpNicOptions udpOptions, TcpNicOptions tcpOptions,
        NicOptions? nicOptions = null)
    {
        nicOptions ??= new NicOptions();
        // A port the kernel chose for UDP may be taken for TCP (by a client's ephemeral port, say):
        // then the pair is chosen again. Only kernel-chosen ports are retried; a configured one fails at once.
        bool chosenByKernel = apps.Any(a => a.Options.UdpPort == 0 && a.Options.TcpPort == 0);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return OpenOnce(apps, udpOptions, tcpOptions, nicOptions);
            }
            catch (ListenException e) when (chosenByKernel && attempt < 20
                && e.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
            }
        }
    }

    private static NetworkNics OpenOnce(IReadOnlyList<AppRegistration> apps, UdpNicOptions udpOptions, TcpNicOptions tcpOptions,
        NicOptions nicOptions)
    {
        var udpBindings = new List<UdpBinding>();
        var tcpApps = new List<(int App, AppRegistration Registration)>();
        for (int id = 0; id < apps.Count; id++)
        {
            AppRegistration app = apps[id];
            if (app.Protocol is null || app.Options.Priority != AppPriority.LatencyCritical)
            {
                continue;
            }
            IPAddress address = IPAddress.Parse(app.Options.Address);
            if (app.Options.UdpPort is int udpPort)
            {
                udpBindings.Add(new UdpBinding(id, app.Protocol, address, udpPort));
            }
            if (app.Options.TcpPort is not null)
            {
                tcpApps.Add((id, app));
            }
        }

        UdpNic? udp = null;
        TcpNic? tcp = null;
        var endpoints = new List<string>();
        try
        {
            if (udpBindings.Count > 0)
            {
                udp = Listen("udp", udpBindings.Select(b => (b.Address, b.Port)), () => UdpNic.Open(udpOptions, udpBindings,
                    nicOptions.For(udpOptions.Backend, "Udp:Backend"), nicOptions.IoUring));
                for (int i = 0; i < udpBindings.Count; i++)
                {
                    endpoints.Add($"{apps[udpBindings[i].AppId].Options.Name}: udp://{Format(udp.EndPoints[i])} ({NicOptions.NameOf(udp.Backend)})");
                }
            }
            if (tcpApps.Count > 0)
            {
                var tcpBindings = tcpApps.Select(t =>
                {
                    int port = t.Registration.Options.TcpPort!.Value;
                    if (port == 0 && udp is not null && t.Registration.Options.UdpPort == 0)
                    {
                        // Same app on both transports with a kernel-chosen port: the same number for both.
                        port = udp.EndPoints[udpBindings.FindIndex(b => b.AppId == t.App)].Port;
                    }
                    return new TcpBinding(t.App, t.Registration.Protocol!, IPAddress.Parse(t.Registration.Options.Address), port);
                }).ToList();
                tcp = Listen("tcp", tcpBindings.Select(b => (b.Address, b.Port)), () => TcpNic.Open(tcpOptions, tcpBindings,
                    nicOptions.For(tcpOptions.Backend, "Tcp:Backend"), nicOptions.IoUring));
                for (int i = 0; i < tcpBindings.Count; i++)
                {
                    endpoints.Add($"{apps[tcpBindings[i].AppId].Options.Name}: tcp://{Format(tcp.EndPoints[i])} ({NicOptions.NameOf(tcp.Backend)})");
                }
            }
        }
        catch
        {
            udp?.Dispose();
            tcp?.Dispose();
            throw;
        }
        return new NetworkNics(udp, tcp, endpoints)
        {
            _udpApps = udpBindings.Select(b => b.AppId).ToArray(),
            _tcpApps = tcpApps.Select(t => t.App).ToArray(),
            _names = apps.Select(a => a.Options.Name).ToArray(),
        };
    }

    /// <summary>Each binding's counts with its label ("udp spin", "tcp kv"), for the shutdown line.</summary>
    public IEnumerable<(string Name, object Counters)> CountersByBinding()
    {
        for (int i = 0; i < _udpApps.Length; i++)
        {
            yield return ($"udp {_names[_udpApps[i]]}", Udp!.CountersByPort[i]);
        }
        for (int i = 0; i < _tcpApps.Length; i++)
        {
            yield return ($"tcp {_names[_tcpApps[i]]}", Tcp!.CountersByPort[i]);
        }
    }

    private string[] _names = [];

    /// <summary>Closes every socket. Only after the IOKernel has stopped.</summary>
    public void Dispose()
    {
        Udp?.Dispose();
        Tcp?.Dispose();
    }

    /// <summary>One line per reason: both NICs refused for the same reason (the usual case) make one.</summary>
    private static string[] FallbackNotes(string? udp, string? tcp)
    {
        if (udp is not null && udp == tcp)
        {
            return [$"io_uring unavailable: {udp}; UDP and TCP run on the syscalls backends (recvmmsg/sendmmsg, epoll)"];
        }
        var notes = new List<string>();
        if (udp is not null)
        {
            notes.Add($"io_uring unavailable for UDP: {udp}; UDP runs on the syscalls backend (recvmmsg/sendmmsg)");
        }
        if (tcp is not null)
        {
            notes.Add($"io_uring unavailable for TCP: {tcp}; TCP runs on the syscalls backend (epoll)");
        }
        return [.. notes];
    }

    private static int PortOf(int[] apps, IReadOnlyList<IPEndPoint>? endpoints, int appId)
    {
        int i = Array.IndexOf(apps, appId);
        return i < 0 || endpoints is null ? -1 : endpoints[i].Port;
    }

    private static T Listen<T>(string transport, IEnumerable<(IPAddress Address, int Port)> bindings, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (SocketException e)
        {
            string where = string.Join(", ", bindings.Select(b => $"{transport}://{Format(new IPEndPoint(b.Address, b.Port))}"));
            throw new ListenException($"cannot listen on {where}: {e.Message}; choose another port or address", e);
        }
    }

    private static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]:{endpoint.Port}" : endpoint.ToString();
}
