// What one traffic class of the soak sent and what came back, counted by reply status; one line each at the end.
using System.Globalization;
using NetStack.Runtime.Protocol;

namespace NetStack.LoadGen.Soak;

/// <summary>
/// One traffic class's counts. Fields are updated with <see cref="Interlocked"/> (a class may send on
/// one thread and read on another) and read once its threads have stopped.
/// </summary>
internal sealed class SoakCounts(string name)
{
    /// <summary>The class's name in the summary ("spin-udp", "kv-tcp", ...).</summary>
    public string Name => name;

    /// <summary>Requests (or bad inputs) sent.</summary>
    public long Sent;
    /// <summary>Answered and run: spin ok, a memcached reply to a get or a set.</summary>
    public long Ok;
    /// <summary>Answered rejected-overload (spin) or SERVER_ERROR busy (kv).</summary>
    public long Rejected;
    /// <summary>Answered bad-request (spin) or ERROR (kv): bad input the server answered.</summary>
    public long BadAnswered;
    /// <summary>Answered error or shutting-down.</summary>
    public long Failed;
    /// <summary>Bad input the server drops unanswered, as the protocol says (the host counts it).</summary>
    public long BadUnanswered;
    /// <summary>Connections this class closed with part of a request sent (the host counts them, "closed mid-request").</summary>
    public long ClosedMidRequest;
    /// <summary>Replies that matched no request this class had outstanding (wrong id, out of order, unparsable).</summary>
    public long Unexpected;

    /// <summary>Requests nothing came back for (and that were not bad input dropped by design).</summary>
    public long Unanswered => Sent - Ok - Rejected - BadAnswered - Failed - BadUnanswered;

    /// <summary>One line the soak script reads: <c>class NAME sent N ok N ...</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"class {name} sent {Sent} ok {Ok} rejected {Rejected} bad-answered {BadAnswered} failed {Failed} " +
        $"bad-unanswered {BadUnanswered} closed-mid-request {ClosedMidRequest} unexpected {Unexpected} unanswered {Unanswered}");

    /// <summary>Adds one to a field from any thread.</summary>
    public static void Add(ref long field, long n = 1) => Interlocked.Add(ref field, n);

    /// <summary>Counts one spin reply by its status: ok, rejected, bad input answered, or failed.</summary>
    public void CountSpinStatus(ResponseStatus status)
    {
        switch (status)
        {
            case ResponseStatus.Ok:
                Add(ref Ok);
                break;
            case ResponseStatus.RejectedOverload:
                Add(ref Rejected);
                break;
            case ResponseStatus.BadRequest:
                Add(ref BadAnswered);
                break;
            default:
                Add(ref Failed);
                break;
        }
    }
}
