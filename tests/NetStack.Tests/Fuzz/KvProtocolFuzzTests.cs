// Fuzzing kv's framers (text, meta, binary on streams; the UDP frame) against the framer contract and splits, and the engine on whatever they accept.
using System.Buffers;
using System.Globalization;
using System.Text.RegularExpressions;
using CsCheck;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Kv.Store;
using NetStack.Runtime.Protocol;
using Xunit;

namespace NetStack.Tests.Fuzz;

public class KvProtocolFuzzTests
{
    /// <summary>A small item limit: swallowed blocks stay short, and MaxRequestBytes (item limit plus
    /// memcached's 16 KiB read buffer) is within reach of the generated lines.</summary>
    private static readonly KvOptions s_options = new() { MemoryLimitMegabytes = 8, ItemSizeMaxBytes = 2048 };
    private static readonly KvProtocol s_protocol = new(s_options, new ManualKvClock());

    /// <summary>Engine steps one request may take: a multiget of every key of the longest line, a few keys per step, is far below.</summary>
    private const int StepBudget = 100_000;

    /// <summary>One engine (and store) per sampling thread: the store is shared by design, but a
    /// property's replies should depend on its own requests only as far as the store's contents go.</summary>
    private static readonly ThreadLocal<KvEngine> s_engine = new(() =>
        new KvEngine(new KvStore(new KvOptions { MemoryLimitMegabytes = 8, ItemSizeMaxBytes = 2048 }, new ManualKvClock())));

    private static string Print((byte[] Stream, int[] Cuts) t) => $"{Fuzz.Hex(t.Stream)} cuts [{string.Join(',', t.Cuts)}]";

    [Fact]
    public void AStreamCutAnywhereFramesAsTheWholeStreamDoes()
    {
        Gen<(byte[], int[])> gen = Gen.Select(FuzzGens.KvStream, FuzzGens.Cuts);
        Fuzz.Check("kv.frame-stream-splits", gen, t =>
        {
            (byte[] stream, int[] cuts) = t;
            List<string> whole = FramerContract.FrameStream(s_protocol, stream, []);
            List<string> split = cuts.Length == 0 && stream.Length <= 3000
                ? FramerContract.FrameByteByByte(s_protocol, stream)
                : FramerContract.FrameStream(s_protocol, stream, FuzzGens.CutPoints(cuts, stream.Length));
            AssertSameFramesButForLongLines(stream, whole, split);
        }, ciIterations: 3000, print: Print);
    }

    /// <summary>
    /// The framing of a split stream equals the whole stream's, with memcached's one read-dependent
    /// rule (try_read_command_ascii, kept on purpose; docs/kv.md and the differential tests' unsplit
    /// long-line cases): a line that is not a get and whose newline comes more than 2048 bytes in is
    /// read whole when it arrives in one read, and closes the connection (line-too-long) when a read
    /// ends inside it past 2048 bytes. Any other difference fails.
    /// </summary>
    private static void AssertSameFramesButForLongLines(byte[] stream, List<string> whole, List<string> split)
    {
        int i = 0;
        while (i < whole.Count && i < split.Count && whole[i] == split[i])
        {
            i++;
        }
        if (i == whole.Count && i == split.Count)
        {
            return;
        }
        Match drop = Regex.Match(i < split.Count ? split[i] : "", @"^Drop at (\d+): error 2$");
        bool longLine = false;
        if (drop.Success && i == split.Count - 1 && i < whole.Count)
        {
            int at = int.Parse(drop.Groups[1].Value, CultureInfo.InvariantCulture);
            int newline = stream.AsSpan(at).IndexOf((byte)'\n');
            longLine = whole[i].Contains($" at {at}", StringComparison.Ordinal) && newline > 2048
                && !TextParser.MayGrowPastLineLimit(stream.AsSpan(at));
        }
        Assert.True(longLine, $"the split stream framed otherwise from event {i}: whole [{string.Join(" | ", whole.Skip(i).Take(2))}], " +
            $"split [{string.Join(" | ", split.Skip(i).Take(2))}]");
    }

    [Fact]
    public void DatagramFramingKeepsTheContract()
    {
        Fuzz.Check("kv.frame-datagram", Gen.Frequency((4, FuzzGens.KvDatagram), (1, FuzzGens.Bytes)), datagram =>
        {
            FrameStatus status = s_protocol.FrameDatagram(datagram, out Frame frame);
            FramerContract.CheckDatagram(s_protocol, datagram, status, frame);
            if (status == FrameStatus.Request)
            {
                Assert.Equal(8, frame.BodyOffset);
            }
            if (status != FrameStatus.Drop)
            {
                FramerContract.CheckFailureReplies(s_protocol, frame);
            }
        }, ciIterations: 4000, print: Fuzz.Hex);
    }

    [Fact]
    public void TheEngineAnswersEveryStreamRequestInBoundedStepsWithoutThrowing()
    {
        Fuzz.Check("kv.engine-stream", FuzzGens.KvStream, stream =>
        {
            var frames = new List<(FrameStatus Status, int Start, Frame Frame)>();
            FramerContract.FrameStream(s_protocol, stream, [], frames);
            foreach ((FrameStatus status, int start, Frame frame) in frames)
            {
                if (status == FrameStatus.Request)
                {
                    Execute(stream.AsSpan(start + frame.BodyOffset, frame.Length - frame.BodyOffset).ToArray());
                }
            }
        }, ciIterations: 2000, print: Fuzz.Hex);
    }

    [Fact]
    public void TheEngineAnswersEveryDatagramRequestInBoundedStepsWithoutThrowing()
    {
        Fuzz.Check("kv.engine-datagram", FuzzGens.KvDatagram, datagram =>
        {
            if (s_protocol.FrameDatagram(datagram, out Frame frame) == FrameStatus.Request)
            {
                Execute(datagram[frame.BodyOffset..]);
            }
        }, ciIterations: 2000, print: Fuzz.Hex);
    }

    /// <summary>Runs one request to its end: it must finish within the step budget, never throw, and
    /// answer no more than its keys could fetch (each at most an item) plus a few stats pages.</summary>
    private static void Execute(byte[] request)
    {
        KvEngine engine = s_engine.Value!;
        var reply = new ArrayBufferWriter<byte>();
        var cursor = default(KvCursor);
        int steps = 0;
        KvStatus status;
        while ((status = engine.Execute(request, ref cursor, reply)) == KvStatus.Continue)
        {
            if (++steps > StepBudget)
            {
                throw new ContractException($"the engine took more than {StepBudget} steps on {request.Length} bytes");
            }
        }
        Assert.True(status is KvStatus.Done or KvStatus.Close);
        long bound = 64 * 1024 + (request.Length / 2 + 1) * (long)(s_options.ItemSizeMaxBytes + 512);
        Assert.True(reply.WrittenCount <= bound, $"a reply of {reply.WrittenCount} bytes to a request of {request.Length}");
    }
}
