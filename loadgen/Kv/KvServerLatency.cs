// The server's share of a kv point's latency: kv's `stats latency` read at the point's warm-up end and after it, differenced.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.Measurement.Reports;
using NetStack.Runtime;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// One read of a target's <c>stats latency</c> (kv's own sub-command: its server-side latency per
/// request type, from arrival at the IOKernel to the handler's end, in <see cref="LatencyBuckets"/>),
/// over a connection of its own. A target that is not kv (memcached answers <c>ERROR</c>) has none,
/// and the report says so; the point's measurement is never held up by it (a bounded wait).
/// </summary>
internal sealed class KvServerLatency
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, long[]> _counts;

    private KvServerLatency(Dictionary<string, long[]> counts) => _counts = counts;

    /// <summary>
    /// Reads <paramref name="endPoint"/>'s counts at <paramref name="atTicks"/> (the point's warm-up
    /// end), on a thread of its own that sleeps until then, so that the server's figure covers the
    /// client's window. The read is one request on a connection of its own: the measured window
    /// starts with it.
    /// </summary>
    public static Task<(KvServerLatency? Counts, string? Why)> ReadAt(IPEndPoint endPoint, long atTicks, KvLatency? inProcess = null)
    {
        var done = new TaskCompletionSource<(KvServerLatency?, string?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            long waitMicros = (long)Clock.ToMicros(atTicks - Clock.Now());
            if (waitMicros > 0)
            {
                Thread.Sleep(TimeSpan.FromMicroseconds(waitMicros));
            }
            string? why = null;
            KvServerLatency? counts = inProcess is not null ? Of(inProcess) : TryRead(endPoint, out why);
            done.SetResult((counts, why));
        })
        { IsBackground = true, Name = "kv-server-latency" };
        thread.Start();
        return done.Task;
    }

    /// <summary>Reads <paramref name="endPoint"/>'s counts; null, with <paramref name="why"/>, when it has none.</summary>
    public static KvServerLatency? TryRead(IPEndPoint endPoint, out string? why)
    {
        try
        {
            using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.ReceiveTimeout = (int)Bound.TotalMilliseconds;
            socket.SendTimeout = (int)Bound.TotalMilliseconds;
            socket.Connect(endPoint);
            socket.Send("stats latency\r\n"u8);
            string text = ReadReply(socket);
            socket.Send("quit\r\n"u8);
            return Parse(text, out why);
        }
        catch (SocketException e)
        {
            why = $"stats latency was not answered: {e.Message}";
            return null;
        }
    }

    /// <summary>The counts of kv in this process, read in place: an in-process target's data path
    /// measures its allocations, and a stats request would be counted in them.</summary>
    public static KvServerLatency Of(KvLatency latency)
    {
        var counts = new Dictionary<string, long[]>(StringComparer.Ordinal);
        for (int type = 0; type < KvLatency.Types; type++)
        {
            var buckets = new long[LatencyBuckets.Count];
            latency.AddTo(type, buckets);
            counts[KvLatency.TypeName(type)] = buckets;
        }
        return new KvServerLatency(counts);
    }

    /// <summary>The counts in a <c>stats latency</c> reply; null, with <paramref name="why"/>, when it is not one.</summary>
    public static KvServerLatency? Parse(string reply, out string? why)
    {
        var counts = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (string line in reply.Split("\r\n"))
        {
            if (line.Length == 0 || line == "END")
            {
                continue;
            }
            string[] parts = line.Split(' ');
            string[] name = parts.Length == 3 && parts[0] == "STAT" ? parts[1].Split(':') : [];
            if (name.Length != 3 || name[0] != "latency" || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            {
                why = $"the target answered stats latency with '{(line.Length > 60 ? line[..60] + "…" : line)}': it keeps no server-side latency (not kv)";
                return null;
            }
            if (name[2] == "count")
            {
                continue;
            }
            int dash = name[2].IndexOf('-');
            if (dash <= 0 || !long.TryParse(name[2][..dash], NumberStyles.None, CultureInfo.InvariantCulture, out long lower))
            {
                why = $"stats latency: '{line}' is not a bucket";
                return null;
            }
            if (!counts.TryGetValue(name[1], out long[]? buckets))
            {
                counts[name[1]] = buckets = new long[LatencyBuckets.Count];
            }
            buckets[LatencyBuckets.IndexOf(lower)] += n;
        }
        why = null;
        return new KvServerLatency(counts);
    }

    /// <summary>What the server counted between <paramref name="before"/> and <paramref name="after"/>,
    /// per request type that ran, as quantiles.</summary>
    public static List<KvServerLatencyReport> Between(KvServerLatency before, KvServerLatency after)
    {
        var list = new List<KvServerLatencyReport>();
        foreach ((string type, long[] end) in after._counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            long[] delta = (long[])end.Clone();
            if (before._counts.TryGetValue(type, out long[]? start))
            {
                for (int i = 0; i < delta.Length; i++)
                {
                    delta[i] = Math.Max(0, delta[i] - start[i]);
                }
            }
            long count = delta.Sum();
            if (count == 0)
            {
                continue;
            }
            list.Add(new KvServerLatencyReport
            {
                Name = type,
                Count = count,
                P50Us = LatencyBuckets.QuantileMicros(delta, 0.50),
                P90Us = LatencyBuckets.QuantileMicros(delta, 0.90),
                P99Us = LatencyBuckets.QuantileMicros(delta, 0.99),
                P999Us = LatencyBuckets.QuantileMicros(delta, 0.999),
            });
        }
        return list;
    }

    private static string ReadReply(Socket socket)
    {
        var text = new StringBuilder();
        var buffer = new byte[64 * 1024];
        long deadline = Environment.TickCount64 + (long)Bound.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            int n = socket.Receive(buffer);
            if (n == 0)
            {
                break;
            }
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            string s = text.ToString();
            if (s.EndsWith("END\r\n", StringComparison.Ordinal) || s.EndsWith("ERROR\r\n", StringComparison.Ordinal))
            {
                break;
            }
        }
        return text.ToString();
    }
}
