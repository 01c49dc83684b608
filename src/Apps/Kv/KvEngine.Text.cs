// The classic text commands, one method per family, as memcached's proto_text.c runs them.
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;

namespace NetStack.Apps.Kv;

internal sealed partial class KvEngine
{
    private Step ExecuteText(ReadOnlySpan<byte> command, ref KvCursor cursor, ref ReplyWriter writer, ref int budget)
    {
        // A multiget's later steps take the line's length from the cursor: scanning its whole line
        // again for the newline at every step made a multiget's cost grow with the square of its keys.
        ReadOnlySpan<byte> line;
        int lineBytes = 0;
        if (cursor.Phase == 0)
        {
            TextParser.TryReadLine(command, out line, out lineBytes);
            cursor.LineLength = line.Length;
        }
        else
        {
            line = command[..cursor.LineLength];
        }
        TextParser.Tokenize(line, out TokenizedLine tokens);
        TextCommand name = TextParser.Lookup(tokens, out bool http);
        if (http)
        {
            return Step.Close;
        }
        switch (name)
        {
            case TextCommand.Get:
            case TextCommand.Bget:
                return Retrieve(line, tokens, withCas: false, touch: false, ref cursor, ref writer, ref budget);
            case TextCommand.Gets:
                return Retrieve(line, tokens, withCas: true, touch: false, ref cursor, ref writer, ref budget);
            case TextCommand.Gat:
                return Retrieve(line, tokens, withCas: false, touch: true, ref cursor, ref writer, ref budget);
            case TextCommand.Gats:
                return Retrieve(line, tokens, withCas: true, touch: true, ref cursor, ref writer, ref budget);
            case TextCommand.Set:
            case TextCommand.Add:
            case TextCommand.Replace:
            case TextCommand.Append:
            case TextCommand.Prepend:
            case TextCommand.Cas:
                Update(name, tokens, command[lineBytes..], ref writer);
                return Step.Done;
            case TextCommand.Incr:
            case TextCommand.Decr:
                Arithmetic(tokens, name == TextCommand.Incr, ref writer);
                return Step.Done;
            case TextCommand.Delete:
                Delete(tokens, ref writer);
                return Step.Done;
            case TextCommand.Touch:
                Touch(tokens, ref writer);
                return Step.Done;
            case TextCommand.FlushAll:
                FlushAll(tokens, ref writer);
                return Step.Done;
            case TextCommand.Version:
                writer.Write("VERSION "u8);
                WriteAscii(ref writer, _options.Version);
                writer.WriteCrlf();
                return Step.Done;
            case TextCommand.Quit:
                return Step.Close;
            case TextCommand.Verbosity:
                Verbosity(tokens, ref writer);
                return Step.Done;
            case TextCommand.Shutdown:
                writer.WriteLine(TextReplies.ShutdownNotEnabled);
                return Step.Done;
            case TextCommand.Stats:
                TextStats(tokens, ref writer);
                return Step.Done;
            case TextCommand.MetaGet:
                MetaGet(tokens, ref writer);
                return Step.Done;
            case TextCommand.MetaSet:
                MetaSet(tokens, command[lineBytes..], ref writer);
                return Step.Done;
            case TextCommand.MetaDelete:
                MetaDelete(tokens, ref writer);
                return Step.Done;
            case TextCommand.MetaArith:
                MetaArithmetic(tokens, ref writer);
                return Step.Done;
            case TextCommand.MetaNoop:
                writer.WriteLine(TextReplies.MetaNoop);
                return Step.Done;
            case TextCommand.MetaDebug:
                MetaDebug(tokens, ref writer);
                return Step.Done;
            default:
                writer.WriteLine(TextReplies.Error);
                return Step.Done;
        }
    }

    /// <summary>memcached's out_string: the line, unless the command said noreply.</summary>
    private static void Reply(ref ReplyWriter writer, bool noReply, ReadOnlySpan<byte> line)
    {
        if (!noReply)
        {
            writer.WriteLine(line);
        }
    }

    private static void WriteAscii(ref ReplyWriter writer, string text)
    {
        Span<byte> bytes = stackalloc byte[Math.Min(text.Length, 256)];
        int n = System.Text.Encoding.ASCII.GetBytes(text.AsSpan(0, bytes.Length), bytes);
        writer.Write(bytes[..n]);
    }

    /// <summary>Keys checked for length per step for each key a step may look up: checking is a scan, a lookup a hash walk and a copy.</summary>
    private const int KeyChecksPerLookup = 64;

    /// <summary>
    /// get, gets, gat, gats (process_get_command): the keys in order, <see cref="KvOptions.KeysPerStep"/>
    /// per step, each hit a VALUE block, then END. A key over 250 bytes anywhere fails the whole
    /// line with nothing else sent (memcached drops the replies it had stacked), so every key is
    /// checked before the first is looked up, in steps of their own on a very long line.
    /// </summary>
    private Step Retrieve(ReadOnlySpan<byte> line, in TokenizedLine tokens, bool withCas, bool touch, ref KvCursor cursor, ref ReplyWriter writer, ref int budget)
    {
        if (cursor.Phase == 0)
        {
            int first = tokens.Tokens[1].Start + tokens.LengthOf(1);
            if (touch)
            {
                if (!CNumber.TryParseInt32(tokens[1], out int exptime))
                {
                    writer.WriteLine(TextReplies.InvalidExptime);
                    return Step.Done;
                }
                cursor.ExpTime = _clock.RealTime(exptime);
            }
            else
            {
                first = tokens.Tokens[0].Start + tokens.LengthOf(0);
            }
            cursor.KeysStart = first;
            cursor.Position = first;
            cursor.Phase = 1;
        }
        if (cursor.Phase == 1)
        {
            int scan = cursor.Position;
            for (int checks = budget * KeyChecksPerLookup; checks > 0; checks--)
            {
                if (!TextParser.NextToken(line, ref scan, out ReadOnlySpan<byte> key))
                {
                    cursor.Phase = 2;
                    break;
                }
                if (key.Length > TextParser.MaxKeyBytes)
                {
                    writer.WriteLine(TextReplies.BadCommandLineFormat);
                    return Step.Done;
                }
            }
            if (cursor.Phase == 1)
            {
                cursor.Position = scan;
                return Step.Continue;
            }
            cursor.Position = cursor.KeysStart;
        }
        int position = cursor.Position;
        while (budget > 0 && TextParser.NextToken(line, ref position, out ReadOnlySpan<byte> key))
        {
            RetrieveOne(key, withCas, touch, cursor.ExpTime, ref writer);
            budget--;
        }
        cursor.Position = position;
        int peek = position;
        if (TextParser.NextToken(line, ref peek, out _))
        {
            return Step.Continue;
        }
        writer.WriteLine(TextReplies.End);
        return Step.Done;
    }

    private void RetrieveOne(ReadOnlySpan<byte> key, bool withCas, bool touch, uint exptime, ref ReplyWriter writer)
    {
        KvItem item;
        bool hit = touch ? _store.TryTouch(key, exptime, out item) : _store.TryGet(key, bump: true, out item);
        if (touch)
        {
            Counters.Increment(KvCounter.TouchCmds);
            Counters.Increment(hit ? KvCounter.TouchHits : KvCounter.TouchMisses);
        }
        else
        {
            Counters.Increment(KvCounter.GetCmds);
            Counters.Increment(hit ? KvCounter.GetHits : KvCounter.GetMisses);
        }
        if (!hit)
        {
            return;
        }
        try
        {
            TextReplies.WriteValue(ref writer, item, withCas);
        }
        finally
        {
            _store.Release(item);
        }
    }

    /// <summary>set, add, replace, append, prepend, cas (process_update_command and complete_nread_ascii).</summary>
    private void Update(TextCommand name, in TokenizedLine tokens, ReadOnlySpan<byte> data, ref ReplyWriter writer)
    {
        TextParser.ParseStorage(name, tokens, _options.ItemSizeMaxBytes, out StorageLine storage);
        if (storage.Verdict == DataVerdict.None)
        {
            Reply(ref writer, storage.NoReply, storage.Error);
            return;
        }
        if (storage.Verdict == DataVerdict.Swallow)
        {
            Counters.Increment(KvCounter.StoreTooLarge);
            Reply(ref writer, storage.NoReply, storage.Error);
            if (name == TextCommand.Set)
            {
                // memcached: a set that cannot be stored must not leave the old value readable.
                _store.Invalidate(storage.Key);
            }
            return;
        }
        AllocStatus status = _store.TryAllocate(storage.Key, storage.ClientFlags, _clock.RealTime(storage.ExpTime),
            storage.ValueLength, keyBinary: false, out KvAllocation allocation);
        if (status != AllocStatus.Ok)
        {
            Counters.Increment(KvCounter.StoreNoMemory);
            Reply(ref writer, storage.NoReply, TextReplies.OutOfMemoryStoring);
            if (name == TextCommand.Set)
            {
                _store.Invalidate(storage.Key);
            }
            return;
        }
        Counters.Increment(KvCounter.SetCmds);
        data[..storage.ValueLength].CopyTo(allocation.Value);
        if (!data.Slice(storage.ValueLength, 2).SequenceEqual("\r\n"u8))
        {
            _store.Abandon(ref allocation);
            Reply(ref writer, storage.NoReply, TextReplies.BadDataChunk);
            return;
        }
        StoreMode mode = name switch
        {
            TextCommand.Add => StoreMode.Add,
            TextCommand.Replace => StoreMode.Replace,
            TextCommand.Append => StoreMode.Append,
            TextCommand.Prepend => StoreMode.Prepend,
            TextCommand.Cas => StoreMode.Cas,
            _ => StoreMode.Set,
        };
        StoreResult result = _store.Commit(ref allocation, mode, storage.Cas, setStale: false, out _);
        Reply(ref writer, storage.NoReply, result switch
        {
            StoreResult.Stored => TextReplies.Stored,
            StoreResult.Exists => TextReplies.Exists,
            StoreResult.NotFound => TextReplies.NotFound,
            _ => TextReplies.NotStored,
        });
    }

    /// <summary>incr and decr (process_arithmetic_command).</summary>
    private void Arithmetic(in TokenizedLine tokens, bool incr, ref ReplyWriter writer)
    {
        bool noReply = TextParser.NoReply(tokens);
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            Reply(ref writer, noReply, TextReplies.BadCommandLineFormat);
            return;
        }
        if (!CNumber.TryParseUInt64(tokens[2], out ulong delta))
        {
            Reply(ref writer, noReply, TextReplies.InvalidDelta);
            return;
        }
        var request = new ArithRequest { Incr = incr, Delta = delta };
        switch (_store.Arith(tokens[1], request, out ArithOutcome outcome))
        {
            case ArithResult.Ok:
                Counters.Increment(incr ? KvCounter.IncrHits : KvCounter.DecrHits);
                if (!noReply)
                {
                    writer.WriteDecimal(outcome.Value);
                    writer.WriteCrlf();
                }
                break;
            case ArithResult.NonNumeric:
                Reply(ref writer, noReply, TextReplies.NonNumeric);
                break;
            case ArithResult.NoMemory:
                Reply(ref writer, noReply, TextReplies.OutOfMemory);
                break;
            default:
                Counters.Increment(incr ? KvCounter.IncrMisses : KvCounter.DecrMisses);
                Reply(ref writer, noReply, TextReplies.NotFound);
                break;
        }
    }

    /// <summary>delete (process_delete_command), with its legacy "0" hold time.</summary>
    private void Delete(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        bool noReply = false;
        if (tokens.Count > 3)
        {
            bool holdIsZero = tokens[2].SequenceEqual("0"u8);
            noReply = TextParser.NoReply(tokens);
            bool valid = (tokens.Count == 4 && (holdIsZero || noReply)) || (tokens.Count == 5 && holdIsZero && noReply);
            if (!valid)
            {
                Reply(ref writer, noReply, TextReplies.DeleteUsage);
                return;
            }
        }
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            Reply(ref writer, noReply, TextReplies.BadCommandLineFormat);
            return;
        }
        if (_store.Delete(tokens[1], 0) == DeleteResult.Deleted)
        {
            Counters.Increment(KvCounter.DeleteHits);
            Reply(ref writer, noReply, TextReplies.Deleted);
        }
        else
        {
            Counters.Increment(KvCounter.DeleteMisses);
            Reply(ref writer, noReply, TextReplies.NotFound);
        }
    }

    /// <summary>touch (process_touch_command).</summary>
    private void Touch(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        bool noReply = TextParser.NoReply(tokens);
        if (tokens.LengthOf(1) > TextParser.MaxKeyBytes)
        {
            Reply(ref writer, noReply, TextReplies.BadCommandLineFormat);
            return;
        }
        if (!CNumber.TryParseInt32(tokens[2], out int exptime))
        {
            Reply(ref writer, noReply, TextReplies.InvalidExptime);
            return;
        }
        Counters.Increment(KvCounter.TouchCmds);
        if (_store.TryTouch(tokens[1], _clock.RealTime(exptime), out KvItem item))
        {
            _store.Release(item);
            Counters.Increment(KvCounter.TouchHits);
            Reply(ref writer, noReply, TextReplies.Touched);
        }
        else
        {
            Counters.Increment(KvCounter.TouchMisses);
            Reply(ref writer, noReply, TextReplies.NotFound);
        }
    }

    /// <summary>flush_all [delay] [noreply] (process_flush_all_command).</summary>
    private void FlushAll(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        bool noReply = TextParser.NoReply(tokens);
        Counters.Increment(KvCounter.FlushCmds);
        if (!_options.FlushEnabled)
        {
            Reply(ref writer, noReply, TextReplies.FlushNotAllowed);
            return;
        }
        int exptime = 0;
        if (tokens.Count != (noReply ? 3 : 2) && !CNumber.TryParseInt32(tokens[1], out exptime))
        {
            Reply(ref writer, noReply, TextReplies.InvalidExptime);
            return;
        }
        _store.Flush(exptime > 0 ? (uint)exptime : 0);
        Reply(ref writer, noReply, TextReplies.Ok);
    }

    /// <summary>verbosity (process_verbosity_command): accepted, and only remembered (kv logs nothing per request).</summary>
    private void Verbosity(in TokenizedLine tokens, ref ReplyWriter writer)
    {
        bool noReply = TextParser.NoReply(tokens);
        if (!CNumber.TryParseUInt32(tokens[1], out uint level))
        {
            Reply(ref writer, noReply, TextReplies.BadCommandLineFormat);
            return;
        }
        _verbosity = (int)Math.Min(level, 2u);
        Reply(ref writer, noReply, TextReplies.Ok);
    }
}
