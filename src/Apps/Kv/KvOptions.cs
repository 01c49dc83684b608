// The kv app's tunables: memcached's start-up options and NetStack's step sizes, in one place.
namespace NetStack.Apps.Kv;

/// <summary>
/// Section "Apps:Kv". Every limit that a client can observe is memcached's, under memcached's name,
/// so that kv and a memcached started with the same flags answer the same bytes.
/// </summary>
internal sealed class KvOptions
{
    /// <summary>memcached's <c>-m</c>: item memory in MiB, headers included (the hash index is apart,
    /// as in memcached). Default 64, memcached's default.</summary>
    public int MemoryLimitMegabytes { get; set; } = 64;

    /// <summary>memcached's <c>-I</c>: the largest item in bytes, counted as memcached counts it
    /// (header, key, flags, value and its CRLF; see <see cref="Store.ItemSize.MemcachedTotal"/>).
    /// 1 MiB, memcached's default; at least 1 KiB and at most half of the memory limit, as memcached requires.</summary>
    public int ItemSizeMaxBytes { get; set; } = 1 << 20;

    /// <summary>memcached's <c>-f</c>: the chunk-size ratio between neighbouring slab classes.
    /// 1.25, memcached's default.</summary>
    public double GrowthFactor { get; set; } = 1.25;

    /// <summary>Hash buckets as a power of two; 0: sized from the memory limit (one bucket per
    /// 256 bytes of item memory, at least 2^12), since kv does not grow its table as memcached does.</summary>
    public int HashPower { get; set; }

    /// <summary>Keys at or above which a retrieval (a text <c>get</c> line, or a run of binary
    /// quiet gets) is the long request type <c>multiget</c> rather than <c>get</c>.
    /// 8: Facebook's fan-out reads fetch tens to hundreds of keys; a handful is still a short read.</summary>
    public int MultigetKeys { get; set; } = 8;

    /// <summary>Keys (or pipelined commands of a datagram) one engine step handles before it
    /// returns <see cref="KvStatus.Continue"/>, so that a long request reaches a checkpoint about
    /// every quantum: a hit costs ~1 µs, so 4 keys fit the 5 µs default quantum.</summary>
    public int KeysPerStep { get; set; } = 4;

    /// <summary>Longest run of binary GETQ/GETKQ requests framed as one request (the framer cuts
    /// a longer run into pieces of this many), so a frame stays well under the request bound.</summary>
    public int MaxQuietGetRun { get; set; } = 1024;

    /// <summary>memcached's <c>-t</c> as reported by <c>stats threads</c>: the worker threads the host runs.</summary>
    public int Threads { get; set; } = 4;

    /// <summary>memcached's <c>-F</c> inverted: whether <c>flush_all</c> is allowed.</summary>
    public bool FlushEnabled { get; set; } = true;

    /// <summary>memcached's <c>-c</c> as reported by <c>stats max_connections</c>.</summary>
    public int MaxConnections { get; set; } = 1024;

    /// <summary>The version string <c>version</c> answers: memcached's release whose behaviour kv
    /// follows, tagged, so clients that test the version for meta-command support see 1.6.</summary>
    public string Version { get; set; } = "1.6.18-kv";

    /// <summary>Item memory in bytes.</summary>
    public long MemoryLimitBytes => (long)MemoryLimitMegabytes << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (MemoryLimitMegabytes < 1)
        {
            throw new ArgumentException($"Apps:Kv:MemoryLimitMegabytes must be at least 1 (got {MemoryLimitMegabytes}).");
        }
        if (ItemSizeMaxBytes < 1024 || ItemSizeMaxBytes > 1 << 30)
        {
            throw new ArgumentException($"Apps:Kv:ItemSizeMaxBytes must be between 1024 and 2^30, as memcached's -I (got {ItemSizeMaxBytes}).");
        }
        if (ItemSizeMaxBytes > MemoryLimitBytes / 2)
        {
            throw new ArgumentException($"Apps:Kv:ItemSizeMaxBytes ({ItemSizeMaxBytes}) cannot exceed half of the memory limit ({MemoryLimitBytes} bytes), as memcached requires.");
        }
        if (GrowthFactor <= 1.0 || double.IsNaN(GrowthFactor))
        {
            throw new ArgumentException($"Apps:Kv:GrowthFactor must be above 1 (got {GrowthFactor}).");
        }
        if (HashPower != 0 && (HashPower < 4 || HashPower > 30))
        {
            throw new ArgumentException($"Apps:Kv:HashPower must be 0 (automatic) or 4..30 (got {HashPower}).");
        }
        if (MultigetKeys < 2)
        {
            throw new ArgumentException($"Apps:Kv:MultigetKeys must be at least 2 (got {MultigetKeys}).");
        }
        if (KeysPerStep < 1)
        {
            throw new ArgumentException($"Apps:Kv:KeysPerStep must be at least 1 (got {KeysPerStep}).");
        }
        if (MaxQuietGetRun < 1)
        {
            throw new ArgumentException($"Apps:Kv:MaxQuietGetRun must be at least 1 (got {MaxQuietGetRun}).");
        }
        if (Threads < 1)
        {
            throw new ArgumentException($"Apps:Kv:Threads must be at least 1 (got {Threads}).");
        }
    }
}
