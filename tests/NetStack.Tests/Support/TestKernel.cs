// Kernel settings for tests: the two cores every test machine has, and back-offs that leave the test runner room.
using NetStack.IOKernel;
using NetStack.Runtime.Threading;

namespace NetStack.Tests.Support;

/// <summary>Options and helpers shared by the scheduler tests.</summary>
internal static class TestKernel
{
    /// <summary>IOKernel on core 0, one worker on core 1, yielding when idle.</summary>
    public static KernelOptions Options(string policy, double quantumMicros = 5, int mailboxDepth = 1) => new()
    {
        IOKernelCore = 0,
        WorkerCores = [1],
        Policy = policy,
        QuantumMicros = quantumMicros,
        MailboxDepth = mailboxDepth,
        IOKernelIdle = IdleStrategyKind.SpinYield,
        CarrierIdle = IdleStrategyKind.SpinYield,
        IdleSpinMicros = 20,
    };

    /// <summary>Runs a kernel until its NIC queue is exhausted and drained, or fails the test after a minute.</summary>
    public static void RunToEnd(Kernel kernel)
    {
        kernel.Start();
        if (!kernel.Wait(TimeSpan.FromMinutes(1)))
        {
            kernel.Stop();
            throw new Xunit.Sdk.XunitException("the kernel did not drain within a minute");
        }
    }
}
