// The store's and engine's statistics: per-core shards written with uncontended atomics, summed when read.
using System.Runtime.CompilerServices;
using NetStack.Runtime;

namespace NetStack.Apps.Kv.Store;

/// <summary>Counters, named after the memcached statistic each one feeds (<c>stats</c>).</summary>
internal enum KvCounter
{
    /// <summary>cmd_get: keys looked up by retrieval commands.</summary>
    GetCmds,
    /// <summary>get_hits.</summary>
    GetHits,
    /// <summary>get_misses.</summary>
    GetMisses,
    /// <summary>get_expired: misses on an item that had expired.</summary>
    GetExpired,
    /// <summary>get_flushed: misses on an item invalidated by flush_all.</summary>
    GetFlushed,
    /// <summary>cmd_set: storage commands whose data arrived.</summary>
    SetCmds,
    /// <summary>cmd_touch.</summary>
    TouchCmds,
    /// <summary>touch_hits.</summary>
    TouchHits,
    /// <summary>touch_misses.</summary>
    TouchMisses,
    /// <summary>delete_hits.</summary>
    DeleteHits,
    /// <summary>delete_misses.</summary>
    DeleteMisses,
    /// <summary>incr_hits.</summary>
    IncrHits,
    /// <summary>incr_misses.</summary>
    IncrMisses,
    /// <summary>decr_hits.</summary>
    DecrHits,
    /// <summary>decr_misses.</summary>
    DecrMisses,
    /// <summary>cas_hits.</summary>
    CasHits,
    /// <summary>cas_misses.</summary>
    CasMisses,
    /// <summary>cas_badval.</summary>
    CasBadval,
    /// <summary>cmd_flush.</summary>
    FlushCmds,
    /// <summary>cmd_meta.</summary>
    MetaCmds,
    /// <summary>store_too_large.</summary>
    StoreTooLarge,
    /// <summary>store_no_memory.</summary>
    StoreNoMemory,
    /// <summary>total_items: items ever linked.</summary>
    TotalItems,
    /// <summary>evictions: live items removed to make room.</summary>
    Evictions,
    /// <summary>evicted_unfetched: evictions of items never fetched.</summary>
    EvictedUnfetched,
    /// <summary>evicted_active: second chances given at the LRU tail (memcached counts items it
    /// found active at the tail under this name).</summary>
    EvictedActive,
    /// <summary>reclaimed: chunks reused from expired or flushed items at the LRU tail.</summary>
    Reclaimed,
    /// <summary>expired_unfetched: reclaimed items that had never been fetched.</summary>
    ExpiredUnfetched,
    /// <summary>bytes_read (the host reports it).</summary>
    BytesRead,
    /// <summary>bytes_written (the host reports it).</summary>
    BytesWritten,
    /// <summary>curr_items: linked items (kept with +1/-1; not reset by <c>stats reset</c>).</summary>
    CurrItems,
    /// <summary>bytes: slab bytes of linked items, headers included (not reset).</summary>
    CurrBytes,
}

/// <summary>
/// Sharded counters: a writer adds to the shard of the core it runs on (one cache line apart from
/// every other shard), with an atomic add that is almost never contended; readers sum the shards.
/// A sum read while writers run is a moment's approximation, as memcached's per-thread stats are.
/// </summary>
internal sealed class KvCounters
{
    private const int CounterCount = (int)KvCounter.CurrBytes + 1;
    private const int LongsPerLine = CacheLine.Size / sizeof(long);
    // One padding line after each shard's counters keeps neighbouring shards off each other's lines.
    private const int ShardStride = (CounterCount + LongsPerLine - 1) / LongsPerLine * LongsPerLine + LongsPerLine;

    private readonly long[] _cells;
    private readonly int _shardMask;

    internal KvCounters()
    {
        int shards = 1;
        while (shards < Environment.ProcessorCount)
        {
            shards <<= 1;
        }
        _shardMask = shards - 1;
        _cells = new long[shards * ShardStride + LongsPerLine];
    }

    /// <summary>Adds one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment(KvCounter counter) => Add(counter, 1);

    /// <summary>Adds <paramref name="delta"/> (negative for gauges going down).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(KvCounter counter, long delta)
    {
        int shard = Thread.GetCurrentProcessorId() & _shardMask;
        // Atomic because two threads can share a core's shard; no ordering is needed between counters.
        Interlocked.Add(ref _cells[LongsPerLine + shard * ShardStride + (int)counter], delta);
    }

    /// <summary>The sum over shards.</summary>
    public long Read(KvCounter counter)
    {
        long sum = 0;
        for (int shard = 0; shard <= _shardMask; shard++)
        {
            sum += Volatile.Read(ref _cells[LongsPerLine + shard * ShardStride + (int)counter]);
        }
        return sum;
    }

    /// <summary><c>stats reset</c>: zeroes every counter but the gauges of what is stored
    /// (curr_items, bytes), which memcached keeps.</summary>
    public void ResetStatistics()
    {
        for (int shard = 0; shard <= _shardMask; shard++)
        {
            for (int c = 0; c < CounterCount; c++)
            {
                if (c is (int)KvCounter.CurrItems or (int)KvCounter.CurrBytes)
                {
                    continue;
                }
                Volatile.Write(ref _cells[LongsPerLine + shard * ShardStride + c], 0);
            }
        }
    }
}
