// The hosted service that runs the ThreadPool baseline server for the host's lifetime.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using NetStack.Apps.Baseline;
using NetStack.Apps.Spin;
using NetStack.IOKernel;
using NetStack.IOKernel.Nic;

namespace NetStack.Apps.Hosting;

/// <summary>
/// Serves the spin app with <see cref="ThreadPoolServer"/>, the conventional design NetStack is
/// compared against; on Ctrl+C or SIGTERM stops taking requests, lets in-flight ones finish and
/// prints the same counts as <see cref="NetStackService"/>.
/// </summary>
public sealed class ThreadPoolService(
    IOptions<KernelOptions> kernelOptions,
    IOptions<ServerOptions> serverOptions,
    IOptions<UdpNicOptions> udpOptions) : IHostedService
{
    private ThreadPoolServer? _server;

    /// <summary>The running server (null before start).</summary>
    public ThreadPoolServer? Server => _server;

    /// <summary>The shutdown summary, once stopped.</summary>
    public string? Summary { get; private set; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        int maxInFlight = serverOptions.Value.ThreadPoolMaxInFlight;
        _server = HostValidation.Listen(udpOptions.Value, o => new ThreadPoolServer(o, new SpinApp(), SpinApp.TypeCount, maxInFlight));
        _server.Start();
        ThreadPool.GetMinThreads(out int minWorkers, out _);
        Console.WriteLine(
            $"netstack: threadpool server serving spin ({SpinApp.TypeCount} request types) on udp://{_server.LocalEndPoint}; " +
            $"one receive thread, handlers on the .NET ThreadPool (unpinned, min threads {minWorkers}, default), in-flight bound {maxInFlight}");
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            return Task.CompletedTask;
        }
        int unfinished = _server.Stop(TimeSpan.FromMilliseconds(kernelOptions.Value.DrainTimeoutMillis));
        UdpCounters u = _server.Counters;
        Summary =
            $"netstack: received {_server.Admitted + _server.Rejected}, completed {_server.Completed} (errors {_server.Errors}), " +
            $"rejected {_server.Rejected}, preemptions 0, unfinished {unfinished}; udp: {u}";
        Console.WriteLine(Summary);
        return Task.CompletedTask;
    }
}
