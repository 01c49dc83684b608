// One kv point over UDP: open-loop gets in datagrams with memcached's 8-byte frame header, replies reassembled by request id.
using System.Buffers.Binary;
using System.Net.Sockets;
using NetStack.Apps.Kv.Protocol;
using NetStack.Measurement.Reports;
using NetStack.LoadGen.Kv.Protocol;
using NetStack.LoadGen.Udp;
using NetStack.Runtime;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// Gets over UDP, as Facebook's clients send them (NSDI'13): request i is one datagram whose frame
/// header carries the id i mod 65536. A reply may span datagrams (memcached cuts replies at 1400
/// bytes; memcached 1.6 even sends a hit and its END as separate messages), so the receiver adds
/// up a reply's bytes per id: the first datagram's line or header says how long the whole reply
/// is, and the reply is complete when that many bytes have arrived (loopback keeps one sender's
/// datagrams in order). An id names the latest request sent with it; a request unanswered after
/// 65536 more were sent was lost anyway. Nothing is allocated per request.
/// </summary>
internal sealed class KvUdpPoint
{
    private const int Ids = 1 << 16;

    private readonly KvPointState _s;
    private readonly Socket _socket;
    private readonly byte[] _datagram;
    private readonly byte[] _receive = new byte[64 << 10];
    private readonly byte[] _answered;
    private readonly int[] _owner = new int[Ids];
    private readonly int[] _assembling = new int[Ids];
    private readonly int[] _need = new int[Ids];
    private readonly int[] _got = new int[Ids];
    private readonly ReplyProgress[] _progress = new ReplyProgress[Ids];
    private readonly KvProtocolKind _protocol;

    /// <param name="spec">The point; its schedule must hold gets only.</param>
    /// <param name="schedule">Its requests.</param>
    public KvUdpPoint(KvPointSpec spec, KvSchedule schedule)
    {
        _s = new KvPointState(spec, schedule);
        _protocol = spec.Protocol;
        _answered = new byte[schedule.Count];
        Array.Fill(_owner, -1);
        Array.Fill(_assembling, -1);
        _datagram = new byte[UdpFrame.HeaderBytes + KvClientProtocol.MaxRequestBytes(spec.Mix.Keys.MaxKeyBytes, 0, 1)];
        // A fresh socket (a fresh source port) per point: a reply owed by an earlier point never reaches this one.
        _socket = new Socket(spec.EndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Bursts of replies must not overflow the kernel's queue while the receiver is descheduled.
            _socket.ReceiveBufferSize = 4 << 20;
            _socket.SendBufferSize = 4 << 20;
            _socket.Connect(spec.EndPoint);
            _socket.Blocking = false;
        }
        catch (SocketException e)
        {
            _socket.Dispose();
            throw new InvalidOperationException($"kv point: cannot use UDP target {spec.Target.Label} at {spec.EndPoint}: {e.Message}", e);
        }
    }

    /// <summary>Runs the point and reports it; closes its socket.</summary>
    public PointReport Run()
    {
        using (_socket)
        {
            return _s.Run("kv-udp", Send, PollOnce, "udp", 1);
        }
    }

    private void Send()
    {
        KvSchedule schedule = _s.Schedule;
        ReadOnlySpan<long> offsets = schedule.OffsetTicks;
        var pacing = new SendWait(_s.Spec.Limits, _s.Spec.InlineReceive);
        Func<bool> poll = PollOnce;
        bool inline = _s.Spec.InlineReceive;
        KeySpace keys = _s.Spec.Mix.Keys;
        bool measuring = false;
        long allocatedFrom = 0;
        Span<byte> body = _datagram.AsSpan(UdpFrame.HeaderBytes);
        for (int i = 0; i < offsets.Length; i++)
        {
            long intended = _s.StartTicks + offsets[i];
            long now = Clock.Now();
            while (now < intended)
            {
                pacing.Step(now, intended - now, poll);
                now = Clock.Now();
            }
            if (now >= _s.EndTicks)
            {
                break;
            }
            if (!measuring && intended >= _s.MeasureFromTicks)
            {
                measuring = true;
                allocatedFrom = GC.GetAllocatedBytesForCurrentThread();
            }
            ushort id = (ushort)i;
            UdpFrame.Write(_datagram, id, 0, 1);
            int length = KvClientProtocol.Encode(_protocol, body, keys, KvOp.Get, schedule.KeysOf(i), 0, (uint)i);
            // Release: the receiver that reads this id's reply finds its owner (the send is a barrier in practice;
            // the volatile write says so).
            Volatile.Write(ref _owner[id], i);
            if (!SendDatagram(_datagram.AsSpan(0, UdpFrame.HeaderBytes + length)))
            {
                _s.SendErrors++;
            }
            _s.SentAt(now, intended);
            pacing.Sent(now);
            if (inline && (i & 7) == 7)
            {
                PollOnce();
            }
        }
        if (measuring)
        {
            _s.SenderAllocated += GC.GetAllocatedBytesForCurrentThread() - allocatedFrom;
        }
    }

    /// <summary>One send; a full socket buffer is retried until the point's end.</summary>
    private bool SendDatagram(ReadOnlySpan<byte> datagram)
    {
        while (true)
        {
            _socket.Send(datagram, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                return true;
            }
            if (error != SocketError.WouldBlock || Clock.Now() >= _s.EndTicks)
            {
                return false;
            }
        }
    }

    /// <summary>One non-blocking read; true when a datagram was there.</summary>
    private bool PollOnce()
    {
        int n = _socket.Receive(_receive, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success)
        {
            // Would-block, or a refused port reported by ICMP: nothing to read now.
            return false;
        }
        Datagram(_receive.AsSpan(0, n), Clock.Now());
        return true;
    }

    private void Datagram(ReadOnlySpan<byte> datagram, long now)
    {
        if (datagram.Length < UdpFrame.HeaderBytes)
        {
            _s.Unknown++;
            return;
        }
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        // Acquire: pairs with the sender's write of the owner before its send.
        int i = Volatile.Read(ref _owner[id]);
        if (i < 0)
        {
            _s.Unknown++;
            return;
        }
        if (_answered[i] != 0)
        {
            _s.Duplicates++;
            return;
        }
        ReadOnlySpan<byte> payload = datagram[UdpFrame.HeaderBytes..];
        if (_assembling[id] != i)
        {
            // The first datagram of request i's reply: its first line or header gives the reply's length.
            _progress[id] = default;
            ExpectedReply expected = _s.Expect(i);
            ReplyStep head = _protocol == KvProtocolKind.Text
                ? TextReplyReader.GetReplyLength(payload, expected, ref _progress[id], _s.ReaderMaxValueBytes, out int total)
                : BinaryReplyReader.GetReplyLength(payload, expected, ref _progress[id], _s.ReaderMaxValueBytes, out total);
            if (head == ReplyStep.Malformed)
            {
                _answered[i] = 1;
                _s.Malformed(i);
                return;
            }
            _assembling[id] = i;
            _need[id] = total;
            _got[id] = 0;
        }
        _got[id] += payload.Length;
        if (_got[id] < _need[id])
        {
            return;
        }
        _answered[i] = 1;
        _assembling[id] = -1;
        if (_got[id] != _need[id] || !EndsWell(payload, _progress[id]))
        {
            _s.Malformed(i);
            return;
        }
        _s.Complete(i, _progress[id], now);
    }

    /// <summary>A text hit's reply ends with the value's CRLF and END CRLF; the last datagram holds at least the end of that.</summary>
    private bool EndsWell(ReadOnlySpan<byte> last, in ReplyProgress progress)
    {
        if (_protocol != KvProtocolKind.Text || progress.Hits == 0)
        {
            return true;
        }
        ReadOnlySpan<byte> tail = "\r\nEND\r\n"u8;
        int n = Math.Min(tail.Length, last.Length);
        return last[^n..].SequenceEqual(tail[^n..]);
    }
}
