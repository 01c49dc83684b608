// Fuzzing the spin wire protocol: the codec against docs/protocol.md's table, the datagram and stream framers against the framer contract, and splits.
using System.Buffers.Binary;
using CsCheck;
using NetStack.Apps.Spin;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;
using Xunit;

namespace NetStack.Tests.Fuzz;

public class SpinProtocolFuzzTests
{
    private static readonly SpinProtocol s_protocol = new(SpinApp.TypeCount);

    /// <summary>docs/protocol.md's "Bad input" table, written from the document rather than from the code:
    /// the first failing check wins.</summary>
    private static ParseError Reference(ReadOnlySpan<byte> bytes, int typeCount, int maxLength)
    {
        if (bytes.Length < 40)
        {
            return ParseError.TooShort;
        }
        if (bytes[0] != 0x4E || bytes[1] != 0x53 || bytes[2] != 0x54 || bytes[3] != 0x4B)
        {
            return ParseError.BadMagic;
        }
        if (bytes.Length > maxLength)
        {
            return ParseError.Oversized;
        }
        if (bytes[4] != 2)
        {
            return ParseError.BadVersion;
        }
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[32..]) != (uint)(bytes.Length - 40))
        {
            return ParseError.LengthMismatch;
        }
        if (BinaryPrimitives.ReadInt64LittleEndian(bytes[24..]) < 0)
        {
            return ParseError.NegativeServiceTime;
        }
        return bytes[5] >= typeCount || bytes[5] == 255 ? ParseError.UnknownType : ParseError.None;
    }

    private static void AssertHeaderIsTheBytes(ReadOnlySpan<byte> bytes, in RequestHeader header)
    {
        if (bytes.Length < 40)
        {
            Assert.Equal(default, header);
            return;
        }
        Assert.Equal(bytes[5], header.Type);
        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]), header.Id);
        Assert.Equal(BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]), header.IntendedSendNs);
        Assert.Equal(BinaryPrimitives.ReadInt64LittleEndian(bytes[24..]), header.ServiceNs);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(bytes[32..]), header.PayloadLength);
    }

    [Fact]
    public void RequestParsingFollowsTheDocumentedTableOnAnyBytes()
    {
        Gen<(byte[], int)> gen = Gen.Select(Gen.Frequency((4, FuzzGens.SpinInput), (1, FuzzGens.Bytes)), Gen.Int[1, 255]);
        Fuzz.Check("spin.parse-request", gen, t =>
        {
            (byte[] bytes, int typeCount) = t;
            ParseError error = WireProtocol.TryParseRequest(bytes, typeCount, out RequestHeader header);
            Assert.Equal(Reference(bytes, typeCount, WireProtocol.MaxDatagramSize), error);
            AssertHeaderIsTheBytes(bytes, header);
            Assert.Equal(error is not (ParseError.None or ParseError.TooShort or ParseError.BadMagic), WireProtocol.CanAnswer(error));
            Assert.NotEqual("unknown", WireProtocol.ErrorName(error));

            ParseError stream = WireProtocol.TryParseStreamFrame(bytes, typeCount, out RequestHeader streamHeader);
            Assert.Equal(Reference(bytes, typeCount, WireProtocol.HeaderSize + WireProtocol.MaxStreamPayloadBytes), stream);
            AssertHeaderIsTheBytes(bytes, streamHeader);
        }, ciIterations: 4000, print: t => $"{Fuzz.Hex(t.Item1)} types {t.Item2}");
    }

    [Fact]
    public void AWrittenRequestParsesBackToItsFields()
    {
        Fuzz.Check("spin.request-round-trip", FuzzGens.SpinRequest, bytes =>
        {
            Assert.Equal(ParseError.None, WireProtocol.TryParseRequest(bytes, SpinApp.TypeCount, out RequestHeader header));
            var again = new byte[bytes.Length];
            WireProtocol.WriteRequest(again, header);
            bytes.AsSpan(WireProtocol.HeaderSize).CopyTo(again.AsSpan(WireProtocol.HeaderSize));
            Assert.Equal(bytes, again);
        }, ciIterations: 1000, print: Fuzz.Hex);
    }

    [Fact]
    public void ResponseParsingRefusesWhatTheDocumentSaysAndReadsTheRest()
    {
        Gen<byte[]> gen = Gen.Frequency((1, FuzzGens.SpinResponse), (3, Gen.Select(FuzzGens.SpinResponse, FuzzGens.Mutations, FuzzGens.Apply)), (1, FuzzGens.Bytes));
        Fuzz.Check("spin.parse-response", gen, bytes =>
        {
            bool header = WireProtocol.TryParseResponseHeader(bytes, out ResponseHeader h);
            bool whole = WireProtocol.TryParseResponse(bytes, out ResponseHeader r);
            bool readable = bytes.Length >= 40 && BinaryPrimitives.ReadUInt32LittleEndian(bytes) == WireProtocol.Magic && bytes[4] == 2 && bytes[6] <= 4;
            Assert.Equal(readable, header);
            Assert.Equal(readable && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(36)) == (uint)(bytes.Length - 40), whole);
            if (!whole)
            {
                Assert.Equal(default, r);
            }
            if (header)
            {
                var again = new byte[40];
                WireProtocol.WriteResponse(again, h);
                // Everything but the reserved byte 7, which receivers ignore and writers zero.
                again[7] = bytes[7];
                Assert.Equal(bytes.AsSpan(0, 40).ToArray(), again);
            }
        }, ciIterations: 3000, print: Fuzz.Hex);
    }

    [Fact]
    public void DatagramFramingKeepsTheContractAndAgreesWithTheParser()
    {
        Fuzz.Check("spin.frame-datagram", Gen.Frequency((4, FuzzGens.SpinInput), (1, FuzzGens.Bytes)), bytes =>
        {
            FrameStatus status = s_protocol.FrameDatagram(bytes, out Frame frame);
            FramerContract.CheckDatagram(s_protocol, bytes, status, frame);
            ParseError error = WireProtocol.TryParseRequest(bytes, SpinApp.TypeCount, out RequestHeader header);
            FrameStatus expected = error == ParseError.None ? FrameStatus.Request : WireProtocol.CanAnswer(error) ? FrameStatus.Invalid : FrameStatus.Drop;
            Assert.Equal(expected, status);
            Assert.Equal((int)error, frame.Error);
            if (status != FrameStatus.Drop)
            {
                Assert.Equal((header.Type, (long)header.Id, header.IntendedSendNs), (frame.Type, frame.Id, frame.Tag));
                FramerContract.CheckFailureReplies(s_protocol, frame);
            }
        }, ciIterations: 4000, print: Fuzz.Hex);
    }

    [Fact]
    public void AStreamCutAnywhereFramesAsTheWholeStreamDoes()
    {
        Gen<(byte[], int[])> gen = Gen.Select(FuzzGens.Stream(FuzzGens.SpinInput, 6), FuzzGens.Cuts);
        Fuzz.Check("spin.frame-stream-splits", gen, t =>
        {
            (byte[] stream, int[] cuts) = t;
            List<string> whole = FramerContract.FrameStream(s_protocol, stream, []);
            List<string> split = cuts.Length == 0 && stream.Length <= 4000
                ? FramerContract.FrameByteByByte(s_protocol, stream)
                : FramerContract.FrameStream(s_protocol, stream, FuzzGens.CutPoints(cuts, stream.Length));
            Assert.Equal(whole, split);
        }, ciIterations: 2000, print: t => $"{Fuzz.Hex(t.Item1)} cuts [{string.Join(',', t.Item2)}]");
    }

    [Fact]
    public void APipelineOfValidRequestsFramesEachOneWithItsFields()
    {
        Gen<(byte[][], int[])> gen = Gen.Select(FuzzGens.SpinRequest.Array[1, 10], FuzzGens.Cuts);
        Fuzz.Check("spin.frame-stream-valid", gen, t =>
        {
            (byte[][] requests, int[] cuts) = t;
            byte[] stream = requests.SelectMany(r => r).ToArray();
            var frames = new List<(FrameStatus Status, int Start, Frame Frame)>();
            List<string> events = FramerContract.FrameStream(s_protocol, stream, FuzzGens.CutPoints(cuts, stream.Length), frames);
            Assert.Equal("end", events[^1]);
            Assert.Equal(requests.Length, frames.Count);
            for (int i = 0; i < requests.Length; i++)
            {
                WireProtocol.TryParseRequest(requests[i], SpinApp.TypeCount, out RequestHeader h);
                Frame f = frames[i].Frame;
                Assert.Equal(FrameStatus.Request, frames[i].Status);
                Assert.Equal((requests[i].Length, WireProtocol.HeaderSize, (int)h.Type, (long)h.Id, h.IntendedSendNs, h.ServiceNs),
                    (f.Length, f.BodyOffset, f.Type, f.Id, f.Tag, f.ServiceNs));
            }
        }, ciIterations: 1000);
    }

    [Fact]
    public void AFrameStatingAHugePayloadIsAnsweredFromItsHeaderAndItsPayloadSkipped()
    {
        Gen<(byte[], uint)> gen = Gen.Select(FuzzGens.SpinRequest, Gen.UInt[WireProtocol.MaxStreamPayloadBytes + 1, uint.MaxValue]);
        Fuzz.Check("spin.frame-stream-oversized", gen, t =>
        {
            (byte[] bytes, uint stated) = t;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32), stated);
            ulong state = 0;
            FrameStatus status = s_protocol.FrameStream(bytes, ref state, out Frame frame);
            FramerContract.CheckStream(s_protocol, bytes, status, frame);
            Assert.Equal(FrameStatus.Invalid, status);
            Assert.Equal((WireProtocol.HeaderSize, (long)stated, (int)ParseError.Oversized), (frame.Length, frame.SkipAfter, frame.Error));
        }, ciIterations: 500);
    }
}
