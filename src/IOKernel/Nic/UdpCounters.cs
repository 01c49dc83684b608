// What a UDP server counted: datagrams in, bad input by reason, replies out by status, failures.
using NetStack.Runtime.Protocol;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// The counts of a UDP server (the NetStack UDP NIC, or the ThreadPool baseline). Plain fields: the
/// UDP NIC writes them from the IOKernel thread alone; the baseline, whose threads share them,
/// updates them with <see cref="Interlocked"/>. Exact once the server has stopped.
/// </summary>
public sealed class UdpCounters
{
    /// <summary>Datagrams received, good and bad.</summary>
    public long Received;

    /// <summary>Bad datagrams by <see cref="ParseError"/> (index 0, <see cref="ParseError.None"/>, stays 0).</summary>
    public readonly long[] ParseErrors = new long[WireProtocol.ParseErrorCount];

    /// <summary>Replies sent with status ok.</summary>
    public long OkReplies;

    /// <summary>Replies sent with status error (the handler threw).</summary>
    public long ErrorReplies;

    /// <summary>Replies sent with status rejected-overload.</summary>
    public long RejectedReplies;

    /// <summary>Replies sent with status bad-request.</summary>
    public long BadRequestReplies;

    /// <summary>Replies the kernel refused to send (each is lost, and counted here rather than silently).</summary>
    public long SendFailures;

    /// <summary>Receive calls that failed with something other than "nothing waiting".</summary>
    public long ReceiveFailures;

    /// <summary>Bad datagrams of every reason.</summary>
    public long BadInput
    {
        get
        {
            long sum = 0;
            foreach (long n in ParseErrors)
            {
                sum += n;
            }
            return sum;
        }
    }

    /// <summary>Replies sent, every status.</summary>
    public long RepliesSent => OkReplies + ErrorReplies + RejectedReplies + BadRequestReplies;

    /// <summary>The count for one reason.</summary>
    public long this[ParseError reason] => ParseErrors[(int)reason];

    /// <summary>"too-short 1, bad-magic 2" (reasons with a count only), or "none".</summary>
    public string DescribeBadInput()
    {
        var parts = new List<string>();
        for (int i = 1; i < ParseErrors.Length; i++)
        {
            if (ParseErrors[i] > 0)
            {
                parts.Add($"{WireProtocol.ErrorName((ParseError)i)} {ParseErrors[i]}");
            }
        }
        return parts.Count == 0 ? "none" : string.Join(", ", parts);
    }

    /// <summary>One line for logs and shutdown summaries.</summary>
    public override string ToString() =>
        $"datagrams {Received}; replies ok {OkReplies}, error {ErrorReplies}, rejected-overload {RejectedReplies}, " +
        $"bad-request {BadRequestReplies}; send failures {SendFailures}, receive failures {ReceiveFailures}; bad input: {DescribeBadInput()}";
}
