// Generators for the fuzz properties: random bytes, valid spin and memcached requests, and mutations of them.
using System.Buffers.Binary;
using System.Text;
using CsCheck;
using NetStack.Runtime.Protocol;

namespace NetStack.Tests.Fuzz;

/// <summary>One edit of a byte string: its kind, where (taken modulo the length), how much and with what.</summary>
internal readonly record struct Mutation(int Kind, int Position, int Length, ulong Value);

/// <summary>
/// Inputs that reach the parsers' corners: mostly valid requests with a few edits (a flipped byte, a
/// field set to an edge value, a cut, a duplicated range), some wholly random bytes. Everything is
/// built from generated numbers, so CsCheck can shrink a failure to a short input.
/// </summary>
internal static class FuzzGens
{
    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    // ------------------------------------------------------------------ bytes and mutations

    /// <summary>Random bytes, short more often than long.</summary>
    public static readonly Gen<byte[]> Bytes = Gen.Frequency(
        (4, Gen.Byte.Array[0, 64]),
        (2, Gen.Byte.Array[0, 600]),
        (1, Gen.Byte.Array[0, 3000]));

    /// <summary>Edge values a length, count or time field is tried with.</summary>
    private static readonly ulong[] s_edges =
    [
        0, 1, 2, 7, 8, 23, 24, 39, 40, 41, 250, 251, 255, 256, 1400, 1432, 1472, 1473, 2047, 2048, 2049,
        65535, 65536, 1 << 20, (1 << 20) + 1, int.MaxValue, (ulong)int.MaxValue + 1, uint.MaxValue, long.MaxValue,
        unchecked((ulong)-1L), unchecked((ulong)long.MinValue),
    ];

    /// <summary>Bytes that matter to some parser: separators, protocol magics, digits, the letters of flags.</summary>
    private static readonly byte[] s_special = Latin1("\r\n \t\0\u0080\u0081-+0123456789abcdefgkmnqstvxyzNTFOPbDIJMCEAS");

    private static readonly Gen<Mutation> s_mutation = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 1 << 20], Gen.Int[0, 64], Gen.ULong,
        (kind, position, length, value) => new Mutation(kind, position, length, value));

    /// <summary>One to four mutations.</summary>
    public static readonly Gen<Mutation[]> Mutations = s_mutation.Array[1, 4];

    /// <summary>Applies <paramref name="mutations"/> to a copy of <paramref name="input"/>.</summary>
    public static byte[] Apply(byte[] input, Mutation[] mutations)
    {
        var bytes = new List<byte>(input);
        foreach (Mutation m in mutations)
        {
            int at = bytes.Count == 0 ? 0 : m.Position % bytes.Count;
            switch (m.Kind)
            {
                case 0 when bytes.Count > 0: // flip one bit
                    bytes[at] ^= (byte)(1 << (int)(m.Value % 8));
                    break;
                case 1 when bytes.Count > 0: // set a byte
                    bytes[at] = (byte)m.Value;
                    break;
                case 2 when bytes.Count > 0: // a byte that matters to some parser
                    bytes[at] = s_special[(int)(m.Value % (ulong)s_special.Length)];
                    break;
                case 3: // cut
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 4 when bytes.Count > 0: // delete a range
                    bytes.RemoveRange(at, Math.Min(m.Length, bytes.Count - at));
                    break;
                case 5: // insert bytes
                    bytes.InsertRange(at, Enumerable.Range(0, m.Length).Select(i => (byte)(m.Value >> (i % 8 * 8))));
                    break;
                case 6 when bytes.Count > 0: // duplicate a range
                    bytes.InsertRange(at, bytes.GetRange(at, Math.Min(m.Length, bytes.Count - at)));
                    break;
                case 7 when bytes.Count >= 4: // an edge value over a 4-byte field, either byte order
                {
                    int field = Math.Min(at, bytes.Count - 4);
                    var word = new byte[4];
                    uint edge = (uint)s_edges[(int)(m.Value % (ulong)s_edges.Length)];
                    if (m.Length % 2 == 0)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(word, edge);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(word, edge);
                    }
                    for (int i = 0; i < 4; i++)
                    {
                        bytes[field + i] = word[i];
                    }
                    break;
                }
                case 8 when bytes.Count > 0: // a decimal edge value over some bytes (text numbers)
                {
                    byte[] digits = Latin1(((long)s_edges[(int)(m.Value % (ulong)s_edges.Length)]).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    bytes.RemoveRange(at, Math.Min(m.Length % 8, bytes.Count - at));
                    bytes.InsertRange(at, digits);
                    break;
                }
                case 9: // append random bytes
                    bytes.AddRange(Enumerable.Range(0, m.Length).Select(i => (byte)(m.Value >> (i % 8 * 8))));
                    break;
            }
        }
        return [.. bytes];
    }

    /// <summary>An input from <paramref name="valid"/>, often with mutations, sometimes random bytes instead.</summary>
    public static Gen<byte[]> Mutated(Gen<byte[]> valid) => Gen.Frequency(
        (3, valid),
        (6, Gen.Select(valid, Mutations, Apply)),
        (1, Bytes));

    /// <summary>A stream: one to <paramref name="max"/> pieces back to back.</summary>
    public static Gen<byte[]> Stream(Gen<byte[]> piece, int max) =>
        piece.Array[1, max].Select(parts => parts.SelectMany(p => p).ToArray());

    /// <summary>Where a stream is cut into reads: up to 12 cut points (fractions of its length in 1/4096).</summary>
    public static readonly Gen<int[]> Cuts = Gen.Int[0, 4096].Array[0, 12];

    /// <summary>The cut points of <paramref name="cuts"/> over a stream of <paramref name="length"/> bytes, sorted.</summary>
    public static int[] CutPoints(int[] cuts, int length) =>
        cuts.Select(c => (int)((long)c * length / 4096)).Where(c => c > 0 && c < length).Distinct().Order().ToArray();

    // ------------------------------------------------------------------ spin

    /// <summary>A valid spin request (type below 16, payload up to 300 bytes), as a datagram or a stream frame.</summary>
    public static readonly Gen<byte[]> SpinRequest = Gen.Select(Gen.Int[0, 15], Gen.ULong, Gen.Long, Gen.Long[0, 1_000_000], Gen.Byte.Array[0, 300],
        (type, id, sent, service, payload) =>
        {
            var frame = new byte[WireProtocol.HeaderSize + payload.Length];
            WireProtocol.WriteRequest(frame, new RequestHeader
            {
                Type = (byte)type,
                Id = id,
                IntendedSendNs = sent,
                ServiceNs = service,
                PayloadLength = (uint)payload.Length,
            });
            payload.CopyTo(frame, WireProtocol.HeaderSize);
            return frame;
        });

    /// <summary>A spin request with a field set to an edge value: version, type, service time, payload length.</summary>
    public static readonly Gen<byte[]> SpinEdge = Gen.Select(SpinRequest, Gen.Int[0, 4], Gen.ULong, (frame, field, value) =>
    {
        ulong edge = s_edges[(int)(value % (ulong)s_edges.Length)];
        switch (field)
        {
            case 0:
                frame[4] = (byte)value; // version
                break;
            case 1:
                frame[5] = (byte)(value % 2 == 0 ? 255 : 16 + value % 240); // type
                break;
            case 2:
                BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(24), -(long)(edge % long.MaxValue) - 1); // service < 0
                break;
            case 3:
                BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(32), (uint)edge); // payload length
                break;
            default:
                BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)value); // magic
                break;
        }
        return frame;
    });

    /// <summary>What a spin NIC sees: valid requests, edge fields, mutations, random bytes.</summary>
    public static readonly Gen<byte[]> SpinInput = Gen.Frequency((3, Mutated(SpinRequest)), (1, SpinEdge));

    /// <summary>A response header and payload as a server writes it, for the client's parser.</summary>
    public static readonly Gen<byte[]> SpinResponse = Gen.Select(Gen.Int[0, 255], Gen.Int[0, 4], Gen.ULong, Gen.UInt, Gen.Byte.Array[0, 200],
        (type, status, id, queued, payload) =>
        {
            var bytes = new byte[WireProtocol.HeaderSize + payload.Length];
            WireProtocol.WriteResponse(bytes, new ResponseHeader
            {
                Type = (byte)type,
                Status = (ResponseStatus)status,
                Id = id,
                IntendedSendNs = (long)id,
                QueuedNs = queued,
                ServiceNs = queued / 2,
                Preemptions = queued % 7,
                PayloadLength = (uint)payload.Length,
            });
            payload.CopyTo(bytes, WireProtocol.HeaderSize);
            return bytes;
        });

    // ------------------------------------------------------------------ memcached text and meta

    private static readonly string[] s_textCommands =
    [
        "get", "gets", "gat", "gats", "bget", "set", "add", "replace", "append", "prepend", "cas", "incr", "decr",
        "delete", "touch", "flush_all", "version", "quit", "stats", "verbosity", "shutdown", "mg", "ms", "md", "ma",
        "mn", "me", "bogus", "GET", "",
    ];

    private static readonly string[] s_numbers =
    [
        "0", "1", "5", "10", "-1", "007", "4294967295", "4294967296", "18446744073709551615", "18446744073709551616",
        "-9223372036854775808", "1048576", "2147483648", "99999999999999999999", "12x", "", " ", "0x10", "+3", "2048",
    ];

    private static readonly string[] s_stats = ["", "items", "slabs", "sizes", "settings", "conns", "detail on", "reset", "bogus", "extstore"];

    private static readonly Gen<string> s_key = Gen.Frequency(
        (8, Gen.Int[0, 20].Select(i => $"k{i}")),
        (1, Gen.Int[240, 260].Select(n => new string('k', n))),
        (1, Gen.Byte[1, 255].Array[0, 12].Select(b => Encoding.Latin1.GetString(b).Replace("\n", "", StringComparison.Ordinal))));

    private static readonly Gen<string> s_number = Gen.Frequency(
        (3, Gen.Int[0, 100].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        (1, Gen.OneOf(s_numbers)));

    private static readonly Gen<string> s_metaFlag = Gen.Select(Gen.OneOf("b", "c", "f", "h", "k", "l", "O", "q", "s", "t", "u", "v",
        "N", "T", "R", "E", "F", "I", "M", "J", "D", "C", "P", "L", "S", "A", "Z", "x", "MA", "MI", "MD", "MS", "ME", "MP", "MR", "Mz"),
        Gen.Frequency((2, Gen.Const("")), (2, s_number), (1, s_key)), (flag, arg) => flag + arg);

    private static readonly Gen<string> s_noreply = Gen.Frequency((5, Gen.Const("")), (1, Gen.Const(" noreply")), (1, Gen.Const(" noreplyx")));

    /// <summary>A data block: the stated length, or one off, or garbage.</summary>
    private static Gen<string> Block(Gen<string> length) => Gen.Select(length, Gen.Int[-2, 2], Gen.Int[0, 3], (n, delta, ending) =>
    {
        int size = int.TryParse(n, out int v) && v is >= 0 and <= 5000 ? Math.Max(0, v + (delta == 2 ? 0 : delta % 2)) : 3;
        string end = ending switch { 0 => "\r\n", 1 => "\n", 2 => "", _ => "\r\r\n" };
        return new string('v', size) + end;
    });

    private static readonly Gen<string> s_storage = Gen.Select(Gen.OneOf("set", "add", "replace", "append", "prepend", "cas"),
        s_key, s_number, s_number, Gen.Frequency((4, Gen.Int[0, 40].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))), (1, s_number)),
        s_noreply).SelectMany(t =>
        {
            (string cmd, string key, string flags, string exp, string bytes, string noreply) = t;
            string cas = cmd == "cas" ? " 12345" : "";
            return Block(Gen.Const(bytes)).Select(block => $"{cmd} {key} {flags} {exp} {bytes}{cas}{noreply}\r\n{block}");
        });

    private static readonly Gen<string> s_metaSet = Gen.Select(s_key, Gen.Frequency((4, Gen.Int[0, 40].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))), (1, s_number)),
        s_metaFlag.Array[0, 5]).SelectMany((key, bytes, flags) =>
            Block(Gen.Const(bytes)).Select(block => $"ms {key} {bytes} {string.Join(' ', flags)}\r\n{block}"));

    private static readonly Gen<string> s_retrieval = Gen.Select(Gen.OneOf("get", "gets", "gat", "gats", "bget", "mg", "md", "ma", "me", "touch", "delete", "incr", "decr"),
        s_key.Array[0, 12], Gen.Frequency((2, s_metaFlag.Array[0, 4]), (1, s_number.Array[0, 3])),
        (cmd, keys, args) => cmd is "gat" or "gats" ? $"{cmd} {args.FirstOrDefault() ?? "10"} {string.Join(' ', keys)}\r\n" : $"{cmd} {string.Join(' ', keys)} {string.Join(' ', args)}\r\n");

    private static readonly Gen<string> s_other = Gen.OneOf(
        Gen.OneOf(s_textCommands).Select(c => c + "\r\n"),
        Gen.OneOf(s_stats).Select(s => $"stats {s}\r\n"),
        s_number.Select(n => $"flush_all {n}\r\n"),
        s_number.Select(n => $"verbosity {n}\r\n"),
        Gen.Const("mn\r\n"),
        Gen.Const("GET / HTTP/1.1\r\n"),
        Gen.Const("\r\n"),
        Gen.Int[1, 30].Select(n => new string(' ', n) + "get k1\r\n"));

    /// <summary>A long line: a multiget of many keys, or a non-get line past memcached's 2048-byte line limit.</summary>
    private static readonly Gen<string> s_longLine = Gen.Select(Gen.OneOf("get", "gets", "set", "bogus", "mg"), Gen.Int[100, 24_000], Gen.Bool,
        (cmd, length, terminated) =>
        {
            var b = new StringBuilder(cmd);
            for (int i = 0; b.Length < length; i++)
            {
                b.Append(" k").Append(i % 50);
            }
            return terminated ? b.Append("\r\n").ToString() : b.ToString();
        });

    /// <summary>One valid-looking text or meta command.</summary>
    public static readonly Gen<byte[]> TextCommand = Gen.Frequency(
        (4, s_storage), (2, s_metaSet), (4, s_retrieval), (2, s_other), (1, s_longLine)).Select(Latin1);

    // ------------------------------------------------------------------ memcached binary

    private static readonly byte[] s_opcodes =
    [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12,
        0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x20, 0x21, 0x22, 0x23, 0x24, 0x50, 0xff,
    ];

    /// <summary>The extras an opcode takes, so that most requests are valid ones.</summary>
    private static int ExtrasFor(byte opcode) => opcode switch
    {
        0x01 or 0x02 or 0x03 or 0x11 or 0x12 or 0x13 => 8,
        0x05 or 0x06 or 0x15 or 0x16 => 20,
        0x1c or 0x1d or 0x1e or 0x23 or 0x24 => 4,
        0x08 or 0x18 => 4,
        _ => 0,
    };

    private static bool HasValue(byte opcode) => opcode is 0x01 or 0x02 or 0x03 or 0x11 or 0x12 or 0x13 or 0x0e or 0x0f or 0x19 or 0x1a;

    /// <summary>One binary request: a known opcode with its extras, a key and a value where it takes one;
    /// sometimes the lengths are inconsistent on purpose.</summary>
    public static readonly Gen<byte[]> BinaryCommand = Gen.Select(Gen.OneOf(s_opcodes), s_key, Gen.Byte.Array[0, 200], Gen.Int[0, 9], Gen.UInt, Gen.Byte.Array[0, 24],
        (opcode, key, value, shape, opaque, extrasBytes) =>
        {
            byte[] k = opcode is 0x07 or 0x0a or 0x0b or 0x10 or 0x17 or 0x08 or 0x18 ? [] : Latin1(key.Length == 0 ? "k" : key);
            var extras = new byte[shape == 7 ? extrasBytes.Length : ExtrasFor(opcode)];
            if (shape == 7)
            {
                extrasBytes.CopyTo(extras, 0);
            }
            else if (extras.Length >= 8)
            {
                BinaryPrimitives.WriteUInt32BigEndian(extras.AsSpan(4), (uint)(opaque % 100));
            }
            byte[] v = HasValue(opcode) || shape == 8 ? value : [];
            var packet = new byte[24 + extras.Length + k.Length + v.Length];
            packet[0] = 0x80;
            packet[1] = opcode;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)k.Length);
            packet[4] = (byte)extras.Length;
            uint body = (uint)(extras.Length + k.Length + v.Length);
            // shape 9: a body length that does not match what follows (longer or shorter).
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), shape == 9 ? body + opaque % 64 - 32 : body);
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), opaque);
            extras.CopyTo(packet, 24);
            k.CopyTo(packet, 24 + extras.Length);
            v.CopyTo(packet, 24 + extras.Length + k.Length);
            return packet;
        });

    /// <summary>A binary multiget: quiet gets, then a NOOP or a GETK.</summary>
    public static readonly Gen<byte[]> QuietGetRun = Gen.Select(Gen.Int[1, 80], Gen.Int[1, 250], Gen.Bool, (n, keyLength, noop) =>
    {
        var parts = new List<byte>();
        for (int i = 0; i < n; i++)
        {
            byte[] key = Latin1($"{i}:".PadRight(keyLength, 'q'));
            parts.AddRange(BinaryRequest(i % 2 == 0 ? (byte)0x0d : (byte)0x09, key, (uint)i));
        }
        parts.AddRange(BinaryRequest(noop ? (byte)0x0a : (byte)0x0c, noop ? [] : Latin1("end"), 99));
        return parts.ToArray();
    });

    private static byte[] BinaryRequest(byte opcode, byte[] key, uint opaque)
    {
        var packet = new byte[24 + key.Length];
        packet[0] = 0x80;
        packet[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)key.Length);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), (uint)key.Length);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), opaque);
        key.CopyTo(packet, 24);
        return packet;
    }

    /// <summary>What a kv connection sees: text pipelines or binary pipelines (a connection is one or
    /// the other from its first byte), mutated.</summary>
    public static readonly Gen<byte[]> KvStream = Gen.OneOf(
        Stream(Mutated(TextCommand), 8),
        Stream(Mutated(Gen.Frequency((6, BinaryCommand), (1, QuietGetRun))), 8));

    /// <summary>A memcached UDP frame header (request id, sequence 0, count 1; sometimes wrong) and a body.</summary>
    public static readonly Gen<byte[]> KvDatagram = Gen.Select(Gen.UShort, Gen.Int[0, 9], Gen.OneOf(Stream(Mutated(TextCommand), 3), Stream(Mutated(BinaryCommand), 3), Bytes),
        (id, shape, body) =>
        {
            var datagram = new byte[8 + body.Length];
            BinaryPrimitives.WriteUInt16BigEndian(datagram, id);
            BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), shape == 9 ? (ushort)2 : (ushort)1);
            body.CopyTo(datagram, 8);
            return datagram;
        });
}
