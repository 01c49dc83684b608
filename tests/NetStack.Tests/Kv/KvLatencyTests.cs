// kv's server-side latency: what the handler counts, how `stats latency` shows it, and how the kv verb reads it back.
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;
using NetStack.IOKernel.Telemetry.Metrics;
using NetStack.LoadGen.Kv;
using NetStack.Runtime;
using Xunit;

namespace NetStack.Tests.Kv;

public class KvLatencyTests
{
    private static string Stats(KvEngine engine, string command)
    {
        var reply = new System.Buffers.ArrayBufferWriter<byte>();
        var cursor = default(KvCursor);
        Assert.Equal(KvStatus.Done, engine.Execute(Encoding.ASCII.GetBytes(command), ref cursor, reply));
        return Encoding.ASCII.GetString(reply.WrittenSpan);
    }

    [Fact]
    public void StatsLatencyShowsEachTypesCountAndBucketsAndTheVerbReadsThemBack()
    {
        var engine = new KvEngine(new KvStore(new KvOptions()));
        long arrival = Clock.FromMicros(1_000_000);
        for (int i = 0; i < 99; i++)
        {
            engine.Latency.Record((int)KvRequestType.Get, arrival, arrival + Clock.FromNs(2_000));
        }
        engine.Latency.Record((int)KvRequestType.Get, arrival, arrival + Clock.FromNs(500_000));
        engine.Latency.Record((int)KvRequestType.Set, arrival, arrival + Clock.FromNs(10_000));
        engine.Latency.Record((int)KvRequestType.Get, 0, arrival); // no arrival stamp: not counted

        string text = Stats(engine, "stats latency\r\n");

        Assert.Contains("STAT latency:get:count 100\r\n", text);
        Assert.Contains("STAT latency:set:count 1\r\n", text);
        Assert.DoesNotContain("multiget", text);
        Assert.EndsWith("END\r\n", text);
        int bucket = LatencyBuckets.IndexOf(Clock.ToNs(Clock.FromNs(2_000)));
        Assert.Contains($"STAT latency:get:{LatencyBuckets.LowerBoundNs(bucket)}-{LatencyBuckets.UpperBoundNs(bucket)} 99\r\n", text);

        KvServerLatency? before = KvServerLatency.Parse("END\r\n", out string? none);
        KvServerLatency? after = KvServerLatency.Parse(text, out string? why);
        Assert.Null(none);
        Assert.Null(why);
        List<NetStack.Measurement.Reports.KvServerLatencyReport> types = KvServerLatency.Between(before!, after!);
        Assert.Equal(["get", "set"], types.Select(t => t.Name));
        Assert.Equal(100, types[0].Count);
        Assert.InRange(types[0].P50Us, 1.5, 2.5); // inside 2 µs's bucket
        Assert.InRange(types[0].P999Us, 400, 600); // the one 500 µs request
        Assert.Equal(1, types[1].Count);
    }

    [Fact]
    public void TheVerbTakesTheDifferenceOfTwoReads()
    {
        var engine = new KvEngine(new KvStore(new KvOptions()));
        long arrival = Clock.FromMicros(1_000_000);
        engine.Latency.Record((int)KvRequestType.Get, arrival, arrival + Clock.FromNs(300_000));
        KvServerLatency before = KvServerLatency.Parse(Stats(engine, "stats latency\r\n"), out _)!;
        for (int i = 0; i < 10; i++)
        {
            engine.Latency.Record((int)KvRequestType.Get, arrival, arrival + Clock.FromNs(3_000));
        }
        KvServerLatency after = KvServerLatency.Parse(Stats(engine, "stats latency\r\n"), out _)!;

        var get = Assert.Single(KvServerLatency.Between(before, after));
        Assert.Equal(10, get.Count);
        Assert.InRange(get.P999Us, 2, 4); // the earlier 300 µs request is not in the difference
    }

    [Fact]
    public void CountsOfThreadsThatHaveEndedStayIn()
    {
        var engine = new KvEngine(new KvStore(new KvOptions()));
        long arrival = Clock.FromMicros(1_000_000);
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 25; i++)
            {
                engine.Latency.Record((int)KvRequestType.Set, arrival, arrival + Clock.FromNs(5_000));
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        GC.Collect();
        GC.WaitForPendingFinalizers();

        KvServerLatency counts = KvServerLatency.Of(engine.Latency);
        KvServerLatency none = KvServerLatency.Parse("END\r\n", out _)!;
        Assert.Equal(100, Assert.Single(KvServerLatency.Between(none, counts)).Count);
    }

    [Fact]
    public void ATargetWithoutStatsLatencyIsNamedNotMisread()
    {
        Assert.Null(KvServerLatency.Parse("ERROR\r\n", out string? why));
        Assert.Contains("not kv", why);
        Assert.Null(KvServerLatency.Parse("STAT latency:get:bogus 1\r\nEND\r\n", out why));
        Assert.Contains("not a bucket", why);
    }

    [Fact]
    public void BinaryStatsAnswersTheLatencyKeyToo()
    {
        var engine = new KvEngine(new KvStore(new KvOptions()));
        long arrival = Clock.FromMicros(1_000_000);
        engine.Latency.Record((int)KvRequestType.Get, arrival, arrival + Clock.FromNs(2_000));
        byte[] key = "latency"u8.ToArray();
        byte[] request = new byte[24 + key.Length];
        request[0] = 0x80; // request magic
        request[1] = 0x10; // stat
        request[3] = (byte)key.Length;
        request[11] = (byte)key.Length; // total body
        key.CopyTo(request, 24);
        var reply = new System.Buffers.ArrayBufferWriter<byte>();
        var cursor = default(KvCursor);
        Assert.Equal(KvStatus.Done, engine.Execute(request, ref cursor, reply));
        string text = Encoding.ASCII.GetString(reply.WrittenSpan);
        Assert.Contains("latency:get:count", text);
        Assert.Equal(0x81, reply.WrittenSpan[0]);
        Assert.Equal(0, reply.WrittenSpan[7]); // status of the first packet: success
    }

    [Fact]
    public void KvServedByNetStackCountsEveryRequestItAnswered()
    {
        using var server = new KvHost();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(new IPEndPoint(IPAddress.Loopback, server.Port));
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var send = new StringBuilder();
        for (int i = 0; i < 20; i++)
        {
            send.Append(Invariant($"set k{i} 0 0 1\r\nx\r\n"));
        }
        for (int i = 0; i < 30; i++)
        {
            send.Append(Invariant($"get k{i}\r\n"));
        }
        stream.Write(Encoding.ASCII.GetBytes(send.ToString()));
        int stored = 0, ends = 0;
        while (stored < 20 || ends < 30)
        {
            string line = reader.ReadLine() ?? throw new InvalidOperationException("kv closed the connection");
            stored += line == "STORED" ? 1 : 0;
            ends += line == "END" ? 1 : 0;
        }

        // A request is counted at its handler's end, before the IOKernel sends its reply: every
        // request answered above is in the counts.
        KvServerLatency? counts = KvServerLatency.TryRead(new IPEndPoint(IPAddress.Loopback, server.Port), out string? why);

        Assert.Null(why);
        KvServerLatency none = KvServerLatency.Parse("END\r\n", out _)!;
        var byType = KvServerLatency.Between(none, counts!).ToDictionary(t => t.Name);
        Assert.Equal(30, byType["get"].Count);
        Assert.Equal(20, byType["set"].Count);
        Assert.True(byType["get"].P50Us > 0);
    }

    [Fact]
    public void StealTimeIsReadPerCoreAndDifferencedWithoutGoingNegative()
    {
        long[] now = NetStack.Measurement.Stalls.StealTime.Read();
        Assert.True(now.Length >= Environment.ProcessorCount, $"{now.Length} cores in /proc/stat");
        List<double> none = NetStack.Measurement.Stalls.StealTime.Between(now, now)!;
        Assert.All(none, ms => Assert.Equal(0, ms));
        Assert.Equal([20.0, 0.0], NetStack.Measurement.Stalls.StealTime.Between([5, 9], [7, 8])); // ticks of 10 ms; a counter never runs back
        Assert.Null(NetStack.Measurement.Stalls.StealTime.Between([], now));
    }

    private static string Invariant(FormattableString s) => s.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
