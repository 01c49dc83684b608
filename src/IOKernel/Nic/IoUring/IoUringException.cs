// The failure of an io_uring call that is a bug or a broken ring, not a kernel that lacks io_uring (that is TryCreate's false).
namespace NetStack.IOKernel.Nic.IoUring;

/// <summary>An io_uring call failed in a way the caller cannot retry: a wrong thread, a disabled ring, a bad argument.</summary>
internal sealed class IoUringException : Exception
{
    internal IoUringException(LinuxError error, string message)
        : base($"{message}: {error} (errno {(int)error})")
    {
        Error = error;
    }

    /// <summary>The errno, named.</summary>
    internal LinuxError Error { get; }
}
