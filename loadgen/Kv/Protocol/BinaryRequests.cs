// The binary protocol, client to server: GET, SET, and a multiget as a run of GETKQ closed by a NOOP (libmemcached's mget).
using System.Buffers.Binary;
using NetStack.LoadGen.Kv;

namespace NetStack.LoadGen.Kv.Protocol;

/// <summary>Writes binary requests in place, each with the request's number as its opaque.</summary>
internal static class BinaryRequests
{
    /// <summary>Header bytes.</summary>
    public const int HeaderBytes = 24;

    /// <summary>Opcodes used (protocol_binary.h).</summary>
    public const byte OpGet = 0x00, OpSet = 0x01, OpNoop = 0x0a, OpGetKQ = 0x0d;

    private const byte RequestMagic = 0x80;
    private const int SetExtrasBytes = 8;

    /// <summary>The longest request these write.</summary>
    public static int MaxBytes(int maxKeyBytes, int maxValueBytes, int longKeys) => Math.Max(
        HeaderBytes + SetExtrasBytes + maxKeyBytes + maxValueBytes,
        longKeys * (HeaderBytes + maxKeyBytes) + HeaderBytes);

    /// <summary>GET: a hit answers flags and value, a miss status 1 (key not found).</summary>
    public static int Get(Span<byte> destination, KeySpace keys, int key, uint opaque)
    {
        int keyBytes = keys.Write(key, destination[HeaderBytes..]);
        Header(destination, OpGet, keyBytes, 0, keyBytes, opaque);
        return HeaderBytes + keyBytes;
    }

    /// <summary>SET with flags 0 and no expiry.</summary>
    public static int Set(Span<byte> destination, KeySpace keys, int key, int valueBytes, uint opaque)
    {
        destination.Slice(HeaderBytes, SetExtrasBytes).Clear();
        int keyBytes = keys.Write(key, destination[(HeaderBytes + SetExtrasBytes)..]);
        int at = HeaderBytes + SetExtrasBytes + keyBytes;
        ValuePattern.Of(valueBytes).CopyTo(destination[at..]);
        Header(destination, OpSet, keyBytes, SetExtrasBytes, SetExtrasBytes + keyBytes + valueBytes, opaque);
        return at + valueBytes;
    }

    /// <summary>
    /// One GETKQ per key, then a NOOP, all with the same opaque: only hits answer (with their key), and
    /// the NOOP's answer ends the reply. kv frames the run as one request, its long type.
    /// </summary>
    public static int Multiget(Span<byte> destination, KeySpace keys, ReadOnlySpan<int> keyNumbers, uint opaque)
    {
        int at = 0;
        foreach (int key in keyNumbers)
        {
            int keyBytes = keys.Write(key, destination[(at + HeaderBytes)..]);
            Header(destination[at..], OpGetKQ, keyBytes, 0, keyBytes, opaque);
            at += HeaderBytes + keyBytes;
        }
        Header(destination[at..], OpNoop, 0, 0, 0, opaque);
        return at + HeaderBytes;
    }

    private static void Header(Span<byte> destination, byte opcode, int keyBytes, int extrasBytes, int bodyBytes, uint opaque)
    {
        destination[0] = RequestMagic;
        destination[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)keyBytes);
        destination[4] = (byte)extrasBytes;
        destination[5] = 0; // data type: raw bytes
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], 0); // vbucket
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)bodyBytes);
        BinaryPrimitives.WriteUInt32BigEndian(destination[12..], opaque);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], 0); // CAS: unconditional
    }
}
