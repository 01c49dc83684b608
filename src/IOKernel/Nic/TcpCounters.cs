// What the TCP NIC counted, per listening port: connections by fate, bad frames by reason, bytes and replies.
namespace NetStack.IOKernel.Nic;

/// <summary>The counts of one TCP port. Written by the IOKernel thread alone; exact once it has stopped.</summary>
internal sealed class TcpCounters(IReadOnlyList<string> errorNames)
{
    /// <summary>Connections accepted and served.</summary>
    public long Accepted;
    /// <summary>Connections refused because <see cref="TcpNicOptions.MaxConnections"/> were open (accepted and closed at once).</summary>
    public long Refused;
    /// <summary>Connections the peer closed (a read of 0 bytes), after every reply it was owed went out.</summary>
    public long ClosedByPeer;
    /// <summary>Connections the peer reset, or that failed on a read or write.</summary>
    public long Reset;
    /// <summary>Connections closed by the server: a frame it cannot step over, or a handler's request to close.</summary>
    public long ClosedByServer;
    /// <summary>Connections open now.</summary>
    public long Open;
    /// <summary>Times a connection stopped being read because its in-flight or unsent bound was reached.</summary>
    public long Backpressured;
    /// <summary>Requests framed.</summary>
    public long Requests;
    /// <summary>Replies written whole.</summary>
    public long Replies;
    /// <summary>Replies a carrier wrote itself, whole or in part (<see cref="TcpNicOptions.WorkerSends"/>).</summary>
    public long WorkerSends;
    /// <summary>Replies dropped because their connection was gone (closed or reset with requests in flight).</summary>
    public long DroppedReplies;
    /// <summary>Connections that ended with part of a request received (a truncated request, discarded).</summary>
    public long ClosedMidRequest;
    /// <summary>Bytes read.</summary>
    public long BytesIn;
    /// <summary>Bytes written.</summary>
    public long BytesOut;
    /// <summary>Reads put off because every receive block was in use (io_uring: also receives that found no provided buffer, ENOBUFS).</summary>
    public long ReceiveShortages;
    /// <summary>Bytes copied to make a request contiguous: only a request split across reads (or, on
    /// io_uring, across provided buffers) is copied, once; every other request is read where it arrived.</summary>
    public long CopiedBytes;
    /// <summary>Bad frames by the protocol's reason (index 0 stays 0).</summary>
    public readonly long[] BadFrames = new long[errorNames.Count];

    /// <summary>The reason names, by index.</summary>
    public IReadOnlyList<string> ErrorNames => errorNames;

    /// <summary>Bad frames of every reason.</summary>
    public long BadInput => BadFrames.Sum();

    /// <summary>Counts a bad frame (a reason outside the table counts as the last).</summary>
    public void CountBadFrame(int reason) => BadFrames[(uint)reason < (uint)BadFrames.Length ? reason : BadFrames.Length - 1]++;

    /// <summary>Counts a bad frame from several threads (the baseline).</summary>
    public void CountBadFrameShared(int reason) =>
        Interlocked.Increment(ref BadFrames[(uint)reason < (uint)BadFrames.Length ? reason : BadFrames.Length - 1]);

    /// <summary>One line for logs and shutdown summaries.</summary>
    public override string ToString()
    {
        var bad = new List<string>();
        for (int i = 1; i < BadFrames.Length; i++)
        {
            if (BadFrames[i] > 0)
            {
                bad.Add($"{errorNames[i]} {BadFrames[i]}");
            }
        }
        return $"connections accepted {Accepted}, refused {Refused}, closed by peer {ClosedByPeer}, reset {Reset}, " +
            $"closed by server {ClosedByServer}, open {Open}; backpressured {Backpressured}; requests {Requests}, replies {Replies} (written by carriers {WorkerSends}), " +
            $"dropped replies {DroppedReplies}, closed mid-request {ClosedMidRequest}; receive shortages {ReceiveShortages}, bytes copied {CopiedBytes}; " +
            $"bad frames: {(bad.Count == 0 ? "none" : string.Join(", ", bad))}";
    }
}
