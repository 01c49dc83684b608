// The text protocol, client to server: get, a many-key get, and set (protocol.txt, "Storage commands" and "Retrieval command").
using System.Buffers.Text;
using NetStack.LoadGen.Kv;

namespace NetStack.LoadGen.Kv.Protocol;

/// <summary>Writes text requests in place; the caller's buffer is sized by <see cref="MaxBytes"/>.</summary>
internal static class TextRequests
{
    /// <summary>The longest request these write.</summary>
    public static int MaxBytes(int maxKeyBytes, int maxValueBytes, int longKeys) => Math.Max(
        // "set KEY 0 0 BYTES\r\n" VALUE "\r\n"
        4 + maxKeyBytes + 5 + 10 + 2 + maxValueBytes + 2,
        // "get" (" " KEY) × N "\r\n"
        3 + longKeys * (1 + maxKeyBytes) + 2);

    /// <summary><c>get KEY\r\n</c>.</summary>
    public static int Get(Span<byte> destination, KeySpace keys, int key)
    {
        "get "u8.CopyTo(destination);
        int n = 4 + keys.Write(key, destination[4..]);
        return Crlf(destination, n);
    }

    /// <summary><c>get K1 K2 ... KN\r\n</c>: one request, one reply of the hits then END.</summary>
    public static int Multiget(Span<byte> destination, KeySpace keys, ReadOnlySpan<int> keyNumbers)
    {
        "get"u8.CopyTo(destination);
        int n = 3;
        foreach (int key in keyNumbers)
        {
            destination[n++] = (byte)' ';
            n += keys.Write(key, destination[n..]);
        }
        return Crlf(destination, n);
    }

    /// <summary><c>set KEY 0 0 BYTES\r\n</c>, the value and its CRLF: flags 0, never expires.</summary>
    public static int Set(Span<byte> destination, KeySpace keys, int key, int valueBytes)
    {
        "set "u8.CopyTo(destination);
        int n = 4 + keys.Write(key, destination[4..]);
        " 0 0 "u8.CopyTo(destination[n..]);
        n += 5;
        Utf8Formatter.TryFormat(valueBytes, destination[n..], out int digits);
        n = Crlf(destination, n + digits);
        ValuePattern.Of(valueBytes).CopyTo(destination[n..]);
        return Crlf(destination, n + valueBytes);
    }

    private static int Crlf(Span<byte> destination, int at)
    {
        destination[at] = (byte)'\r';
        destination[at + 1] = (byte)'\n';
        return at + 2;
    }
}
