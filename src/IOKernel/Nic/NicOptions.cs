// Which backend the network NICs run on (io_uring, the classic system calls, or io_uring where it can), and the rings' sizes.
using NetStack.IOKernel.Nic.IoUring;

namespace NetStack.IOKernel.Nic;

/// <summary>How a network NIC talks to the kernel.</summary>
public enum NicBackend
{
    /// <summary>io_uring where this kernel and its policy allow it, else <see cref="Syscalls"/>, saying why in one log line.</summary>
    Auto,
    /// <summary>io_uring: multishot receives into provided buffers, completions read from the ring's
    /// memory, at most one io_uring_enter per IOKernel loop; refused io_uring is an error at start.</summary>
    IoUring,
    /// <summary>One system call per poll: recvmmsg/sendmmsg (UDP), edge-triggered epoll with recv/sendmsg (TCP).</summary>
    Syscalls,
}

/// <summary>A backend was asked for by name and cannot run here (io_uring refused by the kernel or its policy).</summary>
internal sealed class NicBackendException(string message) : Exception(message);

/// <summary>The network NICs' backend (bound from appsettings.json section "Nic").</summary>
public sealed class NicOptions
{
    /// <summary>The names <see cref="Backend"/> takes.</summary>
    internal static readonly string[] BackendNames = ["auto", "io_uring", "syscalls"];

    /// <summary><c>auto</c> (io_uring where it can run, else the syscalls, with one log line saying why),
    /// <c>io_uring</c>, or <c>syscalls</c>. <c>Udp:Backend</c> and <c>Tcp:Backend</c>, when set, override it
    /// for their transport.</summary>
    public string Backend { get; set; } = "auto";

    /// <summary>The rings' sizes and the provided buffers per NIC (section "Nic:IoUring"); each NIC
    /// raises the ring sizes to what its queues and connections need.</summary>
    public IoUringOptions IoUring { get; set; } = new();

    /// <summary><see cref="Backend"/> parsed.</summary>
    internal NicBackend ParsedBackend => Parse(Backend, "Nic:Backend");

    /// <summary>The backend of a transport: its own setting when it has one, else <see cref="Backend"/>.</summary>
    internal NicBackend For(string? transportBackend, string key) =>
        string.IsNullOrWhiteSpace(transportBackend) ? ParsedBackend : Parse(transportBackend, key);

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> saying what is wrong and what is valid.</summary>
    public void Validate()
    {
        _ = ParsedBackend;
        IoUring.Validate();
    }

    /// <summary>A backend name; <paramref name="key"/> names the setting in the error.</summary>
    internal static NicBackend Parse(string? value, string key) => value?.Trim().ToLowerInvariant() switch
    {
        "auto" => NicBackend.Auto,
        "io_uring" or "iouring" or "io-uring" => NicBackend.IoUring,
        "syscalls" => NicBackend.Syscalls,
        _ => throw new ArgumentException($"{key} '{value}' is unknown; valid: {string.Join(", ", BackendNames)}"),
    };

    /// <summary>A backend's name as configured and logged.</summary>
    internal static string NameOf(NicBackend backend) => backend switch
    {
        NicBackend.IoUring => "io_uring",
        NicBackend.Syscalls => "syscalls",
        _ => "auto",
    };
}
