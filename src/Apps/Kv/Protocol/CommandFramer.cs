// Where one memcached command ends, text or binary: the rule the framers and the engine's pipelines share.
using NetStack.Runtime.Protocol;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>Which protocol a connection (or a datagram) speaks; memcached decides from its first byte.</summary>
internal enum WireKind : byte
{
    /// <summary>Nothing read yet.</summary>
    Undecided = 0,
    /// <summary>Text and meta commands.</summary>
    Text = 1,
    /// <summary>The binary protocol (first byte 0x80).</summary>
    Binary = 2,
}

/// <summary>Why a framer refused bytes (indexes into <see cref="KvProtocol.ErrorNames"/>).</summary>
internal static class FrameErrors
{
    public const int None = 0, BadFrame = 1, LineTooLong = 2, BadMagic = 3, RequestTooLarge = 4,
        IncompleteDatagram = 5, BadDatagram = 6, BinaryByteOnTextLine = 7;

    public static readonly string[] Names =
        ["none", "bad-frame", "line-too-long", "bad-magic", "request-too-large", "incomplete-datagram", "bad-datagram", "binary-byte-on-text-line"];
}

/// <summary>One command as framed: its bytes, what is swallowed after it, and what its reply needs.</summary>
internal struct CommandFrame
{
    public long Length;
    public long SkipAfter;
    public KvRequestType Type;
    public int Error;
    /// <summary>Binary: the opcode and opaque a failure reply echoes.</summary>
    public byte Opcode;
    public uint Opaque;
    /// <summary>Binary: a valid GETQ/GETKQ, which may join a run.</summary>
    public bool QuietGet;
    /// <summary>Text: the command's reply is suppressed (classic noreply), so a failure is answered with nothing.</summary>
    public bool NoReply;
}

/// <summary>
/// Frames one command at the start of the bytes given: a text line (with a storage command's data
/// block, when memcached reads it) or a binary request (with a storage command's value). Returns
/// <see cref="FrameStatus.Incomplete"/> with the bytes still needed when they are known.
/// </summary>
internal static class CommandFramer
{
    public static FrameStatus FrameOne(ReadOnlySpan<byte> buffered, WireKind kind, KvOptions options, KvClock clock, int maxRequestBytes, out CommandFrame frame)
    {
        frame = default;
        return kind == WireKind.Binary
            ? FrameBinary(buffered, options, maxRequestBytes, out frame)
            : FrameText(buffered, options, clock, maxRequestBytes, out frame);
    }

    private static FrameStatus FrameText(ReadOnlySpan<byte> buffered, KvOptions options, KvClock clock, int maxRequestBytes, out CommandFrame frame)
    {
        frame = default;
        if (!TextParser.TryReadLine(buffered, out ReadOnlySpan<byte> line, out int consumed))
        {
            if (buffered.Length > TextParser.MaxLineBytes && !TextParser.MayGrowPastLineLimit(buffered))
            {
                frame.Error = FrameErrors.LineTooLong;
                return FrameStatus.Drop;
            }
            if (buffered.Length >= maxRequestBytes)
            {
                frame.Error = FrameErrors.RequestTooLarge;
                return FrameStatus.Drop;
            }
            return FrameStatus.Incomplete;
        }
        if (consumed > maxRequestBytes)
        {
            // The rules above for a line that arrived whole: a stream that showed maxRequestBytes bytes
            // without a newline was dropped, so one that shows them with the newline after is too,
            // however the reads were cut (and no request is ever longer than maxRequestBytes).
            frame.Error = TextParser.MayGrowPastLineLimit(buffered) ? FrameErrors.RequestTooLarge : FrameErrors.LineTooLong;
            return FrameStatus.Drop;
        }
        frame.Length = consumed;
        TextParser.Tokenize(line, out TokenizedLine tokens);
        TextCommand command = TextParser.Lookup(tokens, out bool http);
        if (http)
        {
            // The engine answers it by closing, after the replies before it.
            frame.Type = KvRequestType.Other;
            return FrameStatus.Request;
        }
        frame.Type = TextParser.TypeOf(command, line, options.MultigetKeys);
        long data = 0;
        if (TextParser.IsStorage(command))
        {
            TextParser.ParseStorage(command, tokens, options.ItemSizeMaxBytes, out StorageLine storage);
            frame.NoReply = storage.NoReply;
            if (storage.Verdict == DataVerdict.Read)
            {
                data = TextParser.DataBlockBytes(storage.ValueLength);
            }
            else if (storage.Verdict == DataVerdict.Swallow)
            {
                frame.SkipAfter = TextParser.DataBlockBytes(storage.ValueLength);
            }
        }
        else if (command == TextCommand.MetaSet)
        {
            Span<byte> keyBuffer = stackalloc byte[TextParser.MaxKeyBytes];
            MetaParser.ParseMetaSet(tokens, clock, options.ItemSizeMaxBytes, keyBuffer, out MetaSetLine set);
            if (set.Verdict == DataVerdict.Read)
            {
                data = TextParser.DataBlockBytes(set.ValueLength);
            }
            else if (set.Verdict == DataVerdict.Swallow)
            {
                frame.SkipAfter = TextParser.DataBlockBytes(set.ValueLength);
            }
        }
        else if (command is TextCommand.Incr or TextCommand.Decr or TextCommand.Delete or TextCommand.Touch
            or TextCommand.FlushAll or TextCommand.Verbosity)
        {
            // The commands whose replies memcached suppresses with noreply (set_noreply_maybe).
            frame.NoReply = TextParser.NoReply(tokens);
        }
        if (data > 0)
        {
            long total = consumed + data;
            if (buffered.Length < total)
            {
                frame.Length = total;
                return FrameStatus.Incomplete;
            }
            frame.Length = total;
        }
        return FrameStatus.Request;
    }

    private static FrameStatus FrameBinary(ReadOnlySpan<byte> buffered, KvOptions options, int maxRequestBytes, out CommandFrame frame)
    {
        frame = default;
        if (buffered.Length < BinaryHeader.Size)
        {
            frame.Length = BinaryHeader.Size;
            return FrameStatus.Incomplete;
        }
        BinaryHeader header = BinaryHeader.Read(buffered);
        if (header.Magic != BinaryHeader.RequestMagic)
        {
            // memcached closes a binary connection on a bad magic byte.
            frame.Error = FrameErrors.BadMagic;
            return FrameStatus.Drop;
        }
        frame.Opcode = header.Opcode;
        frame.Opaque = header.Opaque;
        if (header.DispatchBytes > maxRequestBytes)
        {
            // Extras and a key longer than a stream may buffer (a small item limit): the stream could
            // never show them, so refuse from the header, as a split stream would.
            frame.Error = FrameErrors.RequestTooLarge;
            return FrameStatus.Drop;
        }
        if (buffered.Length < header.DispatchBytes)
        {
            frame.Length = header.DispatchBytes;
            return FrameStatus.Incomplete;
        }
        BinaryVerdict verdict = BinaryParser.Judge(header, buffered, options.ItemSizeMaxBytes, out long length, out long skip);
        frame.Length = length;
        frame.SkipAfter = skip;
        frame.Type = TypeOf(header.Opcode);
        if (verdict == BinaryVerdict.Execute)
        {
            if (buffered.Length < length)
            {
                return FrameStatus.Incomplete;
            }
            frame.QuietGet = BinaryParser.IsQuietGet(header.Opcode);
        }
        return FrameStatus.Request;
    }

    /// <summary>The longest run of quiet gets: the protocol's MaxRequestBytes less one header, so a
    /// run and the header that decides where it ends fit what a stream may buffer.</summary>
    private static long MaxRunBytes(KvOptions options) => (long)options.ItemSizeMaxBytes + KvProtocol.ReadBufferBytes - BinaryHeader.Size;

    /// <summary>The request type of a binary opcode.</summary>
    public static KvRequestType TypeOf(byte opcode) => Opcode.Loud(opcode, out _) switch
    {
        Opcode.Get or Opcode.GetK or Opcode.Gat or Opcode.GatK => KvRequestType.Get,
        Opcode.Set or Opcode.Add or Opcode.Replace or Opcode.Append or Opcode.Prepend => KvRequestType.Set,
        Opcode.Delete => KvRequestType.Delete,
        Opcode.Increment or Opcode.Decrement => KvRequestType.Arith,
        _ => KvRequestType.Other,
    };

    /// <summary>
    /// Extends a quiet get at the start of <paramref name="buffered"/> into the run of valid quiet
    /// gets after it (a binary multiget: GETKQ ... then a NOOP or GETK). A run ends at the first
    /// request that is not a valid quiet get, or at <see cref="KvOptions.MaxQuietGetRun"/> gets;
    /// on a stream it waits until the request after the run has shown its opcode, so the frame never
    /// depends on where a read happened to end. <paramref name="atEnd"/> (a datagram) ends the run
    /// at the end of the bytes instead. Returns the run's length and key count, or Incomplete.
    /// </summary>
    public static FrameStatus ExtendQuietGetRun(ReadOnlySpan<byte> buffered, long firstLength, KvOptions options, bool atEnd, out long length, out int keys)
    {
        length = firstLength;
        keys = 1;
        while (keys < options.MaxQuietGetRun)
        {
            ReadOnlySpan<byte> rest = buffered[(int)length..];
            if (rest.Length < 2)
            {
                if (atEnd)
                {
                    break;
                }
                return FrameStatus.Incomplete;
            }
            if (rest[0] != BinaryHeader.RequestMagic || !BinaryParser.IsQuietGet(rest[1]))
            {
                break;
            }
            if (rest.Length >= BinaryHeader.Size && length + BinaryHeader.Read(rest).DispatchBytes > MaxRunBytes(options))
            {
                // No request may be longer than a stream may buffer: the run ends before the get that
                // would pass it, decided from that get's header so a stream never waits for more.
                break;
            }
            FrameStatus next = FrameBinary(rest, options, int.MaxValue, out CommandFrame frame);
            if (next == FrameStatus.Incomplete)
            {
                if (atEnd)
                {
                    break;
                }
                return FrameStatus.Incomplete;
            }
            if (next != FrameStatus.Request || !frame.QuietGet)
            {
                break;
            }
            length += frame.Length;
            keys++;
        }
        return FrameStatus.Request;
    }
}
