// Slab classes: pages carved into equal chunks, a free list per page, empty pages back to a shared pool, pages moved to classes that starve.
using System.Runtime.CompilerServices;
using NetStack.Runtime.Threading;

namespace NetStack.Apps.Kv.Store;

/// <remarks>
/// <para>Each page belongs to one slab class, or to the pool. A class allocates from its partly
/// free pages (each keeps its own free list and carves fresh chunks lazily), else takes a page
/// from the pool, else evicts from its LRU tail. A page whose chunks are all free again goes back
/// to the pool at once, so memory follows the sizes in use.</para>
/// <para>A class that finds nothing to take in its own LRU (it holds no pages, or only busy items)
/// moves a page from the class with the most pages: it evicts every item on the page of that
/// class's LRU tail, which frees the page into the pool (memcached's slab rebalancer does this in
/// a background thread; here the starving allocation does it, a rare call that looks at up to one
/// page of chunks). Items a reader holds are skipped, and the page then stays where it was.</para>
/// </remarks>
internal sealed unsafe partial class KvStore
{
    /// <summary>The smallest chunk: a header and a short key and value.</summary>
    private const int SmallestChunkBytes = 64;

    /// <summary>Most classes: the header's class field is one byte.</summary>
    private const int MaxClasses = 200;

    /// <summary>Chunks the tail looks at per attempt before giving up (memcached's <c>search = 5</c>).</summary>
    private const int TailSearchItems = 5;

    /// <summary>Attempts an allocation makes at the tail (memcached's <c>do_item_alloc_pull</c> loop of 10).</summary>
    private const int AllocAttempts = 10;

    /// <summary>Pages a starving allocation tries to move before it answers out of memory: one busy
    /// item keeps a page where it is, so a few candidates are tried, each a bounded walk.</summary>
    private const int PageMoveAttempts = 3;

    private SlabClass[] _classes = [];
    private SpinLocks _classLocks = null!;
    private Page[] _pages = [];
    // The pool: pages no class holds. A leaf lock: taken last, never held while taking another.
    private int[] _poolPages = [];
    private int _poolCount;
    private readonly SpinLocks _poolLock = new(1);
    private int _pagesUsed;

    /// <summary>One slab class. Every field is guarded by the class's lock.</summary>
    private sealed class SlabClass
    {
        public int ChunkBytes;
        public int ChunksPerPage;
        /// <summary>First page with a free or uncarved chunk; -1 none.</summary>
        public int PartialHead = -1;
        public uint LruHead;
        public uint LruTail;
        public long LruItems;
        public int Pages;
        public long UsedChunks;
    }

    /// <summary>One page: its class, and its own free list. Guarded by its class's lock.</summary>
    private struct Page
    {
        public int Owner;
        public uint FreeHead;
        /// <summary>Chunks free, carved or not.</summary>
        public int FreeCount;
        public int Carved;
        public int NextPartial;
        public int PrevPartial;
        public bool InPartialList;
        /// <summary>Being moved: its class allocates nothing more from it, and it goes to the pool
        /// when its last chunk is freed (a page move found a chunk in use).</summary>
        public bool Draining;
    }

    private void InitSlabs()
    {
        var sizes = new List<int>();
        int largest = AlignUp(_options.ItemSizeMaxBytes);
        double size = SmallestChunkBytes;
        while (sizes.Count < MaxClasses - 1 && size * _options.GrowthFactor < largest)
        {
            int chunk = AlignUp((int)size);
            if (sizes.Count == 0 || chunk > sizes[^1])
            {
                sizes.Add(chunk);
            }
            size *= _options.GrowthFactor;
        }
        sizes.Add(largest);
        _classes = new SlabClass[sizes.Count];
        for (int i = 0; i < sizes.Count; i++)
        {
            _classes[i] = new SlabClass { ChunkBytes = sizes[i], ChunksPerPage = PageBytes / sizes[i] };
        }
        _classLocks = new SpinLocks(sizes.Count);
        _pages = new Page[PageCount];
        _poolPages = new int[PageCount];
        // The pool hands out low pages first, so untouched memory stays untouched as long as possible.
        for (int i = 0; i < PageCount; i++)
        {
            _pages[i].Owner = -1;
            _poolPages[i] = PageCount - 1 - i;
        }
        _poolCount = PageCount;
    }

    /// <summary>Slab classes.</summary>
    public int ClassCount => _classes.Length;

    /// <summary>Pages held by classes now.</summary>
    public int PagesUsed => Volatile.Read(ref _pagesUsed);

    /// <summary>The smallest class whose chunk holds <paramref name="footprint"/> bytes, or -1.</summary>
    private int ClassFor(long footprint)
    {
        SlabClass[] classes = _classes;
        int lo = 0, hi = classes.Length - 1;
        if (footprint > classes[hi].ChunkBytes)
        {
            return -1;
        }
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (classes[mid].ChunkBytes >= footprint)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return lo;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PageOf(uint handle) => (int)(((long)(handle - 1) << 3) / PageBytes);

    /// <summary>
    /// A chunk of class <paramref name="cls"/> with one reference (the caller's), or 0 when memory is
    /// full and nothing could be taken. <paramref name="heldStripe"/> is the stripe the caller holds
    /// (-1: none), which the tail and page moves then use without trying it.
    /// </summary>
    private uint AllocChunk(int cls, int heldStripe, uint now)
    {
        uint handle = TryAllocChunk(cls, heldStripe, now, out bool progress);
        for (int move = 0; handle == 0 && !progress && move < PageMoveAttempts; move++)
        {
            if (MovePageTo(cls, heldStripe, now))
            {
                handle = TryAllocChunk(cls, heldStripe, now, out progress);
            }
        }
        return handle;
    }

    /// <summary>A free chunk, a pool page, or the class's own tail; <paramref name="progress"/> says
    /// whether the tail had anything it could have taken.</summary>
    private uint TryAllocChunk(int cls, int heldStripe, uint now, out bool progress)
    {
        SlabClass c = _classes[cls];
        uint handle = 0;
        progress = false;
        _classLocks.Enter(cls);
        try
        {
            if (c.PartialHead >= 0 || TakePoolPage(cls, c))
            {
                handle = TakeFromPartialPage(c);
                progress = true;
            }
            else
            {
                for (int attempt = 0; attempt < AllocAttempts && handle == 0; attempt++)
                {
                    handle = PullTailLocked(cls, heldStripe, now, out bool found);
                    progress |= found;
                    if (!found)
                    {
                        break;
                    }
                }
            }
            if (handle != 0)
            {
                c.UsedChunks++;
                // Under the class lock, so a page move walking this page never reads a stale header.
                ItemHeader* item = Ptr(handle);
                *item = default;
                item->RefCount = 1;
                item->SlabClass = (byte)cls;
            }
        }
        finally
        {
            _classLocks.Exit(cls);
        }
        return handle;
    }

    /// <summary>A chunk from the class's first partly free page (class lock held).</summary>
    private uint TakeFromPartialPage(SlabClass c)
    {
        int page = c.PartialHead;
        ref Page p = ref _pages[page];
        uint handle;
        if (p.FreeHead != 0)
        {
            handle = p.FreeHead;
            p.FreeHead = Ptr(handle)->LruPrev;
        }
        else
        {
            handle = HandleOf((long)page * PageBytes + (long)p.Carved * c.ChunkBytes);
            p.Carved++;
        }
        p.FreeCount--;
        if (p.FreeCount == 0)
        {
            RemovePartial(c, page);
        }
        return handle;
    }

    /// <summary>Gives the class a page from the pool (class lock held), if the pool has one.</summary>
    private bool TakePoolPage(int cls, SlabClass c)
    {
        _poolLock.Enter(0);
        int page = _poolCount > 0 ? _poolPages[--_poolCount] : -1;
        _poolLock.Exit(0);
        if (page < 0)
        {
            return false;
        }
        ref Page p = ref _pages[page];
        p.Owner = cls;
        p.Draining = false;
        p.FreeHead = 0;
        p.Carved = 0;
        p.FreeCount = c.ChunksPerPage;
        c.Pages++;
        Interlocked.Increment(ref _pagesUsed); // a gauge for stats; classes update it under different locks
        AddPartial(c, page);
        return true;
    }

    private void AddPartial(SlabClass c, int page)
    {
        ref Page p = ref _pages[page];
        p.PrevPartial = -1;
        p.NextPartial = c.PartialHead;
        if (c.PartialHead >= 0)
        {
            _pages[c.PartialHead].PrevPartial = page;
        }
        c.PartialHead = page;
        p.InPartialList = true;
    }

    private void RemovePartial(SlabClass c, int page)
    {
        ref Page p = ref _pages[page];
        if (p.PrevPartial >= 0)
        {
            _pages[p.PrevPartial].NextPartial = p.NextPartial;
        }
        else
        {
            c.PartialHead = p.NextPartial;
        }
        if (p.NextPartial >= 0)
        {
            _pages[p.NextPartial].PrevPartial = p.PrevPartial;
        }
        p.InPartialList = false;
    }

    /// <summary>Returns a chunk whose last reference went to its page's free list.</summary>
    private void FreeChunk(uint handle)
    {
        int cls = Ptr(handle)->SlabClass;
        // The page cannot change class meanwhile: it holds this chunk, so it is not empty.
        _classLocks.Enter(cls);
        FreeChunkLocked(handle, cls);
        _classLocks.Exit(cls);
    }

    /// <summary>Frees a chunk (its class's lock held); a page left with no chunk in use goes back to the pool.</summary>
    private void FreeChunkLocked(uint handle, int cls)
    {
        SlabClass c = _classes[cls];
        int page = PageOf(handle);
        ref Page p = ref _pages[page];
        Ptr(handle)->LruPrev = p.FreeHead;
        Ptr(handle)->RefCount = 0;
        p.FreeHead = handle;
        p.FreeCount++;
        c.UsedChunks--;
        if (p.FreeCount == c.ChunksPerPage)
        {
            if (p.InPartialList)
            {
                RemovePartial(c, page);
            }
            p.Owner = -1;
            c.Pages--;
            Interlocked.Decrement(ref _pagesUsed); // the same gauge
            _poolLock.Enter(0);
            _poolPages[_poolCount++] = page;
            _poolLock.Exit(0);
        }
        else if (!p.InPartialList && !p.Draining)
        {
            AddPartial(c, page);
        }
    }

    /// <summary>
    /// Frees a page for a class that starves (no pool page, nothing at its own tail): evicts every
    /// item on the page of the LRU tail of the class holding the most pages. True when a page went
    /// to the pool. Takes the victim's lock with no other class lock held.
    /// </summary>
    private bool MovePageTo(int cls, int heldStripe, uint now)
    {
        int victim = -1;
        for (int i = 0; i < _classes.Length; i++)
        {
            // A racy read is fine: it only picks whom to ask.
            if (i != cls && _classes[i].Pages > 0 && (victim < 0 || _classes[i].Pages > _classes[victim].Pages))
            {
                victim = i;
            }
        }
        if (victim < 0)
        {
            return false;
        }
        SlabClass c = _classes[victim];
        bool freed = false;
        _classLocks.Enter(victim);
        try
        {
            // The page of the oldest item whose page has no reader-held or half-written chunk
            // in the first few from the tail; the walk below evicts what is on it.
            uint candidate = c.LruTail;
            for (int looked = 0; candidate != 0 && looked < TailSearchItems && Volatile.Read(ref Ptr(candidate)->RefCount) != 1; looked++)
            {
                candidate = Ptr(candidate)->LruPrev;
            }
            if (candidate == 0)
            {
                return false;
            }
            int page = PageOf(candidate);
            long start = (long)page * PageBytes;
            int carved = _pages[page].Carved;
            for (int i = 0; i < carved && _pages[page].Owner == victim; i++)
            {
                uint handle = HandleOf(start + (long)i * c.ChunkBytes);
                ItemHeader* item = Ptr(handle);
                // Free chunks have no references; a reservation being filled has one but is not linked.
                // Unlocked reads that only pick candidates: the check that counts is repeated under the stripe.
                if (Volatile.Read(ref item->RefCount) != 1 || (item->Bits & ItemBits.Linked) == 0)
                {
                    continue;
                }
                int stripe = StripeOf(item->Hash);
                bool own = stripe == heldStripe;
                if (!own && !_stripes.TryEnter(stripe))
                {
                    continue;
                }
                if (Volatile.Read(ref item->RefCount) == 1 && (item->Bits & ItemBits.Linked) != 0)
                {
                    Counters.Increment(IsDead(item, now) ? KvCounter.Reclaimed : KvCounter.Evictions);
                    UnlinkIndexOnly(handle);
                    LruUnlinkLocked(handle);
                    freed |= _pages[page].FreeCount + 1 == c.ChunksPerPage;
                    FreeChunkLocked(handle, victim);
                }
                if (!own)
                {
                    _stripes.Exit(stripe);
                }
            }
            if (!freed && _pages[page].Owner == victim)
            {
                // Something on it is in use: let it drain into the pool as its last chunks go.
                ref Page p = ref _pages[page];
                p.Draining = true;
                if (p.InPartialList)
                {
                    RemovePartial(c, page);
                }
            }
        }
        finally
        {
            _classLocks.Exit(victim);
        }
        return freed;
    }

    /// <summary>Allocates a chunk for an item of this size, or 0 (too large for any class, or memory full).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint AllocItem(int keyLength, long valueLength, int heldStripe, uint now)
    {
        int cls = ClassFor(ItemSize.Footprint(keyLength, valueLength));
        return cls < 0 ? 0 : AllocChunk(cls, heldStripe, now);
    }

    /// <summary>One slab class for <c>stats slabs</c>: chunk size, pages, used and free chunks, items.</summary>
    public (int ChunkBytes, int Pages, long UsedChunks, long FreeChunks, long Items) SlabClassInfo(int cls)
    {
        SlabClass c = _classes[cls];
        _classLocks.Enter(cls);
        var info = (c.ChunkBytes, c.Pages, c.UsedChunks, (long)c.Pages * c.ChunksPerPage - c.UsedChunks, c.LruItems);
        _classLocks.Exit(cls);
        return info;
    }

    /// <summary>
    /// Walks every structure and returns the first inconsistency, or null: LRU links and counts, each
    /// page's free list and counts, the pool, the index, the gauges. For tests, on a quiescent store
    /// (it takes the locks one at a time, so concurrent calls would make it report their work in flight).
    /// </summary>
    internal string? FindInconsistency()
    {
        long linked = 0;
        int pagesOwned = 0;
        for (int cls = 0; cls < _classes.Length; cls++)
        {
            SlabClass c = _classes[cls];
            _classLocks.Enter(cls);
            try
            {
                long count = 0;
                uint previous = 0;
                for (uint h = c.LruHead; h != 0; h = Ptr(h)->LruNext)
                {
                    ItemHeader* item = Ptr(h);
                    if (item->LruPrev != previous || item->SlabClass != cls || (item->Bits & ItemBits.Linked) == 0 || item->RefCount < 1)
                    {
                        return $"class {cls}: LRU item {h} has prev {item->LruPrev} (want {previous}), class {item->SlabClass}, bits {item->Bits}, refs {item->RefCount}";
                    }
                    previous = h;
                    if (++count > c.LruItems)
                    {
                        return $"class {cls}: LRU longer than its count {c.LruItems}";
                    }
                }
                if (count != c.LruItems || previous != c.LruTail)
                {
                    return $"class {cls}: LRU of {count} items ending at {previous}, counted {c.LruItems} ending at {c.LruTail}";
                }
                linked += count;
                long used = 0;
                int pages = 0;
                for (int page = 0; page < _pages.Length; page++)
                {
                    ref Page p = ref _pages[page];
                    if (p.Owner != cls)
                    {
                        continue;
                    }
                    pages++;
                    int free = 0;
                    for (uint h = p.FreeHead; h != 0; h = Ptr(h)->LruPrev)
                    {
                        if (PageOf(h) != page || Ptr(h)->RefCount != 0 || ++free > c.ChunksPerPage)
                        {
                            return $"class {cls}: page {page}'s free list is broken at {h}";
                        }
                    }
                    if (p.FreeCount != free + c.ChunksPerPage - p.Carved)
                    {
                        return $"class {cls}: page {page} counts {p.FreeCount} free, has {free} listed and {c.ChunksPerPage - p.Carved} uncarved";
                    }
                    if (p.InPartialList != (p.FreeCount > 0 && !p.Draining))
                    {
                        return $"class {cls}: page {page} with {p.FreeCount} free is {(p.InPartialList ? "" : "not ")}on the partial list";
                    }
                    used += p.Carved - free;
                }
                if (pages != c.Pages || used != c.UsedChunks)
                {
                    return $"class {cls}: {pages} pages and {used} chunks in use, counted {c.Pages} and {c.UsedChunks}";
                }
                pagesOwned += pages;
            }
            finally
            {
                _classLocks.Exit(cls);
            }
        }
        if (pagesOwned + _poolCount != PageCount || pagesOwned != PagesUsed)
        {
            return $"{pagesOwned} pages owned and {_poolCount} pooled of {PageCount}; the gauge says {PagesUsed}";
        }
        long indexed = 0;
        for (int bucket = 0; bucket < _buckets.Length; bucket++)
        {
            for (uint h = _buckets[bucket]; h != 0; h = Ptr(h)->HashNext)
            {
                if ((Ptr(h)->Hash & _bucketMask) != bucket || (Ptr(h)->Bits & ItemBits.Linked) == 0)
                {
                    return $"bucket {bucket} holds item {h} of hash {Ptr(h)->Hash:x}, bits {Ptr(h)->Bits}";
                }
                indexed++;
            }
        }
        if (indexed != linked || indexed != Counters.Read(KvCounter.CurrItems))
        {
            return $"{indexed} items indexed, {linked} on LRUs, curr_items {Counters.Read(KvCounter.CurrItems)}";
        }
        return null;
    }
}
