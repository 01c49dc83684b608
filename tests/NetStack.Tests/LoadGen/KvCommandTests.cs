// The kv verb: clear errors, the workloads' distributions, its codecs, and short runs against kv on NetStack and the reference memcached.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetStack.Measurement.Reports;
using NetStack.LoadGen.Kv;
using NetStack.LoadGen.Kv.Protocol;
using NetStack.Runtime.Workloads;
using NetStack.Tests.Kv;
using Xunit;

namespace NetStack.Tests.LoadGen;

[Collection(NetStack.Tests.Kv.ReferenceMemcachedUsers.Name)]
public sealed class KvCommandTests : IClassFixture<ReferenceMemcached>, IClassFixture<ReferenceMemcachedUdp>
{
    private const int Samples = 200_000;
    private readonly ReferenceMemcached _memcached;
    private readonly ReferenceMemcachedUdp _memcachedUdp;

    public KvCommandTests(ReferenceMemcached memcached, ReferenceMemcachedUdp memcachedUdp)
    {
        _memcached = memcached;
        _memcachedUdp = memcachedUdp;
    }

    // ---- the command line ----

    [Theory]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "nope", "--rates", "10" }, "valid: usr, etc")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--protocol", "ascii" }, "valid: text, binary")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--transport", "sctp" }, "valid: tcp, udp")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--popularity", "hot" }, "valid: uniform, zipf")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--arrivals", "bursty" }, "valid: poisson, fb-ia")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--receiver", "both" }, "valid: thread, inline")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--loads", "0.5" }, "--loads needs --capacity-rps")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr" }, "give exactly one of --rates")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--loads", "0.5" }, "give exactly one of --rates")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--transport", "udp", "--long-fraction", "0.01" }, "--long-fraction needs --transport tcp")]
    [InlineData(new[] { "kv", "--target", "a=127.0.0.1:9,b=127.0.0.1:10", "--workload", "usr", "--rates", "10", "--transport", "udp", "--udp-ports", "9" }, "--udp-ports gives 1 port(s) for 2 target(s)")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--udp-ports", "9" }, "--udp-ports is for --transport udp")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1", "--workload", "usr", "--rates", "10" }, "kv: malformed --target '127.0.0.1'")]
    [InlineData(new[] { "kv", "--target", "x=127.0.0.1:9,x=inprocess", "--workload", "usr", "--rates", "10" }, "label 'x' is given twice")]
    [InlineData(new[] { "kv", "--workload", "usr", "--rates", "10" }, "--target is required")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--long-keys", "0" }, "--long-keys must be an integer from 1 to 1024")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--zipf-exponent", "1.5" }, "--zipf-exponent must be a number from 0.01 to 0.999")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--slo", "p42<=1" }, "bad SLO 'p42<=1'")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--cores", "4096" }, "valid cores")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--inprocess-cores", "0" }, "at least one worker core")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--frobnicate", "1" }, "unknown option --frobnicate; valid:")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--warmup-target", "127.0.0.1:10", "--no-warmup-point" }, "cannot go with --no-warmup-point")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--warmup-target", "w=127.0.0.1:10" }, "--warmup-target takes one HOST:PORT")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--warmup-target", "inprocess" }, "not inprocess")]
    [InlineData(new[] { "kv", "--target", "127.0.0.1:9", "--workload", "usr", "--rates", "10", "--transport", "udp", "--warmup-target", "127.0.0.1:10" }, "--warmup-target is for --transport tcp")]
    public void BadCommandLineIsOneLineNamingTheValidChoicesAndExitCodeTwo(string[] args, string expected)
    {
        (int code, _, string error) = UdpCommandTests.RunMain(args);

        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void AnUnreachableTargetFailsTheRunInOneLineWithExitCodeOne()
    {
        int port = ExternalTool.FreePort();
        (int code, _, string error) = UdpCommandTests.RunMain("kv", "--target", $"127.0.0.1:{port}", "--workload", "usr", "--keys", "10",
            "--rates", "100", "--duration-s", "0.1", "--no-charts", "--out", TempDir());

        Assert.Equal(1, code);
        Assert.Contains("kv: loading target1", error);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    // ---- the workloads' distributions ----

    [Fact]
    public void UsrKeysAreNineteenBytesAndValuesTwoAndOneRequestInFiveHundredIsASet()
    {
        KvWorkload usr = KvWorkload.Create("usr")!;
        var keys = new KeySpace(usr, 100_000);
        Assert.Equal(19, keys.MaxKeyBytes);
        for (int k = 0; k < 2 * keys.Count; k += 997)
        {
            Assert.Equal(19, keys.LengthOf(k));
            Assert.Equal(2, keys.LoadedValueBytes(k));
        }
        var rng = new Xoshiro256(1);
        int sets = 0;
        for (int i = 0; i < 1_000_000; i++)
        {
            Assert.Equal(2, usr.Values.Next(ref rng));
            sets += usr.NextOp(ref rng) == KvOp.Set ? 1 : 0;
        }
        Assert.InRange(sets, 1_800, 2_200); // 0.2 %, within ~4.5 standard deviations
        Span<byte> key = stackalloc byte[32];
        Assert.Equal("0000000000000012345", Encoding.ASCII.GetString(key[..keys.Write(12345, key)]));
        // A key that must miss is marked where a loaded key has padding: no run ever stores it.
        Assert.Equal("m000000000000112345", Encoding.ASCII.GetString(key[..keys.Write(112345, key)]));
    }

    [Fact]
    public void EtcKeySizesStayWithinOneAndTwoHundredFiftyWithTheGevsMedian()
    {
        KeySizes sizes = KvWorkload.Create("etc")!.Keys;
        var rng = new Xoshiro256(2);
        var drawn = new int[Samples];
        for (int i = 0; i < Samples; i++)
        {
            drawn[i] = sizes.FromUniform((rng.NextUInt64() >> 11 | 1) * (1.0 / (1UL << 53)));
        }
        Array.Sort(drawn);
        Assert.InRange(drawn[0], 1, 250);
        Assert.InRange(drawn[^1], 1, 250);
        // GEV(30.7984, 8.20449, 0.078688)'s median: μ + σ((ln 2)^(−ξ) − 1)/ξ = 33.85, rounded 34.
        Assert.InRange(drawn[Samples / 2], 33, 35);
        // Its extremes: the clamp holds them (u near 1 is the long tail; near 0 the GEV's lower bound, μ − σ/ξ < 0).
        Assert.Equal(250, sizes.FromUniform(1 - 1e-16));
        Assert.Equal(1, sizes.FromUniform(1e-300));

        // The key space: a key's size is fixed by its number, never shorter than the number's digits.
        var keys = new KeySpace(KvWorkload.Create("etc")!, 50_000);
        int[] lengths = Enumerable.Range(0, 2 * keys.Count).Select(keys.LengthOf).Order().ToArray();
        Assert.True(lengths[0] >= 6, $"shortest key {lengths[0]}");
        Assert.InRange(lengths[lengths.Length / 2], 33, 35);
        Assert.True(keys.MaxKeyBytes <= 250);
        Assert.Equal(keys.LengthOf(4242), new KeySpace(KvWorkload.Create("etc")!, 50_000).LengthOf(4242));
    }

    [Fact]
    public void EtcValuesAreTheDiscreteHeadUpToFourteenBytesThenTheParetoTail()
    {
        ValueSizes values = KvWorkload.Create("etc")!.Values;
        var rng = new Xoshiro256(3);
        int head = 0, two = 0;
        var tail = new List<int>(Samples);
        for (int i = 0; i < Samples; i++)
        {
            int v = values.Next(ref rng);
            Assert.InRange(v, 0, 1 << 20);
            if (v <= 14)
            {
                head++;
                two += v == 2 ? 1 : 0;
            }
            else
            {
                tail.Add(v);
            }
        }
        // mutilate's fb_value table: 44.155 % in sizes 0..14, of which size 2 alone is 17.82 %.
        Assert.Equal(0.44155, values.HeadShare, 5);
        Assert.InRange(head / (double)Samples, 0.4366, 0.4466);
        Assert.InRange(two / (double)Samples, 0.1752, 0.1812);
        // The tail: 15 + GPD(214.476, 0.348238), median 15 + σ(2^k − 1)/k = 183.1 (truncated to whole bytes).
        Assert.True(tail.Min() >= 15);
        tail.Sort();
        Assert.InRange(tail[tail.Count / 2], 177, 189);
        // Its mean is 15 + σ/(1 − k) = 344 bytes (the heavy tail makes the sample mean wander a little).
        Assert.InRange(tail.Average(), 320, 370);
        Assert.Equal(1 / 31.0, KvWorkload.Create("etc")!.SetFraction, 6);
    }

    [Fact]
    public void UnderZipfTheMostPopularKeyGetsOneOverZetaOfTheRequests()
    {
        const int keys = 1000;
        var zipf = KeyPopularity.Zipf(keys, 0.99);
        var counts = new int[keys];
        var rng = new Xoshiro256(4);
        for (int i = 0; i < Samples; i++)
        {
            counts[zipf.Next(ref rng)]++;
        }
        double zeta = KeyPopularity.Zeta(keys, 0.99);
        Assert.Equal(1 / zeta, zipf.TopKeyShare, 9);
        // 1/zeta(1000, 0.99) ≈ 13.3 %: the top key's share, and the second's (1/2^0.99 of it), within 3 %.
        Assert.InRange(counts[0] / (double)Samples, 0.97 / zeta, 1.03 / zeta);
        Assert.InRange(counts[1] / (double)Samples, 0.97 * Math.Pow(0.5, 0.99) / zeta, 1.03 * Math.Pow(0.5, 0.99) / zeta);
        Assert.True(counts[0] > counts[10] && counts[10] > counts[500]);

        var uniform = KeyPopularity.Uniform(keys);
        Array.Clear(counts);
        for (int i = 0; i < Samples; i++)
        {
            counts[uniform.Next(ref rng)]++;
        }
        Assert.InRange(counts.Max() / (double)Samples, 0.5 / keys, 1.6 / keys);
    }

    [Fact]
    public void FacebookGapsHaveTheOfferedMeanAndAreBurstierThanPoisson()
    {
        var rng = new Xoshiro256(5);
        (double mean, double cv) Moments(Arrivals arrivals)
        {
            double sum = 0, squares = 0;
            const int n = 400_000;
            for (int i = 0; i < n; i++)
            {
                double gap = arrivals.Next(ref rng, 10.0);
                Assert.True(gap >= 0);
                sum += gap;
                squares += gap * gap;
            }
            double m = sum / n;
            return (m, Math.Sqrt(squares / n - m * m) / m);
        }
        (double poissonMean, double poissonCv) = Moments(Arrivals.Create("poisson")!);
        (double fbMean, double fbCv) = Moments(Arrivals.Create("fb_ia")!);
        Assert.InRange(poissonMean, 9.9, 10.1);
        Assert.InRange(poissonCv, 0.98, 1.02);
        Assert.InRange(fbMean, 9.8, 10.2);
        // A GPD's coefficient of variation is 1/√(1 − 2k) = 1.204 for k = 0.154971.
        Assert.InRange(fbCv, 1.15, 1.26);
    }

    [Fact]
    public void TheScheduleMixesOperationsInTheirSharesAndMissesAskForKeysNeverLoaded()
    {
        KvWorkload etc = KvWorkload.Create("etc")!.WithLong(0.01, 10);
        var keys = new KeySpace(etc, 1000);
        var mix = new KvMix(etc, keys, KeyPopularity.Uniform(1000), Arrivals.Create("poisson")!, 0.25);
        var schedule = new KvSchedule();
        schedule.Fill(mix, 100_000, 1, 7);
        int[] ops = new int[3];
        long misses = 0, asked = 0;
        for (int i = 0; i < schedule.Count; i++)
        {
            byte op = schedule.Ops[i];
            ops[op]++;
            ReadOnlySpan<int> asks = schedule.KeysOf(i);
            Assert.Equal(op == KvOp.Multiget ? 10 : 1, asks.Length);
            foreach (int k in asks)
            {
                Assert.InRange(k, 0, 2 * keys.Count - 1);
                if (op != KvOp.Set)
                {
                    asked++;
                    misses += k >= keys.Count ? 1 : 0;
                }
                else
                {
                    Assert.True(k < keys.Count, "a set stores a key of the loaded space");
                }
            }
        }
        Assert.InRange(schedule.Count, 99_000, 101_000);
        Assert.InRange(ops[KvOp.Multiget] / (double)schedule.Count, 0.009, 0.011);
        Assert.InRange(ops[KvOp.Set] / (double)(ops[KvOp.Set] + ops[KvOp.Get]), 0.030, 0.0345);
        Assert.InRange(misses / (double)asked, 0.24, 0.26);
        // The same seed draws the same schedule: every target at a rate meets the same requests.
        var again = new KvSchedule();
        again.Fill(mix, 100_000, 1, 7);
        Assert.True(again.OffsetTicks.SequenceEqual(schedule.OffsetTicks) && again.Key.SequenceEqual(schedule.Key));
    }

    // ---- the codecs ----

    [Fact]
    public void RequestsAreMemcachedsTextAndBinaryCommands()
    {
        KvWorkload usr = KvWorkload.Create("usr")!;
        var keys = new KeySpace(usr, 10);
        ValuePattern.Reserve(16);
        var buffer = new byte[4096];
        string Text(byte op, int[] k, int value) =>
            Encoding.ASCII.GetString(buffer, 0, KvClientProtocol.Encode(KvProtocolKind.Text, buffer, keys, op, k, value, 0));
        Assert.Equal("get 0000000000000000003\r\n", Text(KvOp.Get, [3], 0));
        Assert.Equal("get 0000000000000000001 0000000000000000002\r\n", Text(KvOp.Multiget, [1, 2], 0));
        Assert.Equal("set 0000000000000000004 0 0 2\r\nab\r\n", Text(KvOp.Set, [4], 2));

        int n = KvClientProtocol.Encode(KvProtocolKind.Binary, buffer, keys, KvOp.Multiget, [1, 2], 0, 77);
        Assert.Equal(3 * 24 + 2 * 19, n);
        Assert.Equal([0x80, 0x0d], buffer[..2]);            // GETKQ
        Assert.Equal(77, buffer[15]);                       // opaque, big-endian
        Assert.Equal([0x80, 0x0a], buffer[(2 * 43)..(2 * 43 + 2)]); // then NOOP
        n = KvClientProtocol.Encode(KvProtocolKind.Binary, buffer, keys, KvOp.Set, [4], 2, 5);
        Assert.Equal(24 + 8 + 19 + 2, n);
        Assert.Equal([0x80, 0x01, 0, 19, 8], buffer[..5]);
    }

    [Fact]
    public void AMultigetReplyReadInAnyPiecesCountsTheSameHitsAndARepliedUnknownKeyIsMalformed()
    {
        KvWorkload usr = KvWorkload.Create("usr")!;
        var keys = new KeySpace(usr, 10);
        int[] asked = [1, 2, 3];
        byte[] reply = Encoding.ASCII.GetBytes(
            "VALUE 0000000000000000001 0 2\r\nab\r\nVALUE 0000000000000000003 5 3 99\r\nxyz\r\nEND\r\n");
        for (int split = 0; split <= reply.Length; split++)
        {
            var progress = default(ReplyProgress);
            var expected = new ExpectedReply(KvOp.Multiget, 0, asked, keys);
            ReplyStep step = KvClientProtocol.Read(KvProtocolKind.Text, reply.AsSpan(0, split), expected, ref progress, 100, out int consumed);
            if (step == ReplyStep.NeedMore)
            {
                step = KvClientProtocol.Read(KvProtocolKind.Text, reply.AsSpan(consumed), expected, ref progress, 100, out int rest);
                consumed += rest;
            }
            Assert.Equal(ReplyStep.Done, step);
            Assert.Equal(reply.Length, consumed);
            Assert.Equal(2, progress.Hits);
            Assert.False(progress.Failed);
        }
        // A value for a key the request did not ask for, or out of order, is not this request's reply.
        var p = default(ReplyProgress);
        byte[] stranger = Encoding.ASCII.GetBytes("VALUE 0000000000000000003 0 1\r\nx\r\nVALUE 0000000000000000001 0 1\r\ny\r\nEND\r\n");
        Assert.Equal(ReplyStep.Malformed, KvClientProtocol.Read(KvProtocolKind.Text, stranger, new ExpectedReply(KvOp.Multiget, 0, asked, keys), ref p, 100, out _));
        p = default;
        Assert.Equal(ReplyStep.Malformed, KvClientProtocol.Read(KvProtocolKind.Text, "STORED\r\n"u8, new ExpectedReply(KvOp.Get, 0, asked, keys), ref p, 100, out _));
        p = default;
        Assert.Equal(ReplyStep.Done, KvClientProtocol.Read(KvProtocolKind.Text, "SERVER_ERROR busy\r\n"u8, new ExpectedReply(KvOp.Set, 0, asked, keys), ref p, 100, out _));
        Assert.True(p.Rejected);
        // Binary: a response carrying another request's opaque is malformed.
        byte[] noop = new byte[24];
        noop[0] = 0x81;
        noop[1] = 0x0a;
        noop[15] = 9;
        p = default;
        Assert.Equal(ReplyStep.Done, KvClientProtocol.Read(KvProtocolKind.Binary, noop, new ExpectedReply(KvOp.Multiget, 9, asked, keys), ref p, 100, out _));
        p = default;
        Assert.Equal(ReplyStep.Malformed, KvClientProtocol.Read(KvProtocolKind.Binary, noop, new ExpectedReply(KvOp.Multiget, 8, asked, keys), ref p, 100, out _));
    }

    // ---- short runs ----

    [Theory]
    [InlineData("text", "thread")]
    [InlineData("binary", "inline")]
    public void AgainstKvOnNetStackEveryRequestIsAnsweredWithHitsAndTheMissesOfUnknownKeys(string protocol, string receiver)
    {
        using var kv = new KvHost();
        RunReport report = Run($"netstack/ps=127.0.0.1:{kv.Port}", "--protocol", protocol, "--receiver", receiver, "--long-fraction", "0.05");
        Assert.Empty(kv.Errors);
        AssertEveryRequestAnswered(report, protocol, multigets: true);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("binary")]
    public void AgainstTheReferenceMemcachedEveryRequestIsAnsweredWithHitsAndTheMissesOfUnknownKeys(string protocol)
    {
        RunReport report = Run($"memcached={_memcached.Host}:{_memcached.Port}", "--protocol", protocol, "--long-fraction", "0.05",
            "--workload", "etc", "--popularity", "zipf", "--arrivals", "fb-ia");
        AssertEveryRequestAnswered(report, protocol, multigets: true);
    }

    [Theory]
    [InlineData("text")]
    [InlineData("binary")]
    public void GetsOverUdpAreAnsweredByKvAndByMemcached(string protocol)
    {
        using var kv = new KvHost(udp: true);
        RunReport report = Run($"kv=127.0.0.1:{kv.Port},memcached={_memcachedUdp.Host}:{_memcachedUdp.Port}",
            "--transport", "udp", "--udp-ports", $"{kv.UdpPort},{_memcachedUdp.UdpPort}", "--protocol", protocol, "--workload", "etc");
        Assert.Equal(["kv", "memcached"], report.Points.Select(p => p.System));
        foreach (PointReport p in report.Points)
        {
            Assert.Equal("udp", p.Transport);
            AssertAnswered(p, protocol, multigets: false);
            Assert.Equal(0, p.Kv!.Operations.Single(o => o.Name == "set").Ok);
        }
    }

    [Fact]
    public void TwoTargetsMeetTheSameScheduleRateByRateTargetByTarget()
    {
        using var kv = new KvHost();
        RunReport report = Run($"netstack/ps=127.0.0.1:{kv.Port},memcached={_memcached.Host}:{_memcached.Port}", "--rates", "300,600",
            "--slo", "p99-latency<=1000000");
        Assert.Equal(["netstack", "memcached", "netstack", "memcached"], report.Points.Select(p => p.System));
        Assert.Equal([300.0, 300.0, 600.0, 600.0], report.Points.Select(p => p.OfferedRps));
        Assert.Equal(report.Points[0].Scheduled, report.Points[1].Scheduled);
        Assert.Equal(report.Points[2].Scheduled, report.Points[3].Scheduled);
        foreach (PointReport p in report.Points)
        {
            AssertAnswered(p, "text", multigets: false);
        }
        // Same requests, same store contents: the same hits and misses on both servers.
        Assert.Equal(report.Points[0].Kv!.Operations[0].Hits, report.Points[1].Kv!.Operations[0].Hits);
        Assert.Equal(["ps", "memcached"], report.Slo!.Rows.Select(r => r.Label));
        // The load column without --capacity-rps: millions of requests/s.
        Assert.Equal(0.0003, report.Points[0].OfferedLoad, 9);
    }

    [Fact]
    public void AWarmupTargetTakesTheWarmupPointAndTheTargetsGetOnlyTheMeasuredGets()
    {
        using var kv = new KvHost();
        long kvBefore = CmdGet("127.0.0.1", kv.Port), memcachedBefore = CmdGet(_memcached.Host, _memcached.Port);
        RunReport report = Run($"netstack/ps=127.0.0.1:{kv.Port}", "--warmup-target", $"{_memcached.Host}:{_memcached.Port}");
        PointReport p = Assert.Single(report.Points);
        AssertAnswered(p, "text", multigets: false);
        // usr without long requests: one key per get, so the target looked up exactly the keys the point sent.
        KvOperationCounts gets = p.Kv!.Operations.Single(o => o.Name == "get");
        Assert.Equal(gets.Ok + gets.Failed + gets.Rejected, CmdGet("127.0.0.1", kv.Port) - kvBefore);
        Assert.True(CmdGet(_memcached.Host, _memcached.Port) - memcachedBefore > 0, "the warm-up point sent no gets to the warm-up target");
        Assert.Contains(report.Config.Notes, n => n.Contains("(--warmup-target), not against the targets", StringComparison.Ordinal));
    }

    /// <summary>A server's <c>cmd_get</c> (keys looked up by retrieval commands), from <c>stats</c>.</summary>
    private static long CmdGet(string host, int port)
    {
        using var client = new TcpClient(host, port);
        NetworkStream stream = client.GetStream();
        stream.Write("stats\r\n"u8);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        while (!text.ToString().EndsWith("END\r\n", StringComparison.Ordinal))
        {
            int n = stream.Read(buffer);
            Assert.True(n > 0, "the server closed the connection before END");
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        string line = text.ToString().Split("\r\n").Single(l => l.StartsWith("STAT cmd_get ", StringComparison.Ordinal));
        return long.Parse(line["STAT cmd_get ".Length..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public void AnInProcessTargetReportsItsDataPathAllocationsAndIsAnsweredLikeAnyOther()
    {
        RunReport report = Run("netstack/ps=inprocess", "--long-fraction", "0.05", "--protocol", "binary");
        PointReport p = Assert.Single(report.Points);
        AssertAnswered(p, "binary", multigets: true);
        Assert.NotNull(p.DataPathAllocatedBytesPerRequest);
        Assert.Contains(report.Config.Notes, n => n.Contains("kv in this process", StringComparison.Ordinal));
    }

    [Fact]
    public void RepliesThatDoNotParseAreCountedFailedAndTheirConnectionIsOpenedAgain()
    {
        using var bogus = new BogusServer();
        string dir = TempDir();
        (int code, _, string error) = UdpCommandTests.RunMain("kv", "--target", $"bogus=127.0.0.1:{bogus.Port}", "--workload", "usr",
            "--keys", "100", "--rates", "400", "--duration-s", "0.4", "--connections", "2", "--no-load", "--no-charts", "--out", dir);

        Assert.True(code == 0, error);
        PointReport p = Assert.Single(RunReport.Load(Path.Combine(dir, "report.json")).Points);
        Assert.Equal(0, p.Ok);
        Assert.True(p.Failed > 0);
        Assert.Equal(p.Failed, p.Kv!.ProtocolErrors);
        Assert.True(p.Kv.Reconnects > 0);
        Assert.Equal(p.Sent, p.Ok + p.Rejected + p.Failed + p.Lost);
        Assert.True(bogus.Connections > 2, $"{bogus.Connections} connections");
    }

    [Fact]
    public void ASecondPointAllocatesNothingPerRequestInTheGenerator()
    {
        using var kv = new KvHost();
        RunReport report = Run($"kv=127.0.0.1:{kv.Port}", "--rates", "1000,1000", "--duration-s", "0.5", "--long-fraction", "0.05", "--receiver", "thread");
        AssertAnswered(report.Points[1], "text", multigets: true);
        Assert.Equal(0, report.Points[1].GeneratorAllocatedBytesPerRequest);
    }

    [Fact]
    public void GetsSentBehindAnUnansweredMultigetOnTheirConnectionAreCountedApart()
    {
        // The server holds each multiget's reply 30 ms, and with it every reply behind it on the connection.
        using var server = new SlowMultigetServer(holdMillis: 30);
        string dir = TempDir();
        (int code, _, string error) = UdpCommandTests.RunMain("kv", "--target", $"slow=127.0.0.1:{server.Port}", "--workload", "usr",
            "--keys", "200", "--rates", "500", "--duration-s", "0.6", "--connections", "1", "--long-fraction", "0.05", "--long-keys", "8",
            "--no-load", "--no-charts", "--out", dir);

        Assert.True(code == 0, error);
        PointReport p = Assert.Single(RunReport.Load(Path.Combine(dir, "report.json")).Points);
        Assert.Equal(p.Sent, p.Ok);
        Assert.True(server.Multigets > 0, "multigets");
        KvHeadOfLineReport h = p.Kv!.HeadOfLine!;
        Assert.Equal(p.Types.Single(t => t.Name == "get").Count, h.Gets);
        Assert.Equal(h.Gets, h.ClearLatencyUs.Count + h.BehindLatencyUs.Count);
        Assert.True(h.Behind > 0 && h.Behind < h.Gets, $"{h.Behind} of {h.Gets} behind");
        Assert.Equal(h.Behind, h.BehindLatencyUs.Count);
        Assert.Equal((double)h.Behind / h.Gets, h.BehindFraction, 9);
        // The first GET behind a held multiget waits out most of the hold (it was sent within ~2 ms of it).
        Assert.True(h.BehindLatencyUs.Max >= 20_000, $"longest wait behind a multiget {h.BehindLatencyUs.Max} µs");
        Assert.Contains("GETs behind a long request", File.ReadAllText(Path.Combine(dir, "report.md")), StringComparison.Ordinal);
    }

    // ---- helpers ----

    private static string TempDir() => Path.Combine(Path.GetTempPath(), "netstack-kv-" + Guid.NewGuid().ToString("N"));

    /// <summary>A short run: a tiny key space, a low rate, a fifth of the gets for keys never stored.</summary>
    private static RunReport Run(string target, params string[] extra)
    {
        string dir = TempDir();
        try
        {
            var args = new List<string> { "kv", "--target", target, "--keys", "200", "--miss-fraction", "0.2", "--long-keys", "8",
                "--duration-s", "0.4", "--no-charts", "--out", dir };
            if (!extra.Contains("--workload"))
            {
                args.AddRange(["--workload", "usr"]);
            }
            if (!extra.Contains("--rates"))
            {
                args.AddRange(["--rates", "500"]);
            }
            args.AddRange(extra);
            (int code, _, string error) = UdpCommandTests.RunMain([.. args]);
            Assert.True(code == 0, error);
            Assert.True(File.Exists(Path.Combine(dir, "report.md")));
            RunReport report = RunReport.Load(Path.Combine(dir, "report.json"));
            Assert.Equal("kv", report.Verb);
            return report;
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static void AssertEveryRequestAnswered(RunReport report, string protocol, bool multigets)
    {
        PointReport p = Assert.Single(report.Points);
        AssertAnswered(p, protocol, multigets);
    }

    private static void AssertAnswered(PointReport p, string protocol, bool multigets)
    {
        Assert.True(p.Sent > 0);
        Assert.Equal(p.Sent, p.Ok);
        Assert.Equal(0, p.Lost);
        Assert.Equal(0, p.Failed);
        Assert.Equal(0, p.Rejected);
        Assert.Equal(0, p.UnknownResponses);
        Assert.Equal(0, p.Duplicates);
        KvPointInfo kv = p.Kv!;
        Assert.Equal(protocol, kv.Protocol);
        Assert.Equal(0, kv.ProtocolErrors);
        Assert.Equal(200, kv.KeysLoaded);
        Assert.True(kv.BytesLoaded > 0);
        Assert.Equal(0, kv.LoadErrors);
        Assert.Equal(multigets ? ["get", "set", "multiget"] : new[] { "get", "set" }, kv.Operations.Select(o => o.Name));
        KvOperationCounts get = kv.Operations[0];
        Assert.True(get.Hits > 0, "hits");
        Assert.True(get.Misses > 0, "misses (a fifth of the keys asked were never stored)");
        Assert.Equal(get.Ok, get.Hits + get.Misses);
        if (multigets)
        {
            KvOperationCounts multiget = kv.Operations[2];
            Assert.True(multiget.Ok > 0, "multigets");
            Assert.Equal(multiget.Ok * 8, multiget.Hits + multiget.Misses);
        }
        Assert.Equal(p.All.Count, p.Types.Sum(t => t.Count));
        Assert.Equal(0, p.All.Errors);
    }

    /// <summary>A text-protocol server for a run without loading: every GET misses, every SET is stored, and
    /// a multiget (a get of several keys) is answered only after <c>holdMillis</c>, holding the replies behind it.</summary>
    private sealed class SlowMultigetServer(int holdMillis) : AcceptingServer
    {
        private int _multigets;

        public int Multigets => Volatile.Read(ref _multigets);

        protected override void Serve(Socket client)
        {
            using (client)
            {
                var pending = new List<byte>();
                var buffer = new byte[64 << 10];
                int skip = 0; // bytes of a SET's data block (and its CRLF) still to pass over
                try
                {
                    int n;
                    while ((n = client.Receive(buffer)) > 0)
                    {
                        pending.AddRange(buffer.AsSpan(0, n));
                        while (true)
                        {
                            if (skip > 0)
                            {
                                int take = Math.Min(skip, pending.Count);
                                pending.RemoveRange(0, take);
                                skip -= take;
                                if (skip > 0)
                                {
                                    break;
                                }
                            }
                            int end = pending.IndexOf((byte)'\n');
                            if (end < 0)
                            {
                                break;
                            }
                            string[] words = Encoding.ASCII.GetString(pending.GetRange(0, end).ToArray()).TrimEnd('\r').Split(' ');
                            pending.RemoveRange(0, end + 1);
                            if (words[0] == "set")
                            {
                                skip = int.Parse(words[4], CultureInfo.InvariantCulture) + 2;
                                client.Send("STORED\r\n"u8);
                                continue;
                            }
                            if (words.Length > 2)
                            {
                                Interlocked.Increment(ref _multigets);
                                Thread.Sleep(holdMillis);
                            }
                            client.Send("END\r\n"u8);
                        }
                    }
                }
                catch (SocketException)
                {
                }
            }
        }
    }

    /// <summary>A TCP server that answers whatever it reads with a line no memcached reply starts with.</summary>
    private sealed class BogusServer : AcceptingServer
    {
        protected override void Serve(Socket client)
        {
            using (client)
            {
                var buffer = new byte[4096];
                try
                {
                    while (client.Receive(buffer) > 0)
                    {
                        client.Send("BOGUS\r\n"u8);
                    }
                }
                catch (SocketException)
                {
                }
            }
        }
    }

    /// <summary>A loopback TCP server for the tests' fake memcacheds: a thread accepts, and each
    /// connection is served on a thread of its own until the listener stops.</summary>
    private abstract class AcceptingServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Thread _accepter;
        private volatile bool _stopped;
        private int _connections;

        protected AcceptingServer()
        {
            _listener.Start();
            _accepter = new Thread(Accept) { IsBackground = true };
            _accepter.Start();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Connections accepted so far.</summary>
        public int Connections => Volatile.Read(ref _connections);

        /// <summary>Serves one connection (its own thread) and closes it.</summary>
        protected abstract void Serve(Socket client);

        private void Accept()
        {
            while (!_stopped)
            {
                Socket client;
                try
                {
                    client = _listener.AcceptSocket();
                }
                catch (SocketException)
                {
                    return;
                }
                Interlocked.Increment(ref _connections);
                new Thread(() => Serve(client)) { IsBackground = true }.Start();
            }
        }

        public void Dispose()
        {
            _stopped = true;
            _listener.Stop();
            _accepter.Join(TimeSpan.FromSeconds(5));
        }
    }
}
