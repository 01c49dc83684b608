// The binary commands, one method per family, as memcached's proto_bin.c runs them.
using System.Buffers.Binary;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;

namespace NetStack.Apps.Kv;

internal sealed partial class KvEngine
{
    /// <summary>One binary request (its header, extras, key and, for storage, value): the verdict
    /// its framer reached, then the opcode's handler.</summary>
    private Step ExecuteBinary(ReadOnlySpan<byte> command, ref ReplyWriter writer)
    {
        BinaryHeader h = BinaryHeader.Read(command);
        BinaryVerdict verdict = BinaryParser.Judge(h, command, _options.ItemSizeMaxBytes, out _, out _);
        byte loud = Opcode.Loud(h.Opcode, out bool quiet);
        switch (verdict)
        {
            case BinaryVerdict.Malformed:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.UnknownCommand);
                return Step.Close;
            case BinaryVerdict.ProtocolError:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.InvalidArguments);
                return Step.Close;
            case BinaryVerdict.UnknownCommand:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.UnknownCommand);
                return Step.Done;
            case BinaryVerdict.TooLarge:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.TooLarge);
                if (loud == Opcode.Set)
                {
                    _store.Invalidate(command.Slice(BinaryHeader.Size + h.ExtrasLength, h.KeyLength));
                }
                return Step.Done;
        }
        ReadOnlySpan<byte> extras = command.Slice(BinaryHeader.Size, h.ExtrasLength);
        ReadOnlySpan<byte> key = command.Slice(BinaryHeader.Size + h.ExtrasLength, h.KeyLength);
        switch (loud)
        {
            case Opcode.Get:
            case Opcode.GetK:
            case Opcode.Gat:
            case Opcode.GatK:
            case Opcode.Touch:
                BinaryGet(h, loud, quiet, extras, key, ref writer);
                return Step.Done;
            case Opcode.Set:
            case Opcode.Add:
            case Opcode.Replace:
                BinaryUpdate(h, loud, quiet, extras, key, command[(int)h.DispatchBytes..], ref writer);
                return Step.Done;
            case Opcode.Append:
            case Opcode.Prepend:
                BinaryConcat(h, loud, quiet, key, command[(int)h.DispatchBytes..], ref writer);
                return Step.Done;
            case Opcode.Delete:
                BinaryDelete(h, quiet, key, ref writer);
                return Step.Done;
            case Opcode.Increment:
            case Opcode.Decrement:
                BinaryArith(h, loud == Opcode.Increment, quiet, extras, key, ref writer);
                return Step.Done;
            case Opcode.Flush:
                BinaryFlush(h, quiet, extras, ref writer);
                return Step.Done;
            case Opcode.Noop:
                BinaryReplies.WriteEmpty(ref writer, h.Opcode, h.Opaque, 0);
                return Step.Done;
            case Opcode.Version:
                BinaryReplies.WriteHeader(ref writer, h.Opcode, BinaryStatus.Success, 0, 0, (uint)_options.Version.Length, h.Opaque, 0);
                WriteAscii(ref writer, _options.Version);
                return Step.Done;
            case Opcode.Quit:
                if (!quiet)
                {
                    BinaryReplies.WriteEmpty(ref writer, h.Opcode, h.Opaque, 0);
                }
                return Step.Close;
            case Opcode.Stat:
                BinaryStats(h, key, ref writer);
                return Step.Done;
            default:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.UnknownCommand);
                return Step.Done;
        }
    }

    /// <summary>get, getk, gat, gatk, touch and their quiet forms (process_bin_get_or_touch): a quiet
    /// miss says nothing; a hit always answers.</summary>
    private void BinaryGet(in BinaryHeader h, byte loud, bool quiet, ReadOnlySpan<byte> extras, ReadOnlySpan<byte> key, ref ReplyWriter writer)
    {
        bool touch = loud is Opcode.Touch or Opcode.Gat or Opcode.GatK;
        bool withKey = loud is Opcode.GetK or Opcode.GatK;
        KvItem item;
        bool hit = touch
            ? _store.TryTouch(key, _clock.RealTime(BinaryPrimitives.ReadUInt32BigEndian(extras)), out item)
            : _store.TryGet(key, bump: true, out item);
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
            if (quiet)
            {
                return;
            }
            if (withKey)
            {
                BinaryReplies.WriteMissWithKey(ref writer, h.Opcode, h.Opaque, key);
            }
            else
            {
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyNotFound);
            }
            return;
        }
        try
        {
            BinaryReplies.WriteItem(ref writer, h.Opcode, h.Opaque, item, withKey, withValue: loud != Opcode.Touch);
        }
        finally
        {
            _store.Release(item);
        }
    }

    /// <summary>set, add, replace (process_bin_update, complete_update_bin): a CAS in the header makes any of them a CAS store.</summary>
    private void BinaryUpdate(in BinaryHeader h, byte loud, bool quiet, ReadOnlySpan<byte> extras, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ref ReplyWriter writer)
    {
        uint flags = BinaryPrimitives.ReadUInt32BigEndian(extras);
        uint exptime = _clock.RealTime(BinaryPrimitives.ReadUInt32BigEndian(extras[4..]));
        if (_store.TryAllocate(key, flags, exptime, value.Length, keyBinary: false, out KvAllocation allocation) != AllocStatus.Ok)
        {
            BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.OutOfMemory, "Out of memory allocating item"u8);
            if (loud == Opcode.Set)
            {
                _store.Invalidate(key);
            }
            return;
        }
        Counters.Increment(KvCounter.SetCmds);
        value.CopyTo(allocation.Value);
        StoreMode mode = h.Cas != 0 ? StoreMode.Cas : loud switch
        {
            Opcode.Add => StoreMode.Add,
            Opcode.Replace => StoreMode.Replace,
            _ => StoreMode.Set,
        };
        StoreResult result = _store.Commit(ref allocation, mode, h.Cas, setStale: false, out ulong cas);
        WriteStoreResult(h, quiet, mode, result, cas, ref writer);
    }

    /// <summary>append, prepend (process_bin_append_prepend).</summary>
    private void BinaryConcat(in BinaryHeader h, byte loud, bool quiet, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ref ReplyWriter writer)
    {
        if (_store.TryAllocate(key, 0, 0, value.Length, keyBinary: false, out KvAllocation allocation) != AllocStatus.Ok)
        {
            BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.OutOfMemory, "Out of memory allocating item"u8);
            return;
        }
        Counters.Increment(KvCounter.SetCmds);
        value.CopyTo(allocation.Value);
        StoreMode mode = loud == Opcode.Append ? StoreMode.Append : StoreMode.Prepend;
        StoreResult result = _store.Commit(ref allocation, mode, h.Cas, setStale: false, out ulong cas);
        WriteStoreResult(h, quiet, mode, result, cas, ref writer);
    }

    private static void WriteStoreResult(in BinaryHeader h, bool quiet, StoreMode mode, StoreResult result, ulong cas, ref ReplyWriter writer)
    {
        switch (result)
        {
            case StoreResult.Stored:
                if (!quiet)
                {
                    BinaryReplies.WriteEmpty(ref writer, h.Opcode, h.Opaque, cas);
                }
                break;
            case StoreResult.Exists:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyExists);
                break;
            case StoreResult.NotFound:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyNotFound);
                break;
            default:
                // complete_update_bin: a failed add means it exists, a failed replace that it does not.
                ushort status = mode switch
                {
                    StoreMode.Add => BinaryStatus.KeyExists,
                    StoreMode.Replace => BinaryStatus.KeyNotFound,
                    _ => BinaryStatus.NotStored,
                };
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, status);
                break;
        }
    }

    /// <summary>delete (process_bin_delete): a CAS in the header must match.</summary>
    private void BinaryDelete(in BinaryHeader h, bool quiet, ReadOnlySpan<byte> key, ref ReplyWriter writer)
    {
        switch (_store.Delete(key, h.Cas))
        {
            case DeleteResult.Deleted:
                Counters.Increment(KvCounter.DeleteHits);
                if (!quiet)
                {
                    BinaryReplies.WriteEmpty(ref writer, h.Opcode, h.Opaque, 0);
                }
                break;
            case DeleteResult.Exists:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyExists);
                break;
            default:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyNotFound);
                Counters.Increment(KvCounter.DeleteMisses);
                break;
        }
    }

    /// <summary>increment, decrement (complete_incr_bin): an expiration other than 0xffffffff
    /// creates a missing counter with the initial value.</summary>
    private void BinaryArith(in BinaryHeader h, bool incr, bool quiet, ReadOnlySpan<byte> extras, ReadOnlySpan<byte> key, ref ReplyWriter writer)
    {
        uint expiration = BinaryPrimitives.ReadUInt32BigEndian(extras[16..]);
        var request = new ArithRequest
        {
            Incr = incr,
            Delta = BinaryPrimitives.ReadUInt64BigEndian(extras),
            Initial = BinaryPrimitives.ReadUInt64BigEndian(extras[8..]),
            Cas = h.Cas,
            Vivify = expiration != 0xffffffff,
        };
        if (request.Vivify)
        {
            request.CreateExpTime = _clock.RealTime(expiration);
        }
        switch (_store.Arith(key, request, out ArithOutcome outcome))
        {
            case ArithResult.Ok:
                if (!outcome.Created)
                {
                    Counters.Increment(incr ? KvCounter.IncrHits : KvCounter.DecrHits);
                }
                if (!quiet)
                {
                    BinaryReplies.WriteCounter(ref writer, h.Opcode, h.Opaque, outcome.Value, outcome.Cas);
                }
                break;
            case ArithResult.NonNumeric:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.NonNumeric);
                break;
            case ArithResult.NoMemory:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.OutOfMemory,
                    outcome.Missed ? "Out of memory allocating new item"u8 : "Out of memory incrementing value"u8);
                break;
            case ArithResult.CasMismatch:
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyExists);
                break;
            default:
                Counters.Increment(incr ? KvCounter.IncrMisses : KvCounter.DecrMisses);
                BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.KeyNotFound);
                break;
        }
    }

    /// <summary>flush (process_bin_flush): an optional 4-byte delay.</summary>
    private void BinaryFlush(in BinaryHeader h, bool quiet, ReadOnlySpan<byte> extras, ref ReplyWriter writer)
    {
        if (!_options.FlushEnabled)
        {
            BinaryReplies.WriteError(ref writer, h.Opcode, h.Opaque, BinaryStatus.AuthError);
            return;
        }
        uint delay = extras.Length == 4 ? BinaryPrimitives.ReadUInt32BigEndian(extras) : 0;
        _store.Flush(delay);
        Counters.Increment(KvCounter.FlushCmds);
        if (!quiet)
        {
            BinaryReplies.WriteEmpty(ref writer, h.Opcode, h.Opaque, 0);
        }
    }
}
