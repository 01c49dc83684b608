// The text protocol, server to client: a retrieval's VALUE blocks and END, a storage reply, error lines (protocol.txt).
using System.Buffers.Text;
using NetStack.LoadGen.Kv;

namespace NetStack.LoadGen.Kv.Protocol;

/// <summary>
/// Reads the reply to the head request of a connection. Text replies carry no id: what makes a reply
/// this request's is its place in the connection's order and its shape: a get's values must name
/// its keys, in order, and a set's reply must be a storage reply. Anything else is malformed.
/// </summary>
internal static class TextReplyReader
{
    /// <summary>A reply line longer than this is garbage (a VALUE line with a 250-byte key is under 300).</summary>
    public const int MaxLineBytes = 1024;

    /// <summary>Reads what <paramref name="buffered"/> holds of the reply; see <see cref="KvClientProtocol.Read"/>.</summary>
    public static ReplyStep Read(ReadOnlySpan<byte> buffered, in ExpectedReply expected, ref ReplyProgress progress, int maxValueBytes,
        out int consumed)
    {
        consumed = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = buffered[consumed..];
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                return rest.Length > MaxLineBytes ? ReplyStep.Malformed : ReplyStep.NeedMore;
            }
            if (lf == 0 || rest[lf - 1] != '\r' || lf > MaxLineBytes)
            {
                return ReplyStep.Malformed;
            }
            ReadOnlySpan<byte> line = rest[..(lf - 1)];
            int lineBytes = lf + 1;
            if (expected.Op == KvOp.Set)
            {
                if (line.SequenceEqual("STORED"u8))
                {
                    consumed += lineBytes;
                    return ReplyStep.Done;
                }
                if (line.SequenceEqual("NOT_STORED"u8) || line.SequenceEqual("EXISTS"u8) || line.SequenceEqual("NOT_FOUND"u8)
                    || IsErrorLine(line, ref progress))
                {
                    progress.Failed |= !progress.Rejected;
                    consumed += lineBytes;
                    return ReplyStep.Done;
                }
                return ReplyStep.Malformed;
            }
            if (line.SequenceEqual("END"u8))
            {
                consumed += lineBytes;
                return ReplyStep.Done;
            }
            if (line.StartsWith("VALUE "u8))
            {
                // The cursor moves only with the value consumed: a value not all here yet is matched again next read.
                int cursor = progress.KeyCursor;
                if (!TryParseValueLine(line[6..], out ReadOnlySpan<byte> key, out int bytes) || bytes > maxValueBytes
                    || !expected.Match(key, ref cursor))
                {
                    return ReplyStep.Malformed;
                }
                int block = lineBytes + bytes + 2;
                if (rest.Length < block)
                {
                    return ReplyStep.NeedMore;
                }
                if (rest[block - 2] != '\r' || rest[block - 1] != '\n')
                {
                    return ReplyStep.Malformed;
                }
                progress.KeyCursor = cursor;
                progress.Hits++;
                consumed += block;
                continue;
            }
            if (IsErrorLine(line, ref progress))
            {
                // An error ends a retrieval too (memcached's SERVER_ERROR out of memory writing a reply).
                progress.Failed |= !progress.Rejected;
                consumed += lineBytes;
                return ReplyStep.Done;
            }
            return ReplyStep.Malformed;
        }
    }

    /// <summary>
    /// Over UDP, where a reply comes in datagrams: from the first datagram of a one-key get's reply, the
    /// reply's whole length (its first line says it) and what it answered. Malformed when it is not the
    /// reply to <paramref name="expected"/>.
    /// </summary>
    public static ReplyStep GetReplyLength(ReadOnlySpan<byte> first, in ExpectedReply expected, ref ReplyProgress progress, int maxValueBytes,
        out int totalBytes)
    {
        totalBytes = 0;
        int lf = first.IndexOf((byte)'\n');
        if (lf <= 0 || first[lf - 1] != '\r' || lf > MaxLineBytes)
        {
            return ReplyStep.Malformed;
        }
        ReadOnlySpan<byte> line = first[..(lf - 1)];
        int lineBytes = lf + 1;
        if (line.SequenceEqual("END"u8))
        {
            totalBytes = lineBytes;
            return ReplyStep.Done;
        }
        if (line.StartsWith("VALUE "u8))
        {
            if (!TryParseValueLine(line[6..], out ReadOnlySpan<byte> key, out int bytes) || bytes > maxValueBytes
                || !expected.Match(key, ref progress.KeyCursor))
            {
                return ReplyStep.Malformed;
            }
            progress.Hits = 1;
            totalBytes = lineBytes + bytes + 2 + 5; // the value's CRLF, then END CRLF
            return ReplyStep.Done;
        }
        if (IsErrorLine(line, ref progress))
        {
            progress.Failed |= !progress.Rejected;
            totalBytes = lineBytes;
            return ReplyStep.Done;
        }
        return ReplyStep.Malformed;
    }

    /// <summary>ERROR, CLIENT_ERROR ..., SERVER_ERROR ...; kv's overload refusal marks the request rejected.</summary>
    private static bool IsErrorLine(ReadOnlySpan<byte> line, ref ReplyProgress progress)
    {
        if (line.SequenceEqual("SERVER_ERROR busy"u8))
        {
            progress.Rejected = true;
            return true;
        }
        return line.SequenceEqual("ERROR"u8) || line.StartsWith("SERVER_ERROR"u8) || line.StartsWith("CLIENT_ERROR"u8);
    }

    /// <summary>"KEY FLAGS BYTES [CAS]" after "VALUE ".</summary>
    private static bool TryParseValueLine(ReadOnlySpan<byte> fields, out ReadOnlySpan<byte> key, out int bytes)
    {
        bytes = 0;
        int space = fields.IndexOf((byte)' ');
        key = space > 0 ? fields[..space] : default;
        if (space <= 0)
        {
            return false;
        }
        fields = fields[(space + 1)..];
        if (!Utf8Parser.TryParse(fields, out uint _, out int flagDigits) || flagDigits == 0 || flagDigits >= fields.Length
            || fields[flagDigits] != ' ')
        {
            return false;
        }
        fields = fields[(flagDigits + 1)..];
        if (!Utf8Parser.TryParse(fields, out bytes, out int byteDigits) || byteDigits == 0 || bytes < 0)
        {
            return false;
        }
        return byteDigits == fields.Length || fields[byteDigits] == ' ';
    }
}
