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
    /// <summary>The server's own latency per request type over the point (kv's <c>stats latency</c>);
    /// null when the target keeps none (<see cref="ServerLatencyNote"/> says why).</summary>
    public List<KvServerLatencyReport>? ServerLatency { get; set; }
    /// <summary>Why <see cref="ServerLatency"/> is missing (a target that is not kv), or null.</summary>
    public string? ServerLatencyNote { get; set; }
    /// <summary>The measured GETs split by whether a long request was ahead of them on their own
    /// connection (TCP only; null over UDP, where replies are not ordered).</summary>
    public KvHeadOfLineReport? HeadOfLine { get; set; }
}

/// <summary>
/// GETs over TCP split by the protocol's ordering: memcached answers a connection's requests in
/// order, so a GET sent while a long request sent earlier on the same connection is still
/// unanswered waits for that request's whole reply, whatever the server's scheduling. Its share
/// is about f·λ·W/N (long fraction f, rate λ, the long request's time in the server W, N
/// connections); once it passes 1 %, the GET p99 is that wait, for any server.
/// </summary>
public sealed class KvHeadOfLineReport
{
    /// <summary>GETs measured (the point's window).</summary>
    public long Gets { get; set; }
    /// <summary>Of them, sent behind an unanswered long request on their connection.</summary>
    public long Behind { get; set; }
    /// <summary><see cref="Behind"/> over <see cref="Gets"/>.</summary>
    public double BehindFraction { get; set; }
    /// <summary>Latency of the GETs with no long request ahead, µs.</summary>
    public Summary ClearLatencyUs { get; set; } = new();
    /// <summary>Latency of the GETs behind one, µs.</summary>
    public Summary BehindLatencyUs { get; set; } = new();
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

/// <summary>
/// The server's own latency of one request type over a point, as kv counts it (<c>stats latency</c>:
/// from the request's arrival at the IOKernel to its handler's end), read at the point's warm-up end
/// and after it, so over the client's measured window (requests the server finished in it).
/// Quantiles are read from buckets a quarter of a power of two wide, interpolated.
/// </summary>
public sealed class KvServerLatencyReport
{
    /// <summary>The request type as kv names it (get, multiget, set, delete, arith, other).</summary>
    public string Name { get; set; } = "";
    /// <summary>Requests of this type the server finished during the point.</summary>
    public long Count { get; set; }
    /// <summary>Median, µs.</summary>
    public double P50Us { get; set; }
    /// <summary>90th percentile, µs.</summary>
    public double P90Us { get; set; }
    /// <summary>99th percentile, µs.</summary>
    public double P99Us { get; set; }
    /// <summary>99.9th percentile, µs.</summary>
    public double P999Us { get; set; }
}
