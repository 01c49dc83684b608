// End-to-end fuzzing: random and mutated requests to a running host over UDP and TCP (spin and kv); it keeps serving, counts every bad input, and no connection is left stuck.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CsCheck;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Store;
using NetStack.Apps.Spin;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Protocol;
using NetStack.Tests.Kv;
using NetStack.Tests.Tcp;
using NetStack.Tests.Udp;
using Xunit;

namespace NetStack.Tests.Fuzz;

public class EndToEndFuzzTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Service time a fuzzed spin request may ask for. The protocol lets a valid request ask for any
    /// non-negative time (a mutation can make it 2^62 ns), and the spin app honours it, holding a core
    /// (preemptible under ps) for as long: inputs that would parse as such are given this instead.
    /// </summary>
    private const long MaxSpinServiceNs = 20_000;

    /// <summary>The kv options of the host and of the framing model: a small item limit, as the parser fuzzing uses.</summary>
    private static KvOptions KvFuzzOptions() => new() { MemoryLimitMegabytes = 8, ItemSizeMaxBytes = 2048 };

    // ------------------------------------------------------------------ spin

    [Fact]
    public void SpinHostAnswersEveryGoodDatagramAndCountsEveryBadOne()
    {
        using var host = NetworkTestHost.Spin();
        var protocol = new SpinProtocol(SpinApp.TypeCount);
        var expected = new long[protocol.ErrorNames.Count];
        long sent = 0, good = 0, invalid = 0, probes = 0;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var server = new IPEndPoint(IPAddress.Loopback, host.UdpPort);

        Fuzz.Run("e2e.spin-udp", FuzzGens.SpinInput.Array[1, 16], datagrams =>
        {
            int answered = 0;
            foreach (byte[] d in datagrams.Select(CapServiceTime))
            {
                // The NIC reads into 2048-byte buffers: a longer datagram is seen cut to 2048 (still oversized).
                FrameStatus status = protocol.FrameDatagram(d.AsSpan(0, Math.Min(d.Length, protocol.DatagramReceiveBytes)), out Frame frame);
                if (status == FrameStatus.Request)
                {
                    good++;
                    answered++;
                }
                else
                {
                    expected[frame.Error]++;
                    invalid += status == FrameStatus.Invalid ? 1 : 0;
                    answered += status == FrameStatus.Invalid ? 1 : 0;
                }
                socket.SendTo(d, server);
                sent++;
            }
            ulong probe = 0xF0220000UL + (ulong)probes++;
            socket.SendTo(UdpTestClient.Request(probe, serviceNs: 0), server);
            sent++;
            List<ResponseHeader> replies = ReceiveSpinReplies(socket, answered + 1);
            Assert.Equal(answered + 1, replies.Count);
            Assert.Contains(replies, r => r.Id == probe && r.Status == ResponseStatus.Ok);
            Assert.All(replies, r => Assert.True(r.Status is ResponseStatus.Ok or ResponseStatus.BadRequest, $"status {r.Status}"));
        }, ciIterations: 40, print: ds => string.Join(" ", ds.Select(Fuzz.Hex)));

        host.Stop();
        UdpCounters udp = host.Nics.Udp!.Counters;
        Assert.Equal(sent, udp.Received);
        Assert.Equal(expected, udp.BadFrames);
        Assert.Equal(invalid, udp.BadRequestReplies);
        Assert.Equal(good + probes, udp.OkReplies);
        Assert.Equal((0, 0L), (udp.SendFailures, udp.ErrorReplies));
        Assert.Equal(good + probes, host.Kernel.Counters.Completed);
    }

    [Fact]
    public void SpinHostFramesFuzzedStreamsAsTheModelDoesAndClosesEveryConnection()
    {
        using var host = NetworkTestHost.Spin();
        var protocol = new SpinProtocol(SpinApp.TypeCount);
        long requests = 0, bad = 0, probes = 0;

        Fuzz.Run("e2e.spin-tcp", Gen.Select(FuzzGens.Stream(FuzzGens.SpinInput, 6), FuzzGens.Cuts), t =>
        {
            (byte[] raw, int[] cuts) = t;
            byte[] stream = CapServiceTimes(protocol, raw);
            var frames = new List<(FrameStatus Status, int Start, Frame Frame)>();
            List<string> events = FramerContract.FrameStream(protocol, stream, [], frames);
            requests += frames.Count(f => f.Status == FrameStatus.Request);
            bad += frames.Count(f => f.Status == FrameStatus.Invalid) + (events[^1].StartsWith("Drop", StringComparison.Ordinal) ? 1 : 0);
            bool closedByServer = events[^1].StartsWith("Drop", StringComparison.Ordinal);

            (byte[] received, bool ended) = Exchange(host.TcpPort, stream, FuzzGens.CutPoints(cuts, stream.Length));
            Assert.True(ended, $"the connection was still open {s_deadline.TotalSeconds} s after the client half-closed (model: {events[^1]})");
            List<ResponseHeader> replies = ParseSpinStream(received);
            ulong[] ids = frames.Select(f => (ulong)f.Frame.Id).ToArray();
            // A server that closes with the client's bytes unread resets the connection, which can
            // discard replies already on their way; otherwise every one arrives, in order.
            Assert.Equal(ids.Take(replies.Count), replies.Select(r => r.Id));
            if (!closedByServer)
            {
                Assert.Equal(ids.Length, replies.Count);
            }

            ulong probe = 0xF0330000UL + (ulong)probes++;
            using var client = new TcpTestClient(host.TcpPort);
            client.Send(TcpTestClient.Frame(probe, payloadLength: 3));
            SpinReply reply = Assert.Single(client.Read(1));
            Assert.Equal((probe, ResponseStatus.Ok), (reply.Header.Id, reply.Header.Status));
        }, ciIterations: 50, print: t => $"{Fuzz.Hex(t.Item1)} cuts [{string.Join(',', t.Item2)}]");

        Assert.True(NetworkTestHost.Eventually(() => host.Nics.Tcp!.OpenConnections == 0), "connections left open");
        host.Stop();
        TcpCounters tcp = host.Tcp;
        Assert.Equal(requests + probes, tcp.Requests);
        Assert.Equal(bad, tcp.BadInput);
        Assert.Equal((0L, 0L, 0L), (tcp.Open, tcp.Reset, tcp.DroppedReplies));
        Assert.Equal(0, host.Nics.Tcp!.ReceiveBlocksInUse);
    }

    // ------------------------------------------------------------------ kv

    [Fact]
    public void KvHostKeepsServingAndCountsEveryBadDatagram()
    {
        using var host = new KvHost(KvFuzzOptions(), udp: true);
        var protocol = host.Engine.Protocol;
        var expected = new long[protocol.ErrorNames.Count];
        long sent = 0, probes = 0;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var server = new IPEndPoint(IPAddress.Loopback, host.UdpPort);

        Fuzz.Run("e2e.kv-udp", FuzzGens.KvDatagram.Array[1, 12], datagrams =>
        {
            foreach (byte[] d in datagrams)
            {
                if (protocol.FrameDatagram(d, out Frame frame) != FrameStatus.Request)
                {
                    expected[frame.Error]++;
                }
                socket.SendTo(d, server);
                sent++;
            }
            ushort probe = (ushort)(0xA000 + probes++ % 0x1000);
            byte[] get = [0, 0, 0, 0, 0, 1, 0, 0, .. "mn\r\n"u8];
            BinaryPrimitives.WriteUInt16BigEndian(get, probe);
            socket.SendTo(get, server);
            sent++;
            Assert.True(ReceiveDatagramWithId(socket, probe, "MN\r\n"u8.ToArray()), $"no reply to the probe {probe}");
        }, ciIterations: 40, print: ds => string.Join(" ", ds.Select(Fuzz.Hex)));

        host.Dispose();
        UdpCounters udp = host.Nics.Udp!.Counters;
        Assert.Equal(sent, udp.Received);
        Assert.Equal(expected, udp.BadFrames);
        Assert.Equal(0, udp.SendFailures);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public void KvHostFramesFuzzedStreamsAsTheModelDoesAndClosesEveryConnection()
    {
        using var host = new KvHost(KvFuzzOptions());
        var protocol = host.Engine.Protocol;
        // A second engine tells which requests end their connection (quit, a binary protocol error,
        // an HTTP line): that depends on the bytes alone, not on what the store holds.
        using var store = new KvStore(KvFuzzOptions(), new ManualKvClock());
        var closer = new KvEngine(store);
        long minRequests = 0, maxRequests = 0, minBad = 0, maxBad = 0, probes = 0;

        Fuzz.Run("e2e.kv-tcp", Gen.Select(FuzzGens.KvStream, FuzzGens.Cuts), t =>
        {
            (byte[] stream, int[] cuts) = t;
            var frames = new List<(FrameStatus Status, int Start, Frame Frame)>();
            List<string> events = FramerContract.FrameStream(protocol, stream, [], frames);
            bool framerCloses = !events[^1].StartsWith("end", StringComparison.Ordinal) && !events[^1].StartsWith("closed mid", StringComparison.Ordinal);
            int all = frames.Count(f => f.Status == FrameStatus.Request);
            int allBad = frames.Count(f => f.Status == FrameStatus.Invalid) + (framerCloses ? 1 : 0);
            // Where the reads fall decides what happens after a request that closes the connection (quit, a
            // binary protocol error, an HTTP line: a second engine finds them, from the bytes alone), and at
            // memcached's read-dependent long line (a non-get line past 2048 bytes: read whole, or closed).
            int closing = frames.FindIndex(f => f.Status == FrameStatus.Request && ClosesConnection(closer, stream, f.Start, f.Frame));
            int longLine = stream.Length > 0 && stream[0] != 0x80
                ? frames.FindIndex(f => IsLongLine(stream, f.Start))
                : -1;
            bool longTail = stream.Length > 0 && stream[0] != 0x80 && events[^1].StartsWith("closed mid", StringComparison.Ordinal)
                && IsLongLine(stream, int.Parse(events[^1].Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture));
            int certain = Math.Min(closing < 0 ? frames.Count : closing + 1, longLine < 0 ? frames.Count : longLine);
            minRequests += frames.Take(certain).Count(f => f.Status == FrameStatus.Request);
            maxRequests += all;
            minBad += frames.Take(certain).Count(f => f.Status == FrameStatus.Invalid) + (certain == frames.Count && framerCloses && closing < 0 ? 1 : 0);
            maxBad += allBad + (longLine >= 0 || longTail ? 1 : 0);

            (_, bool ended) = Exchange(host.Port, stream, FuzzGens.CutPoints(cuts, stream.Length));
            Assert.True(ended, $"the connection was still open {s_deadline.TotalSeconds} s after the client half-closed (model: {events[^1]})");

            // The probe's own flush_all first: a stream's delayed flush (flush_all 1, say) invalidates, as in
            // memcached, items set in the second it falls due, the probe's too; an immediate flush replaces it.
            string key = $"fuzzprobe{probes++}";
            (byte[] reply, _) = Exchange(host.Port, Encoding.ASCII.GetBytes($"flush_all\r\nset {key} 0 0 2\r\nok\r\nget {key}\r\nquit\r\n"), []);
            Assert.Equal($"OK\r\nSTORED\r\nVALUE {key} 0 2\r\nok\r\nEND\r\n", Encoding.Latin1.GetString(reply));
        }, ciIterations: 50, print: t => $"{Fuzz.Hex(t.Item1)} cuts [{string.Join(',', t.Item2)}]");

        Assert.True(NetworkTestHost.Eventually(() => host.Kernel.InFlight == 0), "requests left in flight");
        NetworkNics nic = host.Nics;
        Assert.True(NetworkTestHost.Eventually(() => nic.Tcp!.OpenConnections == 0), "connections left open");
        host.Dispose();
        TcpCounters tcp = nic.Tcp!.Counters;
        Assert.InRange(tcp.Requests, minRequests + 4 * probes, maxRequests + 4 * probes);
        Assert.InRange(tcp.BadInput, minBad, maxBad);
        Assert.Equal((0L, 0L), (tcp.Open, tcp.Reset));
        Assert.Equal(0, nic.Tcp.ReceiveBlocksInUse);
        Assert.Empty(host.Errors);
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] CapServiceTime(byte[] datagram)
    {
        if (WireProtocol.TryParseRequest(datagram, SpinApp.TypeCount, out RequestHeader h) == ParseError.None && h.ServiceNs > MaxSpinServiceNs)
        {
            datagram = (byte[])datagram.Clone();
            BinaryPrimitives.WriteInt64LittleEndian(datagram.AsSpan(24), MaxSpinServiceNs);
        }
        return datagram;
    }

    private static byte[] CapServiceTimes(SpinProtocol protocol, byte[] stream)
    {
        var frames = new List<(FrameStatus Status, int Start, Frame Frame)>();
        FramerContract.FrameStream(protocol, stream, [], frames);
        byte[] capped = (byte[])stream.Clone();
        foreach ((FrameStatus status, int start, Frame frame) in frames)
        {
            if (status == FrameStatus.Request && frame.ServiceNs > MaxSpinServiceNs)
            {
                BinaryPrimitives.WriteInt64LittleEndian(capped.AsSpan(start + 24), MaxSpinServiceNs);
            }
        }
        return capped;
    }

    private static bool IsLongLine(byte[] stream, int start)
    {
        int newline = stream.AsSpan(start).IndexOf((byte)'\n');
        return (newline < 0 ? stream.Length - start : newline) > 2048 && !NetStack.Apps.Kv.Protocol.TextParser.MayGrowPastLineLimit(stream.AsSpan(start));
    }

    private static bool ClosesConnection(KvEngine engine, byte[] stream, int start, in Frame frame)
    {
        byte[] request = stream.AsSpan(start + frame.BodyOffset, frame.Length - frame.BodyOffset).ToArray();
        var cursor = default(KvCursor);
        var reply = new System.Buffers.ArrayBufferWriter<byte>();
        KvStatus status;
        int steps = 0;
        while ((status = engine.Execute(request, ref cursor, reply)) == KvStatus.Continue && ++steps < 100_000)
        {
        }
        return status == KvStatus.Close;
    }

    /// <summary>Connects, writes <paramref name="stream"/> in pieces ending at <paramref name="cuts"/>
    /// (a millisecond apart, so the server reads them apart), half-closes, and reads until the server
    /// closes. Returns what was read and whether the connection ended before the deadline.</summary>
    private static (byte[] Received, bool Ended) Exchange(int port, byte[] stream, int[] cuts)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int from = 0;
        try
        {
            foreach (int end in cuts.Append(stream.Length))
            {
                for (int at = from; at < end;)
                {
                    at += socket.Send(stream.AsSpan(at, end - at));
                }
                from = end;
                if (end < stream.Length)
                {
                    Thread.Sleep(1);
                }
                // Read what has come, so a server held back by unread replies can go on.
                while (socket.Available > 0)
                {
                    received.Write(buffer, 0, socket.Receive(buffer));
                }
            }
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The server closed while the client was still writing: its answer to bad framing.
        }
        long deadline = Environment.TickCount64 + (long)s_deadline.TotalMilliseconds;
        try
        {
            while (Environment.TickCount64 < deadline)
            {
                if (!socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead))
                {
                    continue;
                }
                int n = socket.Receive(buffer);
                if (n == 0)
                {
                    return (received.ToArray(), true);
                }
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
            return (received.ToArray(), true); // reset: ended all the same
        }
        return (received.ToArray(), false);
    }

    private static List<ResponseHeader> ParseSpinStream(byte[] bytes)
    {
        var replies = new List<ResponseHeader>();
        int at = 0;
        while (bytes.Length - at >= WireProtocol.HeaderSize)
        {
            Assert.True(WireProtocol.TryParseResponseHeader(bytes.AsSpan(at), out ResponseHeader h), $"bytes at {at} are not a spin reply");
            int total = WireProtocol.HeaderSize + (int)h.PayloadLength;
            if (bytes.Length - at < total)
            {
                break; // cut short by a reset
            }
            replies.Add(h);
            at += total;
        }
        return replies;
    }

    private static List<ResponseHeader> ReceiveSpinReplies(Socket socket, int expected)
    {
        var replies = new List<ResponseHeader>();
        var buffer = new byte[4096];
        long deadline = Environment.TickCount64 + (long)s_deadline.TotalMilliseconds;
        while (replies.Count < expected && Environment.TickCount64 < deadline)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead))
            {
                continue;
            }
            int n = socket.Receive(buffer);
            Assert.True(WireProtocol.TryParseResponse(buffer.AsSpan(0, n), out ResponseHeader h), "a reply that is not a spin response");
            replies.Add(h);
        }
        // Nothing more may come: every datagram is answered at most once.
        Thread.Sleep(20);
        while (socket.Available > 0)
        {
            socket.Receive(buffer);
            replies.Add(default);
        }
        return replies;
    }

    private static bool ReceiveDatagramWithId(Socket socket, ushort id, byte[] body)
    {
        var buffer = new byte[65536];
        long deadline = Environment.TickCount64 + (long)s_deadline.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead))
            {
                continue;
            }
            int n = socket.Receive(buffer);
            if (n >= 8 && BinaryPrimitives.ReadUInt16BigEndian(buffer) == id && buffer.AsSpan(8, n - 8).SequenceEqual(body))
            {
                return true;
            }
        }
        return false;
    }
}
