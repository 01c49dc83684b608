// Configuration of an io_uring: ring sizes, how completion work reaches the poller, and simulated refusal for tests.
namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>How the kernel's completion work (the receive a readiness event triggers, say) gets to run.</summary>
public enum IoUringTaskRun
{
    /// <summary>
    /// IORING_SETUP_DEFER_TASKRUN with IORING_SETUP_TASKRUN_FLAG: the work waits until the poller
    /// enters the kernel, and the kernel raises IORING_SQ_TASKRUN in shared memory when there is
    /// some. An idle poll is two loads and no system call; a loop with arrivals makes one
    /// io_uring_enter that runs all of them (and submits whatever is queued). No interrupt ever
    /// lands on the IOKernel's core. Measured here: ~3 µs from send to completion (docs/io_uring.md).
    /// </summary>
    Deferred,

    /// <summary>IORING_SETUP_COOP_TASKRUN with IORING_SETUP_TASKRUN_FLAG: as <see cref="Deferred"/>,
    /// but any entry into the kernel may run the work. The fallback for a 6.0 kernel.</summary>
    Cooperative,

    /// <summary>Neither flag: the kernel interrupts the poller's core to run the work, so completions
    /// appear in the CQ with no system call from the poller at all, but each interruption costs the
    /// core, and here it took ~20 µs from send to completion.</summary>
    Signal,
}

/// <summary>Simulated answers of a kernel that refuses io_uring, so the fallback can be tested on a
/// machine that has it. Also set by the environment variable NETSTACK_IOURING.</summary>
public enum IoUringSimulation
{
    /// <summary>Ask the real kernel.</summary>
    None,
    /// <summary>Refuse before any system call (NETSTACK_IOURING=refuse).</summary>
    Refuse,
    /// <summary>io_uring_setup fails with ENOSYS, as on a kernel built without io_uring (NETSTACK_IOURING=enosys).</summary>
    NoSystemCall,
    /// <summary>io_uring_setup fails with EPERM, as with kernel.io_uring_disabled=2 or a seccomp filter (NETSTACK_IOURING=eperm).</summary>
    NotPermitted,
    /// <summary>The kernel rejects COOP_TASKRUN, TASKRUN_FLAG, SINGLE_ISSUER and DEFER_TASKRUN with EINVAL, as 5.15 does (NETSTACK_IOURING=old-kernel).</summary>
    OldKernel,
    /// <summary>The kernel rejects DEFER_TASKRUN with EINVAL, as 6.0 does (NETSTACK_IOURING=no-defer-taskrun).</summary>
    NoDeferTaskRun,
}

/// <summary>An io_uring's configuration. Every value has its unit in its name and its reason beside it.</summary>
public sealed class IoUringOptions
{
    /// <summary>The environment variable that can refuse or degrade io_uring for a whole process (see <see cref="IoUringSimulation"/>).</summary>
    public const string EnvironmentVariable = "NETSTACK_IOURING";

    /// <summary>The largest SQ the kernel allows (IORING_MAX_ENTRIES).</summary>
    public const int MaxSubmissionEntries = 32768;

    /// <summary>The largest CQ the kernel allows (IORING_MAX_CQ_ENTRIES).</summary>
    public const int MaxCompletionEntries = 65536;

    /// <summary>SQ entries (a power of two). 256: a loop's sends and re-arms fit with room to spare, so
    /// one io_uring_enter per loop suffices; a full SQ costs an extra enter (counted).</summary>
    public int SubmissionEntries { get; set; } = 256;

    /// <summary>CQ entries (a power of two, at least <see cref="SubmissionEntries"/>). 4096: receive
    /// completions cannot outnumber the provided buffers, so a CQ at least as large as every
    /// buffer ring plus the SQ cannot overflow from receives (an overflow is still handled).</summary>
    public int CompletionEntries { get; set; } = 4096;

    /// <summary>Provided buffers per NIC (a power of two up to 32768), each backed by one of the NIC's
    /// receive blocks at a time: a request keeps its block and the buffer goes back with a fresh one,
    /// so they only cover what arrives between two IOKernel loops. 512: at the ~0.4 M datagrams/s one
    /// core receives here, over a millisecond of arrivals, for 1 MiB of UDP blocks (8 MiB of 16 KiB TCP
    /// blocks). When they run out the multishot ends with ENOBUFS and is re-armed; bytes wait in the
    /// socket meanwhile.</summary>
    public int ProvidedBuffers { get; set; } = 512;

    /// <summary>How completion work reaches the poller; <see cref="IoUringTaskRun.Deferred"/> by measurement
    /// (docs/io_uring.md). When the kernel rejects the choice, setup falls back to the next one.</summary>
    public IoUringTaskRun TaskRun { get; set; } = IoUringTaskRun.Deferred;

    /// <summary>Create the ring disabled (IORING_SETUP_R_DISABLED), so a thread other than the creator can
    /// become its single issuer with <see cref="IoUringRing.Enable"/>: the IOKernel thread, which starts
    /// after the NIC is built. Otherwise the creating thread is the only one that may submit.</summary>
    public bool StartDisabled { get; set; }

    /// <summary>Simulated refusal for tests; <see cref="IoUringSimulation.None"/> defers to <see cref="EnvironmentVariable"/>.</summary>
    public IoUringSimulation Simulate { get; set; }

    /// <summary>
    /// These options with a NIC's own queue sizes, started disabled: the IOKernel thread, which
    /// starts later, becomes the single issuer when it enables the ring at its first poll.
    /// </summary>
    internal IoUringOptions ForNic(int submissionEntries, int completionEntries) => new()
    {
        SubmissionEntries = submissionEntries,
        CompletionEntries = completionEntries,
        ProvidedBuffers = ProvidedBuffers,
        TaskRun = TaskRun,
        StartDisabled = true,
        Simulate = Simulate,
    };

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> saying what is wrong and what is valid.</summary>
    public void Validate()
    {
        if (SubmissionEntries < 1 || SubmissionEntries > MaxSubmissionEntries || !IsPowerOfTwo(SubmissionEntries))
        {
            throw new ArgumentException($"{SubmissionEntries} SQ entries is invalid; valid: a power of two from 1 to {MaxSubmissionEntries}");
        }
        if (CompletionEntries < SubmissionEntries || CompletionEntries > MaxCompletionEntries || !IsPowerOfTwo(CompletionEntries))
        {
            throw new ArgumentException($"{CompletionEntries} CQ entries is invalid; valid: a power of two from the SQ's {SubmissionEntries} to {MaxCompletionEntries}");
        }
        if (ProvidedBuffers < 1 || ProvidedBuffers > 32768 || !IsPowerOfTwo(ProvidedBuffers))
        {
            throw new ArgumentException($"{ProvidedBuffers} provided buffers is invalid; valid: a power of two from 1 to 32768");
        }
        if (!Enum.IsDefined(TaskRun))
        {
            throw new ArgumentException($"task-run mode {TaskRun} is unknown; valid: {string.Join(", ", Enum.GetNames<IoUringTaskRun>())}");
        }
    }

    /// <summary>The simulation in force: <see cref="Simulate"/>, else the environment's. An unknown value
    /// in the environment refuses io_uring (and says so) rather than being ignored.</summary>
    internal IoUringSimulation EffectiveSimulation(out string? unknownValue)
    {
        unknownValue = null;
        if (Simulate != IoUringSimulation.None)
        {
            return Simulate;
        }
        string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        switch (value?.Trim().ToLowerInvariant())
        {
            case null or "" or "on": return IoUringSimulation.None;
            case "refuse" or "off": return IoUringSimulation.Refuse;
            case "enosys": return IoUringSimulation.NoSystemCall;
            case "eperm": return IoUringSimulation.NotPermitted;
            case "old-kernel": return IoUringSimulation.OldKernel;
            case "no-defer-taskrun": return IoUringSimulation.NoDeferTaskRun;
            default:
                unknownValue = value;
                return IoUringSimulation.Refuse;
        }
    }

    private static bool IsPowerOfTwo(int n) => n > 0 && (n & (n - 1)) == 0;
}
