// What a UDP server counted: datagrams in, bad input by reason, replies out by status, failures.
using NetStack.Runtime.Protocol;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// The counts of one UDP port (the NetStack UDP NIC, or the ThreadPool baseline). Plain fields: the
/// UDP NIC writes them from the IOKernel thread alone; the baseline, whose threads share them,
/// updates them with <see cref="Interlocked"/>. Exact once the server has stopped.
/// </summary>
internal sealed class UdpCounters
{
    private readonly IReadOnlyList<string> _errorNames;

    /// <summary>Counters for the spin protocol's bad-input reasons.</summary>
    public UdpCounters() : this(new SpinProtocol(1).ErrorNames)
    {
    }

    /// <summary>Counters for a protocol whose bad-input reasons are <paramref name="errorNames"/> (index 0: none).</summary>
    public UdpCounters(IReadOnlyList<string> errorNames)
    {
        _errorNames = errorNames;
        BadFrames = new long[errorNames.Count];
    }

    /// <summary>Datagrams received, good and bad.</summary>
    public long Received;

    /// <summary>Bad datagrams by the protocol's reason (index 0, none, stays 0).</summary>
    public readonly long[] BadFrames;

    /// <summary>Replies sent with status ok.</summary>
    public long OkReplies;

    /// <summary>Replies sent with status error (the handler threw, or its reply was too large).</summary>
    public long ErrorReplies;

    /// <summary>Replies sent with status rejected-overload.</summary>
    public long RejectedReplies;

    /// <summary>Replies sent with status bad-request.</summary>
    public long BadRequestReplies;

    /// <summary>Replies sent with status shutting-down.</summary>
    public long ShuttingDownReplies;

    /// <summary>Replies too large for the datagrams their protocol allows (answered error instead).</summary>
    public long OversizedReplies;

    /// <summary>Replies the kernel refused to send (each is lost, and counted here rather than silently).</summary>
    public long SendFailures;

    /// <summary>Receive calls that failed with something other than "nothing waiting".</summary>
    public long ReceiveFailures;

    /// <summary>Receives cut short because every receive block was held by requests in flight.</summary>
    public long ReceiveBufferShortages;

    /// <summary>The reason names, by index.</summary>
    public IReadOnlyList<string> ErrorNames => _errorNames;

    /// <summary>Bad datagrams of every reason.</summary>
    public long BadInput
    {
        get
        {
            long sum = 0;
            foreach (long n in BadFrames)
            {
                sum += n;
            }
            return sum;
        }
    }

    /// <summary>Replies sent, every status.</summary>
    public long RepliesSent => OkReplies + ErrorReplies + RejectedReplies + BadRequestReplies + ShuttingDownReplies;

    /// <summary>The count for one spin-protocol reason.</summary>
    public long this[ParseError reason] => BadFrames[(int)reason];

    /// <summary>Counts a bad frame (a reason outside the table counts as the last).</summary>
    public void CountBadFrame(int reason) => BadFrames[(uint)reason < (uint)BadFrames.Length ? reason : BadFrames.Length - 1]++;

    /// <summary>Counts a bad frame from several threads (the baseline).</summary>
    public void CountBadFrameShared(int reason) =>
        Interlocked.Increment(ref BadFrames[(uint)reason < (uint)BadFrames.Length ? reason : BadFrames.Length - 1]);

    /// <summary>"too-short 1, bad-magic 2" (reasons with a count only), or "none".</summary>
    public string DescribeBadInput()
    {
        var parts = new List<string>();
        for (int i = 1; i < BadFrames.Length; i++)
        {
            if (BadFrames[i] > 0)
            {
                parts.Add($"{_errorNames[i]} {BadFrames[i]}");
            }
        }
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    /// <summary>One line for logs and shutdown summaries.</summary>
    public override string ToString() =>
        $"datagrams {Received}; replies ok {OkReplies}, error {ErrorReplies}, rejected-overload {RejectedReplies}, " +
        $"bad-request {BadRequestReplies}, shutting-down {ShuttingDownReplies}; send failures {SendFailures}, receive failures {ReceiveFailures}; " +
        $"bad input: {DescribeBadInput()}";
}
