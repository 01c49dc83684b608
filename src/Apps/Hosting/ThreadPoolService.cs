// The hosted service that runs the ThreadPool baseline servers (UDP and TCP) for the host's lifetime.
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NetStack.Apps.Baseline;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Protocol;

namespace NetStack.Apps.Hosting;

/// <summary>
/// Serves the spin app with <see cref="ThreadPoolServer"/> (UDP) and <see cref="ThreadPoolTcpServer"/>
/// (TCP) on the spin app's port, the conventional design NetStack is compared against; on Ctrl+C or
/// SIGTERM stops taking requests, lets in-flight ones finish and prints the same counts as
/// NetStack.Hosting's host.
/// </summary>
internal sealed class ThreadPoolService(
    IOptions<KernelOptions> kernelOptions,
    IOptions<ServerOptions> serverOptions,
    IOptions<UdpNicOptions> udpOptions,
    IOptions<TcpNicOptions> tcpOptions,
    IOptions<AppsOptions> appsOptions) : IHostedService
{
    private ThreadPoolServer? _server;
    private ThreadPoolTcpServer? _tcp;

    /// <summary>The running UDP server (null before start, or when spin is not on UDP).</summary>
    public ThreadPoolServer? Server => _server;

    /// <summary>The running TCP server (null before start, or when spin is not on TCP).</summary>
    public ThreadPoolTcpServer? TcpServer => _tcp;

    /// <summary>The shutdown summary, once stopped.</summary>
    public string? Summary { get; private set; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        int maxInFlight = serverOptions.Value.ThreadPoolMaxInFlight;
        if (!appsOptions.Value.RunList().Contains("spin"))
        {
            throw new ConfigurationException("the threadpool baseline serves the spin app only; valid: --server threadpool with --apps spin");
        }
        SpinAppOptions spin = appsOptions.Value.Spin;
        var address = IPAddress.Parse(spin.Address);
        int port = spin.Port;
        var protocol = new SpinProtocol(SpinApp.TypeCount);
        var where = new List<string>();
        // A port the kernel chose for UDP may be taken for TCP (by a client's ephemeral port, say): then
        // the pair is chosen again, as NetStack's own NICs do. A configured port fails at once.
        for (int attempt = 1; ; attempt++)
        {
            where.Clear();
            port = spin.Port;
            try
            {
                if (spin.Udp)
                {
                    _server = new ThreadPoolServer(new IPEndPoint(address, port), new SpinApp(), protocol, maxInFlight,
                        udpOptions.Value.ReceiveBufferBytes);
                    port = _server.Port;
                    where.Add($"udp://{_server.LocalEndPoint}");
                }
                if (spin.Tcp)
                {
                    _tcp = new ThreadPoolTcpServer(new IPEndPoint(address, port), new SpinApp(), protocol, tcpOptions.Value.MaxConnections);
                    where.Add($"tcp://{_tcp.LocalEndPoint}");
                }
                break;
            }
            catch (SocketException e)
            {
                _server?.Dispose();
                _tcp?.Dispose();
                _server = null;
                _tcp = null;
                if (spin.Port == 0 && spin.Udp && spin.Tcp && attempt < 20 && e.SocketErrorCode == SocketError.AddressAlreadyInUse)
                {
                    continue;
                }
                throw new ConfigurationException($"cannot listen on {spin.Address}:{port}: {e.Message}; choose another --port or --address");
            }
        }
        _server?.Start();
        _tcp?.Start();
        ThreadPool.GetMinThreads(out int minWorkers, out _);
        Console.WriteLine(
            $"netstack: threadpool server serving spin ({SpinApp.TypeCount} request types) on {string.Join(", ", where)}; " +
            $"one UDP receive thread and an async loop per TCP connection, handlers on the .NET ThreadPool " +
            $"(unpinned, min threads {minWorkers}, default), UDP in-flight bound {maxInFlight}");
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null && _tcp is null)
        {
            return Task.CompletedTask;
        }
        var drain = TimeSpan.FromMilliseconds(kernelOptions.Value.DrainTimeoutMillis);
        int unfinished = (_server?.Stop(drain) ?? 0) + (_tcp?.Stop(drain) ?? 0);
        long received = (_server is null ? 0 : _server.Admitted + _server.Rejected) + (_tcp?.Counters.Requests ?? 0);
        long completed = (_server?.Completed ?? 0) + (_tcp?.Completed ?? 0);
        long errors = (_server?.Errors ?? 0) + (_tcp?.Errors ?? 0);
        Summary =
            $"netstack: received {received}, completed {completed} (errors {errors}), " +
            $"rejected {_server?.Rejected ?? 0}, preemptions 0, unfinished {unfinished}";
        if (_server is not null)
        {
            Summary += $"; udp: {_server.Counters}";
        }
        if (_tcp is not null)
        {
            Summary += $"; tcp: {_tcp.Counters}";
        }
        Console.WriteLine(Summary);
        return Task.CompletedTask;
    }
}
