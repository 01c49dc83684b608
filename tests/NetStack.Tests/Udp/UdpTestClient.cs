// A small loopback client for the UDP tests: sends requests or raw bytes, collects replies until a count or a deadline.
using System.Net;
using System.Net.Sockets;
using NetStack.Runtime.Protocol;

namespace NetStack.Tests.Udp;

/// <summary>One client socket on 127.0.0.1. Every wait is bounded, so a server that stays silent
/// fails the test instead of hanging it.</summary>
internal sealed class UdpTestClient : IDisposable
{
    /// <summary>How long a test waits for replies before it gives up on them.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly EndPoint _server;

    /// <summary>A client of the server on <paramref name="port"/>.</summary>
    public UdpTestClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        // Room for every reply of a burst even if the test thread is descheduled while they arrive.
        _socket.ReceiveBufferSize = 4 << 20;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _server = new IPEndPoint(IPAddress.Loopback, port);
    }

    /// <summary>Datagrams received that were not valid responses.</summary>
    public int InvalidReplies { get; private set; }

    /// <summary>A request datagram with <paramref name="payloadLength"/> payload bytes.</summary>
    public static byte[] Request(ulong id, byte type = 0, long serviceNs = 1_000, long intendedSendNs = 0, int payloadLength = 0)
    {
        byte[] datagram = new byte[WireProtocol.HeaderSize + payloadLength];
        WireProtocol.WriteRequest(datagram, new RequestHeader
        {
            Id = id, Type = type, ServiceNs = serviceNs, IntendedSendNs = intendedSendNs, PayloadLength = (uint)payloadLength,
        });
        return datagram;
    }

    /// <summary>Sends one datagram as is.</summary>
    public void Send(byte[] datagram) => _socket.SendTo(datagram, _server);

    /// <summary>Sends every datagram, then collects replies until <paramref name="expected"/> arrived or the deadline passed.</summary>
    public List<ResponseHeader> SendAndCollect(IEnumerable<byte[]> datagrams, int expected)
    {
        List<ResponseHeader>? replies = null;
        // Receive while sending, so a burst's replies never wait on a full socket buffer.
        var receiver = new Thread(() => replies = Collect(expected, Deadline)) { IsBackground = true };
        receiver.Start();
        foreach (byte[] datagram in datagrams)
        {
            Send(datagram);
        }
        receiver.Join();
        return replies!;
    }

    /// <summary>Collects replies until <paramref name="expected"/> arrived or <paramref name="timeout"/> passed.</summary>
    public List<ResponseHeader> Collect(int expected, TimeSpan timeout)
    {
        var replies = new List<ResponseHeader>();
        byte[] buffer = new byte[2048];
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (replies.Count < expected)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0 || !_socket.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectRead))
            {
                break;
            }
            int n = _socket.Receive(buffer);
            if (WireProtocol.TryParseResponse(buffer.AsSpan(0, n), out ResponseHeader reply))
            {
                replies.Add(reply);
            }
            else
            {
                InvalidReplies++;
            }
        }
        return replies;
    }

    /// <summary>As <see cref="Collect"/>, keeping each reply's payload.</summary>
    public List<(ResponseHeader Header, byte[] Payload)> CollectWithPayloads(int expected, TimeSpan timeout)
    {
        var replies = new List<(ResponseHeader, byte[])>();
        byte[] buffer = new byte[2048];
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (replies.Count < expected)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0 || !_socket.Poll(TimeSpan.FromMilliseconds(left), SelectMode.SelectRead))
            {
                break;
            }
            int n = _socket.Receive(buffer);
            if (WireProtocol.TryParseResponse(buffer.AsSpan(0, n), out ResponseHeader reply))
            {
                replies.Add((reply, buffer.AsSpan(WireProtocol.HeaderSize, n - WireProtocol.HeaderSize).ToArray()));
            }
            else
            {
                InvalidReplies++;
            }
        }
        return replies;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
