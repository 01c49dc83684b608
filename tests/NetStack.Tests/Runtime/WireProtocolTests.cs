// Behaviour of the wire protocol codec: byte layout, round trips, each bad-input class, and no allocation.
using System.Buffers.Binary;
using NetStack.Runtime.Protocol;
using Xunit;

namespace NetStack.Tests.Runtime;

public class WireProtocolTests
{
    private const int TypeCount = 4;

    // The examples in docs/protocol.md, written out by hand from the offset tables so that a
    // codec bug cannot agree with itself: type 2, id 0x0102030405060708, intended send 1 s
    // (0x3B9ACA00 ns), service 5000 ns (0x1388), a 4-byte payload "ping".
    private const string ExampleRequestHex =
        "4E53544B" + "02" + "02" + "0000" + "0807060504030201" + "00CA9A3B00000000" + "8813000000000000" + "04000000" + "00000000"
        + "70696E67";

    // Its reply: ok, queued 1200 ns (0x04B0), in service 5000 ns, preempted once, no payload.
    private const string ExampleResponseHex =
        "4E53544B" + "02" + "02" + "00" + "00" + "0807060504030201" + "00CA9A3B00000000" + "B0040000" + "88130000" + "01000000" + "00000000";

    private static readonly RequestHeader s_exampleRequest = new()
    {
        Type = 2,
        Id = 0x0102030405060708,
        IntendedSendNs = 1_000_000_000,
        ServiceNs = 5_000,
        PayloadLength = 4,
    };

    private static readonly ResponseHeader s_exampleResponse = new()
    {
        Type = 2,
        Status = ResponseStatus.Ok,
        Id = 0x0102030405060708,
        IntendedSendNs = 1_000_000_000,
        QueuedNs = 1_200,
        ServiceNs = 5_000,
        Preemptions = 1,
    };

    [Fact]
    public void RequestRoundTripsThroughTheCodec()
    {
        var sent = new RequestHeader
        {
            Type = 254,
            Id = ulong.MaxValue - 1,
            IntendedSendNs = long.MinValue + 7, // the sender's clock may be anything; it is echoed, not judged
            ServiceNs = long.MaxValue,
            PayloadLength = 100,
        };
        var datagram = new byte[WireProtocol.HeaderSize + 100];

        int written = WireProtocol.WriteRequest(datagram, sent);
        var error = WireProtocol.TryParseRequest(datagram, typeCount: 255, out var received);

        Assert.Equal(WireProtocol.HeaderSize, written);
        Assert.Equal(ParseError.None, error);
        Assert.Equal(sent, received);
    }

    [Fact]
    public void ResponseRoundTripsThroughTheCodec()
    {
        var sent = new ResponseHeader
        {
            Type = 9,
            Status = ResponseStatus.RejectedOverload,
            Id = 0xDEADBEEFCAFEF00D,
            IntendedSendNs = -123_456_789,
            QueuedNs = uint.MaxValue,
            ServiceNs = 1,
            Preemptions = 77,
        };
        var datagram = new byte[WireProtocol.HeaderSize];

        int written = WireProtocol.WriteResponse(datagram, sent);

        Assert.Equal(WireProtocol.HeaderSize, written);
        Assert.True(WireProtocol.TryParseResponse(datagram, out var received));
        Assert.Equal(sent, received);
    }

    [Fact]
    public void RequestIsWrittenLittleEndianAtTheDocumentedOffsets()
    {
        var datagram = new byte[WireProtocol.HeaderSize + 4];
        int written = WireProtocol.WriteRequest(datagram, s_exampleRequest);
        "ping"u8.CopyTo(datagram.AsSpan(written));

        Assert.Equal(ExampleRequestHex, Convert.ToHexString(datagram));
        Assert.Equal("NSTK"u8.ToArray(), datagram[..4]);
    }

    [Fact]
    public void HandWrittenRequestParsesToTheDocumentedFields()
    {
        var error = WireProtocol.TryParseRequest(Convert.FromHexString(ExampleRequestHex), TypeCount, out var header);

        Assert.Equal(ParseError.None, error);
        Assert.Equal(s_exampleRequest, header);
    }

    [Fact]
    public void ResponseIsWrittenLittleEndianAtTheDocumentedOffsets()
    {
        var datagram = new byte[WireProtocol.HeaderSize];
        WireProtocol.WriteResponse(datagram, s_exampleResponse);

        Assert.Equal(ExampleResponseHex, Convert.ToHexString(datagram));
    }

    [Fact]
    public void HandWrittenResponseParsesToTheDocumentedFields()
    {
        Assert.True(WireProtocol.TryParseResponse(Convert.FromHexString(ExampleResponseHex), out var header));
        Assert.Equal(s_exampleResponse, header);
    }

    [Theory]
    [InlineData(ParseError.None, "none")]
    [InlineData(ParseError.TooShort, "too-short")]
    [InlineData(ParseError.BadMagic, "bad-magic")]
    [InlineData(ParseError.BadVersion, "bad-version")]
    [InlineData(ParseError.LengthMismatch, "length-mismatch")]
    [InlineData(ParseError.UnknownType, "unknown-type")]
    [InlineData(ParseError.Oversized, "oversized")]
    [InlineData(ParseError.NegativeServiceTime, "negative-service-time")]
    public void EachBadInputClassIsNamedByReason(ParseError expected, string name)
    {
        var error = WireProtocol.TryParseRequest(Craft(expected), TypeCount, out _);

        Assert.Equal(expected, error);
        Assert.Equal(name, WireProtocol.ErrorName(error));
    }

    [Fact]
    public void EveryParseErrorHasADistinctKebabName()
    {
        var errors = Enum.GetValues<ParseError>();
        var names = errors.Select(WireProtocol.ErrorName).ToArray();

        Assert.Equal(WireProtocol.ParseErrorCount, errors.Length);
        Assert.Equal(Enumerable.Range(0, errors.Length), errors.Select(e => (int)e));
        Assert.Equal(names.Length, names.Distinct().Count());
        Assert.All(names, n => Assert.Matches("^[a-z]+(-[a-z]+)*$", n));
        Assert.DoesNotContain("unknown", names);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(WireProtocol.HeaderSize - 1)]
    public void DatagramShorterThanAHeaderIsTooShortAndLeavesTheHeaderEmpty(int length)
    {
        var datagram = ValidRequest(0)[..Math.Min(length, WireProtocol.HeaderSize)];

        var error = WireProtocol.TryParseRequest(datagram, TypeCount, out var header);

        Assert.Equal(ParseError.TooShort, error);
        Assert.Equal(default, header);
    }

    [Fact]
    public void BigEndianMagicIsBadMagic()
    {
        var datagram = ValidRequest(0);
        "KTSN"u8.CopyTo(datagram);

        Assert.Equal(ParseError.BadMagic, WireProtocol.TryParseRequest(datagram, TypeCount, out _));
    }

    [Fact]
    public void OversizedDatagramOfAnotherProtocolIsBadMagic()
    {
        var datagram = new byte[WireProtocol.MaxDatagramSize + 1];

        var error = WireProtocol.TryParseRequest(datagram, TypeCount, out _);

        Assert.Equal(ParseError.BadMagic, error);
        Assert.False(WireProtocol.CanAnswer(error));
    }

    [Fact]
    public void DatagramOfExactlyTheMaximumSizeIsAccepted()
    {
        var datagram = ValidRequest(WireProtocol.MaxDatagramSize - WireProtocol.HeaderSize);

        Assert.Equal(ParseError.None, WireProtocol.TryParseRequest(datagram, TypeCount, out _));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(4, 0)]
    [InlineData(4, 5)]
    [InlineData(4, uint.MaxValue)]
    public void PayloadLengthMustMatchTheBytesAfterTheHeader(int actualPayload, uint claimedPayload)
    {
        var datagram = ValidRequest(actualPayload);
        BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(32), claimedPayload);

        Assert.Equal(ParseError.LengthMismatch, WireProtocol.TryParseRequest(datagram, TypeCount, out _));
    }

    [Theory]
    [InlineData(0, 0, ParseError.UnknownType)]
    [InlineData(4, 3, ParseError.None)]
    [InlineData(4, 4, ParseError.UnknownType)]
    [InlineData(-1, 0, ParseError.UnknownType)]
    [InlineData(255, 254, ParseError.None)]
    [InlineData(256, 255, ParseError.UnknownType)] // 255 is reserved whatever the app claims
    public void TypeIsValidatedAgainstTheAppsTypeCount(int typeCount, byte type, ParseError expected)
    {
        var datagram = ValidRequest(0);
        datagram[5] = type;

        Assert.Equal(expected, WireProtocol.TryParseRequest(datagram, typeCount, out _));
    }

    [Fact]
    public void ZeroServiceTimeIsValid()
    {
        var datagram = ValidRequest(0);
        BinaryPrimitives.WriteInt64LittleEndian(datagram.AsSpan(24), 0L);

        Assert.Equal(ParseError.None, WireProtocol.TryParseRequest(datagram, TypeCount, out _));
    }

    [Fact]
    public void ReservedRequestFieldsAreIgnored()
    {
        var datagram = ValidRequest(0);
        BinaryPrimitives.WriteUInt16LittleEndian(datagram.AsSpan(6), 0xFFFF);
        BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(36), uint.MaxValue);

        Assert.Equal(ParseError.None, WireProtocol.TryParseRequest(datagram, TypeCount, out var header));
        Assert.Equal(s_exampleRequest.Id, header.Id);
    }

    [Fact]
    public void ChecksRunInTheDocumentedOrder()
    {
        // One datagram with every fault that a readable header can carry; clearing them one at
        // a time must reveal them in the documented order.
        var datagram = ValidRequest(WireProtocol.MaxDatagramSize + 1 - WireProtocol.HeaderSize);
        datagram[0] = 0; // bad magic
        datagram[4] = 9; // bad version
        BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(32), 1u); // length mismatch
        BinaryPrimitives.WriteInt64LittleEndian(datagram.AsSpan(24), -5L); // negative service time
        datagram[5] = 200; // unknown type

        Assert.Equal(ParseError.BadMagic, Parse(datagram));
        datagram[0] = 0x4E;
        Assert.Equal(ParseError.Oversized, Parse(datagram));
        datagram = datagram[..^1];
        Assert.Equal(ParseError.BadVersion, Parse(datagram));
        datagram[4] = WireProtocol.Version;
        Assert.Equal(ParseError.LengthMismatch, Parse(datagram));
        BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(32), (uint)(datagram.Length - WireProtocol.HeaderSize));
        Assert.Equal(ParseError.NegativeServiceTime, Parse(datagram));
        BinaryPrimitives.WriteInt64LittleEndian(datagram.AsSpan(24), 5L);
        Assert.Equal(ParseError.UnknownType, Parse(datagram));
        datagram[5] = 1;
        Assert.Equal(ParseError.None, Parse(datagram));

        static ParseError Parse(byte[] d) => WireProtocol.TryParseRequest(d, TypeCount, out _);
    }

    [Theory]
    [InlineData(ParseError.None, false)]
    [InlineData(ParseError.TooShort, false)]
    [InlineData(ParseError.BadMagic, false)]
    [InlineData(ParseError.BadVersion, true)]
    [InlineData(ParseError.LengthMismatch, true)]
    [InlineData(ParseError.UnknownType, true)]
    [InlineData(ParseError.Oversized, true)]
    [InlineData(ParseError.NegativeServiceTime, true)]
    public void ServerAnswersBadRequestOnlyWhenTheHeaderWasReadableAndOurs(ParseError error, bool answerable)
    {
        Assert.Equal(answerable, WireProtocol.CanAnswer(error));
    }

    [Theory]
    [InlineData(ParseError.BadVersion)]
    [InlineData(ParseError.LengthMismatch)]
    [InlineData(ParseError.UnknownType)]
    [InlineData(ParseError.Oversized)]
    [InlineData(ParseError.NegativeServiceTime)]
    public void BadRequestReplyEchoesTheSendersFields(ParseError fault)
    {
        var datagram = Craft(fault);
        var error = WireProtocol.TryParseRequest(datagram, TypeCount, out var request);
        var reply = new byte[WireProtocol.HeaderSize];

        WireProtocol.WriteResponse(reply, WireProtocol.ReplyTo(request, ResponseStatus.BadRequest));

        Assert.Equal(fault, error);
        Assert.True(WireProtocol.TryParseResponse(reply, out var response));
        Assert.Equal(ResponseStatus.BadRequest, response.Status);
        Assert.Equal(datagram[5], response.Type);
        Assert.Equal(s_exampleRequest.Id, response.Id);
        Assert.Equal(s_exampleRequest.IntendedSendNs, response.IntendedSendNs);
    }

    [Fact]
    public void ReplyIsNeverLargerThanItsRequest()
    {
        // Every length the server could be handed, each with our magic and a header as valid as
        // the length allows: whenever the server answers, the answer fits in what it received.
        var reply = new byte[WireProtocol.HeaderSize];
        for (int length = 0; length <= WireProtocol.MaxDatagramSize + 8; length++)
        {
            var datagram = ValidRequest(Math.Max(0, length - WireProtocol.HeaderSize))[..length];
            var error = WireProtocol.TryParseRequest(datagram, TypeCount, out var request);
            if (error != ParseError.None && !WireProtocol.CanAnswer(error))
            {
                continue;
            }

            var status = error == ParseError.None ? ResponseStatus.Ok : ResponseStatus.BadRequest;
            int replyLength = WireProtocol.WriteResponse(reply, WireProtocol.ReplyTo(request, status));

            Assert.True(replyLength <= length, $"a {length}-byte request ({WireProtocol.ErrorName(error)}) got a {replyLength}-byte reply");
        }
    }

    [Theory]
    [InlineData(0L, 0u)]
    [InlineData(1L, 1u)]
    [InlineData(4_294_967_295L, uint.MaxValue)]
    [InlineData(4_294_967_296L, uint.MaxValue)]
    [InlineData(long.MaxValue, uint.MaxValue)]
    [InlineData(-1L, 0u)]
    [InlineData(long.MinValue, 0u)]
    public void DurationsSaturateToTheU32Range(long ns, uint expected)
    {
        Assert.Equal(expected, WireProtocol.Saturate(ns));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("magic")]
    [InlineData("version")]
    [InlineData("status")]
    [InlineData("length")]
    public void MalformedResponseIsRefused(string fault)
    {
        var datagram = new byte[WireProtocol.HeaderSize];
        WireProtocol.WriteResponse(datagram, s_exampleResponse);
        switch (fault)
        {
            case "short": datagram = datagram[..^1]; break;
            case "magic": datagram[3] = 0; break;
            case "version": datagram[4] = 1; break; // version 1 replies carried no payload
            case "status": datagram[6] = 5; break;
            case "length": datagram[36] = 1; break;
        }

        Assert.False(WireProtocol.TryParseResponse(datagram, out var header));
        Assert.Equal(default, header);
    }

    [Fact]
    public void ReplyCarriesItsPayloadAfterTheHeaderAndStatesItsLength()
    {
        var reply = new byte[WireProtocol.HeaderSize + 4];
        ResponseHeader header = s_exampleResponse;
        header.PayloadLength = 4;
        WireProtocol.WriteResponse(reply, header);
        "ping"u8.CopyTo(reply.AsSpan(WireProtocol.HeaderSize));

        Assert.True(WireProtocol.TryParseResponse(reply, out var parsed));
        Assert.Equal(4u, parsed.PayloadLength);
        Assert.False(WireProtocol.TryParseResponse(reply.AsSpan(0, WireProtocol.HeaderSize + 3), out _));
        Assert.True(WireProtocol.TryParseResponseHeader(reply.AsSpan(0, WireProtocol.HeaderSize), out var streamed));
        Assert.Equal(parsed, streamed);
    }

    [Fact]
    public void RequestStatusesAndWireStatusesAreTheSameNumbers()
    {
        foreach (var status in Enum.GetValues<global::NetStack.Runtime.Scheduling.RequestStatus>())
        {
            Assert.Equal(status.ToString(), ((ResponseStatus)(byte)status).ToString());
        }
    }

    [Fact]
    public void StatusesHaveKebabNames()
    {
        Assert.Equal(
            ["ok", "rejected-overload", "bad-request", "error", "shutting-down"],
            Enum.GetValues<ResponseStatus>().Select(WireProtocol.StatusName));
    }

    [Fact]
    public void WritingIntoLessThanAHeaderThrows()
    {
        var small = new byte[WireProtocol.HeaderSize - 1];

        Assert.Throws<ArgumentException>(() => WireProtocol.WriteRequest(small, s_exampleRequest));
        Assert.Throws<ArgumentException>(() => WireProtocol.WriteResponse(small, s_exampleResponse));
    }

    [Fact]
    public void ParsingAllocatesNothing()
    {
        var requests = new[] { ValidRequest(16), Craft(ParseError.TooShort), Craft(ParseError.Oversized), Craft(ParseError.UnknownType) };
        var response = new byte[WireProtocol.HeaderSize];
        WireProtocol.WriteResponse(response, s_exampleResponse);
        long sink = ParseAll(requests, response, 1_000); // warm-up: JIT tiers and statics

        long before = GC.GetAllocatedBytesForCurrentThread();
        sink += ParseAll(requests, response, 10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0L, allocated);
        Assert.NotEqual(0L, sink);
    }

    [Fact]
    public void WritingAllocatesNothing()
    {
        var buffer = new byte[WireProtocol.HeaderSize];
        long sink = WriteAll(buffer, 1_000);

        long before = GC.GetAllocatedBytesForCurrentThread();
        sink += WriteAll(buffer, 10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0L, allocated);
        Assert.NotEqual(0L, sink);
    }

    private static long ParseAll(byte[][] requests, byte[] response, int iterations)
    {
        long sink = 0;
        for (int i = 0; i < iterations; i++)
        {
            foreach (var request in requests)
            {
                var error = WireProtocol.TryParseRequest(request, TypeCount, out var header);
                sink += (long)error + header.Type + (WireProtocol.CanAnswer(error) ? 1 : 0) + WireProtocol.ErrorName(error).Length;
            }

            sink += WireProtocol.TryParseResponse(response, out var reply) ? reply.Preemptions : 0;
        }

        return sink;
    }

    private static long WriteAll(byte[] buffer, int iterations)
    {
        long sink = 0;
        for (int i = 0; i < iterations; i++)
        {
            sink += WireProtocol.WriteRequest(buffer, s_exampleRequest);
            var reply = WireProtocol.ReplyTo(s_exampleRequest, ResponseStatus.Ok);
            reply.QueuedNs = WireProtocol.Saturate(i);
            sink += WireProtocol.WriteResponse(buffer, reply);
        }

        return sink;
    }

    /// <summary>A valid request like the documented example, with <paramref name="payloadLength"/> payload bytes.</summary>
    private static byte[] ValidRequest(int payloadLength)
    {
        var datagram = new byte[WireProtocol.HeaderSize + payloadLength];
        var header = s_exampleRequest;
        header.PayloadLength = (uint)payloadLength;
        WireProtocol.WriteRequest(datagram, header);
        return datagram;
    }

    /// <summary>A datagram with exactly one fault, the one that produces <paramref name="error"/>.</summary>
    private static byte[] Craft(ParseError error)
    {
        var datagram = ValidRequest(4);
        switch (error)
        {
            case ParseError.None:
                break;
            case ParseError.TooShort:
                datagram = datagram[..(WireProtocol.HeaderSize - 1)];
                break;
            case ParseError.BadMagic:
                datagram[0] ^= 0xFF;
                break;
            case ParseError.BadVersion:
                datagram[4] = WireProtocol.Version + 1;
                break;
            case ParseError.LengthMismatch:
                datagram = datagram[..^1];
                break;
            case ParseError.UnknownType:
                datagram[5] = TypeCount;
                break;
            case ParseError.Oversized:
                datagram = ValidRequest(WireProtocol.MaxDatagramSize + 1 - WireProtocol.HeaderSize);
                break;
            case ParseError.NegativeServiceTime:
                BinaryPrimitives.WriteInt64LittleEndian(datagram.AsSpan(24), -1L);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(error));
        }

        return datagram;
    }
}
