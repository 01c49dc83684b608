// A small loopback TCP client for the tests: writes frames (whole, split, pipelined), reads spin replies back in order.
using System.Net;
using System.Net.Sockets;
using NetStack.Runtime.Protocol;

namespace NetStack.Tests.Tcp;

/// <summary>One reply as read off the stream: its header and its payload.</summary>
internal sealed record SpinReply(ResponseHeader Header, byte[] Payload);

/// <summary>One connection. Every read is bounded by a deadline, so a silent server fails the test instead of hanging it.</summary>
internal sealed class TcpTestClient : IDisposable
{
    /// <summary>How long a test waits for replies.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly Socket _socket;
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;

    /// <summary>Connects to <paramref name="port"/> on <paramref name="address"/> (loopback by default).</summary>
    public TcpTestClient(int port, IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        _socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(address, port));
    }

    /// <summary>The socket (for tests that shape it: linger, shutdown, buffers).</summary>
    public Socket Socket => _socket;

    /// <summary>A request frame with a payload of <paramref name="payload"/> (or <paramref name="payloadLength"/> pattern bytes).</summary>
    public static byte[] Frame(ulong id, byte type = 0, long serviceNs = 0, int payloadLength = 0, byte[]? payload = null)
    {
        payload ??= Pattern(id, payloadLength);
        byte[] frame = new byte[WireProtocol.HeaderSize + payload.Length];
        WireProtocol.WriteRequest(frame, new RequestHeader { Id = id, Type = type, ServiceNs = serviceNs, PayloadLength = (uint)payload.Length });
        payload.CopyTo(frame, WireProtocol.HeaderSize);
        return frame;
    }

    /// <summary>Bytes that differ per request and per position, so a reply with another's bytes shows.</summary>
    public static byte[] Pattern(ulong id, int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(id * 31 + (ulong)i * 7);
        }
        return bytes;
    }

    /// <summary>Writes every byte.</summary>
    public void Send(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int n = _socket.Send(bytes);
            bytes = bytes[n..];
        }
    }

    /// <summary>Reads <paramref name="count"/> replies in the order they come, or fewer if the deadline passes or the server closes.</summary>
    public List<SpinReply> Read(int count, TimeSpan? timeout = null)
    {
        var replies = new List<SpinReply>();
        long deadline = Environment.TickCount64 + (long)(timeout ?? Deadline).TotalMilliseconds;
        while (replies.Count < count)
        {
            if (TryTake(out SpinReply? reply))
            {
                replies.Add(reply!);
                continue;
            }
            if (!Fill(deadline))
            {
                break;
            }
        }
        return replies;
    }

    /// <summary>True when the server closed the connection (a read of 0) before the deadline, with nothing left unread.</summary>
    public bool ClosedByServer(TimeSpan? timeout = null)
    {
        long deadline = Environment.TickCount64 + (long)(timeout ?? Deadline).TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            long left = deadline - Environment.TickCount64;
            if (!_socket.Poll(TimeSpan.FromMilliseconds(Math.Max(1, left)), SelectMode.SelectRead))
            {
                continue;
            }
            try
            {
                int n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
                if (n == 0)
                {
                    return true;
                }
                _end += n;
            }
            catch (SocketException)
            {
                return true; // reset by the server: closed all the same
            }
        }
        return false;
    }

    private bool TryTake(out SpinReply? reply)
    {
        reply = null;
        var buffered = _buffer.AsSpan(_start, _end - _start);
        if (!WireProtocol.TryParseResponseHeader(buffered, out ResponseHeader header))
        {
            if (buffered.Length >= WireProtocol.HeaderSize)
            {
                throw new InvalidDataException("the server sent bytes that are not a spin reply");
            }
            return false;
        }
        int total = WireProtocol.HeaderSize + (int)header.PayloadLength;
        if (buffered.Length < total)
        {
            if (total > _buffer.Length - _start)
            {
                Grow(total);
            }
            return false;
        }
        reply = new SpinReply(header, buffered[WireProtocol.HeaderSize..total].ToArray());
        _start += total;
        if (_start == _end)
        {
            _start = _end = 0;
        }
        return true;
    }

    private bool Fill(long deadline)
    {
        if (_end == _buffer.Length)
        {
            Grow(_buffer.Length * 2);
        }
        long left = deadline - Environment.TickCount64;
        if (left <= 0 || !_socket.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectRead))
        {
            return false;
        }
        int n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
        _end += n;
        return n > 0;
    }

    private void Grow(int atLeast)
    {
        byte[] bigger = new byte[Math.Max(atLeast, _buffer.Length * 2)];
        Buffer.BlockCopy(_buffer, _start, bigger, 0, _end - _start);
        _end -= _start;
        _start = 0;
        _buffer = bigger;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
