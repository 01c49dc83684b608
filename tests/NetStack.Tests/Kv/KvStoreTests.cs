// The store on its own: expiry on a clock moved by hand, flush_all, CAS uniques, memory bound, eviction, second chances, layout.
using System.Runtime.InteropServices;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using Xunit;

namespace NetStack.Tests.Kv;

public class KvStoreTests
{
    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    private static StoreResult Set(KvStore store, string key, string value, uint exptime = 0, StoreMode mode = StoreMode.Set, ulong cas = 0, uint flags = 0)
    {
        Assert.Equal(AllocStatus.Ok, store.TryAllocate(Latin1(key), flags, exptime, value.Length, keyBinary: false, out KvAllocation allocation));
        Latin1(value).CopyTo(allocation.Value);
        return store.Commit(ref allocation, mode, cas, setStale: false, out _);
    }

    private static string? Get(KvStore store, string key)
    {
        if (!store.TryGet(Latin1(key), bump: true, out KvItem item))
        {
            return null;
        }
        try
        {
            return Encoding.Latin1.GetString(item.Value);
        }
        finally
        {
            store.Release(item);
        }
    }

    private static ulong CasOf(KvStore store, string key)
    {
        Assert.True(store.TryGet(Latin1(key), bump: false, out KvItem item));
        store.Release(item);
        return item.Cas;
    }

    [Fact]
    public void AnItemExpiresAtItsExptimeAndTheMissIsCounted()
    {
        var clock = new ManualKvClock();
        using var store = new KvStore(new KvOptions(), clock);
        Set(store, "a", "x", exptime: clock.RealTime(10));

        clock.Advance(9);
        Assert.Equal("x", Get(store, "a"));
        clock.Advance(1);
        Assert.Null(Get(store, "a"));

        Assert.Equal(1, store.Counters.Read(KvCounter.GetExpired));
        Assert.Equal(0, store.Counters.Read(KvCounter.CurrItems));
    }

    [Fact]
    public void ExptimesOver30DaysAreUnixTimesAndNegativeOnesExpireAtOnce()
    {
        const long started = 1_700_000_000;
        var clock = new ManualKvClock(started);
        using var store = new KvStore(new KvOptions(), clock);
        Set(store, "abs", "x", exptime: clock.RealTime((int)(started + KvClock.StartSeconds + 100)));
        Set(store, "past", "x", exptime: clock.RealTime((int)(started - 5)));
        Set(store, "negative", "x", exptime: clock.RealTime(-1));
        Set(store, "thirty-days", "x", exptime: clock.RealTime(KvClock.MaxRelativeExptime));

        Assert.Null(Get(store, "past"));
        Assert.Null(Get(store, "negative"));
        clock.Advance(99);
        Assert.Equal("x", Get(store, "abs"));
        clock.Advance(1);
        Assert.Null(Get(store, "abs"));
        clock.Advance(KvClock.MaxRelativeExptime - 101);
        Assert.Equal("x", Get(store, "thirty-days"));
        clock.Advance(1);
        Assert.Null(Get(store, "thirty-days"));
    }

    [Fact]
    public void FlushAllInvalidatesWhatWasSetBeforeItsMomentAndNotWhatComesAfter()
    {
        var clock = new ManualKvClock();
        using var store = new KvStore(new KvOptions(), clock);
        Set(store, "before", "x");
        store.Flush(0);
        Set(store, "after", "y");
        Assert.Null(Get(store, "before"));
        Assert.Equal("y", Get(store, "after"));
        Assert.Equal(1, store.Counters.Read(KvCounter.GetFlushed));

        // flush_all 10: memcached's horizon is 10 s - 1 away; items last touched by then go.
        clock.Advance(5);
        Set(store, "delayed", "z");
        store.Flush(10);
        clock.Advance(8);
        Assert.Equal("z", Get(store, "delayed"));
        clock.Advance(1);
        Assert.Null(Get(store, "delayed"));
        clock.Advance(1);
        Set(store, "later", "w");
        Assert.Equal("w", Get(store, "later"));
    }

    [Fact]
    public void CasUniquesIncreaseWithEveryStore()
    {
        using var store = new KvStore(new KvOptions());
        ulong last = 0;
        for (int i = 0; i < 100; i++)
        {
            Set(store, $"k{i % 7}", i.ToString());
            ulong cas = CasOf(store, $"k{i % 7}");
            Assert.True(cas > last, $"cas {cas} after {last}");
            last = cas;
        }
        ulong before = CasOf(store, "k0");
        Assert.Equal(StoreResult.Exists, Set(store, "k0", "x", mode: StoreMode.Cas, cas: before + 1000));
        Assert.Equal(StoreResult.Stored, Set(store, "k0", "x", mode: StoreMode.Cas, cas: before));
        Assert.Equal(StoreResult.NotFound, Set(store, "nope", "x", mode: StoreMode.Cas, cas: 1));
        Assert.Equal(DeleteResult.Exists, store.Delete(Latin1("k0"), before));
        Assert.Equal(DeleteResult.Deleted, store.Delete(Latin1("k0"), CasOf(store, "k0")));
    }

    [Fact]
    public void TheItemLimitCountsAnItemAsMemcachedDoes()
    {
        using var store = new KvStore(new KvOptions());
        // 48-byte header, 8 of CAS, key and NUL, 4 of flags when not 0, the value and CRLF.
        Assert.False(store.IsTooLarge(1, 0, (1 << 20) - 60));
        Assert.True(store.IsTooLarge(1, 0, (1 << 20) - 59));
        Assert.True(store.IsTooLarge(1, 1, (1 << 20) - 63));
        Assert.False(store.IsTooLarge(1, 1, (1 << 20) - 64));
        Assert.Equal(AllocStatus.TooLarge, store.TryAllocate("k"u8, 0, 0, (1 << 20) - 59, false, out _));
        Assert.Equal(AllocStatus.Ok, store.TryAllocate("k"u8, 0, 0, (1 << 20) - 60, false, out KvAllocation a));
        store.Abandon(ref a);
    }

    [Fact]
    public void AppendAndPrependKeepTheOldFlagsAndExpiryAndRefuseToGrowPastTheLimit()
    {
        var clock = new ManualKvClock();
        using var store = new KvStore(new KvOptions(), clock);
        Set(store, "a", "mid", exptime: clock.RealTime(50), flags: 9);
        Assert.Equal(StoreResult.Stored, Set(store, "a", ">", mode: StoreMode.Append, flags: 1));
        Assert.Equal(StoreResult.Stored, Set(store, "a", "<", mode: StoreMode.Prepend, flags: 2));
        Assert.True(store.TryGet("a"u8, false, out KvItem item));
        store.Release(item);
        Assert.Equal(9u, item.ClientFlags);
        Assert.Equal(clock.RealTime(50), item.ExpTime);
        Assert.Equal("<mid>", Get(store, "a"));
        Assert.Equal(StoreResult.NotStored, Set(store, "missing", "x", mode: StoreMode.Append));

        Set(store, "big", new string('b', (1 << 20) - 63));
        Assert.Equal(StoreResult.NotStored, Set(store, "big", "cc", mode: StoreMode.Append));
        Assert.Equal(StoreResult.Stored, Set(store, "big", "c", mode: StoreMode.Append));
    }

    [Fact]
    public void IncrWrapsAt2To64DecrStopsAtZeroAndANonNumberIsRefused()
    {
        using var store = new KvStore(new KvOptions());
        Set(store, "n", "18446744073709551615");
        Assert.Equal(ArithResult.Ok, store.Arith("n"u8, new ArithRequest { Incr = true, Delta = 2 }, out ArithOutcome o));
        Assert.Equal(1UL, o.Value);
        // Rewritten in place, padded with spaces as memcached pads it.
        Assert.Equal("1" + new string(' ', 19), Get(store, "n"));
        Assert.Equal(ArithResult.Ok, store.Arith("n"u8, new ArithRequest { Incr = false, Delta = 5 }, out o));
        Assert.Equal(0UL, o.Value);
        Set(store, "s", "12ab");
        Assert.Equal(ArithResult.NonNumeric, store.Arith("s"u8, new ArithRequest { Incr = true, Delta = 1 }, out _));
        Assert.Equal(ArithResult.NotFound, store.Arith("none"u8, new ArithRequest { Incr = true, Delta = 1 }, out _));
        Set(store, "nine", "9");
        Assert.Equal(ArithResult.Ok, store.Arith("nine"u8, new ArithRequest { Incr = true, Delta = 1 }, out o));
        Assert.Equal("10", Get(store, "nine"));
    }

    [Fact]
    public void AFullStoreEvictsFromTheTailAndNeverOutgrowsItsMemory()
    {
        var options = new KvOptions { MemoryLimitMegabytes = 2, ItemSizeMaxBytes = 1 << 20 };
        using var store = new KvStore(options);
        string value = new('v', 1000);
        for (int i = 0; i < 5000; i++)
        {
            Assert.Equal(StoreResult.Stored, Set(store, $"key{i}", value));
        }

        Assert.True(store.Counters.Read(KvCounter.Evictions) > 0);
        Assert.True(store.PagesUsed <= store.PageCount);
        Assert.True((long)store.PageCount * store.PageBytes <= options.MemoryLimitBytes);
        long items = store.Counters.Read(KvCounter.CurrItems);
        Assert.True(items * 1000 < options.MemoryLimitBytes, $"{items} items of 1000 bytes in {options.MemoryLimitBytes} bytes");
        Assert.True(store.Counters.Read(KvCounter.CurrBytes) <= options.MemoryLimitBytes);
        Assert.Null(Get(store, "key0"));
        Assert.Equal(value, Get(store, "key4999"));
        Assert.Equal(5000 - items, store.Counters.Read(KvCounter.Evictions));
        Assert.Null(store.FindInconsistency());
    }

    [Fact]
    public void AnItemReadAgainSinceItReachedTheHeadGetsASecondChanceAtTheTail()
    {
        using var store = new KvStore(new KvOptions { MemoryLimitMegabytes = 2 });
        string value = new('v', 1000);
        Set(store, "hot", value);
        Set(store, "cold", value);
        Get(store, "hot");
        for (int i = 0; i < 20_000; i++)
        {
            Set(store, $"filler{i}", value);
            if (i % 200 == 0)
            {
                Assert.Equal(value, Get(store, "hot"));
            }
        }
        Assert.Null(Get(store, "cold"));
        Assert.Equal(value, Get(store, "hot"));
        Assert.True(store.Counters.Read(KvCounter.EvictedActive) > 0);
        Assert.Null(store.FindInconsistency());
    }

    [Fact]
    public void ExpiredItemsAreReclaimedAtTheTailBeforeLiveOnesAreEvicted()
    {
        var clock = new ManualKvClock();
        using var store = new KvStore(new KvOptions { MemoryLimitMegabytes = 2 }, clock);
        string value = new('v', 1000);
        int i = 0;
        while (store.Counters.Read(KvCounter.Evictions) == 0)
        {
            Set(store, $"short{i++}", value, exptime: clock.RealTime(5));
        }
        long evictions = store.Counters.Read(KvCounter.Evictions);
        clock.Advance(10);
        for (int j = 0; j < i / 2; j++)
        {
            Set(store, $"new{j}", value);
        }
        Assert.True(store.Counters.Read(KvCounter.Reclaimed) >= i / 4);
        Assert.Equal(evictions, store.Counters.Read(KvCounter.Evictions));
        Assert.Null(store.FindInconsistency());
    }

    [Fact]
    public void AClassThatHoldsNoPageTakesOneFromTheClassWithTheMostWhenMemoryIsFull()
    {
        using var store = new KvStore(new KvOptions { MemoryLimitMegabytes = 2 });
        for (int i = 0; i < 3000; i++)
        {
            Set(store, $"k{i}", new string('v', 1000));
        }
        Assert.Equal(store.PageCount, store.PagesUsed);
        long evictions = store.Counters.Read(KvCounter.Evictions);

        Assert.Equal(StoreResult.Stored, Set(store, "small", "tiny"));
        Assert.Equal("tiny", Get(store, "small"));
        // The page went with the items on it, the big class's oldest among them.
        Assert.True(store.Counters.Read(KvCounter.Evictions) > evictions);
        Assert.Null(Get(store, "k0"));
        Assert.True(store.PagesUsed <= store.PageCount);
        Assert.Equal(StoreResult.Stored, Set(store, "k-after", new string('v', 1000)));
        Assert.Null(store.FindInconsistency());
    }

    [Fact]
    public void AnEmptiedPageGoesBackToThePoolForAnyClass()
    {
        using var store = new KvStore(new KvOptions { MemoryLimitMegabytes = 2 });
        for (int i = 0; i < 100; i++)
        {
            Set(store, $"k{i}", new string('v', 1000));
        }
        Assert.Equal(1, store.PagesUsed);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(DeleteResult.Deleted, store.Delete(Latin1($"k{i}"), 0));
        }
        Assert.Equal(0, store.PagesUsed);
        Assert.Equal(0, store.Counters.Read(KvCounter.CurrItems));
        Assert.Equal(0, store.Counters.Read(KvCounter.CurrBytes));
        Assert.Null(store.FindInconsistency());
    }

    [Fact]
    public void ItemHeaderFieldsSitAtTheirDocumentedOffsets()
    {
        Assert.Equal(48, Marshal.SizeOf<ItemHeader>());
        Assert.Equal(ItemHeader.Size, Marshal.SizeOf<ItemHeader>());
        Assert.Equal(0, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.HashNext)));
        Assert.Equal(4, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.LruPrev)));
        Assert.Equal(8, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.LruNext)));
        Assert.Equal(12, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.RefCount)));
        Assert.Equal(16, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.Cas)));
        Assert.Equal(24, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.Time)));
        Assert.Equal(28, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.ExpTime)));
        Assert.Equal(32, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.ClientFlags)));
        Assert.Equal(36, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.ValueLength)));
        Assert.Equal(40, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.Bits)));
        Assert.Equal(42, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.SlabClass)));
        Assert.Equal(43, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.KeyLength)));
        Assert.Equal(44, (int)Marshal.OffsetOf<ItemHeader>(nameof(ItemHeader.Hash)));
    }

    [Fact]
    public void OptionsOutOfRangeAreRefusedWithTheirName()
    {
        Assert.Contains("ItemSizeMaxBytes", Assert.Throws<ArgumentException>(() => new KvStore(new KvOptions { MemoryLimitMegabytes = 1, ItemSizeMaxBytes = 1 << 20 })).Message);
        Assert.Contains("KeysPerStep", Assert.Throws<ArgumentException>(() => new KvOptions { KeysPerStep = 0 }.Validate()).Message);
        using var store = new KvStore(new KvOptions());
        Assert.Throws<ArgumentException>(() => store.TryGet(new byte[251], true, out _));
    }
}
