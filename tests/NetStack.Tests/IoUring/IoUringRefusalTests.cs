// TryCreate refuses without throwing, and says why: no io_uring, io_uring disabled, a kernel too old; and falls back on a rejected flag.
using NetStack.IOKernel.Nic.IoUring;
using Xunit;
using static NetStack.Tests.IoUring.IoUringTestSupport;

namespace NetStack.Tests.IoUring;

public class IoUringRefusalTests
{
    private static (bool Created, string Reason) Try(IoUringOptions options)
    {
        bool created = IoUringRing.TryCreate(options, out IoUringRing? ring, out string reason);
        ring?.Dispose();
        Assert.Equal(created, ring is not null);
        return (created, reason);
    }

    [Fact]
    public void ARefusalByConfigurationMakesNoRing()
    {
        var (created, reason) = Try(new IoUringOptions { Simulate = IoUringSimulation.Refuse });
        Assert.False(created);
        Assert.Contains("refused", reason);
    }

    [Fact]
    public void AKernelWithoutIoUringIsRefusedWithENOSYS()
    {
        var (created, reason) = Try(new IoUringOptions { Simulate = IoUringSimulation.NoSystemCall });
        Assert.False(created);
        Assert.Contains("ENOSYS", reason);
    }

    [Fact]
    public void DisabledIoUringIsRefusedWithEPERMAndTheSysctl()
    {
        var (created, reason) = Try(new IoUringOptions { Simulate = IoUringSimulation.NotPermitted });
        Assert.False(created);
        Assert.Contains("EPERM", reason);
        Assert.Contains("kernel.io_uring_disabled", reason);
    }

    [Fact]
    public void AKernelOlderThan60IsRefusedAfterEveryTaskRunModeWasTried()
    {
        var (created, reason) = Try(new IoUringOptions { Simulate = IoUringSimulation.OldKernel });
        Assert.False(created);
        Assert.Contains("6.0", reason);
        Assert.Contains("SINGLE_ISSUER", reason);
    }

    [Fact]
    public void ARejectedDeferTaskRunFallsBackToCooperativeTaskRunThatWorks()
    {
        bool created = IoUringRing.TryCreate(new IoUringOptions { Simulate = IoUringSimulation.NoDeferTaskRun }, out IoUringRing? ring, out string reason);
        Assert.True(created, reason);
        using (ring)
        {
            Assert.Equal(IoUringTaskRun.Cooperative, ring!.TaskRun);
            Assert.Contains("DeferTaskRun", reason);
            Assert.Contains("EINVAL", reason);
            IoUringPrep.Nop(ref ring.GetSqe(), 9);
            ring.Submit();
            ulong got = 0;
            PollUntil(ring, () => got == 9, cqe => got = cqe.UserData, what: "a NOP on the fallback ring");
        }
    }

    [Fact]
    public void TheEnvironmentVariableRefusesAndAnUnknownValueRefusesSayingSo()
    {
        string? saved = Environment.GetEnvironmentVariable(IoUringOptions.EnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, "refuse");
            var (created, reason) = Try(new IoUringOptions());
            Assert.False(created);
            Assert.Contains("refuse", reason);

            Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, "eperm");
            (created, reason) = Try(new IoUringOptions());
            Assert.False(created);
            Assert.Contains("EPERM", reason);

            Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, "sometimes");
            (created, reason) = Try(new IoUringOptions());
            Assert.False(created);
            Assert.Contains("'sometimes' is not a known value", reason);

            // An explicit option wins over the environment.
            Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, "refuse");
            (created, reason) = Try(new IoUringOptions { Simulate = IoUringSimulation.NoDeferTaskRun });
            Assert.True(created, reason);
        }
        finally
        {
            Environment.SetEnvironmentVariable(IoUringOptions.EnvironmentVariable, saved);
        }
    }

    [Fact]
    public void InvalidSizesAreABugAndThrowSayingWhatIsValid()
    {
        var e = Assert.Throws<ArgumentException>(() => IoUringRing.TryCreate(new IoUringOptions { SubmissionEntries = 100 }, out _, out _));
        Assert.Contains("power of two", e.Message);
        e = Assert.Throws<ArgumentException>(() => IoUringRing.TryCreate(new IoUringOptions { SubmissionEntries = 256, CompletionEntries = 128 }, out _, out _));
        Assert.Contains("CQ entries", e.Message);
    }

    [Fact]
    public void OnThisMachineTheDeferredModeIsSetUp()
    {
        using IoUringRing ring = CreateRing();
        Assert.Equal(IoUringTaskRun.Deferred, ring.TaskRun);
        Assert.True((ring.SetupFlags & IoUringSetupFlags.SingleIssuer) != 0);
        Assert.True((ring.Features & IoUringFeatures.NoDrop) != 0);
    }
}
