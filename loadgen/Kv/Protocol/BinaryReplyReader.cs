// The binary protocol, server to client: response headers checked for magic, opcode and the request's opaque.
using System.Buffers.Binary;
using NetStack.LoadGen.Kv;

namespace NetStack.LoadGen.Kv.Protocol;

/// <summary>
/// Reads the reply to the head request of a connection: for a GET or SET one response, for a
/// multiget the hits' GETKQ responses then the NOOP's. Every response must carry the request's
/// opaque and the opcode it answers; a response that does not is malformed.
/// </summary>
internal static class BinaryReplyReader
{
    private const byte ResponseMagic = 0x81;
    private const ushort KeyNotFound = 0x0001;
    private const ushort Busy = 0x0085;

    /// <summary>Reads what <paramref name="buffered"/> holds of the reply; see <see cref="KvClientProtocol.Read"/>.</summary>
    public static ReplyStep Read(ReadOnlySpan<byte> buffered, in ExpectedReply expected, ref ReplyProgress progress, int maxValueBytes,
        out int consumed)
    {
        consumed = 0;
        while (true)
        {
            ReadOnlySpan<byte> rest = buffered[consumed..];
            if (rest.Length < BinaryRequests.HeaderBytes)
            {
                return ReplyStep.NeedMore;
            }
            byte opcode = rest[1];
            int keyBytes = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
            int extrasBytes = rest[4];
            ushort status = BinaryPrimitives.ReadUInt16BigEndian(rest[6..]);
            uint body = BinaryPrimitives.ReadUInt32BigEndian(rest[8..]);
            uint opaque = BinaryPrimitives.ReadUInt32BigEndian(rest[12..]);
            // A body beyond any value this run stores (with its key and extras) cannot be an answer to it.
            if (rest[0] != ResponseMagic || opaque != expected.Opaque || body > (uint)maxValueBytes + 512
                || keyBytes + extrasBytes > body)
            {
                return ReplyStep.Malformed;
            }
            int total = BinaryRequests.HeaderBytes + (int)body;
            if (rest.Length < total)
            {
                return ReplyStep.NeedMore;
            }
            switch (expected.Op)
            {
                case KvOp.Multiget:
                    if (opcode == BinaryRequests.OpGetKQ)
                    {
                        ReadOnlySpan<byte> key = rest.Slice(BinaryRequests.HeaderBytes + extrasBytes, keyBytes);
                        if (status == 0)
                        {
                            if (!expected.Match(key, ref progress.KeyCursor))
                            {
                                return ReplyStep.Malformed;
                            }
                            progress.Hits++;
                        }
                        else
                        {
                            Failure(status, ref progress);
                        }
                        consumed += total;
                        continue;
                    }
                    if (opcode != BinaryRequests.OpNoop)
                    {
                        return ReplyStep.Malformed;
                    }
                    if (status != 0)
                    {
                        Failure(status, ref progress);
                    }
                    break;
                case KvOp.Set:
                    if (opcode != BinaryRequests.OpSet)
                    {
                        return ReplyStep.Malformed;
                    }
                    if (status != 0)
                    {
                        Failure(status, ref progress);
                    }
                    break;
                default:
                    if (opcode != BinaryRequests.OpGet)
                    {
                        return ReplyStep.Malformed;
                    }
                    if (status == 0)
                    {
                        progress.Hits = 1;
                    }
                    else if (status != KeyNotFound)
                    {
                        Failure(status, ref progress);
                    }
                    break;
            }
            consumed += total;
            return ReplyStep.Done;
        }
    }

    /// <summary>Over UDP: from the first datagram of a GET's reply (its header), the reply's whole length and what it answered.</summary>
    public static ReplyStep GetReplyLength(ReadOnlySpan<byte> first, in ExpectedReply expected, ref ReplyProgress progress, int maxValueBytes,
        out int totalBytes)
    {
        totalBytes = 0;
        if (first.Length < BinaryRequests.HeaderBytes)
        {
            return ReplyStep.Malformed;
        }
        ushort status = BinaryPrimitives.ReadUInt16BigEndian(first[6..]);
        uint body = BinaryPrimitives.ReadUInt32BigEndian(first[8..]);
        if (first[0] != ResponseMagic || first[1] != BinaryRequests.OpGet || BinaryPrimitives.ReadUInt32BigEndian(first[12..]) != expected.Opaque
            || body > (uint)maxValueBytes + 512)
        {
            return ReplyStep.Malformed;
        }
        if (status == 0)
        {
            progress.Hits = 1;
        }
        else if (status != KeyNotFound)
        {
            Failure(status, ref progress);
        }
        totalBytes = BinaryRequests.HeaderBytes + (int)body;
        return ReplyStep.Done;
    }

    private static void Failure(ushort status, ref ReplyProgress progress)
    {
        if (status == Busy)
        {
            progress.Rejected = true;
        }
        else
        {
            progress.Failed = true;
        }
    }
}
