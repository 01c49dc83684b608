// How a reply becomes datagrams, the same for both UDP backends: a header of the protocol's, then the reply's pieces where they lie.
using System.Runtime.CompilerServices;
using NetStack.Runtime.Buffers;
using NetStack.Runtime.Protocol;
using NetStack.Runtime.Scheduling;

namespace NetStack.IOKernel.Nic;

/// <summary>
/// The datagram side of an app's protocol, as both UDP backends send it: a reply of a green thread
/// goes out as one datagram, or as several numbered ones for a protocol that splits them, each a
/// gather list of the protocol's datagram header (written into the send slot's own bytes) and
/// pieces of the reply where the handler wrote them; a failure reply lives in the slot's own bytes
/// whole. A send slot is <see cref="IovPerDatagram"/> iovecs and <see cref="InlineBytes"/> of its
/// own. Nothing here allocates or copies a reply.
/// </summary>
internal static unsafe class UdpDatagrams
{
    /// <summary>Bytes of each send slot's own buffer: a datagram header at 0, a failure reply at <see cref="FailureOffset"/>.</summary>
    public const int InlineBytes = 128;

    /// <summary>Where a failure reply goes in a send slot's own buffer.</summary>
    public const int FailureOffset = 64;

    /// <summary>Buffers one datagram may gather: its header, and reply pieces across segment boundaries.</summary>
    public const int IovPerDatagram = 4;

    /// <summary>A send slot's status when it is not the last datagram of its reply: counted once, with the last.</summary>
    public const byte NotCounted = 255;

    /// <summary>
    /// Datagrams <paramref name="reply"/> needs (0 for an empty reply, which sends nothing), or -1
    /// when it cannot go: longer than one datagram for a protocol that does not split, or than
    /// <paramref name="maxDatagrams"/> (larger than any datagram reply a backend sends).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ReplyWriter reply, AppProtocol protocol, int maxDatagrams)
    {
        int total = reply.TotalBytes;
        int perDatagram = protocol.MaxDatagramReplyBytes - protocol.DatagramHeaderBytes;
        int count = total == 0 ? 0 : (total + perDatagram - 1) / perDatagram;
        if ((count > 1 && !protocol.SplitsDatagramReplies) || count > maxDatagrams)
        {
            return -1;
        }
        return count;
    }

    /// <summary>What a reply's header needs to be written (only for a header, or for a split reply's numbering).</summary>
    public static ReplyInfo InfoFor(GreenThread thread, AppProtocol protocol, int count) =>
        count > 1 || protocol.DatagramHeaderBytes > 0 ? thread.ReplyInfoNow() : default;

    /// <summary>
    /// Fills the gather list of datagram <paramref name="d"/> of <paramref name="count"/>: the header
    /// into <paramref name="inline"/>, then the next bytes of the reply from the cursor
    /// (<paramref name="piece"/>, <paramref name="pieceOffset"/>), which it advances. Returns the
    /// iovecs used, or -1 when the datagram would need more than <see cref="IovPerDatagram"/>: a reply
    /// split so finely across segments cannot happen with doubling segments of 16 KiB and up, and is
    /// refused cleanly if it does.
    /// </summary>
    public static int Fill(IoVec* iov, byte* inline, ReplyWriter reply, AppProtocol protocol, in ReplyInfo info,
        int d, int count, ref int piece, ref int pieceOffset)
    {
        int header = protocol.DatagramHeaderBytes;
        int perDatagram = protocol.MaxDatagramReplyBytes - header;
        int n = 0;
        if (header > 0)
        {
            protocol.WriteDatagramHeader(new Span<byte>(inline, header), info, d, count);
            iov[n++] = new IoVec { Base = inline, Length = (nuint)header };
        }
        int want = Math.Min(perDatagram, reply.TotalBytes - d * perDatagram);
        while (want > 0)
        {
            (nint start, int length) = reply.Piece(piece);
            int take = Math.Min(want, length - pieceOffset);
            if (take > 0)
            {
                if (n == IovPerDatagram)
                {
                    return -1;
                }
                iov[n++] = new IoVec { Base = (byte*)start + pieceOffset, Length = (nuint)take };
                want -= take;
                pieceOffset += take;
            }
            if (pieceOffset == length)
            {
                piece++;
                pieceOffset = 0;
            }
        }
        return n;
    }

    /// <summary>
    /// Fills a failure or rejection datagram, the protocol's short reply after its optional header,
    /// all in the slot's own <paramref name="inline"/> bytes. Returns the iovecs used; 0 when the
    /// protocol answers this one with silence.
    /// </summary>
    public static int FillFailure(IoVec* iov, byte* inline, AppProtocol protocol, in ReplyInfo info)
    {
        int failure = protocol.WriteFailure(new Span<byte>(inline + FailureOffset, AppProtocol.MaxFailureReplyBytes), info);
        if (failure == 0)
        {
            return 0;
        }
        int header = protocol.DatagramHeaderBytes;
        int n = 0;
        if (header > 0)
        {
            protocol.WriteDatagramHeader(new Span<byte>(inline, header), info, 0, 1);
            iov[n++] = new IoVec { Base = inline, Length = (nuint)header };
        }
        iov[n++] = new IoVec { Base = inline + FailureOffset, Length = (nuint)failure };
        return n;
    }

    /// <summary>Counts a datagram the kernel took, by the status of the reply it ends.</summary>
    public static void CountSent(byte status, UdpCounters counters)
    {
        switch (status)
        {
            case NotCounted: break;
            case (byte)RequestStatus.Ok: counters.OkReplies++; break;
            case (byte)RequestStatus.Error: counters.ErrorReplies++; break;
            case (byte)RequestStatus.RejectedOverload: counters.RejectedReplies++; break;
            case (byte)RequestStatus.ShuttingDown: counters.ShuttingDownReplies++; break;
            default: counters.BadRequestReplies++; break;
        }
    }
}
