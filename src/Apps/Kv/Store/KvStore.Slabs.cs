// Slab classes: pages taken from the arena on demand, carved into equal chunks, a free list per class.
using System.Runtime.CompilerServices;

namespace NetStack.Apps.Kv.Store;

public sealed unsafe partial class KvStore
{
    /// <summary>The smallest chunk: a header and a short key and value.</summary>
    private const int SmallestChunkBytes = 64;

    /// <summary>Most classes: the header's class field is one byte.</summary>
    private const int MaxClasses = 200;

    /// <summary>Chunks the tail looks at per attempt before giving up (memcached's <c>search = 5</c>).</summary>
    private const int TailSearchItems = 5;

    /// <summary>Attempts an allocation makes at the tail (memcached's <c>do_item_alloc_pull</c> loop of 10).</summary>
    private const int AllocAttempts = 10;

    private SlabClass[] _classes = [];
    private SpinLocks _classLocks = null!;
    private int _pagesUsed;

    /// <summary>One slab class. Every field is guarded by the class's lock.</summary>
    private sealed class SlabClass
    {
        public int ChunkBytes;
        public uint FreeHead;
        public long FreeChunks;
        public long CarveNext;
        public long CarveEnd;
        public uint LruHead;
        public uint LruTail;
        public long LruItems;
        public int Pages;
        public long UsedChunks;
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
            _classes[i] = new SlabClass { ChunkBytes = sizes[i] };
        }
        _classLocks = new SpinLocks(sizes.Count);
    }

    /// <summary>Slab classes.</summary>
    public int ClassCount => _classes.Length;

    /// <summary>Pages taken by classes so far.</summary>
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

    /// <summary>
    /// A chunk of class <paramref name="cls"/> with one reference (the caller's), or 0 when memory is
    /// full and the tail had nothing it could take. Free chunks first, then an uncarved or new page,
    /// then the tail (expired items first, else evictions). <paramref name="heldStripe"/> is the stripe
    /// the caller holds (-1: none), which the tail may then use without trying it.
    /// </summary>
    private uint AllocChunk(int cls, int heldStripe, uint now)
    {
        SlabClass c = _classes[cls];
        uint handle = 0;
        _classLocks.Enter(cls);
        try
        {
            if (c.FreeHead != 0)
            {
                handle = c.FreeHead;
                c.FreeHead = Ptr(handle)->LruPrev;
                c.FreeChunks--;
            }
            else if (c.CarveNext + c.ChunkBytes <= c.CarveEnd || TryTakePage(c))
            {
                handle = HandleOf(c.CarveNext);
                c.CarveNext += c.ChunkBytes;
            }
            else
            {
                for (int attempt = 0; attempt < AllocAttempts && handle == 0; attempt++)
                {
                    handle = PullTailLocked(cls, heldStripe, now, out bool progress);
                    if (!progress)
                    {
                        break;
                    }
                }
            }
            if (handle != 0)
            {
                c.UsedChunks++;
            }
        }
        finally
        {
            _classLocks.Exit(cls);
        }
        if (handle != 0)
        {
            ItemHeader* item = Ptr(handle);
            *item = default;
            item->RefCount = 1;
            item->SlabClass = (byte)cls;
        }
        return handle;
    }

    /// <summary>Gives the class a fresh page to carve (class lock held), if the arena has one left.</summary>
    private bool TryTakePage(SlabClass c)
    {
        int page = Interlocked.Increment(ref _pagesUsed) - 1;
        if (page >= PageCount)
        {
            Interlocked.Decrement(ref _pagesUsed);
            return false;
        }
        long start = (long)page * PageBytes;
        c.CarveNext = start;
        c.CarveEnd = start + (PageBytes / c.ChunkBytes) * (long)c.ChunkBytes;
        c.Pages++;
        return true;
    }

    /// <summary>Returns a chunk whose last reference went to its class's free list.</summary>
    private void FreeChunk(uint handle)
    {
        ItemHeader* item = Ptr(handle);
        int cls = item->SlabClass;
        SlabClass c = _classes[cls];
        _classLocks.Enter(cls);
        item->LruPrev = c.FreeHead;
        c.FreeHead = handle;
        c.FreeChunks++;
        c.UsedChunks--;
        _classLocks.Exit(cls);
    }

    /// <summary>Allocates a chunk for an item of this size, or 0 (too large for any class, or memory full).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint AllocItem(int keyLength, long valueLength, int heldStripe, uint now)
    {
        int cls = ClassFor(ItemSize.Footprint(keyLength, valueLength));
        return cls < 0 ? 0 : AllocChunk(cls, heldStripe, now);
    }

    /// <summary>One line per slab class for <c>stats slabs</c>: chunk size, pages, used and free chunks.</summary>
    public (int ChunkBytes, int Pages, long UsedChunks, long FreeChunks, long Items) SlabClassInfo(int cls)
    {
        SlabClass c = _classes[cls];
        _classLocks.Enter(cls);
        var info = (c.ChunkBytes, c.Pages, c.UsedChunks, c.FreeChunks + (c.CarveEnd - c.CarveNext) / c.ChunkBytes, c.LruItems);
        _classLocks.Exit(cls);
        return info;
    }
}
