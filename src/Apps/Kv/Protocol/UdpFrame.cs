// memcached's UDP frame header, both directions: request id, sequence number, datagram count, reserved.
using System.Buffers.Binary;

namespace NetStack.Apps.Kv.Protocol;

/// <summary>
/// The 8-byte header in front of every memcached datagram (protocol.txt, "UDP protocol"): four
/// big-endian 16-bit fields. A request must be one datagram; a reply is cut into datagrams of at
/// most <see cref="MaxDatagramBytes"/> bytes, header included (memcached's UDP_MAX_PAYLOAD_SIZE),
/// numbered 0..count-1.
/// </summary>
internal static class UdpFrame
{
    /// <summary>Header bytes.</summary>
    public const int HeaderBytes = 8;

    /// <summary>Largest reply datagram, header included (memcached.h's UDP_MAX_PAYLOAD_SIZE).</summary>
    public const int MaxDatagramBytes = 1400;

    /// <summary>Reply bytes per datagram (memcached's UDP_DATA_SIZE).</summary>
    public const int MaxPayloadBytes = MaxDatagramBytes - HeaderBytes;

    /// <summary>Reads a request's header; false when memcached would drop the datagram unanswered:
    /// 8 bytes or fewer (try_read_udp wants more), or a count other than 1 (multi-datagram requests
    /// are not supported).</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> datagram, out ushort requestId)
    {
        requestId = 0;
        if (datagram.Length <= HeaderBytes)
        {
            return false;
        }
        requestId = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        return datagram[4] == 0 && datagram[5] == 1;
    }

    /// <summary>Writes a reply datagram's header.</summary>
    public static void Write(Span<byte> header, ushort requestId, int sequence, int count)
    {
        BinaryPrimitives.WriteUInt16BigEndian(header, requestId);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)sequence);
        // memcached caps the count at 65535 rather than refuse a huge reply.
        BinaryPrimitives.WriteUInt16BigEndian(header[4..], (ushort)Math.Min(count, ushort.MaxValue));
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], 0);
    }

    /// <summary>Datagrams a reply of <paramref name="replyBytes"/> takes (at least 1).</summary>
    public static int DatagramCount(int replyBytes) => Math.Max(1, (replyBytes + MaxPayloadBytes - 1) / MaxPayloadBytes);
}
