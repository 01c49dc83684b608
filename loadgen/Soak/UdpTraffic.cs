// The soak's datagram classes: good spin requests, overload bursts, and bad datagrams to spin and kv, each on its own socket.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using NetStack.Apps.Spin;
using NetStack.Runtime.Protocol;

namespace NetStack.LoadGen.Soak;

/// <summary>What a sent datagram should come back as.</summary>
internal enum Expect
{
    /// <summary>One reply (ok, or rejected when the server is overloaded).</summary>
    Reply,
    /// <summary>A bad-request (spin) or ERROR (kv) reply.</summary>
    BadAnswered,
    /// <summary>Nothing: the protocol drops it unanswered, and the host counts it.</summary>
    BadUnanswered,
}

/// <summary>
/// One datagram class: every tick a sender puts a few datagrams on one socket, and a receiver thread
/// counts what comes back by status. After the stop it waits (bounded) for the replies still owed.
/// </summary>
internal sealed class UdpTraffic(SoakCounts counts, IPEndPoint server, TimeSpan tick, Func<Random, List<(byte[] Datagram, Expect Expect)>> next, bool spin)
{
    private const int ReceiveBufferBytes = 4 << 20;

    public void Run(CancellationToken stop, int seed)
    {
        var random = new Random(seed);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = ReceiveBufferBytes };
        socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, 0));
        socket.ReceiveTimeout = 100;
        long owed = 0;
        var receiver = new Thread(() => Receive(socket, stop, ref owed)) { IsBackground = true, Name = $"soak {counts.Name} rx" };
        receiver.Start();
        while (!stop.IsCancellationRequested)
        {
            foreach ((byte[] datagram, Expect expect) in next(random))
            {
                socket.SendTo(datagram, server);
                SoakCounts.Add(ref counts.Sent);
                if (expect == Expect.BadUnanswered)
                {
                    SoakCounts.Add(ref counts.BadUnanswered);
                }
                else
                {
                    Interlocked.Increment(ref owed);
                }
            }
            stop.WaitHandle.WaitOne(tick);
        }
        receiver.Join();
    }

    private void Receive(Socket socket, CancellationToken stop, ref long owed)
    {
        var buffer = new byte[64 * 1024];
        long drainUntil = long.MaxValue;
        while (true)
        {
            if (stop.IsCancellationRequested && drainUntil == long.MaxValue)
            {
                drainUntil = Environment.TickCount64 + 10_000;
            }
            if (Volatile.Read(ref owed) <= 0 && stop.IsCancellationRequested || Environment.TickCount64 > drainUntil)
            {
                return;
            }
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                continue;
            }
            Interlocked.Decrement(ref owed);
            Count(buffer.AsSpan(0, n));
        }
    }

    private void Count(ReadOnlySpan<byte> reply)
    {
        if (spin)
        {
            if (!WireProtocol.TryParseResponse(reply, out ResponseHeader h))
            {
                SoakCounts.Add(ref counts.Unexpected);
                return;
            }
            counts.CountSpinStatus(h.Status);
            return;
        }
        // kv: memcached's 8-byte frame header, then the text reply; the bad class only expects ERROR.
        if (reply.Length > 8 && reply[8..].StartsWith("ERROR\r\n"u8))
        {
            SoakCounts.Add(ref counts.BadAnswered);
        }
        else
        {
            SoakCounts.Add(ref counts.Unexpected);
        }
    }

    // ------------------------------------------------------------------ what each class sends

    private static long s_nextId;

    /// <summary>A spin request of <paramref name="serviceNs"/> with a small payload, its id unique in this process.</summary>
    public static byte[] SpinRequest(Random random, long serviceNs, int payload)
    {
        var bytes = new byte[WireProtocol.HeaderSize + payload];
        WireProtocol.WriteRequest(bytes, new RequestHeader
        {
            Type = (byte)random.Next(SpinApp.TypeCount),
            Id = (ulong)Interlocked.Increment(ref s_nextId),
            ServiceNs = serviceNs,
            PayloadLength = (uint)payload,
        });
        random.NextBytes(bytes.AsSpan(WireProtocol.HeaderSize));
        return bytes;
    }

    /// <summary>Good spin requests: <paramref name="perTick"/> of 1 to 20 µs.</summary>
    public static Func<Random, List<(byte[], Expect)>> Good(int perTick) => random =>
        [.. Enumerable.Range(0, perTick).Select(_ => (SpinRequest(random, random.Next(1_000, 20_000), random.Next(0, 64)), Expect.Reply))];

    /// <summary>An overload burst: <paramref name="size"/> requests of <paramref name="serviceNs"/> at once,
    /// more than the app's queue holds, so some are answered rejected-overload.</summary>
    public static Func<Random, List<(byte[], Expect)>> Burst(int size, long serviceNs) => random =>
        [.. Enumerable.Range(0, size).Select(_ => (SpinRequest(random, serviceNs, 0), Expect.Reply))];

    /// <summary>Bad spin datagrams, each judged by the protocol's own framer: answered bad-request or dropped.</summary>
    public static Func<Random, List<(byte[], Expect)>> BadSpin(int perTick)
    {
        var protocol = new SpinProtocol(SpinApp.TypeCount);
        return random => [.. Enumerable.Range(0, perTick).Select(_ => Judge(protocol, BadSpinDatagram(random)))];
    }

    /// <summary>Bad kv datagrams (a frame header memcached drops, or bytes that are not a command).</summary>
    public static Func<Random, List<(byte[], Expect)>> BadKv(int perTick, KvOptions options)
    {
        var protocol = new KvProtocol(options, KvClock.CreateSystem());
        return random => [.. Enumerable.Range(0, perTick).Select(_ => Judge(protocol, BadKvDatagram(random)))];
    }

    private static (byte[], Expect) Judge(AppProtocol protocol, byte[] datagram)
    {
        FrameStatus status = protocol.FrameDatagram(datagram, out _);
        return (datagram, status switch
        {
            FrameStatus.Invalid => Expect.BadAnswered,
            FrameStatus.Request => Expect.Reply, // not bad after all: counted as unexpected when it is answered
            _ => Expect.BadUnanswered,
        });
    }

    private static byte[] BadSpinDatagram(Random random)
    {
        byte[] d = SpinRequest(random, 1_000, random.Next(0, 32));
        switch (random.Next(8))
        {
            case 0:
                d = new byte[random.Next(0, 120)];
                random.NextBytes(d);
                if (d.Length >= 4 && random.Next(2) == 0)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(d, WireProtocol.Magic); // ours, but garbage
                }
                break;
            case 1:
                d = d[..random.Next(0, WireProtocol.HeaderSize)]; // too short
                break;
            case 2:
                d[random.Next(4)] ^= 0x20; // bad magic
                break;
            case 3:
                d[4] = (byte)random.Next(3, 256); // bad version
                break;
            case 4:
                d[5] = (byte)random.Next(SpinApp.TypeCount, 256); // unknown type
                break;
            case 5:
                BinaryPrimitives.WriteInt64LittleEndian(d.AsSpan(24), -random.NextInt64(1, long.MaxValue)); // negative service
                break;
            case 6:
                BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(32), (uint)(d.Length - 40 + random.Next(1, 100))); // length mismatch
                break;
            default:
                byte[] big = new byte[random.Next(1_473, 2_000)]; // oversized
                d.AsSpan(0, WireProtocol.HeaderSize).CopyTo(big);
                d = big;
                break;
        }
        return d;
    }

    private static byte[] BadKvDatagram(Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                var tiny = new byte[random.Next(0, 9)]; // no room for a command after the frame header
                random.NextBytes(tiny);
                return tiny;
            case 1:
                byte[] multi = [0, 1, 0, 0, 0, 2, 0, 0, .. "get a\r\n"u8]; // a request over two datagrams: unsupported
                return multi;
            case 2:
                byte[] http = [0, 2, 0, 0, 0, 1, 0, 0, 0x80, .. "GET / HTTP/1.1\r\n"u8]; // the binary magic on a text line
                return http;
            default:
                byte[] partial = [0, 3, 0, 0, 0, 1, 0, 0, .. "set k 0 0 100\r\nabc"u8]; // a value that cannot arrive
                return partial;
        }
    }
}
