// What the kv client's two protocols share: the reply a request expects, reading progress, and one entry point per direction.
using NetStack.LoadGen.Kv;

namespace NetStack.LoadGen.Kv.Protocol;

/// <summary>memcached's text protocol or its binary protocol.</summary>
internal enum KvProtocolKind
{
    /// <summary>protocol.txt's text commands.</summary>
    Text,
    /// <summary>The binary protocol (24-byte headers, opaque echoed).</summary>
    Binary,
}

/// <summary>Where reading the head request's reply got to.</summary>
internal enum ReplyStep
{
    /// <summary>The reply is not all here yet; what was consumed stays consumed.</summary>
    NeedMore,
    /// <summary>The reply is complete.</summary>
    Done,
    /// <summary>The bytes are not a reply to this request: nothing after them on the stream can be trusted.</summary>
    Malformed,
}

/// <summary>
/// A reply read so far, kept between reads of a connection: a multiget's reply is consumed one value at
/// a time, so the buffer never holds more than one value and no part is parsed twice.
/// </summary>
internal struct ReplyProgress
{
    /// <summary>Keys found so far.</summary>
    public int Hits;
    /// <summary>How far into the request's keys the values so far matched (memcached answers in key order).</summary>
    public int KeyCursor;
    /// <summary>The server answered with an error (SERVER_ERROR, CLIENT_ERROR, ERROR, NOT_STORED; a binary error status).</summary>
    public bool Failed;
    /// <summary>The server refused the request as overloaded (kv's "SERVER_ERROR busy", binary status 0x85).</summary>
    public bool Rejected;
}

/// <summary>What request a reply must answer: its operation, its keys (in request order) and its opaque.</summary>
internal readonly ref struct ExpectedReply
{
    /// <summary>The request's operation (<see cref="KvOp"/>).</summary>
    public readonly byte Op;
    /// <summary>The binary protocol's opaque: the request's number.</summary>
    public readonly uint Opaque;
    /// <summary>The keys asked for.</summary>
    public readonly ReadOnlySpan<int> Keys;
    /// <summary>Their bytes.</summary>
    public readonly KeySpace KeySpace;

    /// <param name="op">The operation.</param>
    /// <param name="opaque">The opaque sent.</param>
    /// <param name="keys">The keys asked for.</param>
    /// <param name="keySpace">Their bytes.</param>
    public ExpectedReply(byte op, uint opaque, ReadOnlySpan<int> keys, KeySpace keySpace)
    {
        Op = op;
        Opaque = opaque;
        Keys = keys;
        KeySpace = keySpace;
    }

    /// <summary>
    /// Whether <paramref name="key"/>, a value's key, is one of the keys still ahead of the cursor; moves
    /// the cursor past it. memcached answers a multiget's hits in the order the keys were asked.
    /// </summary>
    public bool Match(ReadOnlySpan<byte> key, ref int cursor)
    {
        for (int k = cursor; k < Keys.Length; k++)
        {
            if (KeySpace.Is(Keys[k], key))
            {
                cursor = k + 1;
                return true;
            }
        }
        return false;
    }
}

/// <summary>Requests out, replies in, for either protocol.</summary>
internal static class KvClientProtocol
{
    /// <summary>The request bytes of an operation, at most; sizes the send buffer.</summary>
    public static int MaxRequestBytes(int maxKeyBytes, int maxValueBytes, int longKeys) => Math.Max(
        Math.Max(TextRequests.MaxBytes(maxKeyBytes, maxValueBytes, longKeys), BinaryRequests.MaxBytes(maxKeyBytes, maxValueBytes, longKeys)),
        256);

    /// <summary>The largest unit a reader needs whole in its buffer: one value with its line or header.</summary>
    public static int MaxReplyUnitBytes(int maxValueBytes) => maxValueBytes + TextReplyReader.MaxLineBytes + 2;

    /// <summary>Encodes request <paramref name="number"/> (its opaque) into <paramref name="destination"/>; returns its length.</summary>
    public static int Encode(KvProtocolKind protocol, Span<byte> destination, KeySpace keys, byte op, ReadOnlySpan<int> keyNumbers,
        int valueBytes, uint number)
    {
        if (protocol == KvProtocolKind.Text)
        {
            return op switch
            {
                KvOp.Set => TextRequests.Set(destination, keys, keyNumbers[0], valueBytes),
                KvOp.Multiget => TextRequests.Multiget(destination, keys, keyNumbers),
                _ => TextRequests.Get(destination, keys, keyNumbers[0]),
            };
        }
        return op switch
        {
            KvOp.Set => BinaryRequests.Set(destination, keys, keyNumbers[0], valueBytes, number),
            KvOp.Multiget => BinaryRequests.Multiget(destination, keys, keyNumbers, number),
            _ => BinaryRequests.Get(destination, keys, keyNumbers[0], number),
        };
    }

    /// <summary>Reads as much of the reply to <paramref name="expected"/> as <paramref name="buffered"/> holds.</summary>
    /// <param name="consumed">Bytes of <paramref name="buffered"/> read for good (whole values, the final line).</param>
    public static ReplyStep Read(KvProtocolKind protocol, ReadOnlySpan<byte> buffered, in ExpectedReply expected, ref ReplyProgress progress,
        int maxValueBytes, out int consumed) => protocol == KvProtocolKind.Text
            ? TextReplyReader.Read(buffered, expected, ref progress, maxValueBytes, out consumed)
            : BinaryReplyReader.Read(buffered, expected, ref progress, maxValueBytes, out consumed);
}

/// <summary>The bytes every stored value is made of: one buffer, written once, sliced to each size.</summary>
internal static class ValuePattern
{
    private static byte[] s_bytes = [];

    /// <summary>A value of <paramref name="bytes"/> bytes.</summary>
    public static ReadOnlySpan<byte> Of(int bytes) => Volatile.Read(ref s_bytes).AsSpan(0, bytes);

    /// <summary>Makes sure values up to <paramref name="maxBytes"/> can be sliced; call before a point starts.</summary>
    public static void Reserve(int maxBytes)
    {
        if (Volatile.Read(ref s_bytes).Length >= maxBytes)
        {
            return;
        }
        var bytes = new byte[maxBytes];
        for (int i = 0; i < maxBytes; i++)
        {
            bytes[i] = (byte)('a' + i % 26);
        }
        // Release: the filled buffer is published whole; threads that slice it start after this returns.
        Volatile.Write(ref s_bytes, bytes);
    }
}
