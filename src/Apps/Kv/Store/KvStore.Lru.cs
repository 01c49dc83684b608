// The LRU of each slab class: new items at the head, reclamation and eviction at the tail, second chances for active items.
namespace NetStack.Apps.Kv.Store;

/// <remarks>
/// The policy is memcached's segmented LRU reduced to what needs no background thread: an item hit
/// twice is marked active (<see cref="Bump"/>, which takes no class lock); when the tail reaches an
/// active item it moves it back to the head with the mark cleared, as memcached's COLD to WARM
/// promotion does, instead of evicting it. So an item read at least twice since it last reached the
/// head outlives one that was not read (CLOCK-like second chance), and a hit costs no LRU relink.
/// </remarks>
internal sealed unsafe partial class KvStore
{
    /// <summary>Puts a linked item at its class's LRU head (class lock held).</summary>
    private void LruLinkHeadLocked(uint handle)
    {
        ItemHeader* item = Ptr(handle);
        SlabClass c = _classes[item->SlabClass];
        item->LruPrev = 0;
        item->LruNext = c.LruHead;
        if (c.LruHead != 0)
        {
            Ptr(c.LruHead)->LruPrev = handle;
        }
        c.LruHead = handle;
        if (c.LruTail == 0)
        {
            c.LruTail = handle;
        }
        c.LruItems++;
    }

    /// <summary>Takes an item off its class's LRU (class lock held).</summary>
    private void LruUnlinkLocked(uint handle)
    {
        ItemHeader* item = Ptr(handle);
        SlabClass c = _classes[item->SlabClass];
        if (item->LruPrev != 0)
        {
            Ptr(item->LruPrev)->LruNext = item->LruNext;
        }
        else
        {
            c.LruHead = item->LruNext;
        }
        if (item->LruNext != 0)
        {
            Ptr(item->LruNext)->LruPrev = item->LruPrev;
        }
        else
        {
            c.LruTail = item->LruPrev;
        }
        item->LruPrev = 0;
        item->LruNext = 0;
        c.LruItems--;
    }

    /// <summary>
    /// memcached's <c>lru_pull_tail</c> with eviction on (class lock held): looks at up to
    /// <see cref="TailSearchItems"/> items from the tail, skipping any that a reader holds or whose
    /// stripe is taken; the first dead (expired or flushed) one is reclaimed and the first live,
    /// inactive one evicted, its chunk handed to the caller with one reference. An active item gets
    /// its second chance. <paramref name="progress"/> is false when another attempt cannot find more.
    /// </summary>
    private uint PullTailLocked(int cls, int heldStripe, uint now, out bool progress)
    {
        SlabClass c = _classes[cls];
        progress = false;
        uint handle = c.LruTail;
        for (int looked = 0; handle != 0 && looked < TailSearchItems; looked++)
        {
            ItemHeader* item = Ptr(handle);
            uint previous = item->LruPrev;
            // Reference count 1 is the index alone; more means a reader copies it now, and only a
            // thread holding the stripe can add one, which this thread is about to take.
            if (Volatile.Read(ref item->RefCount) != 1)
            {
                handle = previous;
                continue;
            }
            int stripe = StripeOf(item->Hash);
            bool own = stripe == heldStripe;
            if (!own && !_stripes.TryEnter(stripe))
            {
                handle = previous;
                continue;
            }
            try
            {
                if (Volatile.Read(ref item->RefCount) != 1)
                {
                    handle = previous;
                    continue;
                }
                progress = true;
                if (IsDead(item, now))
                {
                    Counters.Increment(KvCounter.Reclaimed);
                    if ((item->Bits & ItemBits.Fetched) == 0)
                    {
                        Counters.Increment(KvCounter.ExpiredUnfetched);
                    }
                    return TakeOver(handle, c);
                }
                if ((item->Bits & ItemBits.Active) != 0)
                {
                    item->Bits &= ~ItemBits.Active;
                    LruUnlinkLocked(handle);
                    LruLinkHeadLocked(handle);
                    Counters.Increment(KvCounter.EvictedActive);
                    handle = previous;
                    continue;
                }
                Counters.Increment(KvCounter.Evictions);
                if ((item->Bits & ItemBits.Fetched) == 0)
                {
                    Counters.Increment(KvCounter.EvictedUnfetched);
                }
                return TakeOver(handle, c);
            }
            finally
            {
                if (!own)
                {
                    _stripes.Exit(stripe);
                }
            }
        }
        return 0;
    }

    /// <summary>Unlinks a tail item whose only reference is the index's and keeps its chunk for the
    /// caller (class and stripe locks held); the caller's allocation counts the chunk as used again.
    /// A chunk on a draining page is freed instead, and the caller takes a chunk elsewhere.</summary>
    private uint TakeOver(uint handle, SlabClass c)
    {
        UnlinkIndexOnly(handle);
        LruUnlinkLocked(handle);
        if (_pages[PageOf(handle)].Draining)
        {
            FreeChunkLocked(handle, Ptr(handle)->SlabClass);
            return c.PartialHead >= 0 ? TakeFromPartialPage(c) : TakePoolPage(Ptr(handle)->SlabClass, c) ? TakeFromPartialPage(c) : 0;
        }
        c.UsedChunks--;
        return handle;
    }
}
