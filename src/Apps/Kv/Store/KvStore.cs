// The kv store: items in native slab memory, a chained hash index over handles, striped locks.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NetStack.Runtime;
using NetStack.Runtime.Threading;

namespace NetStack.Apps.Kv.Store;

/// <summary>
/// A memcached-compatible item store, safe for any number of threads.
/// </summary>
/// <remarks>
/// <para><b>Memory.</b> One native arena of <see cref="KvOptions.MemoryLimitMegabytes"/>, cut into
/// pages that slab classes take on demand and carve into equal chunks (<c>KvStore.Slabs.cs</c>).
/// An item (48-byte header, key, value, CRLF) lives in one chunk; nothing per item is a .NET object.
/// Items are named by 32-bit handles (an 8-byte-granular offset into the arena), so the index is an
/// <c>uint[]</c> of bucket heads and each header holds the next handle of its chain.</para>
/// <para><b>Locks.</b> A key's hash picks its bucket and its stripe (one of <see cref="StripeCount"/>
/// spin locks); the stripe guards the bucket's chain and the items on it. Each slab class has a lock
/// for its free list and LRU. Lock order is stripe, then class; the LRU tail, which holds a class
/// lock when it evicts, only ever <em>tries</em> a stripe and skips the item when it is taken, as
/// memcached's <c>lru_pull_tail</c> does, so no cycle can form. Every lock is taken and released
/// inside one store call: no lock outlives a call, so a request suspended between calls (at a
/// checkpoint) holds nothing, and a call does a bounded amount of work (one chain walk, at most a
/// few tail items, one value copy).</para>
/// <para><b>References.</b> A reader pins an item by its reference count under the stripe lock and
/// copies the value out after releasing it (<see cref="Release"/>). Values are immutable once linked:
/// a new value is a new chunk swapped in under the lock, and the old one is freed when its last
/// reader lets go, so a reader never sees a torn value. The one in-place write, incr/decr of a
/// number no longer than the old one, is done only when no reader holds the item.</para>
/// </remarks>
internal sealed unsafe partial class KvStore : IDisposable
{
    /// <summary>Stripes of the index lock: 4096 lines keep two threads on one stripe rare for
    /// any thread count this host runs, for 256 KiB.</summary>
    public const int StripeCount = 4096;

    private readonly KvOptions _options;
    private readonly KvClock _clock;
    private readonly byte* _arena;
    private readonly long _arenaBytes;
    private readonly uint[] _buckets;
    private readonly uint _bucketMask;
    private readonly SpinLocks _stripes;
    private PaddedLong _casId;
    // flush_all's horizon (memcached's settings.oldest_live and oldest_cas): read by every lookup,
    // written rarely; a lookup that races a flush sees the old or the new horizon, either is a
    // valid order of the two commands.
    private uint _oldestLive;
    private ulong _oldestCas;
    private bool _disposed;

    /// <summary>A store with the given limits, on the system clock unless a test passes its own.</summary>
    public KvStore(KvOptions options, KvClock? clock = null)
    {
        options.Validate();
        _options = options;
        _clock = clock ?? KvClock.CreateSystem();
        Counters = new KvCounters();

        PageBytes = Math.Max(1 << 20, AlignUp(options.ItemSizeMaxBytes));
        PageCount = (int)Math.Max(1, options.MemoryLimitBytes / PageBytes);
        _arenaBytes = (long)PageCount * PageBytes;
        if (_arenaBytes / 8 >= uint.MaxValue)
        {
            throw new ArgumentException("Apps:Kv:MemoryLimitMegabytes: handles address at most 32 GiB.");
        }
        // Pages are touched only when a class first carves them, so untouched memory stays virtual.
        _arena = (byte*)NativeMemory.AlignedAlloc((nuint)_arenaBytes, CacheLine.Size);

        int hashPower = options.HashPower != 0
            ? options.HashPower
            : Math.Max(12, (int)Math.Ceiling(Math.Log2(Math.Max(1, options.MemoryLimitBytes / 256))));
        HashPower = hashPower;
        _buckets = new uint[1 << hashPower];
        _bucketMask = (uint)(_buckets.Length - 1);
        _stripes = new SpinLocks(Math.Min(StripeCount, _buckets.Length));
        InitSlabs();
    }

    /// <summary>The store's statistics.</summary>
    public KvCounters Counters { get; }

    /// <summary>The clock items expire by.</summary>
    public KvClock Clock => _clock;

    /// <summary>The options it was made with.</summary>
    public KvOptions Options => _options;

    /// <summary>Bytes per slab page.</summary>
    public int PageBytes { get; }

    /// <summary>Pages in the arena: the memory limit divided by <see cref="PageBytes"/>.</summary>
    public int PageCount { get; }

    /// <summary>log2 of the bucket count (memcached's hash_power_level).</summary>
    public int HashPower { get; }

    /// <summary>Bytes of the hash index.</summary>
    public long HashBytes => (long)_buckets.Length * sizeof(uint);

    /// <summary>Whether an item of this key, flags and value length exceeds the item size limit
    /// (memcached's <c>item_size_ok</c>, with its accounting).</summary>
    public bool IsTooLarge(int keyLength, uint clientFlags, long valueLength) =>
        ItemSize.MemcachedTotal(keyLength, clientFlags, valueLength) > _options.ItemSizeMaxBytes;

    /// <summary>The next CAS unique: one global counter, so uniques increase in link order across
    /// threads (flush_all compares against one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong NextCas() => (ulong)Interlocked.Increment(ref _casId.Value); // atomic and totally ordered: uniques never repeat

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            NativeMemory.AlignedFree(_arena);
        }
    }

    // ---- handles ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ItemHeader* Ptr(uint handle) => (ItemHeader*)(_arena + ((long)(handle - 1) << 3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint HandleOf(long offset) => (uint)(offset >> 3) + 1;

    private static int AlignUp(int bytes) => (bytes + 7) & ~7;

    // ---- hashing and stripes ----

    /// <summary>The key's hash: the runtime's per-process seeded hash, so chains cannot be flooded
    /// by chosen keys; computed over the span in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Hash(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return (uint)hash.ToHashCode();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int StripeOf(uint hash) => (int)(hash & _bucketMask) & (_stripes.Count - 1);

    // ---- the index (stripe lock held) ----

    /// <summary>The item of this key on its chain, whatever its expiry, or 0.</summary>
    private uint Find(ReadOnlySpan<byte> key, uint hash)
    {
        uint handle = _buckets[hash & _bucketMask];
        while (handle != 0)
        {
            ItemHeader* item = Ptr(handle);
            if (item->Hash == hash && item->KeyLength == key.Length
                && ItemHeader.Key(item).SequenceEqual(key))
            {
                return handle;
            }
            handle = item->HashNext;
        }
        return 0;
    }

    /// <summary>
    /// memcached's <c>do_item_get</c> without the bump: the live item of this key, or 0. An item
    /// found flushed or expired is unlinked on the spot (lazy reclamation) and counted.
    /// </summary>
    private uint FindLive(ReadOnlySpan<byte> key, uint hash, uint now)
    {
        uint handle = Find(key, hash);
        if (handle == 0)
        {
            return 0;
        }
        ItemHeader* item = Ptr(handle);
        if (IsFlushed(item, now))
        {
            Unlink(handle);
            Counters.Increment(KvCounter.GetFlushed);
            return 0;
        }
        if (item->ExpTime != 0 && item->ExpTime <= now)
        {
            Unlink(handle);
            Counters.Increment(KvCounter.GetExpired);
            return 0;
        }
        return handle;
    }

    /// <summary>memcached's <c>item_is_flushed</c>: last accessed at or before the flush horizon, or
    /// linked before the flush's CAS mark (so items set earlier in the flush's own second go too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsFlushed(ItemHeader* item, uint now)
    {
        uint oldestLive = Volatile.Read(ref _oldestLive);
        if (oldestLive == 0 || oldestLive > now)
        {
            return false;
        }
        ulong oldestCas = Volatile.Read(ref _oldestCas);
        return item->Time <= oldestLive || (oldestCas != 0 && item->Cas != 0 && item->Cas < oldestCas);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsDead(ItemHeader* item, uint now) =>
        IsFlushed(item, now) || (item->ExpTime != 0 && item->ExpTime <= now);

    /// <summary>Links an allocated item: a new CAS, on its chain, at its class's LRU head. The
    /// index takes a reference of its own.</summary>
    private void Link(uint handle, uint now)
    {
        ItemHeader* item = Ptr(handle);
        item->Bits |= ItemBits.Linked;
        item->Time = now;
        item->Cas = NextCas();
        uint bucket = item->Hash & _bucketMask;
        item->HashNext = _buckets[bucket];
        _buckets[bucket] = handle;
        // Atomic: a reader of an older version of this chunk may still be releasing its own
        // reference; no ordering beyond the stripe lock's is needed.
        Interlocked.Increment(ref item->RefCount);
        int cls = item->SlabClass;
        _classLocks.Enter(cls);
        LruLinkHeadLocked(handle);
        _classLocks.Exit(cls);
        Counters.Increment(KvCounter.CurrItems);
        Counters.Add(KvCounter.CurrBytes, ItemSize.Footprint(item->KeyLength, item->ValueLength));
        Counters.Increment(KvCounter.TotalItems);
    }

    /// <summary>Takes a linked item off its chain and LRU and drops the index's reference.</summary>
    private void Unlink(uint handle)
    {
        UnlinkIndexOnly(handle);
        ItemHeader* item = Ptr(handle);
        int cls = item->SlabClass;
        _classLocks.Enter(cls);
        LruUnlinkLocked(handle);
        _classLocks.Exit(cls);
        Release(handle);
    }

    /// <summary>The chain and gauges part of an unlink; the caller takes care of the LRU and the reference.</summary>
    private void UnlinkIndexOnly(uint handle)
    {
        ItemHeader* item = Ptr(handle);
        uint bucket = item->Hash & _bucketMask;
        uint current = _buckets[bucket];
        if (current == handle)
        {
            _buckets[bucket] = item->HashNext;
        }
        else
        {
            while (current != 0)
            {
                ItemHeader* c = Ptr(current);
                if (c->HashNext == handle)
                {
                    c->HashNext = item->HashNext;
                    break;
                }
                current = c->HashNext;
            }
        }
        item->HashNext = 0;
        item->Bits &= ~ItemBits.Linked;
        Counters.Add(KvCounter.CurrItems, -1);
        Counters.Add(KvCounter.CurrBytes, -ItemSize.Footprint(item->KeyLength, item->ValueLength));
    }

    /// <summary>Drops one reference; the last one frees the chunk.</summary>
    private void Release(uint handle)
    {
        // The decrement is a full barrier: every write this holder made to the item is done
        // before another thread can see the count reach 0 and reuse the chunk.
        if (Interlocked.Decrement(ref Ptr(handle)->RefCount) == 0)
        {
            FreeChunk(handle);
        }
    }

    /// <summary>memcached's segmented-LRU bump (<c>do_item_bump</c>): the first fetch marks the item
    /// fetched, a later one marks it active (the tail will give it a second chance) and refreshes its
    /// access time. Only header bits change, under the stripe lock: a hit never takes a class lock.</summary>
    private void Bump(ItemHeader* item, uint now)
    {
        if ((item->Bits & ItemBits.Active) != 0)
        {
            return;
        }
        if ((item->Bits & ItemBits.Fetched) == 0)
        {
            item->Bits |= ItemBits.Fetched;
        }
        else
        {
            item->Bits |= ItemBits.Active;
            item->Time = now;
        }
    }

    /// <summary>A snapshot of an item taken under its lock, pinned by a reference until <see cref="Release(in KvItem)"/>.</summary>
    private KvItem Pin(uint handle)
    {
        ItemHeader* item = Ptr(handle);
        // Taken under the stripe lock, so the index's reference cannot be dropped meanwhile; atomic
        // because other readers release theirs with no lock held.
        Interlocked.Increment(ref item->RefCount);
        return new KvItem(handle, item);
    }

    /// <summary>Lets go of an item returned by a lookup.</summary>
    public void Release(in KvItem item)
    {
        if (item.Handle != 0)
        {
            Release(item.Handle);
        }
    }
}

/// <summary>
/// An item as a lookup found it: the fields copied under its lock, and its key and value in slab
/// memory, which stay valid and unchanged until the holder calls <see cref="KvStore.Release(in KvItem)"/>.
/// </summary>
internal readonly unsafe struct KvItem
{
    private readonly byte* _data;

    internal KvItem(uint handle, ItemHeader* item)
    {
        Handle = handle;
        _data = (byte*)item + ItemHeader.Size;
        KeyLength = item->KeyLength;
        ValueLength = item->ValueLength;
        ClientFlags = item->ClientFlags;
        Cas = item->Cas;
        ExpTime = item->ExpTime;
        Time = item->Time;
        Bits = item->Bits;
    }

    internal uint Handle { get; }

    /// <summary>Key bytes.</summary>
    public int KeyLength { get; }

    /// <summary>Value bytes, without the CRLF.</summary>
    public int ValueLength { get; }

    /// <summary>The client's flags.</summary>
    public uint ClientFlags { get; }

    /// <summary>CAS unique.</summary>
    public ulong Cas { get; }

    /// <summary>Expiry in relative seconds; 0 never.</summary>
    public uint ExpTime { get; }

    /// <summary>Last access in relative seconds.</summary>
    public uint Time { get; }

    internal ItemBits Bits { get; }

    /// <summary>Whether the key arrived base64-encoded (meta <c>b</c>).</summary>
    public bool KeyIsBinary => (Bits & ItemBits.KeyBinary) != 0;

    /// <summary>The key.</summary>
    public ReadOnlySpan<byte> Key => new(_data, KeyLength);

    /// <summary>The value.</summary>
    public ReadOnlySpan<byte> Value => new(_data + KeyLength, ValueLength);

    /// <summary>The value and the CRLF stored after it.</summary>
    public ReadOnlySpan<byte> ValueWithCrlf => new(_data + KeyLength, ValueLength + 2);
}
