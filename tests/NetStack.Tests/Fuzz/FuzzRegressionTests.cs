// Inputs the fuzzer found bugs with, kept as tests: each frames the same whole and split, and no request is longer than a stream may buffer.
using System.Buffers.Binary;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using NetStack.Runtime.Protocol;
using Xunit;

namespace NetStack.Tests.Fuzz;

public class FuzzRegressionTests
{
    // The item limit the fuzzer ran with: MaxRequestBytes is 2048 + 16384 = 18432.
    private static readonly KvProtocol s_protocol = new(new KvOptions { MemoryLimitMegabytes = 8, ItemSizeMaxBytes = 2048 }, new ManualKvClock());

    private static byte[] Line(string command, int length)
    {
        var b = new StringBuilder(command);
        for (int i = 0; b.Length < length; i++)
        {
            b.Append(" k").Append(i % 50);
        }
        return Encoding.Latin1.GetBytes(b.Append("\r\n").ToString());
    }

    private static byte[] Binary(byte opcode, int keyLength, uint bodyLength)
    {
        var packet = new byte[24 + keyLength];
        packet[0] = 0x80;
        packet[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)keyLength);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), bodyLength);
        packet.AsSpan(24).Fill((byte)'q');
        return packet;
    }

    private static void AssertSameWholeAndSplit(byte[] stream, params int[] cuts)
    {
        List<string> whole = FramerContract.FrameStream(s_protocol, stream, []);
        foreach (int cut in cuts)
        {
            Assert.Equal(whole, FramerContract.FrameStream(s_protocol, stream, [cut]));
        }
    }

    [Fact]
    public void AGetLineLongerThanMaxRequestBytesIsRefusedEvenWhenItArrivesInOneRead()
    {
        // Found by kv.engine-stream: a 22 KB multiget line read whole was framed as one request of
        // 22702 bytes, past MaxRequestBytes; cut after 18432 bytes, the same line closed the connection.
        byte[] line = Line("get", 22_000);
        ulong state = 0;
        Assert.Equal(FrameStatus.Drop, s_protocol.FrameStream(line, ref state, out Frame frame));
        Assert.Equal("request-too-large", s_protocol.ErrorNames[frame.Error]);
        AssertSameWholeAndSplit(line, 100, 2049, 18_432, 20_000);
    }

    [Fact]
    public void AnOtherLineLongerThanMaxRequestBytesIsRefusedAsLineTooLongWhenItArrivesInOneRead()
    {
        byte[] line = Line("set", 22_000);
        ulong state = 0;
        Assert.Equal(FrameStatus.Drop, s_protocol.FrameStream(line, ref state, out Frame frame));
        Assert.Equal("line-too-long", s_protocol.ErrorNames[frame.Error]);
        AssertSameWholeAndSplit(line, 100, 2049, 18_432);
    }

    [Fact]
    public void ARunOfQuietGetsLongerThanMaxRequestBytesIsCutIntoRequestsThatFit()
    {
        // Found by kv.engine-stream: 80 quiet gets of 250-byte keys were framed as one multiget of
        // ~22 KB; split, the stream waited for the run's end past MaxRequestBytes and was closed.
        byte[] stream = [.. Enumerable.Range(0, 80).SelectMany(_ => Binary(0x0d, 250, 250)), .. Binary(0x0a, 0, 0)];
        var frames = new List<(FrameStatus Status, int Start, Frame Frame)>();
        List<string> events = FramerContract.FrameStream(s_protocol, stream, [], frames);
        Assert.Equal("end", events[^1]);
        Assert.All(frames, f => Assert.Equal(FrameStatus.Request, f.Status));
        Assert.All(frames, f => Assert.InRange(f.Frame.Length, 1, s_protocol.MaxRequestBytes));
        Assert.Equal(stream.Length, frames.Sum(f => f.Frame.Length));
        Assert.True(frames.Count >= 2);
        AssertSameWholeAndSplit(stream, 24, 18_000, 18_407, 18_408, 18_432, 20_000);
    }

    [Fact]
    public void ABinaryKeyLongerThanMaxRequestBytesIsRefusedFromTheHeader()
    {
        // Found by kv.frame-stream-splits: GETK stating a 24076-byte key (and a 12-byte body) was
        // judged malformed once all 24100 bytes were shown, and closed the connection unanswered
        // when the stream was cut before them (the hint passed MaxRequestBytes).
        byte[] request = Binary(0x0c, 24_076, 12);
        ulong state = 0;
        Assert.Equal(FrameStatus.Drop, s_protocol.FrameStream(request.AsSpan(0, 24), ref state, out Frame frame));
        Assert.Equal("request-too-large", s_protocol.ErrorNames[frame.Error]);
        AssertSameWholeAndSplit(request, 24, 1000, 18_432);
        // A quiet one (GATQ) likewise: it never joins a run.
        AssertSameWholeAndSplit(Binary(0x1e, 19_325, 19_329), 24, 18_432);
    }
}
