// The NetStack wire protocol: the one codec for request and response headers, shared by the server and the load generator.
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace NetStack.Runtime.Protocol;

/// <summary>What the server tells the client about a request. One byte on the wire.</summary>
public enum ResponseStatus : byte
{
    /// <summary>The handler ran to completion.</summary>
    Ok = 0,

    /// <summary>The server was overloaded and shed the request; the handler did not run.</summary>
    RejectedOverload = 1,

    /// <summary>The datagram was malformed; the reply echoes whatever header fields could be read.</summary>
    BadRequest = 2,

    /// <summary>The handler failed.</summary>
    Error = 3,

    /// <summary>The server is shutting down and refused the request unrun.</summary>
    ShuttingDown = 4,
}

/// <summary>
/// Why <see cref="WireProtocol.TryParseRequest(ReadOnlySpan{byte}, int, out RequestHeader)"/> refused a datagram. <see cref="None"/> means it
/// parsed. The values are dense from 0 so they can index a per-core counter array of length
/// <see cref="WireProtocol.ParseErrorCount"/>.
/// </summary>
public enum ParseError : byte
{
    /// <summary>The datagram is a well-formed request.</summary>
    None = 0,

    /// <summary>Fewer than <see cref="WireProtocol.HeaderSize"/> bytes.</summary>
    TooShort,

    /// <summary>The first four bytes are not <see cref="WireProtocol.Magic"/>: not our protocol.</summary>
    BadMagic,

    /// <summary>The version byte is not <see cref="WireProtocol.Version"/>.</summary>
    BadVersion,

    /// <summary>The payload length field does not equal the datagram length minus the header.</summary>
    LengthMismatch,

    /// <summary>The request type is not one the app knows (at or above its type count, or the reserved 255).</summary>
    UnknownType,

    /// <summary>More than <see cref="WireProtocol.MaxDatagramSize"/> bytes, with our magic.</summary>
    Oversized,

    /// <summary>The requested service time is below zero.</summary>
    NegativeServiceTime,
}

/// <summary>A request header as the codec reads and writes it. The magic, version and reserved fields are implied.</summary>
public struct RequestHeader
{
    /// <summary>Request type, 0..254; the app decides which are known.</summary>
    public byte Type;

    /// <summary>Client-chosen id, echoed in the reply.</summary>
    public ulong Id;

    /// <summary>When the client meant to send, in ns on the client's clock; echoed untouched so latency is free of coordinated omission.</summary>
    public long IntendedSendNs;

    /// <summary>How long the handler should work, in ns (synthetic workloads); never negative on a valid request.</summary>
    public long ServiceNs;

    /// <summary>Bytes following the header; equals the datagram length minus <see cref="WireProtocol.HeaderSize"/> on a valid request.</summary>
    public uint PayloadLength;
}

/// <summary>A response header as the codec reads and writes it. The magic, version, reserved and payload-length fields are implied.</summary>
public struct ResponseHeader
{
    /// <summary>The request's type, echoed.</summary>
    public byte Type;

    /// <summary>What became of the request.</summary>
    public ResponseStatus Status;

    /// <summary>The request's id, echoed.</summary>
    public ulong Id;

    /// <summary>The request's intended send time, echoed untouched.</summary>
    public long IntendedSendNs;

    /// <summary>Time the request spent queued, in ns, saturated to <see cref="uint.MaxValue"/>.</summary>
    public uint QueuedNs;

    /// <summary>Time the request spent running, in ns, saturated to <see cref="uint.MaxValue"/>.</summary>
    public uint ServiceNs;

    /// <summary>How many times the request was preempted.</summary>
    public uint Preemptions;

    /// <summary>Bytes of payload following the header (version 2: the handler's reply).</summary>
    public uint PayloadLength;
}

/// <summary>
/// Encodes and decodes the fixed 40-byte request and response headers (little-endian; see
/// docs/protocol.md). Parsing never allocates and never throws; writing throws only when the
/// destination is shorter than <see cref="HeaderSize"/>, which is a caller bug.
/// </summary>
public static class WireProtocol
{
    /// <summary>Size of both headers, in bytes. Equal sizes are why a reply is never larger than its request.</summary>
    public const int HeaderSize = 40;

    /// <summary>The first four bytes of every datagram, "NSTK" in ASCII when read as little-endian bytes.</summary>
    public const uint Magic = 0x4B54534E;

    /// <summary>The only protocol version this codec speaks. Version 2: replies carry the handler's
    /// payload (version 1 replies were headers only), and frames follow each other on TCP.</summary>
    public const byte Version = 2;

    /// <summary>
    /// Largest request datagram accepted: 1500-byte Ethernet MTU less 20 bytes of IPv4 and 8 of UDP,
    /// so a request never needs IP fragmentation. A receiver should read into buffers of at least
    /// <c>MaxDatagramSize + 1</c> bytes, or it cannot tell an oversized datagram from a truncated one.
    /// </summary>
    public const int MaxDatagramSize = 1472;

    /// <summary>Largest payload of one frame on a stream (TCP): 1 MiB, so a 1 MiB reply fits the
    /// default reply bound. A longer frame is answered bad-request and its payload discarded.</summary>
    public const int MaxStreamPayloadBytes = 1 << 20;

    /// <summary>Largest request type that can ever be valid; 255 is reserved.</summary>
    public const byte MaxRequestType = 254;

    /// <summary>Number of <see cref="ParseError"/> values, <see cref="ParseError.None"/> included; sizes counter arrays.</summary>
    internal const int ParseErrorCount = (int)ParseError.NegativeServiceTime + 1;

    private const int MagicOffset = 0;
    private const int VersionOffset = 4;
    private const int TypeOffset = 5;
    private const int RequestFlagsOffset = 6;
    private const int IdOffset = 8;
    private const int IntendedSendOffset = 16;
    private const int RequestServiceOffset = 24;
    private const int RequestPayloadLengthOffset = 32;
    private const int RequestReservedOffset = 36;
    private const int StatusOffset = 6;
    private const int ResponseReservedOffset = 7;
    private const int QueuedOffset = 24;
    private const int ResponseServiceOffset = 28;
    private const int PreemptionsOffset = 32;
    private const int ResponsePayloadLengthOffset = 36;

    /// <summary>
    /// Parses a request datagram and validates it against an app that knows request types
    /// <c>0 .. typeCount - 1</c>. The first failing check wins, in this order:
    /// <see cref="ParseError.TooShort"/>, <see cref="ParseError.BadMagic"/>, <see cref="ParseError.Oversized"/>,
    /// <see cref="ParseError.BadVersion"/>, <see cref="ParseError.LengthMismatch"/>,
    /// <see cref="ParseError.NegativeServiceTime"/>, <see cref="ParseError.UnknownType"/>.
    /// </summary>
    /// <remarks>
    /// Whenever the datagram has at least <see cref="HeaderSize"/> bytes, every field of
    /// <paramref name="header"/> is filled with the bytes as received, even on error, so the server can
    /// answer <see cref="ResponseStatus.BadRequest"/> echoing type, id and intended send time (see
    /// <see cref="CanAnswer"/>). On <see cref="ParseError.TooShort"/> the header is <c>default</c>.
    /// An oversized datagram without our magic is <see cref="ParseError.BadMagic"/>, so that
    /// <see cref="CanAnswer"/> can decide from the error alone.
    /// </remarks>
    /// <param name="datagram">The whole datagram as received, header and payload.</param>
    /// <param name="typeCount">How many request types the app knows; types at or above it are unknown.</param>
    /// <param name="header">The fields read, when at least the header was present.</param>
    /// <returns><see cref="ParseError.None"/> when the request is valid, else the first reason it is not.</returns>
    public static ParseError TryParseRequest(ReadOnlySpan<byte> datagram, int typeCount, out RequestHeader header) =>
        TryParseRequest(datagram, typeCount, MaxDatagramSize, out header);

    /// <summary>
    /// As <see cref="TryParseRequest(ReadOnlySpan{byte}, int, out RequestHeader)"/> for one whole frame
    /// taken from a stream (its length is <see cref="HeaderSize"/> plus the payload length its header
    /// states), which may be as long as <see cref="HeaderSize"/> + <see cref="MaxStreamPayloadBytes"/>.
    /// </summary>
    internal static ParseError TryParseStreamFrame(ReadOnlySpan<byte> frame, int typeCount, out RequestHeader header) =>
        TryParseRequest(frame, typeCount, HeaderSize + MaxStreamPayloadBytes, out header);

    /// <summary>The payload length a request header states (its bytes 32..35), for framing a stream.</summary>
    internal static uint StatedPayloadLength(ReadOnlySpan<byte> header) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[RequestPayloadLengthOffset..]);

    /// <summary>True when <paramref name="bytes"/> begin with the magic (at least 4 bytes).</summary>
    internal static bool HasMagic(ReadOnlySpan<byte> bytes) =>
        bytes.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(bytes) == Magic;

    private static ParseError TryParseRequest(ReadOnlySpan<byte> datagram, int typeCount, int maxLength, out RequestHeader header)
    {
        if (datagram.Length < HeaderSize)
        {
            header = default;
            return ParseError.TooShort;
        }

        header.Type = datagram[TypeOffset];
        header.Id = BinaryPrimitives.ReadUInt64LittleEndian(datagram[IdOffset..]);
        header.IntendedSendNs = BinaryPrimitives.ReadInt64LittleEndian(datagram[IntendedSendOffset..]);
        header.ServiceNs = BinaryPrimitives.ReadInt64LittleEndian(datagram[RequestServiceOffset..]);
        header.PayloadLength = BinaryPrimitives.ReadUInt32LittleEndian(datagram[RequestPayloadLengthOffset..]);

        // Magic before size: a datagram that is not ours is stray traffic whatever its size, and
        // counting it as bad-magic lets CanAnswer refuse it without looking at the bytes again.
        if (BinaryPrimitives.ReadUInt32LittleEndian(datagram[MagicOffset..]) != Magic)
        {
            return ParseError.BadMagic;
        }

        if (datagram.Length > maxLength)
        {
            return ParseError.Oversized;
        }

        if (datagram[VersionOffset] != Version)
        {
            return ParseError.BadVersion;
        }

        // The flags (offset 6) and reserved (offset 36) fields are ignored, not checked, so a
        // later version can give them meaning without old servers refusing its requests.
        if (header.PayloadLength != (uint)(datagram.Length - HeaderSize))
        {
            return ParseError.LengthMismatch;
        }

        if (header.ServiceNs < 0)
        {
            return ParseError.NegativeServiceTime;
        }

        if (header.Type >= typeCount || header.Type > MaxRequestType)
        {
            return ParseError.UnknownType;
        }

        return ParseError.None;
    }

    /// <summary>
    /// Whether the server may answer a refused datagram with <see cref="ResponseStatus.BadRequest"/>:
    /// true when the 40 header bytes were readable and carried our magic, so the echoed type, id and
    /// intended send time mean something to the sender and the 40-byte reply is no larger than the
    /// datagram. False for <see cref="ParseError.TooShort"/> (nothing to echo, and the reply would be
    /// larger than the request, an amplifier), for <see cref="ParseError.BadMagic"/> (not our
    /// protocol, possibly a spoofed source) and for <see cref="ParseError.None"/> (not an error).
    /// True for <see cref="ParseError.Oversized"/>, which <see cref="TryParseRequest(ReadOnlySpan{byte}, int, out RequestHeader)"/> reports only
    /// when the magic matched.
    /// </summary>
    /// <param name="error">The result of <see cref="TryParseRequest(ReadOnlySpan{byte}, int, out RequestHeader)"/>.</param>
    /// <returns>True when a bad-request reply should be sent.</returns>
    internal static bool CanAnswer(ParseError error) =>
        error is not (ParseError.None or ParseError.TooShort or ParseError.BadMagic);

    /// <summary>
    /// The lower-case kebab name of a parse error ("too-short", "bad-magic", ...), for counter
    /// labels and reports. Returns interned literals, so it allocates nothing.
    /// </summary>
    /// <param name="error">The error to name.</param>
    /// <returns>Its name, or "unknown" for a value outside the enum.</returns>
    public static string ErrorName(ParseError error) => error switch
    {
        ParseError.None => "none",
        ParseError.TooShort => "too-short",
        ParseError.BadMagic => "bad-magic",
        ParseError.BadVersion => "bad-version",
        ParseError.LengthMismatch => "length-mismatch",
        ParseError.UnknownType => "unknown-type",
        ParseError.Oversized => "oversized",
        ParseError.NegativeServiceTime => "negative-service-time",
        _ => "unknown",
    };

    /// <summary>The lower-case kebab name of a response status ("ok", "rejected-overload", ...), for reports.</summary>
    /// <param name="status">The status to name.</param>
    /// <returns>Its name, or "unknown" for a value outside the enum.</returns>
    public static string StatusName(ResponseStatus status) => status switch
    {
        ResponseStatus.Ok => "ok",
        ResponseStatus.RejectedOverload => "rejected-overload",
        ResponseStatus.BadRequest => "bad-request",
        ResponseStatus.Error => "error",
        ResponseStatus.ShuttingDown => "shutting-down",
        _ => "unknown",
    };

    /// <summary>
    /// A response header that echoes a request's type, id and intended send time, with the given
    /// status and zero timings; the server fills in the timings it measured.
    /// </summary>
    /// <param name="request">The request being answered (as filled by <see cref="TryParseRequest(ReadOnlySpan{byte}, int, out RequestHeader)"/>, even on error).</param>
    /// <param name="status">What became of it.</param>
    /// <returns>The response header.</returns>
    public static ResponseHeader ReplyTo(in RequestHeader request, ResponseStatus status) => new()
    {
        Type = request.Type,
        Status = status,
        Id = request.Id,
        IntendedSendNs = request.IntendedSendNs,
    };

    /// <summary>
    /// Writes a request header into the first <see cref="HeaderSize"/> bytes of <paramref name="dest"/>,
    /// with flags and reserved fields zero. The caller writes <see cref="RequestHeader.PayloadLength"/>
    /// payload bytes right after it and sends <c>HeaderSize + PayloadLength</c> bytes.
    /// </summary>
    /// <param name="dest">At least <see cref="HeaderSize"/> bytes.</param>
    /// <param name="header">The fields to write.</param>
    /// <returns>Bytes written, always <see cref="HeaderSize"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="dest"/> is shorter than <see cref="HeaderSize"/>.</exception>
    public static int WriteRequest(Span<byte> dest, in RequestHeader header)
    {
        if (dest.Length < HeaderSize)
        {
            ThrowDestinationTooShort(dest.Length);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(dest[MagicOffset..], Magic);
        dest[VersionOffset] = Version;
        dest[TypeOffset] = header.Type;
        BinaryPrimitives.WriteUInt16LittleEndian(dest[RequestFlagsOffset..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[IdOffset..], header.Id);
        BinaryPrimitives.WriteInt64LittleEndian(dest[IntendedSendOffset..], header.IntendedSendNs);
        BinaryPrimitives.WriteInt64LittleEndian(dest[RequestServiceOffset..], header.ServiceNs);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[RequestPayloadLengthOffset..], header.PayloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[RequestReservedOffset..], 0);
        return HeaderSize;
    }

    /// <summary>
    /// Writes a response header into the first <see cref="HeaderSize"/> bytes of <paramref name="dest"/>,
    /// with the reserved byte zero; <see cref="ResponseHeader.PayloadLength"/> bytes of payload follow it.
    /// </summary>
    /// <param name="dest">At least <see cref="HeaderSize"/> bytes.</param>
    /// <param name="header">The fields to write.</param>
    /// <returns>Bytes written, always <see cref="HeaderSize"/>: the whole response.</returns>
    /// <exception cref="ArgumentException"><paramref name="dest"/> is shorter than <see cref="HeaderSize"/>.</exception>
    public static int WriteResponse(Span<byte> dest, in ResponseHeader header)
    {
        if (dest.Length < HeaderSize)
        {
            ThrowDestinationTooShort(dest.Length);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(dest[MagicOffset..], Magic);
        dest[VersionOffset] = Version;
        dest[TypeOffset] = header.Type;
        dest[StatusOffset] = (byte)header.Status;
        dest[ResponseReservedOffset] = 0;
        BinaryPrimitives.WriteUInt64LittleEndian(dest[IdOffset..], header.Id);
        BinaryPrimitives.WriteInt64LittleEndian(dest[IntendedSendOffset..], header.IntendedSendNs);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[QueuedOffset..], header.QueuedNs);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[ResponseServiceOffset..], header.ServiceNs);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[PreemptionsOffset..], header.Preemptions);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[ResponsePayloadLengthOffset..], header.PayloadLength);
        return HeaderSize;
    }

    /// <summary>
    /// Parses a response datagram. Refuses (returns false, <paramref name="header"/> <c>default</c>)
    /// one that is shorter than <see cref="HeaderSize"/>, lacks the magic, has another version, has a
    /// status outside <see cref="ResponseStatus"/>, or whose payload length field does not equal its
    /// length minus the header. The reserved byte is ignored.
    /// </summary>
    /// <param name="src">The whole response datagram.</param>
    /// <param name="header">The fields read, when the response is valid.</param>
    /// <returns>True when the response is valid.</returns>
    public static bool TryParseResponse(ReadOnlySpan<byte> src, out ResponseHeader header) =>
        TryParseResponseHeader(src, out header) && header.PayloadLength == (uint)(src.Length - HeaderSize)
            || Refuse(out header);

    /// <summary>
    /// Parses the header at the start of <paramref name="src"/> (a stream: the payload, of
    /// <see cref="ResponseHeader.PayloadLength"/> bytes, follows it and may not have arrived yet).
    /// Refuses a header that is short, lacks the magic, has another version or an unknown status.
    /// </summary>
    public static bool TryParseResponseHeader(ReadOnlySpan<byte> src, out ResponseHeader header)
    {
        header = default;
        if (src.Length < HeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(src[MagicOffset..]) != Magic
            || src[VersionOffset] != Version
            || src[StatusOffset] > (byte)ResponseStatus.ShuttingDown)
        {
            return false;
        }

        header.Type = src[TypeOffset];
        header.Status = (ResponseStatus)src[StatusOffset];
        header.Id = BinaryPrimitives.ReadUInt64LittleEndian(src[IdOffset..]);
        header.IntendedSendNs = BinaryPrimitives.ReadInt64LittleEndian(src[IntendedSendOffset..]);
        header.QueuedNs = BinaryPrimitives.ReadUInt32LittleEndian(src[QueuedOffset..]);
        header.ServiceNs = BinaryPrimitives.ReadUInt32LittleEndian(src[ResponseServiceOffset..]);
        header.Preemptions = BinaryPrimitives.ReadUInt32LittleEndian(src[PreemptionsOffset..]);
        header.PayloadLength = BinaryPrimitives.ReadUInt32LittleEndian(src[ResponsePayloadLengthOffset..]);
        return true;
    }

    private static bool Refuse(out ResponseHeader header)
    {
        header = default;
        return false;
    }

    /// <summary>
    /// Narrows a duration in ns to the response's u32 fields: values above <see cref="uint.MaxValue"/>
    /// (about 4.29 s) become <see cref="uint.MaxValue"/>, and negative values, which only clock
    /// misreads produce, become 0.
    /// </summary>
    /// <param name="ns">A duration in ns.</param>
    /// <returns>The duration clamped to <c>0 .. uint.MaxValue</c>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Saturate(long ns) => (uint)Math.Clamp(ns, 0L, uint.MaxValue);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowDestinationTooShort(int length) =>
        throw new ArgumentException($"A header needs {HeaderSize} bytes; the destination has {length}.", "dest");
}
