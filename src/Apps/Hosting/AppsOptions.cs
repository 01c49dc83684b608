// Configuration of the apps serve runs side by side: which ones, their ports, their cores (registered by BuiltInApps).
using NetStack.Apps.Kv;

namespace NetStack.Apps.Hosting;

/// <summary>Section "Apps": what the host registers with the IOKernel.</summary>
internal sealed class AppsOptions
{
    /// <summary>The app names <see cref="Run"/> accepts.</summary>
    public static readonly string[] Names = ["spin", "kv", "batch"];

    /// <summary>The apps to run, comma-separated (<c>--apps spin,batch</c>).</summary>
    public string Run { get; set; } = "spin,batch";

    /// <summary>The spin app.</summary>
    public SpinAppOptions Spin { get; set; } = new();

    /// <summary>The memcached-compatible cache.</summary>
    public KvAppOptions Kv { get; set; } = new();

    /// <summary>The batch app.</summary>
    public BatchAppOptions Batch { get; set; } = new();

    /// <summary>The apps named in <see cref="Run"/>, checked.</summary>
    public IReadOnlyList<string> RunList()
    {
        string[] names = Run.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string name in names)
        {
            if (!Names.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                throw new ConfigurationException($"unknown app '{name}' in --apps; valid: {string.Join(", ", Names)}");
            }
        }
        var list = names.Select(n => n.ToLowerInvariant()).Distinct().ToList();
        if (!Batch.Enabled)
        {
            list.Remove("batch");
        }
        if (!list.Any(n => n != "batch"))
        {
            throw new ConfigurationException($"--apps '{Run}' names no latency-critical app; valid: {string.Join(", ", Names.Where(n => n != "batch"))}, with or without batch");
        }
        return list;
    }
}

/// <summary>The spin app: where it listens and its cores.</summary>
internal sealed class SpinAppOptions
{
    /// <summary>Its port, on UDP and on TCP (<c>--port</c>); 0: any free port (tests).</summary>
    public int Port { get; set; } = 9000;

    /// <summary>The address it listens on (<c>--address</c>): IPv4 or IPv6, loopback unless configured.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Serve it on UDP.</summary>
    public bool Udp { get; set; } = true;

    /// <summary>Serve it on TCP (frames back to back).</summary>
    public bool Tcp { get; set; } = true;

    /// <summary>Cores it may hold (default: every worker core).</summary>
    public int? MaxCores { get; set; }

    /// <summary>Cores it gets whenever it has work (default: 0; under static allocation, the cores batch does not hold).</summary>
    public int? GuaranteedCores { get; set; }

    /// <summary>Cores it keeps spinning while idle.</summary>
    public int SpinningCores { get; set; }

    /// <summary>Checks the port and address; throws naming what is wrong.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ConfigurationException($"port {Port} is out of range; valid: 0 (any free port) to 65535");
        }
        if (!System.Net.IPAddress.TryParse(Address, out _))
        {
            throw new ConfigurationException($"address '{Address}' is not an IP address; valid: an IPv4 or IPv6 address such as 127.0.0.1 or ::1");
        }
        if (!Udp && !Tcp)
        {
            throw new ConfigurationException("the spin app is served on neither UDP nor TCP; set Apps:Spin:Udp or Apps:Spin:Tcp");
        }
    }
}

/// <summary>kv, the memcached-compatible cache (docs/kv.md): where it listens, its store, its cores.</summary>
internal sealed class KvAppOptions
{
    /// <summary>Its TCP port (<c>--kv-port</c>), memcached's.</summary>
    public int Port { get; set; } = 11211;

    /// <summary>Its UDP port (<c>--kv-udp-port</c>); 0: no UDP, as memcached since 1.5.6.</summary>
    public int UdpPort { get; set; }

    /// <summary>The address it listens on.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>Item memory, overhead included (<c>--kv-memory-mb</c>; memcached's -m).</summary>
    public int MemoryMegabytes { get; set; } = 64;

    /// <summary>The largest item, overhead included (<c>--kv-max-item-bytes</c>; memcached's -I).</summary>
    public int MaxItemBytes { get; set; } = 1 << 20;

    /// <summary>Keys at which a retrieval counts as a multiget (the long request type).</summary>
    public int MultigetKeys { get; set; } = 8;

    /// <summary>Keys a multiget serves between checkpoints.</summary>
    public int KeysPerStep { get; set; } = 4;

    /// <summary>The largest reply (a multiget of many large items): far above one item, as memcached streams them.</summary>
    public int MaxReplyBytes { get; set; } = 64 << 20;

    /// <summary>Cores it may hold (default: every worker core).</summary>
    public int? MaxCores { get; set; }

    /// <summary>Cores it gets whenever it has work.</summary>
    public int? GuaranteedCores { get; set; }

    /// <summary>Cores it keeps spinning while idle.</summary>
    public int SpinningCores { get; set; }

    /// <summary>The store's options.</summary>
    public KvOptions Store() => new()
    {
        MemoryLimitMegabytes = MemoryMegabytes,
        ItemSizeMaxBytes = MaxItemBytes,
        MultigetKeys = MultigetKeys,
        KeysPerStep = KeysPerStep,
    };

    /// <summary>Checks the values; throws naming what is wrong.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535 || UdpPort is < 0 or > 65535)
        {
            throw new ConfigurationException($"kv port {Port} / UDP port {UdpPort} is out of range; valid: 0 to 65535 (UDP 0: off)");
        }
        if (!System.Net.IPAddress.TryParse(Address, out _))
        {
            throw new ConfigurationException($"kv address '{Address}' is not an IP address; valid: an IPv4 or IPv6 address such as 127.0.0.1 or ::1");
        }
        try
        {
            Store().Validate();
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException($"kv: {e.Message}");
        }
    }
}

/// <summary>The batch app (a SHA-256 hash chain: CPU-bound work in ~1 µs units).</summary>
internal sealed class BatchAppOptions
{
    /// <summary>Run it beside the latency-critical apps when <c>--apps</c> names it (<c>--batch false</c> drops it).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Cores it may hold (default: every worker core; under static allocation, 0 unless set).</summary>
    public int? MaxCores { get; set; }
}
