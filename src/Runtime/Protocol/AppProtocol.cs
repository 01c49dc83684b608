// An app's wire protocol as the transports see it: where requests begin and end, and what frames a reply.
using System.Runtime.CompilerServices;
using NetStack.Runtime.Scheduling;

namespace NetStack.Runtime.Protocol;

/// <summary>What a framer found at the start of the bytes it was shown.</summary>
public enum FrameStatus : byte
{
    /// <summary>A whole request of <see cref="Frame.Length"/> bytes: it gets a green thread and runs.</summary>
    Request,

    /// <summary>Not enough bytes yet. <see cref="Frame.Length"/>, when above 0, is the total the
    /// request will need once it has all arrived (a hint for sizing the receive buffer); 0: unknown.</summary>
    Incomplete,

    /// <summary>A malformed request of <see cref="Frame.Length"/> bytes that can be stepped over: the
    /// transport answers it at once with <see cref="AppProtocol.WriteFailure"/> (status
    /// <see cref="RequestStatus.BadRequest"/>), in its place among the connection's replies, and goes on
    /// framing after it. On a datagram, <see cref="Frame.Length"/> is ignored.</summary>
    Invalid,

    /// <summary>Nothing here can be answered: a datagram is dropped unanswered (counted); a stream
    /// cannot be framed past this point, so the connection answers what it already admitted and closes.</summary>
    Drop,
}

/// <summary>
/// One request as its framer found it. Every field but <see cref="Length"/> is carried with the
/// request to its reply (<see cref="ReplyInfo"/>), so a protocol can echo what it needs.
/// </summary>
public struct Frame
{
    /// <summary>Bytes of the request from the start of what the framer was shown (header included).</summary>
    public int Length;

    /// <summary>Where the bytes the handler sees begin, from the start of the request (a header to skip,
    /// such as the spin protocol's 40 bytes or memcached's 8-byte UDP frame header); 0 for most protocols.</summary>
    public int BodyOffset;

    /// <summary>The request type, 0 to <see cref="AppProtocol.TypeCount"/> - 1: results and per-type
    /// policies are kept by it.</summary>
    public int Type;

    /// <summary>The request's id when the protocol carries one (spin; memcached's UDP request id); 0 otherwise.</summary>
    public long Id;

    /// <summary>A value private to the protocol, handed back in <see cref="ReplyInfo.Tag"/> (spin: the
    /// intended send time; memcached binary: opcode and opaque).</summary>
    public long Tag;

    /// <summary>The service time the request asks for, in ns (the spin protocol and synthetic
    /// workloads); 0 when the protocol has no such notion.</summary>
    public long ServiceNs;

    /// <summary>Bytes right after this request that the stream must discard unread (memcached answers
    /// a value too large for it, then swallows its data block); 0 for none. Streams only.</summary>
    public long SkipAfter;

    /// <summary>For <see cref="FrameStatus.Invalid"/> and <see cref="FrameStatus.Drop"/>: the reason,
    /// an index into <see cref="AppProtocol.ErrorNames"/>, for the transport's counters.</summary>
    public int Error;
}

/// <summary>What a reply header or a failure reply may say about its request: everything the framer
/// kept, how the request ended, and what the scheduler measured.</summary>
public struct ReplyInfo
{
    /// <summary>How the request ended.</summary>
    public RequestStatus Status;

    /// <summary>The request type (<see cref="Frame.Type"/>).</summary>
    public int Type;

    /// <summary><see cref="Frame.Id"/>.</summary>
    public long Id;

    /// <summary><see cref="Frame.Tag"/>.</summary>
    public long Tag;

    /// <summary>Time spent queued (completion − arrival − service), ns; 0 when it never ran.</summary>
    public long QueuedNs;

    /// <summary>Time spent running, ns; 0 when it never ran.</summary>
    public long ServiceNs;

    /// <summary>Times it was preempted.</summary>
    public int Preemptions;

    /// <summary>Bytes of the body the handler wrote (after the reserved header).</summary>
    public int BodyLength;
}

/// <summary>
/// An app's protocol, as the UDP and TCP NIC queues use it: framers that find request boundaries
/// (one request per datagram; on a stream, any number per read, a request split across reads at any
/// byte), the reply header the protocol puts in front of the handler's bytes, the short replies for
/// requests that did not run, and, for datagram replies larger than one datagram, how to number the
/// pieces. Every call is made on the IOKernel thread, except <see cref="WriteReplyHeader"/> and
/// <see cref="WriteFailure"/>, which may also be called on a carrier; none may block, allocate or
/// throw on any input.
/// </summary>
/// <remarks>
/// Framers see contiguous bytes: a stream transport hands the framer everything it has buffered for
/// the connection from the current position, and a request that straddles two reads is made
/// contiguous before it is framed again. A framer is a pure function of those bytes and of its
/// per-connection state word.
/// </remarks>
public abstract class AppProtocol
{
    /// <summary>Most bytes <see cref="WriteFailure"/> may write: transports keep this much room per
    /// unanswered request, so that a rejection never waits for memory.</summary>
    public const int MaxFailureReplyBytes = 64;

    /// <summary>The protocol's name, in logs and reports.</summary>
    public abstract string Name { get; }

    /// <summary>Request types <see cref="Frame.Type"/> can take.</summary>
    public abstract int TypeCount { get; }

    /// <summary>A request type's name in reports ("get", "set", "type-3"...).</summary>
    public virtual string TypeName(int type) => $"type-{type}";

    /// <summary>The names of <see cref="Frame.Error"/> values, for counters; index 0 is "none".</summary>
    public virtual IReadOnlyList<string> ErrorNames => s_noErrors;

    private static readonly string[] s_noErrors = ["none", "bad-frame"];

    /// <summary>Largest request a stream may buffer for one frame (header included); a framer whose
    /// <see cref="FrameStatus.Incomplete"/> hint exceeds it has its connection closed as a bad frame.</summary>
    public virtual int MaxRequestBytes => 1 << 20;

    /// <summary>Finds the request at the start of <paramref name="buffered"/> on a stream.</summary>
    /// <param name="buffered">Everything received on the connection and not yet framed, contiguous.</param>
    /// <param name="state">A word the framer may keep per connection (0 on a new connection).</param>
    /// <param name="frame">The request found (for <see cref="FrameStatus.Request"/> and
    /// <see cref="FrameStatus.Invalid"/>), or the size hint (for <see cref="FrameStatus.Incomplete"/>).</param>
    public abstract FrameStatus FrameStream(ReadOnlySpan<byte> buffered, ref ulong state, out Frame frame);

    /// <summary>Frames one datagram: one request per datagram. <see cref="FrameStatus.Incomplete"/> is
    /// not a valid answer here (a datagram is all there is); <see cref="Frame.Length"/> is ignored.</summary>
    public abstract FrameStatus FrameDatagram(ReadOnlySpan<byte> datagram, out Frame frame);

    /// <summary>Bytes reserved in front of every reply body for <see cref="WriteReplyHeader"/> (spin: 40; memcached: 0).</summary>
    public virtual int ReplyHeaderBytes => 0;

    /// <summary>Writes the reply header into the <see cref="ReplyHeaderBytes"/> reserved in front of a
    /// completed request's body (status <see cref="RequestStatus.Ok"/>).</summary>
    public virtual void WriteReplyHeader(Span<byte> header, in ReplyInfo info)
    {
    }

    /// <summary>
    /// The whole reply for a request whose handler's body is not sent: rejected on arrival
    /// (<see cref="RequestStatus.RejectedOverload"/>), malformed (<see cref="RequestStatus.BadRequest"/>),
    /// failed (<see cref="RequestStatus.Error"/>: it threw, or its reply grew past its bound) or
    /// refused while the host shuts down (<see cref="RequestStatus.ShuttingDown"/>). Writes at most
    /// <see cref="MaxFailureReplyBytes"/> and returns how many (0: no reply at all).
    /// </summary>
    public abstract int WriteFailure(Span<byte> destination, in ReplyInfo info);

    /// <summary>
    /// Bytes in front of each datagram of a reply sent over UDP (memcached: its 8-byte frame header;
    /// spin: 0), written by <see cref="WriteDatagramHeader"/>.
    /// </summary>
    public virtual int DatagramHeaderBytes => 0;

    /// <summary>The receive buffer for one datagram of this protocol, a power of two: a datagram that
    /// fills it may have been truncated. 2048 by default (more than a 1472-byte datagram, so an
    /// oversized one shows as such); memcached reads datagrams of up to 64 KiB.</summary>
    public virtual int DatagramReceiveBytes => 2048;

    /// <summary>The longest datagram a reply may be sent in, its datagram header included: 1472 (a
    /// 1500-byte MTU less IPv4 and UDP headers) by default; memcached uses 1400.</summary>
    public virtual int MaxDatagramReplyBytes => 1472;

    /// <summary>True when a datagram reply longer than one datagram may be sent as several numbered ones
    /// (memcached); false when it must fit in one, or the request fails (spin).</summary>
    public virtual bool SplitsDatagramReplies => false;

    /// <summary>Writes the header of datagram <paramref name="sequence"/> of <paramref name="count"/> of a reply.</summary>
    public virtual void WriteDatagramHeader(Span<byte> header, in ReplyInfo info, int sequence, int count)
    {
    }

    /// <summary>A stream connection to this protocol's port opened (the IOKernel thread; memcached's
    /// curr_connections counts them).</summary>
    public virtual void ConnectionOpened()
    {
    }

    /// <summary>That connection closed.</summary>
    public virtual void ConnectionClosed()
    {
    }

    /// <summary>A stream framer's helper: a frame of <paramref name="length"/> bytes, all of it the body.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static FrameStatus Whole(int length, int type, out Frame frame)
    {
        frame = default;
        frame.Length = length;
        frame.Type = type;
        return FrameStatus.Request;
    }
}
