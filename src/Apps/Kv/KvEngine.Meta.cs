// The meta commands (mg, ms, md, ma, me), as memcached 1.6.18's proto_text.c runs them, flag order and quirks included.
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;

namespace NetStack.Apps.Kv;

internal sealed partial class KvEngine
{
    /// <summary>Whether any O token is longer than memcached allows.</summary>
    private static bool OpaqueTooLong(in TokenizedLine tokens, int first)
    {
        for (int i = first; i < tokens.Count - 1; i++)
        {
            if (tokens[i][0] == 'O' && tokens.LengthOf(i) > MetaParser.MaxOpaqueBytes)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The O and k flags a reply without an item echoes, in request order.</summary>
    private static void WriteOpaqueAndKey(ref ReplyWriter writer, in TokenizedLine tokens, int first, ReadOnlySpan<byte> key, bool keyBinary)
    {
        for (int i = first; i < tokens.Count - 1; i++)
        {
            ReadOnlySpan<byte> token = tokens[i];
            if (token[0] == 'O')
            {
                writer.Write((byte)' ');
                writer.Write(token);
            }
            else if (token[0] == 'k')
            {
                TextReplies.WriteMetaKey(ref writer, key, keyBinary);
            }
        }
    }

    /// <summary>mg (process_mget_command).</summary>
    private void MetaGet(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        if (tokens.Count < 3)
        {
            writer.WriteLine(TextReplies.Error);
            return;
        }
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            writer.WriteLine(TextReplies.BadCommandLineFormat);
            return;
        }
        if (tokens.Count > MetaParser.MaxTokens)
        {
            writer.WriteLine(TextReplies.MgFlagsTooLong);
            return;
        }
        var flags = new MetaFlags();
        Span<byte> keyBuffer = stackalloc byte[TextParser.MaxKeyBytes];
        ReadOnlySpan<byte> error = TextReplies.BadCommandLineFormat;
        if (!MetaParser.Preparse(tokens, 2, _clock, ref flags, keyBuffer, ref error))
        {
            writer.WriteLine(error);
            return;
        }
        ReadOnlySpan<byte> key = MetaParser.Key(flags, tokens[1], keyBuffer);
        if (OpaqueTooLong(tokens, 2))
        {
            writer.WriteLine(TextReplies.OpaqueTooLong);
            return;
        }
        var request = new MetaGetRequest
        {
            NoUpdate = flags.NoUpdate,
            Vivify = flags.Vivify,
            VivifyExpTime = flags.AutovivExpTime,
            NewTtl = flags.ExpTime,
            RecacheTime = flags.RecacheTime,
        };
        for (int i = 2; i < tokens.Count - 1; i++)
        {
            int op = tokens[i][0] switch
            {
                (byte)'T' => TtlOps.MetaT,
                (byte)'N' => TtlOps.MetaN,
                (byte)'R' => TtlOps.MetaR,
                (byte)'t' => TtlOps.MetaReport,
                _ => 0,
            };
            if (op != 0)
            {
                request.Order = TtlOps.AppendMeta(request.Order, op);
            }
        }
        if (!_store.MetaGet(key, request, out KvItem item, out MetaGetOutcome outcome))
        {
            Counters.Increment(KvCounter.GetMisses);
            Counters.Increment(KvCounter.GetCmds);
            if (flags.NoReply)
            {
                return;
            }
            writer.Write(TextReplies.MetaMiss);
            WriteOpaqueAndKey(ref writer, tokens, 2, key, flags.KeyBinary);
            writer.WriteCrlf();
            return;
        }
        try
        {
            if (outcome.TtlSet)
            {
                Counters.Increment(KvCounter.TouchCmds);
                Counters.Increment(KvCounter.TouchHits);
            }
            else
            {
                Counters.Increment(KvCounter.GetHits);
                Counters.Increment(KvCounter.GetCmds);
            }
            WriteMetaHit(ref writer, tokens, flags, in item, in outcome);
        }
        finally
        {
            _store.Release(item);
        }
    }

    private void WriteMetaHit(ref ReplyWriter writer, in TokenizedLine tokens, in MetaFlags flags, in KvItem item, in MetaGetOutcome outcome)
    {
        if (flags.Value)
        {
            writer.Write("VA "u8);
            writer.WriteDecimal((ulong)item.ValueLength);
        }
        else
        {
            writer.Write("HD"u8);
        }
        for (int i = 2; i < tokens.Count - 1; i++)
        {
            ReadOnlySpan<byte> token = tokens[i];
            switch (token[0])
            {
                case (byte)'s':
                    writer.Write(" s"u8);
                    writer.WriteDecimal((ulong)item.ValueLength);
                    break;
                case (byte)'t':
                    writer.Write(" t"u8);
                    TextReplies.WriteTtl(ref writer, outcome.ExpTimeAtReport, _clock.Now);
                    break;
                case (byte)'c':
                    writer.Write(" c"u8);
                    writer.WriteDecimal(item.Cas);
                    break;
                case (byte)'f':
                    writer.Write(" f"u8);
                    writer.WriteDecimal((ulong)item.ClientFlags);
                    break;
                case (byte)'l':
                    writer.Write(" l"u8);
                    writer.WriteDecimal((ulong)outcome.SinceLastAccess);
                    break;
                case (byte)'h':
                    writer.Write(outcome.HitBefore ? " h1"u8 : " h0"u8);
                    break;
                case (byte)'O':
                    writer.Write((byte)' ');
                    writer.Write(token);
                    break;
                case (byte)'k':
                    TextReplies.WriteMetaKey(ref writer, item.Key, item.KeyIsBinary);
                    break;
            }
        }
        // Z before W, so a client never sees both (memcached's order).
        if (outcome.TokenAlreadySent)
        {
            writer.Write(" Z"u8);
        }
        if (outcome.Stale)
        {
            writer.Write(" X"u8);
        }
        if (outcome.Won)
        {
            writer.Write(" W"u8);
        }
        writer.WriteCrlf();
        if (flags.Value)
        {
            writer.Write(item.ValueWithCrlf);
        }
    }

    /// <summary>ms (process_mset_command, complete_nread_ascii and _finalize_mset).</summary>
    private void MetaSet(in TokenizedLine tokens, ReadOnlySpan<byte> data, ref ReplyWriter writer)
    {
        Span<byte> keyBuffer = stackalloc byte[TextParser.MaxKeyBytes];
        MetaParser.ParseMetaSet(tokens, _clock, _options.ItemSizeMaxBytes, keyBuffer, out MetaSetLine set);
        ReadOnlySpan<byte> key = MetaParser.Key(set.Flags, tokens[1], keyBuffer);
        if (set.Verdict == DataVerdict.None)
        {
            writer.WriteLine(set.Error.IsEmpty ? TextReplies.Error : set.Error);
            return;
        }
        if (set.Verdict == DataVerdict.Swallow)
        {
            if (set.Error.SequenceEqual(TextReplies.ObjectTooLarge))
            {
                Counters.Increment(KvCounter.StoreTooLarge);
                // memcached's meta set drops the old value whatever the mode.
                _store.Invalidate(key);
            }
            writer.WriteLine(set.Error);
            return;
        }
        AllocStatus status = _store.TryAllocate(key, set.Flags.ClientFlags, set.Flags.ExpTime, set.ValueLength,
            set.Flags.KeyBinary, out KvAllocation allocation);
        if (status != AllocStatus.Ok)
        {
            Counters.Increment(KvCounter.StoreNoMemory);
            _store.Invalidate(key);
            writer.WriteLine(TextReplies.OutOfMemoryStoring);
            return;
        }
        Counters.Increment(KvCounter.SetCmds);
        data[..set.ValueLength].CopyTo(allocation.Value);
        if (!data.Slice(set.ValueLength, 2).SequenceEqual("\r\n"u8))
        {
            _store.Abandon(ref allocation);
            writer.WriteLine(TextReplies.BadDataChunk);
            return;
        }
        bool stale = set.Flags.SetStale && set.Mode == StoreMode.Cas;
        StoreResult result = _store.Commit(ref allocation, set.Mode, set.Flags.CasId, stale, out ulong cas);
        if (result == StoreResult.Stored && set.Flags.NoReply)
        {
            return;
        }
        writer.Write(result switch
        {
            StoreResult.Stored => "HD"u8,
            StoreResult.Exists => "EX"u8,
            StoreResult.NotFound => "NF"u8,
            _ => "NS"u8,
        });
        for (int i = 2; i < tokens.Count - 1; i++)
        {
            ReadOnlySpan<byte> token = tokens[i];
            switch (token[0])
            {
                case (byte)'O':
                    writer.Write((byte)' ');
                    writer.Write(token);
                    break;
                case (byte)'k':
                    TextReplies.WriteMetaKey(ref writer, key, set.Flags.KeyBinary);
                    break;
                case (byte)'c':
                    // The CAS of what was stored; 0 when nothing was (memcached clears it first).
                    writer.Write(" c"u8);
                    writer.WriteDecimal(cas);
                    break;
            }
        }
        writer.WriteCrlf();
    }

    /// <summary>md (process_mdelete_command).</summary>
    private void MetaDelete(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        if (tokens.Count < 3)
        {
            writer.WriteLine(TextReplies.Error);
            return;
        }
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            writer.WriteLine(TextReplies.BadCommandLineFormat);
            return;
        }
        if (tokens.Count > MetaParser.MaxTokens)
        {
            writer.WriteLine(TextReplies.FlagsTooLong);
            return;
        }
        var flags = new MetaFlags();
        Span<byte> keyBuffer = stackalloc byte[TextParser.MaxKeyBytes];
        ReadOnlySpan<byte> ignored = default;
        if (!MetaParser.Preparse(tokens, 2, _clock, ref flags, keyBuffer, ref ignored))
        {
            writer.WriteLine(TextReplies.InvalidOrDuplicateFlag);
            return;
        }
        ReadOnlySpan<byte> key = MetaParser.Key(flags, tokens[1], keyBuffer);
        if (OpaqueTooLong(tokens, 2))
        {
            writer.WriteLine(TextReplies.OpaqueTooLong);
            return;
        }
        DeleteResult result = _store.MetaDelete(key, flags.HasCas, flags.CasId, flags.SetStale, flags.NewTtl, flags.ExpTime);
        ReadOnlySpan<byte> code;
        switch (result)
        {
            case DeleteResult.Deleted:
            case DeleteResult.Invalidated:
                if (result == DeleteResult.Deleted)
                {
                    Counters.Increment(KvCounter.DeleteHits);
                }
                if (flags.NoReply)
                {
                    return;
                }
                code = "HD"u8;
                break;
            case DeleteResult.Exists:
                Counters.Increment(KvCounter.DeleteMisses);
                code = "EX"u8;
                break;
            default:
                Counters.Increment(KvCounter.DeleteMisses);
                code = "NF"u8;
                break;
        }
        writer.Write(code);
        WriteOpaqueAndKey(ref writer, tokens, 2, key, flags.KeyBinary);
        writer.WriteCrlf();
    }

    /// <summary>ma (process_marithmetic_command).</summary>
    private void MetaArithmetic(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        if (tokens.Count < 3)
        {
            writer.WriteLine(TextReplies.Error);
            return;
        }
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            writer.WriteLine(TextReplies.BadCommandLineFormat);
            return;
        }
        if (tokens.Count > MetaParser.MaxTokens)
        {
            writer.WriteLine(TextReplies.FlagsTooLong);
            return;
        }
        var flags = new MetaFlags { Delta = 1 };
        Span<byte> keyBuffer = stackalloc byte[TextParser.MaxKeyBytes];
        ReadOnlySpan<byte> ignored = default;
        if (!MetaParser.Preparse(tokens, 2, _clock, ref flags, keyBuffer, ref ignored))
        {
            writer.WriteLine(TextReplies.InvalidOrDuplicateFlag);
            return;
        }
        ReadOnlySpan<byte> key = MetaParser.Key(flags, tokens[1], keyBuffer);
        bool incr;
        switch (flags.Mode)
        {
            case 0:
            case (byte)'I':
            case (byte)'+':
                incr = true;
                break;
            case (byte)'D':
            case (byte)'-':
                incr = false;
                break;
            default:
                writer.WriteLine(TextReplies.BadMaMode);
                return;
        }
        var request = new ArithRequest
        {
            Incr = incr,
            Delta = flags.Delta,
            Cas = flags.CasId,
            Vivify = flags.Vivify,
            Initial = flags.Initial,
            NewTtl = flags.ExpTime,
            VivifyExpTime = flags.AutovivExpTime,
        };
        for (int i = 2; i < tokens.Count - 1; i++)
        {
            int op = tokens[i][0] switch
            {
                (byte)'T' => TtlOps.ArithT,
                (byte)'N' => TtlOps.ArithN,
                (byte)'t' => TtlOps.ArithReport,
                _ => 0,
            };
            if (op != 0)
            {
                request.TtlOrder = TtlOps.AppendArith(request.TtlOrder, op);
            }
        }
        ArithResult result = _store.Arith(key, request, out ArithOutcome outcome);
        // memcached finds a too-long opaque only while writing the reply, after the change is made.
        if (OpaqueTooLong(tokens, 2) && result is ArithResult.Ok or ArithResult.NotFound or ArithResult.CasMismatch)
        {
            if (result == ArithResult.NotFound)
            {
                Counters.Increment(incr ? KvCounter.IncrMisses : KvCounter.DecrMisses);
            }
            writer.WriteLine(TextReplies.OpaqueTooLong);
            return;
        }
        switch (result)
        {
            case ArithResult.Ok:
                if (!outcome.Created)
                {
                    Counters.Increment(incr ? KvCounter.IncrHits : KvCounter.DecrHits);
                    // Only an applied delta is quiet under q; memcached answers a created item.
                    if (flags.NoReply)
                    {
                        return;
                    }
                }
                WriteMetaArithHit(ref writer, tokens, flags, key, in outcome);
                return;
            case ArithResult.NonNumeric:
                writer.WriteLine(TextReplies.NonNumeric);
                return;
            case ArithResult.NoMemory:
                writer.WriteLine(outcome.Missed ? TextReplies.OutOfMemoryNewItem : TextReplies.OutOfMemory);
                return;
            case ArithResult.NotFound:
                Counters.Increment(incr ? KvCounter.IncrMisses : KvCounter.DecrMisses);
                writer.Write("NF"u8);
                break;
            default:
                writer.Write("EX"u8);
                break;
        }
        WriteOpaqueAndKey(ref writer, tokens, 2, key, flags.KeyBinary);
        writer.WriteCrlf();
    }

    private void WriteMetaArithHit(ref ReplyWriter writer, in TokenizedLine tokens, in MetaFlags flags, ReadOnlySpan<byte> key, in ArithOutcome outcome)
    {
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(outcome.Value, digits, out int length);
        if (flags.Value)
        {
            writer.Write("VA "u8);
            writer.WriteDecimal((ulong)length);
        }
        else
        {
            writer.Write("HD"u8);
        }
        for (int i = 2; i < tokens.Count - 1; i++)
        {
            ReadOnlySpan<byte> token = tokens[i];
            switch (token[0])
            {
                case (byte)'c':
                    writer.Write(" c"u8);
                    writer.WriteDecimal(outcome.Cas);
                    break;
                case (byte)'t':
                    writer.Write(" t"u8);
                    TextReplies.WriteTtl(ref writer, outcome.ExpTimeAtReport, _clock.Now);
                    break;
                case (byte)'O':
                    writer.Write((byte)' ');
                    writer.Write(token);
                    break;
                case (byte)'k':
                    TextReplies.WriteMetaKey(ref writer, key, flags.KeyBinary);
                    break;
            }
        }
        if (flags.Value)
        {
            writer.WriteCrlf();
            writer.Write(digits[..length]);
        }
        writer.WriteCrlf();
    }

    /// <summary>me (process_meta_command): an item's metadata, in memcached's format; cls and size are kv's own.</summary>
    private void MetaDebug(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        Counters.Increment(KvCounter.MetaCmds);
        if (tokens.Count < 3 || tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            writer.WriteLine(TextReplies.BadCommandLineFormat);
            return;
        }
        Span<byte> keyBuffer = stackalloc byte[TextParser.MaxKeyBytes];
        scoped ReadOnlySpan<byte> key = tokens[1];
        if (tokens.Count >= 4 && tokens[2].SequenceEqual("b"u8))
        {
            int decoded = MetaParser.Base64Decode(key, keyBuffer);
            if (decoded == 0)
            {
                writer.WriteLine(TextReplies.BadCommandLineFormat);
                return;
            }
            key = keyBuffer[..decoded];
        }
        if (!_store.TryGet(key, bump: false, out KvItem item))
        {
            writer.WriteLine(TextReplies.MetaMiss);
            return;
        }
        try
        {
            uint now = _clock.Now;
            writer.Write("ME "u8);
            if (item.KeyIsBinary)
            {
                Span<byte> encoded = stackalloc byte[(TextParser.MaxKeyBytes + 2) / 3 * 4 + 4];
                System.Buffers.Text.Base64.EncodeToUtf8(item.Key, encoded, out _, out int written);
                writer.Write(encoded[..written]);
            }
            else
            {
                writer.Write(item.Key);
            }
            writer.Write(" exp="u8);
            writer.WriteDecimal(item.ExpTime == 0 ? -1L : (long)unchecked((int)(now - item.ExpTime)));
            writer.Write(" la="u8);
            writer.WriteDecimal((ulong)unchecked(now - item.Time));
            writer.Write(" cas="u8);
            writer.WriteDecimal(item.Cas);
            writer.Write((item.Bits & ItemBits.Fetched) != 0 ? " fetch=yes"u8 : " fetch=no"u8);
            writer.Write(" cls="u8);
            writer.WriteDecimal((ulong)(_store.ClassOf(item) + 1));
            writer.Write(" size="u8);
            writer.WriteDecimal((ulong)ItemSize.Footprint(item.KeyLength, item.ValueLength));
            writer.WriteCrlf();
        }
        finally
        {
            _store.Release(item);
        }
    }
}
