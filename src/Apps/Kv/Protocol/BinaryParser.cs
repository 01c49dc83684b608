// The binary protocol, client to server: the 24-byte request header and memcached's validation of each opcode.
using System.Buffers.Binary;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>Binary opcodes (protocol_binary.h).</summary>
internal static class Opcode
{
    public const byte Get = 0x00, Set = 0x01, Add = 0x02, Replace = 0x03, Delete = 0x04, Increment = 0x05,
        Decrement = 0x06, Quit = 0x07, Flush = 0x08, GetQ = 0x09, Noop = 0x0a, Version = 0x0b, GetK = 0x0c,
        GetKQ = 0x0d, Append = 0x0e, Prepend = 0x0f, Stat = 0x10, SetQ = 0x11, AddQ = 0x12, ReplaceQ = 0x13,
        DeleteQ = 0x14, IncrementQ = 0x15, DecrementQ = 0x16, QuitQ = 0x17, FlushQ = 0x18, AppendQ = 0x19,
        PrependQ = 0x1a, Verbosity = 0x1b, Touch = 0x1c, Gat = 0x1d, GatQ = 0x1e, SaslListMechs = 0x20,
        SaslAuth = 0x21, SaslStep = 0x22, GatK = 0x23, GatKQ = 0x24;

    /// <summary>The loud opcode a quiet one stands for, and whether it was quiet (memcached's first
    /// switch in dispatch_bin_command).</summary>
    public static byte Loud(byte opcode, out bool quiet)
    {
        quiet = true;
        switch (opcode)
        {
            case SetQ: return Set;
            case AddQ: return Add;
            case ReplaceQ: return Replace;
            case DeleteQ: return Delete;
            case IncrementQ: return Increment;
            case DecrementQ: return Decrement;
            case QuitQ: return Quit;
            case FlushQ: return Flush;
            case AppendQ: return Append;
            case PrependQ: return Prepend;
            case GetQ: return Get;
            case GetKQ: return GetK;
            case GatQ: return Gat;
            case GatKQ: return GatK;
            default:
                quiet = false;
                return opcode;
        }
    }
}

/// <summary>Binary response statuses (protocol_binary.h), and the two kv adds for failure replies.</summary>
internal static class BinaryStatus
{
    public const ushort Success = 0x00, KeyNotFound = 0x01, KeyExists = 0x02, TooLarge = 0x03, InvalidArguments = 0x04,
        NotStored = 0x05, NonNumeric = 0x06, AuthError = 0x20, UnknownCommand = 0x81, OutOfMemory = 0x82,
        InternalError = 0x84, Busy = 0x85;
}

/// <summary>A request header, host order.</summary>
internal struct BinaryHeader
{
    public const int Size = 24;
    public const byte RequestMagic = 0x80;
    public const byte ResponseMagic = 0x81;

    public byte Magic;
    public byte Opcode;
    public ushort KeyLength;
    public byte ExtrasLength;
    public uint BodyLength;
    public uint Opaque;
    public ulong Cas;

    public static BinaryHeader Read(ReadOnlySpan<byte> b) => new()
    {
        Magic = b[0],
        Opcode = b[1],
        KeyLength = BinaryPrimitives.ReadUInt16BigEndian(b[2..]),
        ExtrasLength = b[4],
        BodyLength = BinaryPrimitives.ReadUInt32BigEndian(b[8..]),
        Opaque = BinaryPrimitives.ReadUInt32BigEndian(b[12..]),
        Cas = BinaryPrimitives.ReadUInt64BigEndian(b[16..]),
    };

    /// <summary>Header, extras and key: what memcached reads before it dispatches.</summary>
    public readonly long DispatchBytes => Size + ExtrasLength + KeyLength;
}

/// <summary>What memcached does with a binary request, decided from its header (and a storage
/// command's extras).</summary>
internal enum BinaryVerdict : byte
{
    /// <summary>Run it; the frame is its dispatch bytes, plus the value for a storage command.</summary>
    Execute,
    /// <summary>Answered "Invalid arguments" and the connection closed (handle_binary_protocol_error).</summary>
    ProtocolError,
    /// <summary>Key and extras longer than the body: "Unknown command", and closed.</summary>
    Malformed,
    /// <summary>An opcode memcached does not serve: "Unknown command", then it swallows the body length.</summary>
    UnknownCommand,
    /// <summary>A value over the item size limit: "Too large.", then its value is swallowed.</summary>
    TooLarge,
}

/// <summary>
/// Reads binary requests in place and judges them as memcached's <c>dispatch_bin_command</c> does,
/// opcode by opcode. The framer and the engine share <see cref="Judge"/>, so where a request ends
/// (and what is swallowed after it) is decided once.
/// </summary>
internal static class BinaryParser
{
    /// <summary>memcached's limit on key length, which binary keys (16-bit lengths) must also keep.</summary>
    public const int MaxKeyBytes = 250;

    /// <summary>
    /// The verdict on a request whose dispatch bytes (<see cref="BinaryHeader.DispatchBytes"/>) are
    /// in <paramref name="request"/>; <paramref name="frameBytes"/> is what the frame takes (a
    /// storage command's value included) and <paramref name="skipAfter"/> what is swallowed after it.
    /// </summary>
    public static BinaryVerdict Judge(in BinaryHeader h, ReadOnlySpan<byte> request, int itemSizeMax, out long frameBytes, out long skipAfter)
    {
        frameBytes = h.DispatchBytes;
        skipAfter = 0;
        uint ext = h.ExtrasLength, key = h.KeyLength, body = h.BodyLength;
        if (key > body || key + ext > body)
        {
            return BinaryVerdict.Malformed;
        }
        if (key > MaxKeyBytes)
        {
            return BinaryVerdict.ProtocolError;
        }
        byte loud = Opcode.Loud(h.Opcode, out _);
        bool ok;
        switch (loud)
        {
            case Opcode.Version:
            case Opcode.Noop:
            case Opcode.Quit:
                ok = ext == 0 && key == 0 && body == 0;
                break;
            case Opcode.Flush:
                ok = key == 0 && body == ext && (ext == 0 || ext == 4);
                break;
            case Opcode.Set:
            case Opcode.Add:
            case Opcode.Replace:
                ok = ext == 8 && key != 0 && body >= key + 8;
                if (ok)
                {
                    long valueLength = body - key - ext;
                    uint flags = BinaryPrimitives.ReadUInt32BigEndian(request[BinaryHeader.Size..]);
                    return StorageVerdict(h, valueLength, flags, itemSizeMax, ref frameBytes, ref skipAfter);
                }
                break;
            case Opcode.Get:
            case Opcode.GetK:
                ok = ext == 0 && body == key && key > 0;
                break;
            case Opcode.Delete:
                ok = key > 0 && ext == 0 && body == key;
                break;
            case Opcode.Increment:
            case Opcode.Decrement:
                ok = key > 0 && ext == 20 && body == key + ext;
                break;
            case Opcode.Append:
            case Opcode.Prepend:
                ok = key > 0 && ext == 0;
                if (ok)
                {
                    return StorageVerdict(h, body - key, 0, itemSizeMax, ref frameBytes, ref skipAfter);
                }
                break;
            case Opcode.Stat:
                ok = ext == 0;
                break;
            case Opcode.SaslListMechs:
                // SASL is off (memcached without -S): "Unknown command", swallowing the value.
                if (ext == 0 && key == 0 && body == 0)
                {
                    return BinaryVerdict.UnknownCommand;
                }
                ok = false;
                break;
            case Opcode.SaslAuth:
            case Opcode.SaslStep:
                if (ext == 0 && key != 0)
                {
                    skipAfter = body - key;
                    return BinaryVerdict.UnknownCommand;
                }
                ok = false;
                break;
            case Opcode.Touch:
            case Opcode.Gat:
            case Opcode.GatK:
                ok = ext == 4 && key != 0;
                break;
            default:
                skipAfter = body;
                return BinaryVerdict.UnknownCommand;
        }
        return ok ? BinaryVerdict.Execute : BinaryVerdict.ProtocolError;
    }

    private static BinaryVerdict StorageVerdict(in BinaryHeader h, long valueLength, uint flags, int itemSizeMax, ref long frameBytes, ref long skipAfter)
    {
        if (Store.ItemSize.MemcachedTotal(h.KeyLength, flags, valueLength) > itemSizeMax)
        {
            skipAfter = valueLength;
            return BinaryVerdict.TooLarge;
        }
        frameBytes = BinaryHeader.Size + (long)h.BodyLength;
        return BinaryVerdict.Execute;
    }

    /// <summary>Whether a request is a quiet get (GETQ/GETKQ) that a framer may join with the ones after it.</summary>
    public static bool IsQuietGet(byte opcode) => opcode is Opcode.GetQ or Opcode.GetKQ;
}
