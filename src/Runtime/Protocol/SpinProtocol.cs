// The spin protocol (docs/protocol.md) as an app protocol: 40-byte headers, one request per datagram, frames back to back on TCP.
using System.Collections.ObjectModel;
using NetStack.Runtime.Scheduling;

namespace NetStack.Runtime.Protocol;

/// <summary>
/// Frames the NetStack wire protocol for the transports. A request's body (what its handler sees)
/// is its payload; a reply is the 40-byte response header followed by the handler's body. Bad input
/// is answered as docs/protocol.md says: a readable header with our magic is answered bad-request,
/// echoing type, id and intended send time; anything shorter or without the magic is dropped
/// unanswered on UDP, and ends the connection on TCP (a stream without our magic cannot be
/// resynchronized). On TCP a frame whose payload is longer than
/// <see cref="WireProtocol.MaxStreamPayloadBytes"/> is answered bad-request and its payload discarded.
/// </summary>
public sealed class SpinProtocol : AppProtocol
{
    private static readonly ReadOnlyCollection<string> s_errors =
        Enumerable.Range(0, WireProtocol.ParseErrorCount).Select(e => WireProtocol.ErrorName((ParseError)e)).ToList().AsReadOnly();

    /// <param name="typeCount">Request types the app knows (1 to 255); a request of a higher type is unknown-type.</param>
    public SpinProtocol(int typeCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(typeCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(typeCount, WireProtocol.MaxRequestType + 1);
        TypeCount = typeCount;
    }

    /// <inheritdoc />
    public override string Name => "spin";

    /// <inheritdoc />
    public override int TypeCount { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> ErrorNames => s_errors;

    /// <inheritdoc />
    public override int MaxRequestBytes => WireProtocol.HeaderSize + WireProtocol.MaxStreamPayloadBytes;

    /// <inheritdoc />
    public override int ReplyHeaderBytes => WireProtocol.HeaderSize;

    /// <inheritdoc />
    public override FrameStatus FrameDatagram(ReadOnlySpan<byte> datagram, out Frame frame)
    {
        ParseError error = WireProtocol.TryParseRequest(datagram, TypeCount, out RequestHeader request);
        return ToFrame(error, request, datagram.Length, out frame);
    }

    /// <inheritdoc />
    public override FrameStatus FrameStream(ReadOnlySpan<byte> buffered, ref ulong state, out Frame frame)
    {
        if (buffered.Length >= 4 && !WireProtocol.HasMagic(buffered))
        {
            frame = default;
            frame.Error = (int)ParseError.BadMagic;
            return FrameStatus.Drop;
        }
        if (buffered.Length < WireProtocol.HeaderSize)
        {
            frame = default;
            frame.Length = WireProtocol.HeaderSize;
            return FrameStatus.Incomplete;
        }
        uint payload = WireProtocol.StatedPayloadLength(buffered);
        if (payload > WireProtocol.MaxStreamPayloadBytes)
        {
            // Answer from the header alone and step over the payload without buffering it.
            WireProtocol.TryParseStreamFrame(buffered[..WireProtocol.HeaderSize], TypeCount, out RequestHeader header);
            ToFrame(ParseError.Oversized, header, WireProtocol.HeaderSize, out frame);
            frame.SkipAfter = payload;
            return FrameStatus.Invalid;
        }
        int length = WireProtocol.HeaderSize + (int)payload;
        if (buffered.Length < length)
        {
            frame = default;
            frame.Length = length;
            return FrameStatus.Incomplete;
        }
        ParseError error = WireProtocol.TryParseStreamFrame(buffered[..length], TypeCount, out RequestHeader request);
        return ToFrame(error, request, length, out frame);
    }

    /// <inheritdoc />
    public override void WriteReplyHeader(Span<byte> header, in ReplyInfo info) =>
        WireProtocol.WriteResponse(header, Response(info, ResponseStatus.Ok, (uint)info.BodyLength));

    /// <inheritdoc />
    public override int WriteFailure(Span<byte> destination, in ReplyInfo info) =>
        WireProtocol.WriteResponse(destination, Response(info, (ResponseStatus)info.Status, 0));

    private static ResponseHeader Response(in ReplyInfo info, ResponseStatus status, uint payload) => new()
    {
        Type = (byte)info.Type,
        Status = status,
        Id = (ulong)info.Id,
        IntendedSendNs = info.Tag,
        QueuedNs = WireProtocol.Saturate(info.QueuedNs),
        ServiceNs = WireProtocol.Saturate(info.ServiceNs),
        Preemptions = (uint)info.Preemptions,
        PayloadLength = payload,
    };

    private static FrameStatus ToFrame(ParseError error, in RequestHeader request, int length, out Frame frame)
    {
        frame = default;
        frame.Length = length;
        frame.BodyOffset = WireProtocol.HeaderSize;
        frame.Type = request.Type;
        frame.Id = (long)request.Id;
        frame.Tag = request.IntendedSendNs;
        frame.ServiceNs = request.ServiceNs;
        frame.Error = (int)error;
        if (error == ParseError.None)
        {
            return FrameStatus.Request;
        }
        return WireProtocol.CanAnswer(error) ? FrameStatus.Invalid : FrameStatus.Drop;
    }
}
