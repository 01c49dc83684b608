// The soak's stream classes: pipelined spin and kv requests, overload bursts, a client that stops reading, and connections dropped mid-request.
using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetStack.Runtime.Protocol;

namespace NetStack.LoadGen.Soak;

/// <summary>
/// Each class is a loop on its own thread over blocking sockets with receive timeouts: it writes a
/// few requests, reads their replies in order and counts them by status. A connection that fails
/// is counted (its unread replies stay unanswered, which the verdict shows) and opened again.
/// </summary>
internal static class TcpTraffic
{
    private static readonly TimeSpan s_replyTimeout = TimeSpan.FromSeconds(30);

    private static Socket Connect(IPEndPoint server)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.ReceiveTimeout = (int)s_replyTimeout.TotalMilliseconds;
        socket.Connect(server);
        return socket;
    }

    // ------------------------------------------------------------------ spin

    /// <summary>Pipelines <paramref name="depth"/> spin requests at a time on one connection, reads them
    /// back in order; every <paramref name="pause"/> a pause (a burst class: long pauses, deep pipelines).</summary>
    public static void Spin(SoakCounts counts, IPEndPoint server, int depth, long serviceNs, TimeSpan pause, CancellationToken stop, int seed)
    {
        var random = new Random(seed);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using Socket socket = Connect(server);
                var reader = new StreamReader(socket);
                while (!stop.IsCancellationRequested)
                {
                    var ids = new ulong[depth];
                    var batch = new List<byte>();
                    for (int i = 0; i < depth; i++)
                    {
                        byte[] request = UdpTraffic.SpinRequest(random, serviceNs > 0 ? serviceNs : random.Next(1_000, 20_000), random.Next(0, 64));
                        ids[i] = BinaryPrimitives.ReadUInt64LittleEndian(request.AsSpan(8));
                        batch.AddRange(request);
                    }
                    socket.Send(batch.ToArray());
                    SoakCounts.Add(ref counts.Sent, depth);
                    for (int i = 0; i < depth; i++)
                    {
                        CountSpinReply(counts, reader.ReadSpinReply(), ids[i]);
                    }
                    stop.WaitHandle.WaitOne(pause);
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                stop.WaitHandle.WaitOne(100);
            }
        }
    }

    /// <summary>A client that writes large requests until the connection takes no more (the server
    /// holds back: its in-flight and unsent bounds, then TCP's flow control), stops reading for
    /// <paramref name="stall"/>, then reads every reply it is owed, and again. A writer thread does the
    /// blocking writes, so the reads can always unblock the last one.</summary>
    public static void SlowReader(SoakCounts counts, IPEndPoint server, TimeSpan stall, CancellationToken stop, int seed)
    {
        var random = new Random(seed);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using Socket socket = Connect(server);
                var reader = new StreamReader(socket);
                while (!stop.IsCancellationRequested)
                {
                    var ids = new List<ulong>();
                    bool enough = false;
                    Exception? failed = null;
                    var writer = new Thread(() =>
                    {
                        try
                        {
                            while (!Volatile.Read(ref enough) && ids.Count < 4000)
                            {
                                byte[] request = UdpTraffic.SpinRequest(random, 0, 16 << 10);
                                lock (ids)
                                {
                                    ids.Add(BinaryPrimitives.ReadUInt64LittleEndian(request.AsSpan(8)));
                                }
                                SoakCounts.Add(ref counts.Sent);
                                socket.Send(request);
                            }
                        }
                        catch (Exception e) when (e is SocketException or ObjectDisposedException)
                        {
                            failed = e;
                        }
                    }) { IsBackground = true, Name = $"soak {counts.Name} writer" };
                    writer.Start();
                    // Writing until it stalls: no request has gone out for 300 ms.
                    int last = -1;
                    while (writer.IsAlive && !stop.IsCancellationRequested)
                    {
                        Thread.Sleep(300);
                        int now = Count(ids);
                        if (now == last)
                        {
                            break;
                        }
                        last = now;
                    }
                    Volatile.Write(ref enough, true);
                    stop.WaitHandle.WaitOne(stall);
                    for (int read = 0; ; read++)
                    {
                        while (read == Count(ids) && writer.IsAlive)
                        {
                            Thread.Sleep(1);
                        }
                        if (read == Count(ids))
                        {
                            break;
                        }
                        ulong id;
                        lock (ids)
                        {
                            id = ids[read];
                        }
                        CountSpinReply(counts, reader.ReadSpinReply(), id);
                    }
                    writer.Join();
                    if (failed is not null)
                    {
                        throw new IOException("the slow reader's writes failed", failed);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                stop.WaitHandle.WaitOne(100);
            }
        }

        static int Count(List<ulong> ids)
        {
            lock (ids)
            {
                return ids.Count;
            }
        }
    }

    /// <summary>Opens a connection, has one request answered, then writes part of another and closes:
    /// the host counts each "closed mid-request".</summary>
    public static void DropSpin(SoakCounts counts, IPEndPoint server, TimeSpan every, CancellationToken stop, int seed)
    {
        var random = new Random(seed);
        while (!stop.WaitHandle.WaitOne(every))
        {
            try
            {
                using Socket socket = Connect(server);
                byte[] request = UdpTraffic.SpinRequest(random, 1_000, 8);
                socket.Send(request);
                SoakCounts.Add(ref counts.Sent);
                CountSpinReply(counts, new StreamReader(socket).ReadSpinReply(), BinaryPrimitives.ReadUInt64LittleEndian(request.AsSpan(8)));
                byte[] partial = UdpTraffic.SpinRequest(random, 1_000, 100);
                socket.Send(partial.AsSpan(0, random.Next(1, partial.Length)));
                SoakCounts.Add(ref counts.ClosedMidRequest);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                stop.WaitHandle.WaitOne(100);
            }
        }
    }

    private static void CountSpinReply(SoakCounts counts, ResponseHeader reply, ulong id)
    {
        if (reply.Id != id)
        {
            SoakCounts.Add(ref counts.Unexpected);
            return;
        }
        counts.CountSpinStatus(reply.Status);
    }

    // ------------------------------------------------------------------ kv

    /// <summary>memcached text over one connection: a set and three gets at a time, over 1000 keys.</summary>
    public static void Kv(SoakCounts counts, IPEndPoint server, TimeSpan pause, CancellationToken stop, int seed)
    {
        var random = new Random(seed);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using Socket socket = Connect(server);
                var reader = new StreamReader(socket);
                while (!stop.IsCancellationRequested)
                {
                    string key = $"soak{random.Next(1000)}";
                    int length = random.Next(10, 500);
                    var text = new StringBuilder($"set {key} {random.Next(100)} 0 {length}\r\n{new string((char)('a' + random.Next(26)), length)}\r\n");
                    for (int i = 0; i < 3; i++)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"get soak{random.Next(1000)}\r\n");
                    }
                    socket.Send(Encoding.ASCII.GetBytes(text.ToString()));
                    SoakCounts.Add(ref counts.Sent, 4);
                    CountKvReply(counts, reader, get: false);
                    for (int i = 0; i < 3; i++)
                    {
                        CountKvReply(counts, reader, get: true);
                    }
                    stop.WaitHandle.WaitOne(pause);
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                stop.WaitHandle.WaitOne(100);
            }
        }
    }

    /// <summary>As <see cref="DropSpin"/> for kv: a set answered, then a set whose value never comes.</summary>
    public static void DropKv(SoakCounts counts, IPEndPoint server, TimeSpan every, CancellationToken stop, int seed)
    {
        var random = new Random(seed);
        while (!stop.WaitHandle.WaitOne(every))
        {
            try
            {
                using Socket socket = Connect(server);
                socket.Send("set soakdrop 0 0 1\r\nx\r\n"u8);
                SoakCounts.Add(ref counts.Sent);
                CountKvReply(counts, new StreamReader(socket), get: false);
                byte[] partial = Encoding.ASCII.GetBytes($"set soakdrop 0 0 100\r\n{new string('p', random.Next(0, 100))}");
                socket.Send(partial.AsSpan(0, random.Next(1, partial.Length)));
                SoakCounts.Add(ref counts.ClosedMidRequest);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                stop.WaitHandle.WaitOne(100);
            }
        }
    }

    private static void CountKvReply(SoakCounts counts, StreamReader reader, bool get)
    {
        string line = reader.ReadLine();
        if (line is "STORED" or "NOT_STORED" && !get || line == "END" && get)
        {
            SoakCounts.Add(ref counts.Ok);
            return;
        }
        if (get && line.StartsWith("VALUE ", StringComparison.Ordinal))
        {
            string[] parts = line.Split(' ');
            reader.ReadExactly(int.Parse(parts[^1], CultureInfo.InvariantCulture) + 2);
            if (reader.ReadLine() == "END")
            {
                SoakCounts.Add(ref counts.Ok);
                return;
            }
        }
        else if (line == "SERVER_ERROR busy")
        {
            SoakCounts.Add(ref counts.Rejected);
            return;
        }
        else if (line.StartsWith("SERVER_ERROR", StringComparison.Ordinal))
        {
            SoakCounts.Add(ref counts.Failed);
            return;
        }
        SoakCounts.Add(ref counts.Unexpected);
    }

    /// <summary>Buffered reads off a blocking socket: lines, exact byte counts, spin replies.</summary>
    private sealed class StreamReader(Socket socket)
    {
        private byte[] _buffer = new byte[64 << 10];
        private int _start;
        private int _end;

        public string ReadLine()
        {
            while (true)
            {
                int newline = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8);
                if (newline >= 0)
                {
                    string line = Encoding.Latin1.GetString(_buffer, _start, newline);
                    _start += newline + 2;
                    return line;
                }
                Fill(_end - _start + 1);
            }
        }

        public void ReadExactly(int count)
        {
            Fill(count);
            _start += count;
        }

        public ResponseHeader ReadSpinReply()
        {
            Fill(WireProtocol.HeaderSize);
            if (!WireProtocol.TryParseResponseHeader(_buffer.AsSpan(_start, _end - _start), out ResponseHeader header))
            {
                throw new IOException("bytes that are not a spin reply");
            }
            ReadExactly(WireProtocol.HeaderSize + (int)header.PayloadLength);
            return header;
        }

        /// <summary>Reads until at least <paramref name="count"/> bytes are buffered.</summary>
        private void Fill(int count)
        {
            if (_end - _start >= count)
            {
                return;
            }
            if (_buffer.Length - _start < count)
            {
                var bigger = new byte[Math.Max(count, _buffer.Length)];
                Buffer.BlockCopy(_buffer, _start, bigger, 0, _end - _start);
                _end -= _start;
                _start = 0;
                _buffer = bigger;
            }
            while (_end - _start < count)
            {
                if (_end == _buffer.Length)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                int n = socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
                if (n == 0)
                {
                    throw new IOException("the server closed the connection");
                }
                _end += n;
            }
        }
    }
}
