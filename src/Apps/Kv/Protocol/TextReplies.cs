// The text and meta protocols, server to client: memcached's reply lines, byte for byte, and the lines that carry items.
using NetStack.Apps.Kv.Store;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>
/// Every fixed line memcached 1.6.18 answers in text (proto_text.c), as UTF-8 literals (no
/// allocation), and the writers of the lines that carry an item. The texts are memcached's, typos
/// and double spaces included, since clients match on them.
/// </summary>
internal static class TextReplies
{
    public static ReadOnlySpan<byte> Error => "ERROR"u8;
    public static ReadOnlySpan<byte> Stored => "STORED"u8;
    public static ReadOnlySpan<byte> NotStored => "NOT_STORED"u8;
    public static ReadOnlySpan<byte> Exists => "EXISTS"u8;
    public static ReadOnlySpan<byte> NotFound => "NOT_FOUND"u8;
    public static ReadOnlySpan<byte> Deleted => "DELETED"u8;
    public static ReadOnlySpan<byte> Touched => "TOUCHED"u8;
    public static ReadOnlySpan<byte> Ok => "OK"u8;
    public static ReadOnlySpan<byte> End => "END"u8;
    public static ReadOnlySpan<byte> Reset => "RESET"u8;
    public static ReadOnlySpan<byte> BadCommandLineFormat => "CLIENT_ERROR bad command line format"u8;
    public static ReadOnlySpan<byte> BadDataChunk => "CLIENT_ERROR bad data chunk"u8;
    public static ReadOnlySpan<byte> ObjectTooLarge => "SERVER_ERROR object too large for cache"u8;
    public static ReadOnlySpan<byte> OutOfMemoryStoring => "SERVER_ERROR out of memory storing object"u8;
    public static ReadOnlySpan<byte> OutOfMemory => "SERVER_ERROR out of memory"u8;
    public static ReadOnlySpan<byte> InvalidExptime => "CLIENT_ERROR invalid exptime argument"u8;
    public static ReadOnlySpan<byte> InvalidDelta => "CLIENT_ERROR invalid numeric delta argument"u8;
    public static ReadOnlySpan<byte> NonNumeric => "CLIENT_ERROR cannot increment or decrement non-numeric value"u8;
    public static ReadOnlySpan<byte> DeleteUsage => "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"u8;
    public static ReadOnlySpan<byte> FlushNotAllowed => "CLIENT_ERROR flush_all not allowed"u8;
    public static ReadOnlySpan<byte> ShutdownNotEnabled => "ERROR: shutdown not enabled"u8;
    public static ReadOnlySpan<byte> StatsDetailUsage => "CLIENT_ERROR usage: stats detail on|off|dump"u8;

    // Meta.
    public static ReadOnlySpan<byte> MgFlagsTooLong => "CLIENT_ERROR options flags are too long"u8;
    public static ReadOnlySpan<byte> FlagsTooLong => "CLIENT_ERROR options flags too long"u8;
    public static ReadOnlySpan<byte> DuplicateFlag => "CLIENT_ERROR duplicate flag"u8;
    public static ReadOnlySpan<byte> InvalidFlag => "CLIENT_ERROR invalid flag"u8;
    public static ReadOnlySpan<byte> BadToken => "CLIENT_ERROR bad token in command line format"u8;
    public static ReadOnlySpan<byte> ErrorDecodingKey => "CLIENT_ERROR error decoding key"u8;
    public static ReadOnlySpan<byte> BadModeLength => "CLIENT_ERROR incorrect length for M token"u8;
    public static ReadOnlySpan<byte> BadInitial => "CLIENT_ERROR invalid numeric initial value"u8;
    public static ReadOnlySpan<byte> BadDeltaFlag => "CLIENT_ERROR invalid numeric delta value"u8;
    public static ReadOnlySpan<byte> OpaqueTooLong => "CLIENT_ERROR opaque token too long"u8;
    public static ReadOnlySpan<byte> BadMsMode => "CLIENT_ERROR invalid mode for ms M token"u8;
    public static ReadOnlySpan<byte> BadMaMode => "CLIENT_ERROR invalid mode for ma M token"u8;
    public static ReadOnlySpan<byte> InvalidOrDuplicateFlag => "CLIENT_ERROR invalid or duplicate flag"u8;
    public static ReadOnlySpan<byte> OutOfMemoryNewItem => "SERVER_ERROR Out of memory allocating new item"u8;
    public static ReadOnlySpan<byte> MetaNoop => "MN"u8;
    public static ReadOnlySpan<byte> MetaMiss => "EN"u8;

    /// <summary>A get hit: <c>VALUE &lt;key&gt; &lt;flags&gt; &lt;bytes&gt;[ &lt;cas&gt;]\r\n&lt;data&gt;\r\n</c>.</summary>
    public static void WriteValue(ref ReplyWriter writer, in KvItem item, bool withCas)
    {
        writer.Write("VALUE "u8);
        writer.Write(item.Key);
        writer.Write((byte)' ');
        writer.WriteDecimal((ulong)item.ClientFlags);
        writer.Write((byte)' ');
        writer.WriteDecimal((ulong)item.ValueLength);
        if (withCas)
        {
            writer.Write((byte)' ');
            writer.WriteDecimal(item.Cas);
        }
        writer.WriteCrlf();
        writer.Write(item.ValueWithCrlf);
    }

    /// <summary>meta's <c> k&lt;key&gt;</c>, base64 again (and flagged <c> b</c>) when the key arrived so.</summary>
    public static void WriteMetaKey(ref ReplyWriter writer, ReadOnlySpan<byte> key, bool binary)
    {
        writer.Write(" k"u8);
        if (!binary)
        {
            writer.Write(key);
            return;
        }
        Span<byte> encoded = stackalloc byte[(TextParser.MaxKeyBytes + 2) / 3 * 4 + 4];
        System.Buffers.Text.Base64.EncodeToUtf8(key, encoded, out _, out int written);
        writer.Write(encoded[..written]);
        writer.Write(" b"u8);
    }

    /// <summary>meta's remaining TTL: <c>-1</c> for none, else the seconds left, as memcached's
    /// unsigned subtraction gives them (an item whose T set a past time shows a wrapped value).</summary>
    public static void WriteTtl(ref ReplyWriter writer, uint exptime, uint now)
    {
        if (exptime == 0)
        {
            writer.Write("-1"u8);
        }
        else
        {
            writer.WriteDecimal((ulong)unchecked(exptime - now));
        }
    }
}
