// One TCP connection of a kv point: its socket, the reply bytes read so far, and the request whose reply comes next.
using System.Net;
using System.Net.Sockets;

namespace NetStack.LoadGen.Kv;

/// <summary>
/// A connection's state. memcached answers a connection's requests in order, and request i goes on
/// connection i mod N, so the reply that comes next belongs to <see cref="NextExpected"/>, and after
/// it to NextExpected + N. The receiving thread owns the read side while <see cref="Broken"/> is 0;
/// once it sets Broken (a malformed reply, the peer closed) it never touches the connection again
/// until the sending thread has replaced the socket and cleared the flag.
/// </summary>
internal sealed class KvConnection
{
    public KvConnection(int index, Socket socket, int bufferBytes)
    {
        Index = index;
        Socket = socket;
        Buffer = new byte[bufferBytes];
        NextExpected = index;
    }

    /// <summary>Its place among the point's connections (its epoll data).</summary>
    public readonly int Index;

    /// <summary>Reply bytes; one reply unit (a value with its line or header) always fits.</summary>
    public readonly byte[] Buffer;

    /// <summary>The socket; replaced only by the sender, while <see cref="Broken"/> is set.</summary>
    public Socket Socket;

    /// <summary>Unread bytes are Buffer[Start..End].</summary>
    public int Start;

    /// <summary>End of the bytes read.</summary>
    public int End;

    /// <summary>The request whose reply comes next on this connection.</summary>
    public int NextExpected;

    /// <summary>The last long request (multiget) the sender put on this connection, or -1: a GET sent
    /// while it is unanswered (<see cref="NextExpected"/> not past it) waits for its reply.</summary>
    public int LastLong = -1;

    /// <summary>How far the head request's reply has been read.</summary>
    public Protocol.ReplyProgress Progress;

    /// <summary>1: the receiver stopped reading this connection; the sender reconnects it before its next request.</summary>
    public int Broken;

    /// <summary>Moves the unread bytes to the front so a whole reply unit fits behind them.</summary>
    public void Compact()
    {
        if (Start == 0)
        {
            return;
        }
        System.Buffer.BlockCopy(Buffer, Start, Buffer, 0, End - Start);
        End -= Start;
        Start = 0;
    }

    /// <summary>A connected, non-blocking socket with Nagle off (requests must leave at their send times).</summary>
    public static Socket Connect(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.ReceiveBufferSize = 1 << 20;
            socket.SendBufferSize = 1 << 20;
            socket.Connect(endPoint);
            socket.Blocking = false;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
