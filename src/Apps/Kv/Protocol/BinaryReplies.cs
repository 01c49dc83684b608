// The binary protocol, server to client: response headers, memcached's error bodies, item replies.
using System.Buffers.Binary;
using NetStack.Apps.Kv.Store;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>
/// Binary responses as memcached 1.6.18 builds them (proto_bin.c's add_bin_header and
/// write_bin_error): magic 0x81, the request's opcode and opaque echoed, the CAS of the item the
/// command produced (0 for errors), big-endian fields, and an error's text as its body.
/// </summary>
internal static class BinaryReplies
{
    /// <summary>Writes a response header.</summary>
    public static void WriteHeader(ref ReplyWriter writer, byte opcode, ushort status, int keyLength, int extrasLength, uint bodyLength, uint opaque, ulong cas)
    {
        Span<byte> h = writer.GetSpan(BinaryHeader.Size);
        Encode(h, opcode, status, keyLength, extrasLength, bodyLength, opaque, cas);
        writer.Commit(BinaryHeader.Size);
    }

    /// <summary>Fills a 24-byte response header.</summary>
    public static void Encode(Span<byte> h, byte opcode, ushort status, int keyLength, int extrasLength, uint bodyLength, uint opaque, ulong cas)
    {
        h[0] = BinaryHeader.ResponseMagic;
        h[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)keyLength);
        h[4] = (byte)extrasLength;
        h[5] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], status);
        BinaryPrimitives.WriteUInt32BigEndian(h[8..], bodyLength);
        // memcached copies the opaque as it arrived; writing it back big-endian after reading it so keeps its bytes.
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], opaque);
        BinaryPrimitives.WriteUInt64BigEndian(h[16..], cas);
    }

    /// <summary>memcached's texts for its error statuses (write_bin_error with no text given).</summary>
    public static ReadOnlySpan<byte> ErrorText(ushort status) => status switch
    {
        BinaryStatus.OutOfMemory => "Out of memory"u8,
        BinaryStatus.UnknownCommand => "Unknown command"u8,
        BinaryStatus.KeyNotFound => "Not found"u8,
        BinaryStatus.InvalidArguments => "Invalid arguments"u8,
        BinaryStatus.KeyExists => "Data exists for key."u8,
        BinaryStatus.TooLarge => "Too large."u8,
        BinaryStatus.NonNumeric => "Non-numeric server-side value for incr or decr"u8,
        BinaryStatus.NotStored => "Not stored."u8,
        BinaryStatus.AuthError => "Auth failure."u8,
        BinaryStatus.Busy => "Busy"u8,
        BinaryStatus.InternalError => "Internal error"u8,
        _ => "UNHANDLED ERROR"u8,
    };

    /// <summary>An error response: no extras or key, the text as body, CAS 0.</summary>
    public static void WriteError(ref ReplyWriter writer, byte opcode, uint opaque, ushort status)
    {
        WriteError(ref writer, opcode, opaque, status, ErrorText(status));
    }

    /// <summary>An error response with a given text (memcached's out_of_memory passes its own).</summary>
    public static void WriteError(ref ReplyWriter writer, byte opcode, uint opaque, ushort status, ReadOnlySpan<byte> text)
    {
        WriteHeader(ref writer, opcode, status, 0, 0, (uint)text.Length, opaque, 0);
        writer.Write(text);
    }

    /// <summary>A success with no body but the CAS.</summary>
    public static void WriteEmpty(ref ReplyWriter writer, byte opcode, uint opaque, ulong cas)
    {
        WriteHeader(ref writer, opcode, BinaryStatus.Success, 0, 0, 0, opaque, cas);
    }

    /// <summary>A get/gat/touch hit: 4 bytes of flags as extras, the key for the K variants, the value unless touch.</summary>
    public static void WriteItem(ref ReplyWriter writer, byte opcode, uint opaque, in KvItem item, bool withKey, bool withValue)
    {
        int keyLength = withKey ? item.KeyLength : 0;
        uint body = 4u + (uint)keyLength + (withValue ? (uint)item.ValueLength : 0);
        WriteHeader(ref writer, opcode, BinaryStatus.Success, keyLength, 4, body, opaque, item.Cas);
        Span<byte> flags = writer.GetSpan(4);
        BinaryPrimitives.WriteUInt32BigEndian(flags, item.ClientFlags);
        writer.Commit(4);
        if (withKey)
        {
            writer.Write(item.Key);
        }
        if (withValue)
        {
            writer.Write(item.Value);
        }
    }

    /// <summary>A getk/gatk miss: status "not found" with the key as key and body, and no text (write_bin_miss_response).</summary>
    public static void WriteMissWithKey(ref ReplyWriter writer, byte opcode, uint opaque, ReadOnlySpan<byte> key)
    {
        WriteHeader(ref writer, opcode, BinaryStatus.KeyNotFound, key.Length, 0, (uint)key.Length, opaque, 0);
        writer.Write(key);
    }

    /// <summary>One statistic: its name as key, its value as body (append_bin_stats); a name and
    /// value both empty end the list.</summary>
    public static void WriteStat(ref ReplyWriter writer, uint opaque, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        WriteHeader(ref writer, Opcode.Stat, BinaryStatus.Success, name.Length, 0, (uint)(name.Length + value.Length), opaque, 0);
        writer.Write(name);
        writer.Write(value);
    }

    /// <summary>An incr/decr result: the 8-byte value as body.</summary>
    public static void WriteCounter(ref ReplyWriter writer, byte opcode, uint opaque, ulong value, ulong cas)
    {
        WriteHeader(ref writer, opcode, BinaryStatus.Success, 0, 0, 8, opaque, cas);
        Span<byte> body = writer.GetSpan(8);
        BinaryPrimitives.WriteUInt64BigEndian(body, value);
        writer.Commit(8);
    }
}
