// Setting a ring up: the flags tried best first, the fallbacks on EINVAL, the features checked, the refusals named.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace NetStack.IOKernel.Nic.IoUring;

internal sealed unsafe partial class IoUringRing
{
    /// <summary>Buffer group used once at setup to check that the kernel has provided-buffer rings.</summary>
    private const ushort ProbeBufferGroup = ushort.MaxValue;

    /// <summary>The opcodes a NIC backend needs; setup refuses a kernel without any of them.</summary>
    private static readonly IoUringOp[] s_requiredOps =
    [
        IoUringOp.Nop, IoUringOp.Writev, IoUringOp.SendMsg, IoUringOp.RecvMsg, IoUringOp.Accept,
        IoUringOp.AsyncCancel, IoUringOp.Close, IoUringOp.Send, IoUringOp.Recv,
    ];

    /// <summary>
    /// Sets up a ring, or says why not. Never throws because io_uring is unavailable: a kernel
    /// without it (ENOSYS), io_uring disabled (EPERM: kernel.io_uring_disabled, seccomp, a
    /// container), a kernel older than the features NetStack relies on (multishot receive, 6.0;
    /// provided-buffer rings, 5.19; single issuer, 6.0), or a simulation of any of these
    /// (<see cref="IoUringOptions.Simulate"/>, NETSTACK_IOURING) all return false with the reason.
    /// A task-run mode the kernel rejects with EINVAL is retried with the next one
    /// (<see cref="IoUringTaskRun.Deferred"/>, then <see cref="IoUringTaskRun.Cooperative"/>, then
    /// <see cref="IoUringTaskRun.Signal"/>), and the fallback is named in <paramref name="reason"/>.
    /// </summary>
    /// <param name="options">Sizes and mode (validated here).</param>
    /// <param name="ring">The ring, when true.</param>
    /// <param name="reason">Why not, when false; what was set up, when true.</param>
    /// <exception cref="ArgumentException">An option is invalid (a bug, not an unavailable kernel).</exception>
    public static bool TryCreate(IoUringOptions options, [NotNullWhen(true)] out IoUringRing? ring, out string reason)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ring = null;
        IoUringSimulation simulation = options.EffectiveSimulation(out string? unknownValue);
        if (simulation == IoUringSimulation.Refuse)
        {
            reason = unknownValue is null
                ? $"io_uring refused by configuration ({IoUringOptions.EnvironmentVariable}=refuse or IoUringOptions.Simulate)"
                : $"io_uring refused: {IoUringOptions.EnvironmentVariable}='{unknownValue}' is not a known value; valid: on, refuse, enosys, eperm, old-kernel, no-defer-taskrun";
            return false;
        }

        IoUringSetupFlags common = IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.SubmitAll | IoUringSetupFlags.CqSize;
        if (options.StartDisabled)
        {
            common |= IoUringSetupFlags.RDisabled;
        }
        string fallbacks = "";
        for (IoUringTaskRun mode = options.TaskRun; mode <= IoUringTaskRun.Signal; mode++)
        {
            var p = new IoUringParams { Flags = common | FlagsOf(mode), CqEntries = (uint)options.CompletionEntries };
            int fd = Setup(simulation, (uint)options.SubmissionEntries, &p, out LinuxError error);
            if (fd >= 0)
            {
                var handle = new FileDescriptorHandle(fd);
                string description = $"io_uring: {p.SqEntries} SQ / {p.CqEntries} CQ entries, {mode} task work{fallbacks}";
                if (!TryFinish(handle, p, mode, !options.StartDisabled, description, out ring, out reason))
                {
                    handle.Dispose();
                    return false;
                }
                reason = description;
                return true;
            }
            if (error != LinuxError.InvalidArgument)
            {
                reason = DescribeSetupFailure(error);
                return false;
            }
            fallbacks += $" ({FlagsOf(mode)} rejected: EINVAL)";
        }
        reason = DescribeOldKernel(simulation, (uint)options.SubmissionEntries);
        return false;
    }

    private static IoUringSetupFlags FlagsOf(IoUringTaskRun mode) => mode switch
    {
        IoUringTaskRun.Deferred => IoUringSetupFlags.DeferTaskRun | IoUringSetupFlags.TaskRunFlag,
        IoUringTaskRun.Cooperative => IoUringSetupFlags.CoopTaskRun | IoUringSetupFlags.TaskRunFlag,
        _ => IoUringSetupFlags.None,
    };

    /// <summary>io_uring_setup, or the simulated kernel's answer to it.</summary>
    private static int Setup(IoUringSimulation simulation, uint entries, IoUringParams* p, out LinuxError error)
    {
        error = simulation switch
        {
            IoUringSimulation.NoSystemCall => LinuxError.NoSystemCall,
            IoUringSimulation.NotPermitted => LinuxError.NotPermitted,
            IoUringSimulation.OldKernel when (p->Flags & (IoUringSetupFlags.CoopTaskRun | IoUringSetupFlags.TaskRunFlag
                | IoUringSetupFlags.SingleIssuer | IoUringSetupFlags.DeferTaskRun)) != 0 => LinuxError.InvalidArgument,
            IoUringSimulation.NoDeferTaskRun when (p->Flags & IoUringSetupFlags.DeferTaskRun) != 0 => LinuxError.InvalidArgument,
            _ => LinuxError.None,
        };
        if (error != LinuxError.None)
        {
            return -1;
        }
        int fd = NativeIoUring.Setup(entries, p);
        error = fd < 0 ? NativeIoUring.LastError() : LinuxError.None;
        return fd;
    }

    /// <summary>Every mode was rejected with EINVAL: tell a kernel that predates SINGLE_ISSUER (6.0) from one that rejects everything.</summary>
    private static string DescribeOldKernel(IoUringSimulation simulation, uint entries)
    {
        var p = new IoUringParams();
        int fd = Setup(simulation, entries, &p, out LinuxError error);
        if (fd >= 0)
        {
            _ = NativeIoUring.Close(fd);
            return "this kernel's io_uring predates Linux 6.0 (it rejects IORING_SETUP_SINGLE_ISSUER with EINVAL); " +
                "NetStack's io_uring NIC needs 6.0 for multishot receive and a single issuer (provided-buffer rings: 5.19)";
        }
        return error == LinuxError.InvalidArgument
            ? "the kernel rejected every io_uring setup tried with EINVAL"
            : DescribeSetupFailure(error);
    }

    private static string DescribeSetupFailure(LinuxError error) => error switch
    {
        LinuxError.NoSystemCall =>
            "io_uring_setup: ENOSYS: this kernel has no io_uring (older than 5.1, or built without CONFIG_IO_URING)",
        LinuxError.NotPermitted =>
            $"io_uring_setup: EPERM: io_uring is disabled for this process ({DisabledSysctl()}; 2 disables it for everyone, " +
            "1 for processes outside kernel.io_uring_group), or a seccomp filter or container policy forbids it",
        LinuxError.OutOfMemory =>
            "io_uring_setup: ENOMEM: the kernel could not allocate the rings (before 5.12 they count against RLIMIT_MEMLOCK); try smaller rings",
        LinuxError.TooManyFiles or LinuxError.TooManyFilesInSystem =>
            $"io_uring_setup: {error}: no file descriptor left for the ring",
        _ => $"io_uring_setup failed: {error} (errno {(int)error})",
    };

    private static string DisabledSysctl()
    {
        try
        {
            return $"kernel.io_uring_disabled is {File.ReadAllText("/proc/sys/kernel/io_uring_disabled").Trim()}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "kernel.io_uring_disabled is unreadable";
        }
    }

    /// <summary>Checks the features, maps the rings, probes opcodes and buffer rings; on failure says why and leaves the fd to the caller.</summary>
    private static bool TryFinish(FileDescriptorHandle handle, in IoUringParams p, IoUringTaskRun mode, bool enabled,
        string description, [NotNullWhen(true)] out IoUringRing? ring, out string reason)
    {
        ring = null;
        const IoUringFeatures required = IoUringFeatures.SingleMmap | IoUringFeatures.NoDrop;
        if ((p.Features & required) != required)
        {
            reason = $"the kernel's io_uring lacks {required & ~p.Features} (IORING_FEAT_SINGLE_MMAP is 5.4, IORING_FEAT_NODROP 5.5)";
            return false;
        }
        int fd = handle.Fd;
        nuint sqRingBytes = p.SqOff.Array + p.SqEntries * sizeof(uint);
        nuint cqRingBytes = p.CqOff.Cqes + p.CqEntries * (nuint)sizeof(IoUringCqe);
        nuint ringBytes = Math.Max(sqRingBytes, cqRingBytes);
        void* ringMemory = NativeIoUring.Mmap(null, ringBytes, NativeIoUring.ProtRead | NativeIoUring.ProtWrite,
            NativeIoUring.MapShared | NativeIoUring.MapPopulate, fd, NativeIoUring.OffSqRing);
        if (ringMemory == NativeIoUring.MapFailed)
        {
            reason = $"mmap of the SQ and CQ rings failed: {NativeIoUring.LastError()}";
            return false;
        }
        nuint sqesBytes = p.SqEntries * (nuint)sizeof(IoUringSqe);
        void* sqes = NativeIoUring.Mmap(null, sqesBytes, NativeIoUring.ProtRead | NativeIoUring.ProtWrite,
            NativeIoUring.MapShared | NativeIoUring.MapPopulate, fd, NativeIoUring.OffSqes);
        if (sqes == NativeIoUring.MapFailed)
        {
            reason = $"mmap of the SQE array failed: {NativeIoUring.LastError()}";
            _ = NativeIoUring.Munmap(ringMemory, ringBytes);
            return false;
        }
        if (!TryProbeOpcodes(fd, out reason) || !TryProbeBufferRings(fd, out reason))
        {
            _ = NativeIoUring.Munmap(sqes, sqesBytes);
            _ = NativeIoUring.Munmap(ringMemory, ringBytes);
            return false;
        }
        ring = new IoUringRing(handle, p, ringMemory, ringBytes, (IoUringSqe*)sqes, sqesBytes, mode, enabled, description);
        return true;
    }

    private static bool TryProbeOpcodes(int fd, out string reason)
    {
        const int opsCapacity = 256;
        nuint bytes = (nuint)(sizeof(IoUringProbe) + opsCapacity * sizeof(IoUringProbeOp));
        var probe = (IoUringProbe*)NativeMemory.AllocZeroed(bytes);
        try
        {
            if (NativeIoUring.Register(fd, IoUringRegisterOp.Probe, probe, opsCapacity) < 0)
            {
                reason = $"IORING_REGISTER_PROBE failed: {NativeIoUring.LastError()} (the kernel predates 5.6)";
                return false;
            }
            var ops = (IoUringProbeOp*)(probe + 1);
            var missing = s_requiredOps.Where(op => (int)op >= probe->OpsLen || (ops[(int)op].Flags & NativeIoUring.OpSupported) == 0).ToArray();
            reason = missing.Length == 0 ? "" : $"the kernel's io_uring lacks the opcodes {string.Join(", ", missing)}";
            return missing.Length == 0;
        }
        finally
        {
            NativeMemory.Free(probe);
        }
    }

    private static bool TryProbeBufferRings(int fd, out string reason)
    {
        nuint page = (nuint)Environment.SystemPageSize;
        void* ringMemory = NativeMemory.AlignedAlloc(page, page);
        NativeMemory.Clear(ringMemory, page);
        try
        {
            var reg = new IoUringBufReg { RingAddr = (ulong)ringMemory, RingEntries = 1, Bgid = ProbeBufferGroup };
            if (NativeIoUring.Register(fd, IoUringRegisterOp.PbufRing, &reg, 1) < 0)
            {
                reason = $"IORING_REGISTER_PBUF_RING failed: {NativeIoUring.LastError()} (provided-buffer rings need 5.19)";
                return false;
            }
            _ = NativeIoUring.Register(fd, IoUringRegisterOp.UnregisterPbufRing, &reg, 1);
            reason = "";
            return true;
        }
        finally
        {
            NativeMemory.AlignedFree(ringMemory);
        }
    }
}
