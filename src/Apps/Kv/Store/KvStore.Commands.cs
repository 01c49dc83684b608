// The store's operations, one per memcached command family, each under its key's stripe lock for a bounded time.
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using NetStack.Apps.Kv.Protocol;

namespace NetStack.Apps.Kv.Store;

/// <summary>How a storage command treats an existing item (memcached's <c>NREAD_*</c>).</summary>
internal enum StoreMode : byte
{
    /// <summary>Store whatever is there.</summary>
    Set,
    /// <summary>Store only if absent; an existing item is bumped instead.</summary>
    Add,
    /// <summary>Store only if present.</summary>
    Replace,
    /// <summary>Add the data after an existing item's (its flags and expiry stay).</summary>
    Append,
    /// <summary>Add the data before an existing item's.</summary>
    Prepend,
    /// <summary>Store only if present with the given CAS unique.</summary>
    Cas,
}

/// <summary>What a storage command did (memcached's <c>store_item_type</c>).</summary>
internal enum StoreResult : byte
{
    /// <summary>STORED.</summary>
    Stored,
    /// <summary>NOT_STORED: the mode's condition did not hold.</summary>
    NotStored,
    /// <summary>EXISTS: the CAS unique did not match.</summary>
    Exists,
    /// <summary>NOT_FOUND: a CAS store found no item.</summary>
    NotFound,
}

/// <summary>What an allocation for a storage command found.</summary>
internal enum AllocStatus : byte
{
    /// <summary>A chunk is reserved; fill its value and commit or abandon it.</summary>
    Ok,
    /// <summary>Over the item size limit.</summary>
    TooLarge,
    /// <summary>No chunk free and nothing at the tail that could be taken.</summary>
    NoMemory,
}

/// <summary>What a delete did.</summary>
internal enum DeleteResult : byte
{
    /// <summary>Removed.</summary>
    Deleted,
    /// <summary>Marked stale with a new CAS (meta delete with I).</summary>
    Invalidated,
    /// <summary>No live item.</summary>
    NotFound,
    /// <summary>The CAS unique did not match; nothing changed.</summary>
    Exists,
}

/// <summary>What incr/decr did (memcached's <c>delta_result_type</c>).</summary>
internal enum ArithResult : byte
{
    /// <summary>Applied (or, with vivify, created).</summary>
    Ok,
    /// <summary>No live item, and none was to be created.</summary>
    NotFound,
    /// <summary>The value is not a decimal unsigned 64-bit number.</summary>
    NonNumeric,
    /// <summary>The CAS unique did not match.</summary>
    CasMismatch,
    /// <summary>A longer number needed a new chunk and none could be had.</summary>
    NoMemory,
}

/// <summary>A reserved, unlinked item being filled by a storage command.</summary>
internal unsafe struct KvAllocation
{
    internal uint Handle;
    internal ItemHeader* Item;

    /// <summary>Whether this holds a chunk.</summary>
    public readonly bool IsEmpty => Handle == 0;

    /// <summary>Where the value goes.</summary>
    public readonly Span<byte> Value => ItemHeader.Value(Item);
}

/// <summary>
/// An incr/decr, with what the binary protocol and meta arithmetic add: a CAS to match, an item to
/// create on a miss, and meta's TTL flags, applied in the order the client gave them.
/// </summary>
internal struct ArithRequest
{
    /// <summary>Increment (else decrement, which stops at 0).</summary>
    public bool Incr;
    /// <summary>The amount.</summary>
    public ulong Delta;
    /// <summary>CAS unique to match; 0: any.</summary>
    public ulong Cas;
    /// <summary>Create the item on a miss with <see cref="Initial"/>.</summary>
    public bool Vivify;
    /// <summary>The created item's value.</summary>
    public ulong Initial;
    /// <summary>The created item's expiry as allocated (binary: its exptime; meta: 0, set by N).</summary>
    public uint CreateExpTime;
    /// <summary>Meta's T and N flags and its t report, in request order: 2 bits each from the low
    /// end (1 T, 2 N, 3 t), 0 ends. See <see cref="TtlOps"/>.</summary>
    public int TtlOrder;
    /// <summary>T's expiry.</summary>
    public uint NewTtl;
    /// <summary>N's expiry for a created item.</summary>
    public uint VivifyExpTime;
}

/// <summary>What an incr/decr returns.</summary>
internal struct ArithOutcome
{
    /// <summary>The new value.</summary>
    public ulong Value;
    /// <summary>The item's CAS after the change.</summary>
    public ulong Cas;
    /// <summary>The item's expiry when meta's t was evaluated (or at the end when t was not asked).</summary>
    public uint ExpTimeAtReport;
    /// <summary>The item was created by vivify.</summary>
    public bool Created;
    /// <summary>No live item was found (whether or not one was then created).</summary>
    public bool Missed;
}

/// <summary>Meta get's flags that act on the item (memcached's <c>process_mget_command</c>).</summary>
internal struct MetaGetRequest
{
    /// <summary>u: no LRU bump, no hit mark.</summary>
    public bool NoUpdate;
    /// <summary>N: create an empty item on a miss.</summary>
    public bool Vivify;
    /// <summary>N's expiry.</summary>
    public uint VivifyExpTime;
    /// <summary>T's expiry.</summary>
    public uint NewTtl;
    /// <summary>R's threshold: win the recache token when the expiry is before it.</summary>
    public uint RecacheTime;
    /// <summary>T, N, R and the t report in request order: 3 bits each from the low end (1 T, 2 N, 3 R, 4 t), 0 ends.</summary>
    public int Order;
}

/// <summary>What meta get saw and did.</summary>
internal struct MetaGetOutcome
{
    /// <summary>Created by N.</summary>
    public bool Created;
    /// <summary>T was applied (counted as a touch).</summary>
    public bool TtlSet;
    /// <summary>W: this client won the recache token.</summary>
    public bool Won;
    /// <summary>Z: another client already has the token.</summary>
    public bool TokenAlreadySent;
    /// <summary>X: the item is stale.</summary>
    public bool Stale;
    /// <summary>h: fetched before this command.</summary>
    public bool HitBefore;
    /// <summary>l: seconds since last access, before this command.</summary>
    public uint SinceLastAccess;
    /// <summary>The expiry when t was evaluated.</summary>
    public uint ExpTimeAtReport;
}

/// <summary>Decodes the packed order fields of <see cref="ArithRequest"/> and <see cref="MetaGetRequest"/>.</summary>
internal static class TtlOps
{
    /// <summary>ArithRequest.TtlOrder codes.</summary>
    public const int ArithT = 1, ArithN = 2, ArithReport = 3;

    /// <summary>MetaGetRequest.Order codes.</summary>
    public const int MetaT = 1, MetaN = 2, MetaR = 3, MetaReport = 4;

    /// <summary>Appends a 2-bit op to an arith order word.</summary>
    public static int AppendArith(int order, int op)
    {
        int shift = 0;
        while (((order >> shift) & 3) != 0)
        {
            shift += 2;
        }
        return order | (op << shift);
    }

    /// <summary>Appends a 3-bit op to a meta-get order word.</summary>
    public static int AppendMeta(int order, int op)
    {
        int shift = 0;
        while (((order >> shift) & 7) != 0)
        {
            shift += 3;
        }
        return order | (op << shift);
    }
}

internal sealed unsafe partial class KvStore
{
    /// <summary>memcached's slab_chunk_size_max default: it keeps larger items in chunks and will
    /// not incr/decr them, a rule clients can see.</summary>
    private const int MemcachedChunkedItemBytes = 512 * 1024;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckKey(ReadOnlySpan<byte> key)
    {
        if ((uint)(key.Length - 1) >= 250)
        {
            ThrowBadKey(key.Length);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadKey(int length) =>
        throw new ArgumentException($"A key has 1 to 250 bytes; this one has {length}.", "key");

    // ---- retrieval ----

    /// <summary>get: the live item, pinned, bumped when <paramref name="bump"/> (memcached's
    /// <c>item_get</c>); false on a miss (expired and flushed items are reclaimed and counted).</summary>
    public bool TryGet(ReadOnlySpan<byte> key, bool bump, out KvItem item)
    {
        CheckKey(key);
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        uint now = _clock.Now;
        _stripes.Enter(stripe);
        uint handle = FindLive(key, hash, now);
        if (handle != 0)
        {
            if (bump)
            {
                Bump(Ptr(handle), now);
            }
            item = Pin(handle);
        }
        else
        {
            item = default;
        }
        _stripes.Exit(stripe);
        return handle != 0;
    }

    /// <summary>touch and gat: the live item, bumped, with a new expiry (memcached's <c>item_touch</c>).</summary>
    public bool TryTouch(ReadOnlySpan<byte> key, uint exptime, out KvItem item)
    {
        CheckKey(key);
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        uint now = _clock.Now;
        _stripes.Enter(stripe);
        uint handle = FindLive(key, hash, now);
        if (handle != 0)
        {
            ItemHeader* it = Ptr(handle);
            Bump(it, now);
            it->ExpTime = exptime;
            item = Pin(handle);
        }
        else
        {
            item = default;
        }
        _stripes.Exit(stripe);
        return handle != 0;
    }

    // ---- storage ----

    /// <summary>
    /// Reserves an unlinked item for a storage command (memcached's <c>item_alloc</c>), key, flags and
    /// expiry written; the caller copies the value into <see cref="KvAllocation.Value"/>, then calls
    /// <see cref="Commit"/> or <see cref="Abandon"/>. No lock is held in between, so the copy of a
    /// large value blocks nobody.
    /// </summary>
    public AllocStatus TryAllocate(ReadOnlySpan<byte> key, uint clientFlags, uint exptime, int valueLength, bool keyBinary, out KvAllocation allocation)
    {
        CheckKey(key);
        allocation = default;
        if (valueLength < 0 || IsTooLarge(key.Length, clientFlags, valueLength))
        {
            return AllocStatus.TooLarge;
        }
        uint handle = AllocItem(key.Length, valueLength, -1, _clock.Now);
        if (handle == 0)
        {
            return AllocStatus.NoMemory;
        }
        ItemHeader* item = Ptr(handle);
        Fill(item, key, Hash(key), clientFlags, exptime, valueLength);
        if (keyBinary)
        {
            item->Bits |= ItemBits.KeyBinary;
        }
        allocation.Handle = handle;
        allocation.Item = item;
        return AllocStatus.Ok;
    }

    private static void Fill(ItemHeader* item, ReadOnlySpan<byte> key, uint hash, uint clientFlags, uint exptime, int valueLength)
    {
        item->KeyLength = (byte)key.Length;
        item->ValueLength = valueLength;
        item->ClientFlags = clientFlags;
        item->ExpTime = exptime;
        item->Hash = hash;
        key.CopyTo(ItemHeader.Key(item));
        byte* crlf = (byte*)item + ItemHeader.Size + key.Length + valueLength;
        crlf[0] = (byte)'\r';
        crlf[1] = (byte)'\n';
    }

    /// <summary>Gives back a reservation that will not be stored.</summary>
    public void Abandon(ref KvAllocation allocation)
    {
        if (allocation.Handle != 0)
        {
            Release(allocation.Handle);
            allocation = default;
        }
    }

    /// <summary>
    /// Stores a filled reservation by the rules of <paramref name="mode"/> (memcached's
    /// <c>do_store_item</c>), under the key's stripe lock. <paramref name="cas"/> is the client's
    /// unique (0: none), compared for every mode but set and add; with <paramref name="setStale"/>
    /// (meta set with I) a CAS mode store of an older unique stores the value marked stale.
    /// Consumes the reservation.
    /// </summary>
    public StoreResult Commit(ref KvAllocation allocation, StoreMode mode, ulong cas, bool setStale, out ulong newCas)
    {
        uint handle = allocation.Handle;
        ItemHeader* item = allocation.Item;
        allocation = default;
        ReadOnlySpan<byte> key = ItemHeader.Key(item);
        uint hash = item->Hash;
        int stripe = StripeOf(hash);
        uint now = _clock.Now;
        StoreResult result = StoreResult.NotStored;
        uint stored = 0;
        newCas = 0;

        _stripes.Enter(stripe);
        uint old = FindLive(key, hash, now);
        if (old != 0)
        {
            ItemHeader* oldItem = Ptr(old);
            bool match = cas != 0 && cas == oldItem->Cas;
            bool stale = cas != 0 && !match && setStale && cas < oldItem->Cas;
            switch (mode)
            {
                case StoreMode.Add:
                    // memcached's do_item_update: an add that finds the item refreshes it.
                    oldItem->Time = now;
                    break;
                case StoreMode.Cas:
                    if (match || stale)
                    {
                        if (stale)
                        {
                            item->ExpTime = oldItem->ExpTime;
                            item->Bits |= ItemBits.Stale | (oldItem->Bits & ItemBits.TokenSent);
                        }
                        Counters.Increment(KvCounter.CasHits);
                        stored = handle;
                    }
                    else
                    {
                        Counters.Increment(KvCounter.CasBadval);
                        result = StoreResult.Exists;
                    }
                    break;
                case StoreMode.Append:
                case StoreMode.Prepend:
                    if (cas != 0 && !match)
                    {
                        result = StoreResult.Exists;
                        break;
                    }
                    // Pinned so that the allocation's tail search, which may use this stripe,
                    // cannot take the old item's chunk while its data is copied.
                    Interlocked.Increment(ref oldItem->RefCount);
                    stored = Concatenate(oldItem, item, mode == StoreMode.Append, stripe, now);
                    if (stored == 0)
                    {
                        Release(old);
                    }
                    break;
                default:
                    stored = handle;
                    break;
            }
            if (stored != 0)
            {
                Unlink(old);
                Link(stored, now);
                result = StoreResult.Stored;
                if (stored != handle)
                {
                    Release(old);
                }
            }
        }
        else
        {
            switch (mode)
            {
                case StoreMode.Add:
                case StoreMode.Set:
                    stored = handle;
                    Link(handle, now);
                    result = StoreResult.Stored;
                    break;
                case StoreMode.Cas:
                    Counters.Increment(KvCounter.CasMisses);
                    result = StoreResult.NotFound;
                    break;
            }
        }
        if (stored != 0)
        {
            newCas = Ptr(stored)->Cas;
        }
        _stripes.Exit(stripe);

        if (stored != handle)
        {
            // Append and prepend stored a new item holding both; a failed store stored nothing.
            Release(handle);
            if (stored != 0)
            {
                Release(stored);
            }
        }
        else
        {
            // The index holds its own reference now; drop the caller's.
            Release(handle);
        }
        return result;
    }

    /// <summary>The item append or prepend stores: the old data and the new in a new chunk, with
    /// the old item's flags and expiry; 0 when it would be too large or memory is full (memcached
    /// answers NOT_STORED then). Stripe lock held; the allocation may use the tail of this stripe.</summary>
    private uint Concatenate(ItemHeader* old, ItemHeader* addition, bool append, int stripe, uint now)
    {
        long length = (long)old->ValueLength + addition->ValueLength;
        if (IsTooLarge(old->KeyLength, old->ClientFlags, length))
        {
            return 0;
        }
        uint handle = AllocItem(old->KeyLength, length, stripe, now);
        if (handle == 0)
        {
            return 0;
        }
        ItemHeader* item = Ptr(handle);
        Fill(item, ItemHeader.Key(addition), addition->Hash, old->ClientFlags, old->ExpTime, (int)length);
        Span<byte> value = ItemHeader.Value(item);
        ReadOnlySpan<byte> first = append ? ItemHeader.Value(old) : ItemHeader.Value(addition);
        ReadOnlySpan<byte> second = append ? ItemHeader.Value(addition) : ItemHeader.Value(old);
        first.CopyTo(value);
        second.CopyTo(value[first.Length..]);
        return handle;
    }

    /// <summary>Removes the key's item without counting a delete: memcached does this when a set
    /// cannot be stored (too large, out of memory), so a client never reads the value it replaced.</summary>
    public void Invalidate(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        _stripes.Enter(stripe);
        uint handle = FindLive(key, hash, _clock.Now);
        if (handle != 0)
        {
            Unlink(handle);
        }
        _stripes.Exit(stripe);
    }

    // ---- deletion ----

    /// <summary>delete: removes the live item if <paramref name="cas"/> is 0 or matches.</summary>
    public DeleteResult Delete(ReadOnlySpan<byte> key, ulong cas)
    {
        CheckKey(key);
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        DeleteResult result;
        _stripes.Enter(stripe);
        uint handle = FindLive(key, hash, _clock.Now);
        if (handle == 0)
        {
            result = DeleteResult.NotFound;
        }
        else if (cas != 0 && Ptr(handle)->Cas != cas)
        {
            result = DeleteResult.Exists;
        }
        else
        {
            Unlink(handle);
            result = DeleteResult.Deleted;
        }
        _stripes.Exit(stripe);
        return result;
    }

    /// <summary>
    /// Meta delete: removes the item, or with <paramref name="invalidate"/> marks it stale with a
    /// new CAS (and a new expiry when <paramref name="newTtl"/>), so the next meta get wins the
    /// recache token. A CAS that does not match changes nothing.
    /// </summary>
    public DeleteResult MetaDelete(ReadOnlySpan<byte> key, bool hasCas, ulong cas, bool invalidate, bool newTtl, uint exptime)
    {
        CheckKey(key);
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        DeleteResult result;
        _stripes.Enter(stripe);
        uint handle = FindLive(key, hash, _clock.Now);
        if (handle == 0)
        {
            result = DeleteResult.NotFound;
        }
        else
        {
            ItemHeader* item = Ptr(handle);
            if (hasCas && item->Cas != cas)
            {
                result = DeleteResult.Exists;
            }
            else if (invalidate)
            {
                if (newTtl)
                {
                    item->ExpTime = exptime;
                }
                item->Bits = (item->Bits | ItemBits.Stale) & ~ItemBits.TokenSent;
                item->Cas = NextCas();
                result = DeleteResult.Invalidated;
            }
            else
            {
                Unlink(handle);
                result = DeleteResult.Deleted;
            }
        }
        _stripes.Exit(stripe);
        return result;
    }

    // ---- arithmetic ----

    /// <summary>
    /// incr/decr (memcached's <c>do_add_delta</c>), with the binary protocol's and meta's extras in
    /// <paramref name="request"/>. The number is rewritten in place, padded with spaces as memcached
    /// does, when it is no longer than the old one and no reader holds the item; otherwise it goes
    /// to a new chunk. Everything happens under the key's stripe lock, so concurrent increments
    /// never lose one.
    /// </summary>
    public ArithResult Arith(ReadOnlySpan<byte> key, in ArithRequest request, out ArithOutcome outcome)
    {
        CheckKey(key);
        outcome = default;
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        uint now = _clock.Now;
        _stripes.Enter(stripe);
        try
        {
            uint handle = FindLive(key, hash, now);
            if (handle == 0)
            {
                outcome.Missed = true;
                return request.Vivify ? ArithCreate(key, hash, stripe, now, in request, ref outcome) : ArithResult.NotFound;
            }
            ItemHeader* item = Ptr(handle);
            if (item->ValueLength == 0
                || ItemSize.MemcachedTotal(item->KeyLength, item->ClientFlags, item->ValueLength) > MemcachedChunkedItemBytes)
            {
                return ArithResult.NonNumeric;
            }
            if (request.Cas != 0 && item->Cas != request.Cas)
            {
                return ArithResult.CasMismatch;
            }
            if (!CNumber.TryParseUInt64(ItemHeader.ValueWithCrlf(item), out ulong value))
            {
                return ArithResult.NonNumeric;
            }
            value = request.Incr ? value + request.Delta : (request.Delta > value ? 0 : value - request.Delta);
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(value, digits, out int length);
            digits = digits[..length];

            // 1 is the index alone: no reader is copying the value (new readers need this stripe,
            // and a reader's release, a full barrier, comes after its copy).
            bool inPlace = length <= item->ValueLength && Volatile.Read(ref item->RefCount) == 1;
            ItemHeader* target = item;
            if (inPlace)
            {
                Span<byte> data = ItemHeader.Value(item);
                digits.CopyTo(data);
                data[length..].Fill((byte)' ');
                item->Cas = NextCas();
                item->Time = now;
            }
            else
            {
                // Pinned so that the allocation's tail search cannot take this chunk meanwhile.
                Interlocked.Increment(ref item->RefCount);
                uint fresh = AllocItem(item->KeyLength, length, stripe, now);
                if (fresh == 0)
                {
                    Release(handle);
                    return ArithResult.NoMemory;
                }
                ItemHeader* copy = Ptr(fresh);
                Fill(copy, key, hash, item->ClientFlags, item->ExpTime, length);
                digits.CopyTo(ItemHeader.Value(copy));
                Unlink(handle);
                Link(fresh, now);
                // memcached answers from the old item, whose CAS it sets to the new one's; so does this.
                item->Cas = copy->Cas;
                Release(fresh);
                target = null;
            }
            outcome.Value = value;
            outcome.Cas = item->Cas;
            ApplyArithTtl(item, target, in request, created: false, ref outcome);
            if (!inPlace)
            {
                Release(handle);
            }
            return ArithResult.Ok;
        }
        finally
        {
            _stripes.Exit(stripe);
        }
    }

    /// <summary>The vivify half of incr/decr: a miss creates the item with the initial value
    /// (memcached stores it as an add under the same lock).</summary>
    private ArithResult ArithCreate(ReadOnlySpan<byte> key, uint hash, int stripe, uint now, in ArithRequest request, ref ArithOutcome outcome)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(request.Initial, digits, out int length);
        uint handle = AllocItem(key.Length, length, stripe, now);
        if (handle == 0)
        {
            return ArithResult.NoMemory;
        }
        ItemHeader* item = Ptr(handle);
        Fill(item, key, hash, 0, request.CreateExpTime, length);
        digits[..length].CopyTo(ItemHeader.Value(item));
        Link(handle, now);
        outcome.Value = request.Initial;
        outcome.Cas = item->Cas;
        outcome.Created = true;
        ApplyArithTtl(item, item, in request, created: true, ref outcome);
        Release(handle);
        return ArithResult.Ok;
    }

    /// <summary>Meta arithmetic's T, N and t in request order, as memcached runs them on the item it
    /// answers from: the live item when changed in place or created; when the number moved to a new
    /// chunk, memcached applies T to the old, unlinked item, so the stored expiry stays and only t
    /// reports the new one. <paramref name="target"/> is the live item to write, or null.</summary>
    private static void ApplyArithTtl(ItemHeader* answered, ItemHeader* target, in ArithRequest request, bool created, ref ArithOutcome outcome)
    {
        uint exptime = answered->ExpTime;
        bool reported = false;
        for (int order = request.TtlOrder; order != 0; order >>= 2)
        {
            switch (order & 3)
            {
                case TtlOps.ArithT:
                    exptime = request.NewTtl;
                    break;
                case TtlOps.ArithN:
                    if (created)
                    {
                        exptime = request.VivifyExpTime;
                    }
                    break;
                case TtlOps.ArithReport:
                    outcome.ExpTimeAtReport = exptime;
                    reported = true;
                    break;
            }
        }
        if (!reported)
        {
            outcome.ExpTimeAtReport = exptime;
        }
        if (target != null)
        {
            target->ExpTime = exptime;
        }
    }

    /// <summary>The slab class holding a pinned item.</summary>
    public int ClassOf(in KvItem item) => Ptr(item.Handle)->SlabClass;

    // ---- meta get ----

    /// <summary>
    /// Meta get's lookup and item changes, all under the stripe lock: vivify on a miss, T, N and R in
    /// request order, the stale and recache-token marks (W, X, Z), then the bump unless u. h and l
    /// report the item as it was before this command. False on a miss (nothing created).
    /// </summary>
    public bool MetaGet(ReadOnlySpan<byte> key, in MetaGetRequest request, out KvItem item, out MetaGetOutcome outcome)
    {
        CheckKey(key);
        outcome = default;
        uint hash = Hash(key);
        int stripe = StripeOf(hash);
        uint now = _clock.Now;
        bool pinned = false;
        _stripes.Enter(stripe);
        uint handle = FindLive(key, hash, now);
        if (handle == 0 && request.Vivify)
        {
            handle = AllocItem(key.Length, 0, stripe, now);
            if (handle != 0)
            {
                Fill(Ptr(handle), key, hash, 0, 0, 0);
                Link(handle, now);
                outcome.Created = true;
                // The allocation's reference becomes the caller's pin.
                pinned = true;
            }
        }
        if (handle == 0)
        {
            _stripes.Exit(stripe);
            item = default;
            return false;
        }
        ItemHeader* it = Ptr(handle);
        outcome.HitBefore = (it->Bits & ItemBits.Fetched) != 0;
        outcome.SinceLastAccess = now - it->Time;
        bool won = false;
        bool reported = false;
        for (int order = request.Order; order != 0; order >>= 3)
        {
            switch (order & 7)
            {
                case TtlOps.MetaT:
                    it->ExpTime = request.NewTtl;
                    outcome.TtlSet = true;
                    break;
                case TtlOps.MetaN:
                    if (outcome.Created)
                    {
                        it->ExpTime = request.VivifyExpTime;
                        won = true;
                    }
                    break;
                case TtlOps.MetaR:
                    if ((it->Bits & ItemBits.TokenSent) == 0 && !outcome.Created
                        && it->ExpTime != 0 && it->ExpTime < request.RecacheTime)
                    {
                        won = true;
                    }
                    break;
                case TtlOps.MetaReport:
                    outcome.ExpTimeAtReport = it->ExpTime;
                    reported = true;
                    break;
            }
        }
        if (!reported)
        {
            outcome.ExpTimeAtReport = it->ExpTime;
        }
        outcome.TokenAlreadySent = (it->Bits & ItemBits.TokenSent) != 0;
        outcome.Stale = (it->Bits & ItemBits.Stale) != 0;
        if (outcome.Stale && !outcome.TokenAlreadySent)
        {
            won = true;
        }
        if (won)
        {
            it->Bits |= ItemBits.TokenSent;
        }
        outcome.Won = won;
        if (!request.NoUpdate)
        {
            Bump(it, now);
        }
        item = pinned ? new KvItem(handle, it) : Pin(handle);
        _stripes.Exit(stripe);
        return true;
    }

    // ---- flush ----

    /// <summary>
    /// flush_all (memcached's <c>process_flush_all_command</c>): items last accessed at or before
    /// the flush moment are invalid from then on; <paramref name="delay"/> &gt; 0 moves that moment
    /// to the given (relative or absolute) exptime. Memory is reclaimed lazily, by lookups and the tail.
    /// </summary>
    public void Flush(uint delay)
    {
        uint now = _clock.Now;
        uint newOldest = delay > 0 ? _clock.RealTime(delay) : now;
        uint oldestLive = newOldest - 1;
        if (oldestLive <= now)
        {
            // The CAS mark first: a lookup that sees the new horizon must also see the mark that
            // catches items set earlier in this second.
            Volatile.Write(ref _oldestCas, NextCas());
        }
        Volatile.Write(ref _oldestLive, oldestLive);
    }
}
