// The meta protocol, client to server: flag tokens (memcached's _meta_flag_preparse), base64 keys, and meta set's data block.
namespace NetStack.Apps.Kv.Protocol;

/// <summary>Meta flags as memcached's <c>struct _meta_flags</c> holds them after the preparse.</summary>
internal struct MetaFlags
{
    public bool HasError;
    /// <summary>u.</summary>
    public bool NoUpdate;
    /// <summary>Any of N, T, R, l, h: memcached takes the item lock for the whole command.</summary>
    public bool Locked;
    /// <summary>N.</summary>
    public bool Vivify;
    /// <summary>l.</summary>
    public bool LastAccess;
    /// <summary>v.</summary>
    public bool Value;
    /// <summary>I.</summary>
    public bool SetStale;
    /// <summary>q.</summary>
    public bool NoReply;
    /// <summary>C.</summary>
    public bool HasCas;
    /// <summary>T.</summary>
    public bool NewTtl;
    /// <summary>b.</summary>
    public bool KeyBinary;
    /// <summary>With b: the decoded key's length in the caller's key buffer.</summary>
    public int KeyLength;
    /// <summary>M's character; 0 when absent.</summary>
    public byte Mode;
    public uint ExpTime;
    public uint AutovivExpTime;
    public uint RecacheTime;
    public uint ClientFlags;
    public ulong CasId;
    public ulong Delta;
    public ulong Initial;
}

/// <summary>A meta set line (memcached's <c>process_mset_command</c>) up to its data block.</summary>
internal ref struct MetaSetLine
{
    public MetaFlags Flags;
    /// <summary>Value bytes without the CRLF.</summary>
    public int ValueLength;
    public DataVerdict Verdict;
    public ReadOnlySpan<byte> Error;
    public Store.StoreMode Mode;
}

/// <summary>
/// Reads meta commands' flags (protocol.txt, "Meta Commands"): single-character flags, some with a
/// token after the character, each at most once. Keys may arrive base64-encoded (b); they are
/// decoded into a caller's buffer, since the request bytes are read-only.
/// </summary>
internal static class MetaParser
{
    /// <summary>memcached's MFLAG_MAX_OPT_LENGTH: tokens (terminal included) a meta line may have.</summary>
    public const int MaxTokens = 20;

    /// <summary>memcached's MFLAG_MAX_OPAQUE_LENGTH, counting the O.</summary>
    public const int MaxOpaqueBytes = 32;

    /// <summary>
    /// memcached's <c>_meta_flag_preparse</c> from token <paramref name="start"/>: sets
    /// <paramref name="flags"/>, decodes a b key into <paramref name="keyBuffer"/> (see
    /// <see cref="Key"/>). False on an error, with <paramref name="error"/> set when memcached sets
    /// its message (an unparsable F keeps the caller's default, as there).
    /// </summary>
    public static bool Preparse(in TokenizedLine tokens, int start, KvClock clock, ref MetaFlags flags,
        scoped Span<byte> keyBuffer, ref ReadOnlySpan<byte> error)
    {
        Span<bool> seen = stackalloc bool[127];
        for (int i = start; tokens.LengthOf(i) != 0; i++)
        {
            ReadOnlySpan<byte> token = tokens[i];
            byte o = token[0];
            if (o >= 127 || seen[o])
            {
                error = TextReplies.DuplicateFlag;
                return false;
            }
            seen[o] = true;
            ReadOnlySpan<byte> arg = token[1..];
            switch (o)
            {
                case (byte)'b':
                    int decoded = Base64Decode(tokens[1], keyBuffer);
                    if (decoded == 0)
                    {
                        error = TextReplies.ErrorDecodingKey;
                        flags.HasError = true;
                    }
                    flags.KeyLength = decoded;
                    flags.KeyBinary = true;
                    break;
                case (byte)'N':
                    flags.Locked = true;
                    flags.Vivify = true;
                    if (!CNumber.TryParseInt32(arg, out int autoviv))
                    {
                        error = TextReplies.BadToken;
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.AutovivExpTime = clock.RealTime(autoviv);
                    }
                    break;
                case (byte)'T':
                    flags.Locked = true;
                    if (!CNumber.TryParseInt32(arg, out int ttl))
                    {
                        error = TextReplies.BadToken;
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.ExpTime = clock.RealTime(ttl);
                        flags.NewTtl = true;
                    }
                    break;
                case (byte)'R':
                    flags.Locked = true;
                    if (!CNumber.TryParseInt32(arg, out int recache))
                    {
                        error = TextReplies.BadToken;
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.RecacheTime = clock.RealTime(recache);
                    }
                    break;
                case (byte)'l':
                    flags.LastAccess = true;
                    flags.Locked = true;
                    break;
                case (byte)'O':
                case (byte)'P':
                case (byte)'L':
                case (byte)'k':
                case (byte)'s':
                case (byte)'t':
                case (byte)'c':
                case (byte)'f':
                    break;
                case (byte)'v':
                    flags.Value = true;
                    break;
                case (byte)'h':
                    flags.Locked = true;
                    break;
                case (byte)'u':
                    flags.NoUpdate = true;
                    break;
                case (byte)'q':
                    flags.NoReply = true;
                    break;
                case (byte)'F':
                    if (!CNumber.TryParseUInt32(arg, out flags.ClientFlags))
                    {
                        flags.HasError = true;
                    }
                    break;
                case (byte)'C':
                    if (!CNumber.TryParseUInt64(arg, out flags.CasId))
                    {
                        error = TextReplies.BadToken;
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.HasCas = true;
                    }
                    break;
                case (byte)'M':
                    if (token.Length != 2)
                    {
                        error = TextReplies.BadModeLength;
                        flags.HasError = true;
                    }
                    else
                    {
                        flags.Mode = token[1];
                    }
                    break;
                case (byte)'J':
                    if (!CNumber.TryParseUInt64(arg, out flags.Initial))
                    {
                        error = TextReplies.BadInitial;
                        flags.HasError = true;
                    }
                    break;
                case (byte)'D':
                    if (!CNumber.TryParseUInt64(arg, out flags.Delta))
                    {
                        error = TextReplies.BadDeltaFlag;
                        flags.HasError = true;
                    }
                    break;
                case (byte)'I':
                    flags.SetStale = true;
                    break;
                default:
                    error = TextReplies.InvalidFlag;
                    return false;
            }
        }
        return !flags.HasError;
    }

    /// <summary>The key a meta command works on: the key token, or with b its decoding in <paramref name="keyBuffer"/>.</summary>
    public static ReadOnlySpan<byte> Key(in MetaFlags flags, ReadOnlySpan<byte> token, ReadOnlySpan<byte> keyBuffer) =>
        flags.KeyBinary ? keyBuffer[..flags.KeyLength] : token;

    /// <summary>
    /// memcached's base64_decode: bytes outside the alphabet are skipped, the rest must come in
    /// whole quads, and decoding stops after the first quad with padding. Returns the decoded
    /// length, 0 for input it refuses.
    /// </summary>
    public static int Base64Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int symbols = 0;
        foreach (byte b in source)
        {
            if (Sextet(b) >= 0)
            {
                symbols++;
            }
        }
        if (symbols == 0 || symbols % 4 != 0 || symbols / 4 * 3 > destination.Length)
        {
            return 0;
        }
        Span<int> quad = stackalloc int[4];
        int filled = 0, pad = 0, written = 0;
        foreach (byte b in source)
        {
            int v = Sextet(b);
            if (v < 0)
            {
                continue;
            }
            if (b == '=')
            {
                pad++;
            }
            quad[filled++] = v;
            if (filled < 4)
            {
                continue;
            }
            destination[written++] = (byte)((quad[0] << 2) | (quad[1] >> 4));
            destination[written++] = (byte)((quad[1] << 4) | (quad[2] >> 2));
            destination[written++] = (byte)((quad[2] << 6) | quad[3]);
            filled = 0;
            if (pad > 0)
            {
                if (pad > 2)
                {
                    return 0;
                }
                written -= pad;
                break;
            }
        }
        return written;
    }

    /// <summary>A base64 symbol's value ('=' counts as 0), or -1 for a byte outside the alphabet.</summary>
    private static int Sextet(byte b) => b switch
    {
        >= (byte)'A' and <= (byte)'Z' => b - 'A',
        >= (byte)'a' and <= (byte)'z' => b - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => b - '0' + 52,
        (byte)'+' => 62,
        (byte)'/' => 63,
        (byte)'=' => 0,
        _ => -1,
    };

    /// <summary>
    /// Reads a meta set line in memcached's order (<c>process_mset_command</c>): token count, key
    /// length, length token; errors so far read no data block. Then the flags, the opaque's length
    /// and the mode, and the item size limit, whose errors swallow the block.
    /// </summary>
    public static void ParseMetaSet(in TokenizedLine tokens, KvClock clock, int itemSizeMax, scoped Span<byte> keyBuffer, out MetaSetLine set)
    {
        set = default;
        set.Verdict = DataVerdict.None;
        set.Mode = Store.StoreMode.Set;
        if (tokens.Count < 3)
        {
            set.Error = default;
            return;
        }
        set.Error = TextReplies.BadCommandLineFormat;
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes || tokens.Count == 3)
        {
            return;
        }
        if (tokens.Count > MaxTokens)
        {
            set.Error = TextReplies.FlagsTooLong;
            return;
        }
        if (!CNumber.TryParseInt32(tokens[2], out set.ValueLength) || set.ValueLength < 0 || set.ValueLength > int.MaxValue - 2)
        {
            return;
        }
        // From here memcached swallows the data block on an error.
        set.Verdict = DataVerdict.Swallow;
        ReadOnlySpan<byte> error = TextReplies.BadCommandLineFormat;
        if (!Preparse(tokens, 3, clock, ref set.Flags, keyBuffer, ref error))
        {
            set.Error = error;
            return;
        }
        int keyLength = set.Flags.KeyBinary ? set.Flags.KeyLength : tokens.LengthOf(1);
        bool opaqueTooLong = false;
        for (int i = 2; i < tokens.Count - 1; i++)
        {
            if (tokens[i][0] == 'O' && tokens.LengthOf(i) > MaxOpaqueBytes)
            {
                opaqueTooLong = true;
            }
        }
        switch (set.Flags.Mode)
        {
            case 0:
            case (byte)'S':
                set.Mode = Store.StoreMode.Set;
                break;
            case (byte)'E':
                set.Mode = Store.StoreMode.Add;
                break;
            case (byte)'A':
                set.Mode = Store.StoreMode.Append;
                break;
            case (byte)'P':
                set.Mode = Store.StoreMode.Prepend;
                break;
            case (byte)'R':
                set.Mode = Store.StoreMode.Replace;
                break;
            default:
                set.Error = TextReplies.BadMsMode;
                return;
        }
        // A CAS turns set and replace into a CAS store; add and append/prepend check it themselves.
        if (set.Flags.HasCas && set.Mode is Store.StoreMode.Set or Store.StoreMode.Replace)
        {
            set.Mode = Store.StoreMode.Cas;
        }
        if (opaqueTooLong)
        {
            set.Error = TextReplies.OpaqueTooLong;
            return;
        }
        if (Store.ItemSize.MemcachedTotal(keyLength, set.Flags.ClientFlags, set.ValueLength) > itemSizeMax)
        {
            set.Error = TextReplies.ObjectTooLarge;
            return;
        }
        set.Verdict = DataVerdict.Read;
        set.Error = default;
    }
}
