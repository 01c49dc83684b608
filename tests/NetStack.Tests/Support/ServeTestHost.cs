// serve's host as `netstack serve ARGS` builds it, on the test machine's two cores with back-offs that leave the runner room.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NetStack.Apps.Cli;
using NetStack.Hosting;

namespace NetStack.Tests.Support;

/// <summary>Builds serve's host (not started) and finds its NetStack hosted service.</summary>
internal static class ServeTestHost
{
    /// <summary>IOKernel on core 0, one worker on core 1, ps, JBSQ(2), spin on a kernel-chosen port; <paramref name="args"/> after these.</summary>
    public static IHost Build(params string[] args) => ServeCommand.BuildHost(
    [
        "--policy", "ps", "--mailbox-depth", "2", "--port", "0", "--iokernel-core", "0", "--worker-cores", "1",
        "--NetStack:IOKernelIdle", "SpinYield", "--NetStack:CarrierIdle", "SpinYield", "--NetStack:IdleSpinMicros", "20",
        .. args,
    ]);

    /// <summary>Runs `netstack ARGS` as the command line does and returns its exit code and what it wrote to stderr.</summary>
    public static (int ExitCode, string Error) RunCommandLine(params string[] args)
    {
        TextWriter original = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            return (global::NetStack.Apps.Program.Main(args), error.ToString());
        }
        finally
        {
            Console.SetError(original);
        }
    }

    /// <summary>The host's NetStack service.</summary>
    public static NetStackHost NetStack(this IHost host) => host.Services.GetRequiredService<NetStackHost>();
}
