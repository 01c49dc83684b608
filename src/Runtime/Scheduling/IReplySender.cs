// A NIC that lets a carrier write a finished reply to the wire itself, off the IOKernel's core.
namespace NetStack.Runtime.Scheduling;

/// <summary>
/// A NIC whose replies a carrier may write itself when it finishes a request, instead of handing
/// every reply to the IOKernel to write: the send's system call (on loopback TCP, the receiver's
/// side of it too) then runs on the worker's core, as it does in memcached's worker threads, not
/// on the one core that polls every queue. The NIC decides per reply whether it may (nothing
/// earlier on its connection unsent, the connection open); whatever it did not write, the IOKernel
/// writes as before, after <see cref="GreenThread.SentOnWorker"/> bytes.
/// </summary>
internal interface IReplySender
{
    /// <summary>Writes what it can of <paramref name="thread"/>'s finished reply without waiting, on the
    /// calling carrier. Returns the bytes written (0: none, the IOKernel writes it all).</summary>
    int TrySend(GreenThread thread);
}
