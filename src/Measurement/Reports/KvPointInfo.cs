// What a kv point adds to its report row: the key space loaded, the protocol, and hits, misses and errors per operation.
namespace NetStack.Measurement.Reports;

/// <summary>A point of the kv verb (memcached-compatible servers): written as <c>kv</c> in report.json.</summary>
public sealed class KvPointInfo
{
    /// <summary>text or binary.</summary>
    public string Protocol { get; set; } = "";
    /// <summary>Keys the verb stored in this target before its first point.</summary>
    public long KeysLoaded { get; set; }
    /// <summary>Key and value bytes of those keys.</summary>
    public long BytesLoaded { get; set; }
    /// <summary>Seconds the loading took.</summary>
    public double LoadSeconds { get; set; }
    /// <summary>Loading SETs the target answered with an error (not stored).</summary>
    public long LoadErrors { get; set; }
    /// <summary>Replies that did not parse as the reply their request expects (counted failed too); the connection was dropped.</summary>
    public long ProtocolErrors { get; set; }
    /// <summary>Connections the server closed, or that failed, during the point.</summary>
    public long Disconnects { get; set; }
    /// <summary>Connections opened again after a protocol error or a disconnect.</summary>
    public long Reconnects { get; set; }
    /// <summary>Per operation (get, set, multiget), over the whole point, warm-up included.</summary>
    public List<KvOperationCounts> Operations { get; set; } = [];
}

/// <summary>One operation's answers; a multiget counts its keys as hits and misses.</summary>
public sealed class KvOperationCounts
{
    /// <summary>get, set or multiget.</summary>
    public string Name { get; set; } = "";
    /// <summary>Answered with the expected reply (a miss is an ok answer).</summary>
    public long Ok { get; set; }
    /// <summary>Answered with an error reply, or with a reply that did not parse.</summary>
    public long Failed { get; set; }
    /// <summary>Refused as overloaded (kv under NetStack: SERVER_ERROR busy, binary status 0x85).</summary>
    public long Rejected { get; set; }
    /// <summary>Keys found (get and multiget).</summary>
    public long Hits { get; set; }
    /// <summary>Keys not found.</summary>
    public long Misses { get; set; }
}
