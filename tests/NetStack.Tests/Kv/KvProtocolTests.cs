// kv's framers: requests split at any byte frame the same, types and skips are right, datagrams and failure replies are memcached's.
using System.Buffers.Binary;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.Kv;

public class KvProtocolTests
{
    // A small item limit keeps the swallowed blocks of too-large values short.
    private static readonly KvOptions s_options = new() { MemoryLimitMegabytes = 8, ItemSizeMaxBytes = 2048 };
    private static readonly KvProtocol s_protocol = new(s_options, new ManualKvClock());

    private static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    private static readonly byte[] s_textPipeline = Latin1(
        "set a 0 0 5\r\nhello\r\nget a b c d e f g h i\r\nget a\r\ngets a b\r\nset big 0 0 3000\r\n" + new string('x', 3000) + "\r\n"
        + "set n 0 0 1 noreply\r\n1\r\nincr n 5\r\ndecr n 1 noreply\r\ndelete a\r\ntouch n 10\r\ngat 10 n a b c d e f g\r\n"
        + "mg n v k\r\nms m 3 T10 F2\r\nabc\r\nms big 3000 T0\r\n" + new string('y', 3000) + "\r\nms Zm9v 2 b\r\nhi\r\nmd m q\r\n"
        + "ma n D2\r\nmn\r\nset " + new string('k', 251) + " 0 0 3\r\nabc\r\nset a 0 0 3\r\nabcd\r\nstats\r\nversion\r\n\r\nbogus\r\n"
        + "\u0080 not binary\r\nflush_all 0\r\nverbosity 1\r\nget " + string.Join(' ', Enumerable.Range(0, 400).Select(i => $"k{i}")) + "\r\n"
        + "cas a 0 0 2 12345\r\nhi\r\nappend a 0 0 1\r\n!\r\nquit\r\n");

    private static readonly byte[] s_binaryPipeline = Bin.Concat(
        Bin.Request(0x01, "a", Bin.SetExtras(1, 0), Latin1("value"), opaque: 1),
        Bin.Concat([.. Enumerable.Range(0, 10).Select(i => Bin.Request(0x0d, $"k{i}", opaque: (uint)i))]),
        Bin.Request(0x0a, opaque: 2),
        Bin.Request(0x09, "a", opaque: 3), Bin.Request(0x0d, "b", opaque: 4), Bin.Request(0x0c, "c", opaque: 5),
        Bin.Request(0x01, "big", Bin.SetExtras(0, 0), new byte[3000], opaque: 6),
        Bin.Request(0x50, "k", null, Latin1("vvvv"), opaque: 7), new byte[1],
        Bin.Request(0x11, "q", Bin.SetExtras(0, 0), Latin1("quiet"), opaque: 8),
        Bin.Request(0x04, "a", opaque: 9), Bin.Request(0x05, "n", Bin.ArithExtras(1, 0, 0), opaque: 10),
        Bin.Request(0x10, opaque: 11), Bin.Request(0x0b, opaque: 12), Bin.Request(0x18, opaque: 13),
        Bin.Request(0x0e, "a", null, Latin1("++"), opaque: 14), Bin.Request(0x1d, "a", Bin.U32(5), opaque: 15),
        Bin.Request(0x07, opaque: 16));

    /// <summary>Frames a stream the way a transport does, the first <paramref name="split"/> bytes
    /// arriving before the rest (or one byte at a time), and lists every frame found.</summary>
    private static List<string> FrameAll(byte[] stream, int split, bool byteByByte = false)
    {
        var frames = new List<string>();
        int available = byteByByte ? Math.Min(1, stream.Length) : split;
        int position = 0;
        long skip = 0;
        ulong state = 0;
        while (true)
        {
            if (skip > 0)
            {
                int n = (int)Math.Min(skip, available - position);
                position += n;
                skip -= n;
            }
            if (skip > 0 || position == available)
            {
                if (available == stream.Length)
                {
                    break;
                }
                available = byteByByte ? available + 1 : stream.Length;
                continue;
            }
            FrameStatus status = s_protocol.FrameStream(stream.AsSpan(position, available - position), ref state, out Frame frame);
            if (status == FrameStatus.Incomplete)
            {
                if (available == stream.Length)
                {
                    frames.Add($"incomplete at {position}");
                    break;
                }
                available = byteByByte ? available + 1 : stream.Length;
                continue;
            }
            frames.Add($"{status} at {position}: length {frame.Length} type {frame.Type} skip {frame.SkipAfter} tag {frame.Tag:x} error {frame.Error}");
            if (status == FrameStatus.Drop)
            {
                break;
            }
            position += frame.Length;
            skip = frame.SkipAfter;
        }
        return frames;
    }

    [Fact]
    public void ATextPipelineSplitAtAnyByteFramesTheSame()
    {
        List<string> whole = FrameAll(s_textPipeline, s_textPipeline.Length);
        Assert.True(whole.Count > 30);
        Assert.DoesNotContain(whole, f => f.StartsWith("incomplete") || f.StartsWith("Drop"));
        for (int split = 0; split < s_textPipeline.Length; split++)
        {
            List<string> parts = FrameAll(s_textPipeline, split);
            Assert.True(whole.SequenceEqual(parts), $"split at {split}: {string.Join(" | ", parts.Except(whole).Take(3))}");
        }
        Assert.Equal(whole, FrameAll(s_textPipeline, 0, byteByByte: true));
    }

    [Fact]
    public void ABinaryPipelineSplitAtAnyByteFramesTheSame()
    {
        List<string> whole = FrameAll(s_binaryPipeline, s_binaryPipeline.Length);
        Assert.DoesNotContain(whole, f => f.StartsWith("incomplete") || f.StartsWith("Drop"));
        for (int split = 0; split < s_binaryPipeline.Length; split++)
        {
            List<string> parts = FrameAll(s_binaryPipeline, split);
            Assert.True(whole.SequenceEqual(parts), $"split at {split}: {string.Join(" | ", parts.Except(whole).Take(3))}");
        }
        Assert.Equal(whole, FrameAll(s_binaryPipeline, 0, byteByByte: true));
    }

    private static (FrameStatus Status, Frame Frame) FrameFirst(byte[] bytes)
    {
        ulong state = 0;
        FrameStatus status = s_protocol.FrameStream(bytes, ref state, out Frame frame);
        return (status, frame);
    }

    [Fact]
    public void AStorageCommandsFrameHoldsItsDataBlockAndSaysHowMuchItNeedsUntilItArrives()
    {
        byte[] whole = Latin1("set a 0 0 5\r\nhello\r\n");
        (FrameStatus status, Frame frame) = FrameFirst(whole);
        Assert.Equal(FrameStatus.Request, status);
        Assert.Equal(whole.Length, frame.Length);
        Assert.Equal((int)KvRequestType.Set, frame.Type);

        (status, frame) = FrameFirst(whole[..15]);
        Assert.Equal(FrameStatus.Incomplete, status);
        Assert.Equal(whole.Length, frame.Length);

        (status, frame) = FrameFirst(Latin1("set a 0 0 5"));
        Assert.Equal(FrameStatus.Incomplete, status);
        Assert.Equal(0, frame.Length);
    }

    [Fact]
    public void AValueOverTheItemLimitIsFramedWithoutItsDataWhichIsSkipped()
    {
        (FrameStatus status, Frame frame) = FrameFirst(Latin1("set a 0 0 5000\r\n"));
        Assert.Equal(FrameStatus.Request, status);
        Assert.Equal(16, frame.Length);
        Assert.Equal(5002, frame.SkipAfter);

        (status, frame) = FrameFirst(Bin.Request(0x01, "a", Bin.SetExtras(0, 0), new byte[100]).AsSpan(0, 33).ToArray());
        Assert.Equal(FrameStatus.Incomplete, status);
        byte[] tooLarge = Bin.Request(0x01, "a", Bin.SetExtras(0, 0), new byte[5000]);
        (status, frame) = FrameFirst(tooLarge.AsSpan(0, 33).ToArray());
        Assert.Equal(FrameStatus.Request, status);
        Assert.Equal(33, frame.Length);
        Assert.Equal(5000, frame.SkipAfter);
    }

    [Fact]
    public void AStorageLineRefusedBeforeItsDataIsFramedAloneSoTheDataIsReadAsCommands()
    {
        (FrameStatus status, Frame frame) = FrameFirst(Latin1($"set {new string('k', 251)} 0 0 3\r\nabc\r\n"));
        Assert.Equal(FrameStatus.Request, status);
        Assert.Equal(4 + 251 + 6 + 2, frame.Length);
        Assert.Equal(0, frame.SkipAfter);
    }

    [Fact]
    public void RetrievalsOfManyKeysAreTheMultigetType()
    {
        Assert.Equal((int)KvRequestType.Get, FrameFirst(Latin1("get a b c d e f g\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Multiget, FrameFirst(Latin1("get a b c d e f g h\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Multiget, FrameFirst(Latin1("gats 10 a b c d e f g h\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Get, FrameFirst(Latin1("gats 10 a b c d e f g\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Get, FrameFirst(Latin1("mg a v\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Delete, FrameFirst(Latin1("md a\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Arith, FrameFirst(Latin1("incr a 1\r\n")).Frame.Type);
        Assert.Equal((int)KvRequestType.Other, FrameFirst(Latin1("stats\r\n")).Frame.Type);
        Assert.Equal("multiget", s_protocol.TypeName((int)KvRequestType.Multiget));
    }

    [Fact]
    public void ARunOfBinaryQuietGetsIsOneRequestThatWaitsForTheRequestAfterIt()
    {
        byte[] run = Bin.Concat([.. Enumerable.Range(0, 9).Select(i => Bin.Request(0x0d, $"k{i}", opaque: (uint)i))]);
        byte[] noop = Bin.Request(0x0a, opaque: 99);

        Assert.Equal(FrameStatus.Incomplete, FrameFirst(run).Status);
        Assert.Equal(FrameStatus.Incomplete, FrameFirst(Bin.Concat(run, noop[..1])).Status);
        (FrameStatus status, Frame frame) = FrameFirst(Bin.Concat(run, noop[..2]));
        Assert.Equal(FrameStatus.Request, status);
        Assert.Equal(run.Length, frame.Length);
        Assert.Equal((int)KvRequestType.Multiget, frame.Type);

        (status, frame) = FrameFirst(Bin.Concat(run[..(run.Length / 9 * 3)], noop));
        Assert.Equal((int)KvRequestType.Get, frame.Type);
    }

    [Fact]
    public void AnUnterminatedLineOver2048BytesClosesTheConnectionUnlessItIsAGet()
    {
        Assert.Equal(FrameStatus.Incomplete, FrameFirst(Latin1(new string('x', 2048))).Status);
        Assert.Equal(FrameStatus.Drop, FrameFirst(Latin1(new string('x', 2049))).Status);
        Assert.Equal(FrameStatus.Incomplete, FrameFirst(Latin1("get " + new string('x', 5000))).Status);
        Assert.Equal(FrameStatus.Incomplete, FrameFirst(Latin1("   gets " + new string('x', 5000))).Status);
        Assert.Equal(FrameStatus.Drop, FrameFirst(Latin1("gat 1 " + new string('x', 5000))).Status);
        // With its newline it is a request, however long, as when memcached reads it whole.
        Assert.Equal(FrameStatus.Request, FrameFirst(Latin1(new string('x', 3000) + "\r\n")).Status);
    }

    [Fact]
    public void ABinaryConnectionClosesOnABadMagicByte()
    {
        byte[] stream = Bin.Concat(Bin.Request(0x0a), new byte[24]);
        ulong state = 0;
        Assert.Equal(FrameStatus.Request, s_protocol.FrameStream(stream, ref state, out Frame frame));
        Assert.Equal(FrameStatus.Drop, s_protocol.FrameStream(stream.AsSpan(frame.Length), ref state, out _));
    }

    [Fact]
    public void ATextLineStartingWith0x80AfterTheFirstByteIsAnsweredErrorByTheTransport()
    {
        byte[] stream = Latin1("mn\r\n\u0080abc\r\n");
        ulong state = 0;
        Assert.Equal(FrameStatus.Request, s_protocol.FrameStream(stream, ref state, out Frame first));
        Assert.Equal(FrameStatus.Invalid, s_protocol.FrameStream(stream.AsSpan(first.Length), ref state, out Frame frame));
        Assert.Equal(6, frame.Length);
        var reply = new byte[AppProtocol.MaxFailureReplyBytes];
        int n = s_protocol.WriteFailure(reply, new ReplyInfo { Status = RequestStatus.BadRequest, Tag = frame.Tag });
        Assert.Equal("ERROR\r\n", Encoding.ASCII.GetString(reply, 0, n));
    }

    [Fact]
    public void FailureRepliesAreMemcachedLinesOrBinaryErrorsEchoingOpcodeAndOpaque()
    {
        var buffer = new byte[AppProtocol.MaxFailureReplyBytes];
        ulong state = 0;
        s_protocol.FrameStream(Latin1("get a\r\n"), ref state, out Frame text);
        foreach (RequestStatus status in Enum.GetValues<RequestStatus>().Where(s => s != RequestStatus.Ok))
        {
            int n = s_protocol.WriteFailure(buffer, new ReplyInfo { Status = status, Tag = text.Tag });
            string line = Encoding.ASCII.GetString(buffer, 0, n);
            Assert.True(line.EndsWith("\r\n") && (line.StartsWith("SERVER_ERROR ") || line == "ERROR\r\n"), line);
        }

        state = 0;
        s_protocol.FrameStream(Latin1("set a 0 0 1 noreply\r\nx\r\n"), ref state, out Frame quiet);
        Assert.Equal(0, s_protocol.WriteFailure(buffer, new ReplyInfo { Status = RequestStatus.RejectedOverload, Tag = quiet.Tag }));

        state = 0;
        s_protocol.FrameStream(Bin.Request(0x11, "a", Bin.SetExtras(0, 0), [1], opaque: 0xabcdef01), ref state, out Frame binary);
        foreach (RequestStatus status in Enum.GetValues<RequestStatus>().Where(s => s != RequestStatus.Ok))
        {
            int n = s_protocol.WriteFailure(buffer, new ReplyInfo { Status = status, Tag = binary.Tag });
            Assert.InRange(n, 24, AppProtocol.MaxFailureReplyBytes);
            Assert.Equal(0x81, buffer[0]);
            Assert.Equal(0x11, buffer[1]);
            Assert.NotEqual(0, BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(6)));
            Assert.Equal((uint)(n - 24), BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(8)));
            Assert.Equal(0xabcdef01u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(12)));
        }
    }

    [Fact]
    public void DatagramsCarryMemcachedsFrameHeader()
    {
        byte[] datagram = [0x12, 0x34, 0, 0, 0, 1, 0, 0, .. Latin1("get a b c d e f g h\r\n")];
        Assert.Equal(FrameStatus.Request, s_protocol.FrameDatagram(datagram, out Frame frame));
        Assert.Equal(8, frame.BodyOffset);
        Assert.Equal(datagram.Length, frame.Length);
        Assert.Equal(0x1234, frame.Id);
        Assert.Equal((int)KvRequestType.Multiget, frame.Type);

        Assert.Equal(FrameStatus.Drop, s_protocol.FrameDatagram(datagram[..8], out _));
        byte[] twoParts = [.. datagram];
        twoParts[5] = 2;
        Assert.Equal(FrameStatus.Drop, s_protocol.FrameDatagram(twoParts, out _));
        Assert.Equal(FrameStatus.Drop, s_protocol.FrameDatagram([0, 1, 0, 0, 0, 1, 0, 0, .. Latin1("set a 0 0 10\r\nabc")], out _));

        var header = new byte[8];
        s_protocol.WriteDatagramHeader(header, new ReplyInfo { Id = 0x1234 }, 2, 5);
        Assert.Equal(new byte[] { 0x12, 0x34, 0, 2, 0, 5, 0, 0 }, header);
        Assert.Equal(8, s_protocol.DatagramHeaderBytes);
        Assert.True(s_protocol.SplitsDatagramReplies);
        Assert.Equal(1400, UdpFrame.MaxDatagramBytes);
    }
}
