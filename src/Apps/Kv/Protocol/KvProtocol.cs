// kv's AppProtocol: memcached's text, meta and binary protocols framed on streams, and its UDP frame on datagrams.
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>The request types kv reports apart (<see cref="Frame.Type"/>).</summary>
internal enum KvRequestType
{
    /// <summary>A retrieval of fewer than <see cref="KvOptions.MultigetKeys"/> keys: get, gets, gat,
    /// gats, mg, binary get/getk/gat/gatk/touch, short runs of quiet gets.</summary>
    Get = 0,
    /// <summary>The long request: a retrieval of many keys (a text get line, or a run of binary
    /// GETQ/GETKQ), run a few keys per step so shorter requests can pass it.</summary>
    Multiget = 1,
    /// <summary>Storage commands: set, add, replace, append, prepend, cas, ms and their binary forms.</summary>
    Set = 2,
    /// <summary>delete, md, binary delete.</summary>
    Delete = 3,
    /// <summary>incr, decr, ma, binary increment/decrement.</summary>
    Arith = 4,
    /// <summary>Everything else: touch, flush_all, stats, version, verbosity, quit, mn, noop, errors.</summary>
    Other = 5,
}

/// <summary>
/// memcached's wire protocols as the NetStack transports see them.
/// </summary>
/// <remarks>
/// <para><b>Streams.</b> A connection speaks text or binary, decided by its first byte as memcached
/// decides (0x80: binary) and kept in the framer's state word. A text request is one line, plus
/// for a storage command the data block memcached reads after it; a storage line memcached refuses
/// before reading is a request of its own, and the block is then read as commands, as memcached
/// reads it; a value over the item limit is refused and its block skipped (<see cref="Frame.SkipAfter"/>,
/// memcached's swallow). An unterminated line longer than 2048 bytes closes the connection unless
/// it is a get. A binary request is its header, extras and key, plus a storage command's value; a
/// run of quiet gets is one request (a binary multiget). Every decision is a function of the bytes,
/// so a request split anywhere across reads frames the same.</para>
/// <para><b>Datagrams.</b> An 8-byte frame header (request id, sequence, count, reserved) and one
/// or more commands; the body the engine sees starts after the header (<see cref="Frame.BodyOffset"/>).
/// Replies are cut into datagrams of at most <see cref="UdpFrame.MaxDatagramBytes"/> bytes, each
/// with its header (<see cref="WriteDatagramHeader"/>).</para>
/// <para><b>Tag.</b> <see cref="Frame.Tag"/> keeps what a failure reply needs: the protocol, for
/// binary the opcode and opaque, for text whether the command asked for no reply.</para>
/// </remarks>
internal sealed class KvProtocol : AppProtocol
{
    private const long TagBinary = 1L << 40;
    private const long TagText = 2L << 40;
    private const long TagNoReply = 1L << 42;
    private const long TagAnswerError = 1L << 43;

    private readonly KvOptions _options;
    private readonly KvClock _clock;

    /// <summary>The protocol for a store with these options (the item limit decides what is swallowed).</summary>
    public KvProtocol(KvOptions options, KvClock clock)
    {
        options.Validate();
        _options = options;
        _clock = clock;
        MaxRequestBytes = options.ItemSizeMaxBytes + ReadBufferBytes;
    }

    /// <summary>The host's connection counts (stats' curr_connections), kept by the transports.</summary>
    public KvHostStats? Host { get; init; }

    /// <inheritdoc />
    public override void ConnectionOpened() => Host?.ConnectionOpened();

    /// <inheritdoc />
    public override void ConnectionClosed() => Host?.ConnectionClosed();

    /// <inheritdoc />
    /// <remarks>memcached's UDP read buffer: a request datagram may carry a set of a few KiB.</remarks>
    public override int DatagramReceiveBytes => 64 * 1024;

    /// <inheritdoc />
    /// <remarks>memcached's UDP_MAX_PAYLOAD_SIZE, frame header included.</remarks>
    public override int MaxDatagramReplyBytes => UdpFrame.MaxDatagramBytes;

    /// <summary>Room beyond the item limit for a storage line, and how long a get line may grow:
    /// memcached's read buffer (READ_BUFFER_SIZE).</summary>
    public const int ReadBufferBytes = 16 * 1024;

    /// <inheritdoc />
    public override string Name => "memcached";

    /// <inheritdoc />
    public override int TypeCount => RequestTypes;

    /// <summary>The request types kv reports apart (<see cref="KvRequestType"/>).</summary>
    internal const int RequestTypes = (int)KvRequestType.Other + 1;

    /// <inheritdoc />
    public override string TypeName(int type) => (uint)type < RequestTypes ? NameOf((KvRequestType)type) : base.TypeName(type);

    /// <summary>The name reports and <c>stats latency</c> give <paramref name="type"/>.</summary>
    internal static string NameOf(KvRequestType type) => type switch
    {
        KvRequestType.Get => "get",
        KvRequestType.Multiget => "multiget",
        KvRequestType.Set => "set",
        KvRequestType.Delete => "delete",
        KvRequestType.Arith => "arith",
        _ => "other",
    };

    /// <inheritdoc />
    public override IReadOnlyList<string> ErrorNames => FrameErrors.Names;

    /// <inheritdoc />
    public override int MaxRequestBytes { get; }

    /// <inheritdoc />
    public override FrameStatus FrameStream(ReadOnlySpan<byte> buffered, ref ulong state, out Frame frame)
    {
        frame = default;
        if (buffered.IsEmpty)
        {
            return FrameStatus.Incomplete;
        }
        var kind = (WireKind)state;
        if (kind == WireKind.Undecided)
        {
            kind = buffered[0] == BinaryHeader.RequestMagic ? WireKind.Binary : WireKind.Text;
            state = (ulong)kind;
        }
        FrameStatus status = CommandFramer.FrameOne(buffered, kind, _options, _clock, MaxRequestBytes, out CommandFrame command);
        if (status == FrameStatus.Request && kind == WireKind.Text && buffered[0] == BinaryHeader.RequestMagic)
        {
            // A text line that starts with the binary magic byte: memcached answers it ERROR (or
            // closes, when it ends like an HTTP request line). The engine tells binary from text by
            // that byte, so this line is answered here.
            if (IsHttpRequestLine(buffered))
            {
                frame.Error = FrameErrors.BinaryByteOnTextLine;
                return FrameStatus.Drop;
            }
            frame.Length = (int)command.Length;
            frame.SkipAfter = command.SkipAfter;
            frame.Tag = TagText | TagAnswerError;
            frame.Error = FrameErrors.BinaryByteOnTextLine;
            frame.Type = (int)KvRequestType.Other;
            return FrameStatus.Invalid;
        }
        if (status == FrameStatus.Request && command.QuietGet)
        {
            status = CommandFramer.ExtendQuietGetRun(buffered, command.Length, _options, atEnd: false, out long runLength, out int keys);
            if (status == FrameStatus.Incomplete)
            {
                return status;
            }
            command.Length = runLength;
            command.Type = keys >= _options.MultigetKeys ? KvRequestType.Multiget : KvRequestType.Get;
        }
        return Finish(status, kind, in command, ref frame);
    }

    private static bool IsHttpRequestLine(ReadOnlySpan<byte> buffered)
    {
        TextParser.TryReadLine(buffered, out ReadOnlySpan<byte> line, out _);
        TextParser.Tokenize(line, out TokenizedLine tokens);
        TextParser.Lookup(tokens, out bool http);
        return http;
    }

    private static FrameStatus Finish(FrameStatus status, WireKind kind, in CommandFrame command, ref Frame frame)
    {
        frame.Length = (int)Math.Min(command.Length, int.MaxValue);
        frame.Error = command.Error;
        if (status != FrameStatus.Request)
        {
            return status;
        }
        frame.Type = (int)command.Type;
        frame.SkipAfter = command.SkipAfter;
        frame.Tag = kind == WireKind.Binary
            ? TagBinary | ((long)command.Opcode << 32) | command.Opaque
            : TagText | (command.NoReply ? TagNoReply : 0);
        return FrameStatus.Request;
    }

    /// <inheritdoc />
    public override FrameStatus FrameDatagram(ReadOnlySpan<byte> datagram, out Frame frame)
    {
        frame = default;
        if (!UdpFrame.TryReadRequest(datagram, out ushort requestId))
        {
            frame.Error = FrameErrors.BadDatagram;
            return FrameStatus.Drop;
        }
        ReadOnlySpan<byte> body = datagram[UdpFrame.HeaderBytes..];
        // memcached decides per datagram, from its first byte.
        WireKind kind = body[0] == BinaryHeader.RequestMagic ? WireKind.Binary : WireKind.Text;
        FrameStatus status = CommandFramer.FrameOne(body, kind, _options, _clock, MaxRequestBytes, out CommandFrame command);
        if (status == FrameStatus.Incomplete)
        {
            // A request must fit in its datagram; what is missing will not come.
            frame.Error = FrameErrors.IncompleteDatagram;
            return FrameStatus.Drop;
        }
        if (status == FrameStatus.Request && command.QuietGet)
        {
            CommandFramer.ExtendQuietGetRun(body, command.Length, _options, atEnd: true, out _, out int keys);
            command.Type = keys >= _options.MultigetKeys ? KvRequestType.Multiget : KvRequestType.Get;
        }
        status = Finish(status, kind, in command, ref frame);
        frame.Length = datagram.Length;
        frame.BodyOffset = UdpFrame.HeaderBytes;
        frame.Id = requestId;
        return status;
    }

    /// <inheritdoc />
    public override int WriteFailure(Span<byte> destination, in ReplyInfo info)
    {
        if ((info.Tag & TagBinary) != 0)
        {
            ushort status = info.Status switch
            {
                RequestStatus.RejectedOverload => BinaryStatus.Busy,
                RequestStatus.BadRequest => BinaryStatus.InvalidArguments,
                RequestStatus.ShuttingDown => BinaryStatus.Busy,
                _ => BinaryStatus.InternalError,
            };
            ReadOnlySpan<byte> text = info.Status == RequestStatus.ShuttingDown ? "Shutting down"u8 : BinaryReplies.ErrorText(status);
            byte opcode = (byte)(info.Tag >> 32);
            uint opaque = (uint)info.Tag;
            BinaryReplies.Encode(destination, opcode, status, 0, 0, (uint)text.Length, opaque, 0);
            text.CopyTo(destination[BinaryHeader.Size..]);
            return BinaryHeader.Size + text.Length;
        }
        if ((info.Tag & TagAnswerError) != 0)
        {
            return Line(destination, TextReplies.Error);
        }
        if ((info.Tag & TagNoReply) != 0)
        {
            // The client asked for no reply and reads none, so a failure must not send one either.
            return 0;
        }
        return info.Status switch
        {
            RequestStatus.RejectedOverload => Line(destination, "SERVER_ERROR busy"u8),
            RequestStatus.BadRequest => Line(destination, TextReplies.Error),
            RequestStatus.ShuttingDown => Line(destination, "SERVER_ERROR shutting down"u8),
            _ => Line(destination, "SERVER_ERROR internal error"u8),
        };
    }

    private static int Line(Span<byte> destination, ReadOnlySpan<byte> text)
    {
        text.CopyTo(destination);
        destination[text.Length] = (byte)'\r';
        destination[text.Length + 1] = (byte)'\n';
        return text.Length + 2;
    }

    /// <inheritdoc />
    public override int DatagramHeaderBytes => UdpFrame.HeaderBytes;

    /// <inheritdoc />
    public override bool SplitsDatagramReplies => true;

    /// <inheritdoc />
    public override void WriteDatagramHeader(Span<byte> header, in ReplyInfo info, int sequence, int count) =>
        UdpFrame.Write(header, (ushort)info.Id, sequence, count);
}
