// The layout of one item in slab memory: a 48-byte header, then the key, then the value and its CRLF.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NetStack.Apps.Kv.Store;

/// <summary>Item state bits (<see cref="ItemHeader.Bits"/>), after memcached's <c>ITEM_*</c> flags.</summary>
[Flags]
internal enum ItemBits : ushort
{
    None = 0,

    /// <summary>In the hash index and its class's LRU.</summary>
    Linked = 1,

    /// <summary>Fetched at least once (memcached's ITEM_FETCHED; mg's <c>h</c> flag).</summary>
    Fetched = 8,

    /// <summary>Fetched again since it was last moved in the LRU: the tail gives it a second chance
    /// instead of evicting it (memcached's ITEM_ACTIVE).</summary>
    Active = 16,

    /// <summary>A client was told it won the right to recache it (mg's W flag).</summary>
    TokenSent = 512,

    /// <summary>Marked stale by <c>md I</c> or a stale <c>ms I</c> (mg's X flag).</summary>
    Stale = 2048,

    /// <summary>Its key arrived base64-encoded (meta <c>b</c>), so meta replies encode it again.</summary>
    KeyBinary = 4096,
}

/// <summary>
/// The header in front of every item. Fields are guarded as memcached guards them: the hash link and
/// everything a command reads or changes by the item's stripe lock, the LRU links by its slab
/// class's lock, the reference count by atomics alone (readers copy a value with no lock held,
/// pinned by a reference). A layout test holds the offsets.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct ItemHeader
{
    /// <summary>Header bytes; the key starts here.</summary>
    public const int Size = 48;

    /// <summary>Next item in the hash chain (a handle; 0 ends it). Stripe lock.</summary>
    [FieldOffset(0)] public uint HashNext;

    /// <summary>Towards the LRU head (more recent). Class lock. Also the free-list link of a free chunk.</summary>
    [FieldOffset(4)] public uint LruPrev;

    /// <summary>Towards the LRU tail (older). Class lock.</summary>
    [FieldOffset(8)] public uint LruNext;

    /// <summary>References: 1 for the index while linked, 1 per reader or writer holding it. Atomic.</summary>
    [FieldOffset(12)] public int RefCount;

    /// <summary>The CAS unique, set when linked.</summary>
    [FieldOffset(16)] public ulong Cas;

    /// <summary>Last access (link or bump), relative seconds.</summary>
    [FieldOffset(24)] public uint Time;

    /// <summary>Expiry, relative seconds; 0 never.</summary>
    [FieldOffset(28)] public uint ExpTime;

    /// <summary>The client's 32-bit flags.</summary>
    [FieldOffset(32)] public uint ClientFlags;

    /// <summary>Value bytes, not counting the CRLF stored after them.</summary>
    [FieldOffset(36)] public int ValueLength;

    /// <summary><see cref="ItemBits"/>.</summary>
    [FieldOffset(40)] public ItemBits Bits;

    /// <summary>Slab class of the chunk.</summary>
    [FieldOffset(42)] public byte SlabClass;

    /// <summary>Key bytes, 1 to 250.</summary>
    [FieldOffset(43)] public byte KeyLength;

    /// <summary>The key's hash, kept so a chain walk compares hashes first and eviction finds the
    /// stripe without hashing again.</summary>
    [FieldOffset(44)] public uint Hash;

    /// <summary>The key, in slab memory right after the header.</summary>
    public static unsafe Span<byte> Key(ItemHeader* item) => new((byte*)item + Size, item->KeyLength);

    /// <summary>The value without its CRLF.</summary>
    public static unsafe Span<byte> Value(ItemHeader* item) => new((byte*)item + Size + item->KeyLength, item->ValueLength);

    /// <summary>The value followed by the CRLF the text protocol sends after it.</summary>
    public static unsafe Span<byte> ValueWithCrlf(ItemHeader* item) => new((byte*)item + Size + item->KeyLength, item->ValueLength + 2);
}

/// <summary>Item sizes: the bytes an item takes here, and the bytes memcached would count for it.</summary>
internal static class ItemSize
{
    /// <summary>memcached's <c>sizeof(item)</c> on a 64-bit build.</summary>
    public const int MemcachedHeader = 48;

    /// <summary>Bytes of slab memory an item of this key and value takes before rounding to its chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Footprint(int keyLength, long valueLength) => ItemHeader.Size + keyLength + valueLength + 2;

    /// <summary>
    /// memcached's <c>ITEM_ntotal</c> with CAS on: header, 8 bytes of CAS, key and its NUL, 4 bytes of
    /// client flags when they are not 0, the value and its CRLF. The <c>-I</c> limit is checked
    /// against this, so that the largest value kv takes is the largest memcached takes, byte for byte.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long MemcachedTotal(int keyLength, uint clientFlags, long valueLength) =>
        MemcachedHeader + 8 + keyLength + 1 + (clientFlags == 0 ? 0 : 4) + valueLength + 2;
}
