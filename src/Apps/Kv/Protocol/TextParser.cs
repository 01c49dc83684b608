// The text protocol, client to server: lines, memcached's tokenizer, the command table, storage lines and their data blocks.
using System.Runtime.CompilerServices;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>Text commands kv knows.</summary>
internal enum TextCommand : byte
{
    Unknown,
    Get,
    Gets,
    Gat,
    Gats,
    Bget,
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas,
    Incr,
    Decr,
    Delete,
    Touch,
    FlushAll,
    Version,
    Quit,
    Stats,
    Verbosity,
    Shutdown,
    MetaGet,
    MetaSet,
    MetaDelete,
    MetaArith,
    MetaNoop,
    MetaDebug,
}

/// <summary>One token: where it starts in the line and how long it is.</summary>
internal struct Token
{
    public int Start;
    public int Length;
}

/// <summary>Room for memcached's <c>MAX_TOKENS</c> tokens.</summary>
[InlineArray(TextParser.MaxTokens)]
internal struct TokenArray
{
    private Token _first;
}

/// <summary>
/// A command line cut into tokens exactly as memcached's <c>tokenize_command</c> cuts it: on spaces
/// only (a tab is part of a token), at most 23 tokens, then a terminal token; <see cref="Count"/>
/// counts the terminal, as memcached's <c>ntokens</c> does, so every token-count rule reads as in proto_text.c.
/// </summary>
internal ref struct TokenizedLine
{
    public ReadOnlySpan<byte> Line;
    public TokenArray Tokens;

    /// <summary>memcached's ntokens: the tokens plus the terminal one.</summary>
    public int Count;

    /// <summary>Token <paramref name="index"/>'s bytes; the terminal token is empty.</summary>
    public readonly ReadOnlySpan<byte> this[int index] => Line.Slice(Tokens[index].Start, Tokens[index].Length);

    /// <summary>Token <paramref name="index"/>'s length (0 for the terminal).</summary>
    public readonly int LengthOf(int index) => Tokens[index].Length;
}

/// <summary>What a storage line asks of the bytes after it.</summary>
internal enum DataVerdict : byte
{
    /// <summary>No data block is read: the reply is an error and what follows is the next command.</summary>
    None,
    /// <summary>The data block is read and stored (or checked and refused).</summary>
    Read,
    /// <summary>The line is refused and its data block discarded unread (memcached's conn_swallow).</summary>
    Swallow,
}

/// <summary>A classic storage line (set, add, replace, append, prepend, cas) as memcached's
/// <c>process_update_command</c> reads it.</summary>
internal ref struct StorageLine
{
    public TextCommand Command;
    public ReadOnlySpan<byte> Key;
    public uint ClientFlags;
    public int ExpTime;
    /// <summary>Value bytes, without the CRLF.</summary>
    public int ValueLength;
    public ulong Cas;
    public bool NoReply;
    public DataVerdict Verdict;
    /// <summary>The error line to answer (None and Swallow); empty: ERROR.</summary>
    public ReadOnlySpan<byte> Error;
}

/// <summary>
/// Reads the text protocol in place (protocol.txt, "Commands"): finds a line, cuts it into
/// tokens, names its command from a table, and decides how many bytes a storage line's data block
/// takes. The framer and the engine both call it, so the two can never disagree about where a
/// request ends.
/// </summary>
internal static class TextParser
{
    /// <summary>memcached's MAX_TOKENS.</summary>
    public const int MaxTokens = 24;

    /// <summary>memcached closes a connection whose buffered bytes pass this without a newline,
    /// unless they start a get (a large multiget): try_read_command_ascii.</summary>
    public const int MaxLineBytes = 2048;

    /// <summary>memcached's KEY_MAX_LENGTH.</summary>
    public const int MaxKeyBytes = 250;

    /// <summary>One command in the table: its name, and the token counts (memcached's
    /// WANT_TOKENS rules, terminal counted) outside which it is answered ERROR.</summary>
    private readonly record struct Entry(byte[] Name, TextCommand Command, int MinTokens, int MaxTokens);

    // The command table. Order is irrelevant: a name has one entry.
    private static readonly Entry[] s_table =
    [
        new("get"u8.ToArray(), TextCommand.Get, 3, int.MaxValue),
        new("set"u8.ToArray(), TextCommand.Set, 6, 7),
        new("gets"u8.ToArray(), TextCommand.Gets, 3, int.MaxValue),
        new("gat"u8.ToArray(), TextCommand.Gat, 3, int.MaxValue),
        new("gats"u8.ToArray(), TextCommand.Gats, 3, int.MaxValue),
        new("bget"u8.ToArray(), TextCommand.Bget, 3, int.MaxValue),
        new("add"u8.ToArray(), TextCommand.Add, 6, 7),
        new("replace"u8.ToArray(), TextCommand.Replace, 6, 7),
        new("append"u8.ToArray(), TextCommand.Append, 6, 7),
        new("prepend"u8.ToArray(), TextCommand.Prepend, 6, 7),
        new("cas"u8.ToArray(), TextCommand.Cas, 7, 8),
        new("incr"u8.ToArray(), TextCommand.Incr, 4, 5),
        new("decr"u8.ToArray(), TextCommand.Decr, 4, 5),
        new("delete"u8.ToArray(), TextCommand.Delete, 3, 5),
        new("touch"u8.ToArray(), TextCommand.Touch, 4, 5),
        new("flush_all"u8.ToArray(), TextCommand.FlushAll, 2, 4),
        new("version"u8.ToArray(), TextCommand.Version, 0, int.MaxValue),
        new("quit"u8.ToArray(), TextCommand.Quit, 0, int.MaxValue),
        new("stats"u8.ToArray(), TextCommand.Stats, 0, int.MaxValue),
        new("verbosity"u8.ToArray(), TextCommand.Verbosity, 3, 4),
        new("shutdown"u8.ToArray(), TextCommand.Shutdown, 0, int.MaxValue),
        new("mg"u8.ToArray(), TextCommand.MetaGet, 0, int.MaxValue),
        new("ms"u8.ToArray(), TextCommand.MetaSet, 0, int.MaxValue),
        new("md"u8.ToArray(), TextCommand.MetaDelete, 0, int.MaxValue),
        new("ma"u8.ToArray(), TextCommand.MetaArith, 0, int.MaxValue),
        new("mn"u8.ToArray(), TextCommand.MetaNoop, 0, int.MaxValue),
        new("me"u8.ToArray(), TextCommand.MetaDebug, 0, int.MaxValue),
    ];

    /// <summary>
    /// Finds the first line of <paramref name="buffered"/>: its bytes as the command sees them (the
    /// CRLF or LF removed, and cut at a NUL byte, since memcached reads the line as a C string) and
    /// how many bytes it takes with its newline. False when no newline has arrived yet.
    /// </summary>
    public static bool TryReadLine(ReadOnlySpan<byte> buffered, out ReadOnlySpan<byte> line, out int consumed)
    {
        int newline = buffered.IndexOf((byte)'\n');
        if (newline < 0)
        {
            line = default;
            consumed = 0;
            return false;
        }
        consumed = newline + 1;
        // memcached strips the \r only when something precedes it: "\r\n" alone is the command "\r".
        int end = newline > 1 && buffered[newline - 1] == '\r' ? newline - 1 : newline;
        line = buffered[..end];
        int nul = line.IndexOf((byte)0);
        if (nul >= 0)
        {
            line = line[..nul];
        }
        return true;
    }

    /// <summary>
    /// Whether memcached keeps waiting for the newline of an unterminated line this long: only a
    /// get or gets (after at most 100 spaces) may be longer than <see cref="MaxLineBytes"/>.
    /// </summary>
    public static bool MayGrowPastLineLimit(ReadOnlySpan<byte> buffered)
    {
        int i = 0;
        while (i < buffered.Length && buffered[i] == ' ')
        {
            i++;
        }
        if (i > 100)
        {
            return false;
        }
        ReadOnlySpan<byte> rest = buffered[i..];
        return rest.StartsWith("get "u8) || rest.StartsWith("gets "u8);
    }

    /// <summary>memcached's tokenize_command over a line.</summary>
    public static void Tokenize(ReadOnlySpan<byte> line, out TokenizedLine tokens)
    {
        tokens = default;
        tokens.Line = line;
        int count = 0;
        int start = 0;
        int e = 0;
        bool stopped = false;
        for (; e < line.Length; e++)
        {
            if (line[e] != ' ')
            {
                continue;
            }
            if (start != e)
            {
                tokens.Tokens[count].Start = start;
                tokens.Tokens[count].Length = e - start;
                count++;
                if (count == MaxTokens - 1)
                {
                    e++;
                    start = e;
                    stopped = true;
                    break;
                }
            }
            start = e + 1;
        }
        if (!stopped && start != e)
        {
            tokens.Tokens[count].Start = start;
            tokens.Tokens[count].Length = e - start;
            count++;
        }
        tokens.Tokens[count].Start = e < line.Length ? e : line.Length;
        tokens.Tokens[count].Length = 0;
        tokens.Count = count + 1;
    }

    /// <summary>
    /// The command a tokenized line names, after memcached's dispatch: <see cref="TextCommand.Unknown"/>
    /// for a name it does not know or a token count its rule refuses (both answered ERROR), and
    /// <paramref name="closeAsHttp"/> for an unknown command whose last token starts "HTTP/", on which
    /// memcached closes the connection.
    /// </summary>
    public static TextCommand Lookup(in TokenizedLine tokens, out bool closeAsHttp)
    {
        closeAsHttp = false;
        if (tokens.Count < 2 || tokens.LengthOf(0) < 2)
        {
            return TextCommand.Unknown;
        }
        ReadOnlySpan<byte> name = tokens[0];
        foreach (Entry entry in s_table)
        {
            if (entry.Name.Length == name.Length && entry.Name[0] == name[0] && name.SequenceEqual(entry.Name))
            {
                return tokens.Count >= entry.MinTokens && tokens.Count <= entry.MaxTokens ? entry.Command : TextCommand.Unknown;
            }
        }
        // memcached dispatches on the first letter; only names outside those branches reach its
        // final check for an HTTP request line.
        byte first = name[0];
        bool branched = first is (byte)'g' or (byte)'s' or (byte)'a' or (byte)'c' or (byte)'i' or (byte)'d' or (byte)'t'
            || (first == 'm' && name.Length == 2);
        closeAsHttp = !branched && tokens[tokens.Count - 2].StartsWith("HTTP/"u8);
        return TextCommand.Unknown;
    }

    /// <summary>The request type a command is reported under; a retrieval's key count decides get or multiget.</summary>
    public static KvRequestType TypeOf(TextCommand command, ReadOnlySpan<byte> line, int multigetKeys) => command switch
    {
        TextCommand.Get or TextCommand.Gets or TextCommand.Bget =>
            CountTokens(line) - 1 >= multigetKeys ? KvRequestType.Multiget : KvRequestType.Get,
        TextCommand.Gat or TextCommand.Gats =>
            CountTokens(line) - 2 >= multigetKeys ? KvRequestType.Multiget : KvRequestType.Get,
        TextCommand.MetaGet => KvRequestType.Get,
        TextCommand.Set or TextCommand.Add or TextCommand.Replace or TextCommand.Append or TextCommand.Prepend
            or TextCommand.Cas or TextCommand.MetaSet => KvRequestType.Set,
        TextCommand.Delete or TextCommand.MetaDelete => KvRequestType.Delete,
        TextCommand.Incr or TextCommand.Decr or TextCommand.MetaArith => KvRequestType.Arith,
        _ => KvRequestType.Other,
    };

    /// <summary>Space-separated tokens in a line, however many.</summary>
    public static int CountTokens(ReadOnlySpan<byte> line)
    {
        int count = 0;
        int i = 0;
        while (true)
        {
            while (i < line.Length && line[i] == ' ')
            {
                i++;
            }
            if (i >= line.Length)
            {
                return count;
            }
            count++;
            int space = line[i..].IndexOf((byte)' ');
            if (space < 0)
            {
                return count;
            }
            i += space;
        }
    }

    /// <summary>The next space-separated token at or after <paramref name="position"/>, which moves past it; false at the line's end.</summary>
    public static bool NextToken(ReadOnlySpan<byte> line, ref int position, out ReadOnlySpan<byte> token)
    {
        int i = position;
        while (i < line.Length && line[i] == ' ')
        {
            i++;
        }
        if (i >= line.Length)
        {
            position = i;
            token = default;
            return false;
        }
        int space = line[i..].IndexOf((byte)' ');
        int end = space < 0 ? line.Length : i + space;
        token = line[i..end];
        position = end;
        return true;
    }

    /// <summary>memcached's set_noreply_maybe: the last real token is "noreply".</summary>
    public static bool NoReply(in TokenizedLine tokens) =>
        tokens.Count >= 2 && tokens[tokens.Count - 2].SequenceEqual("noreply"u8);

    /// <summary>Whether <paramref name="command"/> is one of the classic storage commands.</summary>
    public static bool IsStorage(TextCommand command) =>
        command is TextCommand.Set or TextCommand.Add or TextCommand.Replace or TextCommand.Append
            or TextCommand.Prepend or TextCommand.Cas;

    /// <summary>
    /// Reads a classic storage line in memcached's order of checks (<c>process_update_command</c>):
    /// key length, then flags, exptime and length, then the CAS unique, then the length's range, then
    /// the item size limit. Errors up to the range check read no data block; a value over the item
    /// limit has its block swallowed.
    /// </summary>
    public static void ParseStorage(TextCommand command, in TokenizedLine tokens, int itemSizeMax, out StorageLine storage)
    {
        storage = default;
        storage.Command = command;
        storage.NoReply = NoReply(tokens);
        storage.Verdict = DataVerdict.None;
        storage.Error = TextReplies.BadCommandLineFormat;
        if (tokens.LengthOf(1) > MaxKeyBytes)
        {
            return;
        }
        storage.Key = tokens[1];
        if (!CNumber.TryParseUInt32(tokens[2], out storage.ClientFlags)
            || !CNumber.TryParseInt32(tokens[3], out storage.ExpTime)
            || !CNumber.TryParseInt32(tokens[4], out storage.ValueLength))
        {
            return;
        }
        if (command == TextCommand.Cas && !CNumber.TryParseUInt64(tokens[5], out storage.Cas))
        {
            return;
        }
        if (storage.ValueLength < 0 || storage.ValueLength > int.MaxValue - 2)
        {
            return;
        }
        if (Store.ItemSize.MemcachedTotal(storage.Key.Length, storage.ClientFlags, storage.ValueLength) > itemSizeMax)
        {
            storage.Verdict = DataVerdict.Swallow;
            storage.Error = TextReplies.ObjectTooLarge;
            return;
        }
        storage.Verdict = DataVerdict.Read;
        storage.Error = default;
    }

    /// <summary>The bytes a data block of <paramref name="valueLength"/> takes on the wire.</summary>
    public static long DataBlockBytes(int valueLength) => (long)valueLength + 2;
}
