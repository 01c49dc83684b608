// kv over UDP against memcached over UDP: replies reassembled from their datagrams, compared after normalization; kv's datagrams checked one by one.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using NetStack.Apps.Kv;
using NetStack.Apps.Kv.Protocol;
using Xunit;

namespace NetStack.Tests.Kv;

[Collection(ReferenceMemcachedUsers.Name)]
public sealed class UdpDifferentialTests : IClassFixture<ReferenceMemcachedUdp>, IDisposable
{
    private const ushort SentinelId = 0xfffe;
    private readonly ReferenceMemcachedUdp _memcached;
    private readonly KvHost _kv;

    public UdpDifferentialTests(ReferenceMemcachedUdp memcached)
    {
        _memcached = memcached;
        _kv = new KvHost(new KvOptions { Threads = 1 }, udp: true);
    }

    public void Dispose() => _kv.Dispose();

    private static byte[] Datagram(ushort id, string body, ushort sequence = 0, ushort count = 1) =>
        Datagram(id, Encoding.Latin1.GetBytes(body), sequence, count);

    private static byte[] Datagram(ushort id, byte[] body, ushort sequence = 0, ushort count = 1)
    {
        var d = new byte[8 + body.Length];
        BinaryPrimitives.WriteUInt16BigEndian(d, id);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(2), sequence);
        BinaryPrimitives.WriteUInt16BigEndian(d.AsSpan(4), count);
        body.CopyTo(d, 8);
        return d;
    }

    /// <summary>The requests, in order: what each one's reply must be on both servers.</summary>
    private static readonly (ushort Id, byte[] Datagram)[] s_requests =
    [
        (1, Datagram(1, "set a 0 0 1\r\nx\r\n")),
        (2, Datagram(2, "get a\r\n")),
        (3, Datagram(3, "get a nope a\r\n")),
        (4, Datagram(4, "set big 0 0 3000\r\n" + new string('b', 3000) + "\r\n")),
        (5, Datagram(5, "get big\r\n")),
        (6, Datagram(6, "get a\r\nget a\r\nmn\r\n")),
        (7, Datagram(7, Bin.Request(0x00, "a", opaque: 77))),
        (8, Datagram(8, "get a\r\n", count: 2)),
        (9, Datagram(9, "")),
        (10, Datagram(10, "gets a\r\nincr a 1\r\nset n 0 0 1\r\n5\r\nincr n 10\r\ndecr n 100\r\n")),
        (11, Datagram(11, "mg a v k c t\r\nmg nope v\r\nms m 2 T0\r\nhi\r\nmg m v\r\n")),
        (12, Datagram(12, "set big2 0 0 9000\r\n" + new string('q', 9000) + "\r\nget big2 big a\r\n")),
        (13, Datagram(13, "delete a\r\nget a\r\nversion\r\n")),
    ];

    [Fact]
    public void ReassembledUdpRepliesMatchMemcached()
    {
        Dictionary<ushort, List<byte[]>> expected = Exchange(_memcached.UdpPort);
        Dictionary<ushort, List<byte[]>> actual = Exchange(_kv.UdpPort);
        Assert.True(_kv.Errors.Count == 0, string.Join("\n", _kv.Errors));
        foreach ((ushort id, _) in s_requests)
        {
            string want = Normalize(Reassemble(expected, id));
            string got = Normalize(Reassemble(actual, id));
            if (!Normalizer.Agree(want, got))
            {
                Assert.Fail($"request {id}: replies differ.\n--- memcached:\n{want}\n--- kv:\n{got}");
            }
        }
        // Dropped as memcached drops them: a request spread over two datagrams, and a bare header.
        Assert.False(actual.ContainsKey(8));
        Assert.False(actual.ContainsKey(9));
    }

    [Fact]
    public void KvNumbersEveryDatagramOfAReplyAndKeepsEachWithinMemcachedsPayloadLimit()
    {
        Dictionary<ushort, List<byte[]>> replies = Exchange(_kv.UdpPort);
        foreach ((ushort id, List<byte[]> datagrams) in replies)
        {
            for (int i = 0; i < datagrams.Count; i++)
            {
                byte[] d = datagrams[i];
                Assert.True(d.Length <= UdpFrame.MaxDatagramBytes, $"request {id}: a datagram of {d.Length} bytes");
                Assert.Equal(id, BinaryPrimitives.ReadUInt16BigEndian(d));
                Assert.Equal(i, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(2)));
                Assert.Equal(datagrams.Count, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(4)));
                Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(6)));
                if (i < datagrams.Count - 1)
                {
                    Assert.Equal(UdpFrame.MaxDatagramBytes, d.Length);
                }
            }
        }
        Assert.Equal(3, replies[5].Count);
        Assert.True(replies[12].Count >= 9);
    }

    /// <summary>Binary replies (magic 0x81) carry their CAS in the header, which only the binary
    /// normalizer reads: memcached's CAS counter depends on what other tests sent it first.</summary>
    private static string Normalize(byte[] reply) =>
        reply.Length > 0 && reply[0] == 0x81 ? Normalizer.Binary(reply) : Normalizer.Text(reply);

    private static byte[] Reassemble(Dictionary<ushort, List<byte[]>> replies, ushort id) =>
        replies.TryGetValue(id, out List<byte[]>? datagrams) ? datagrams.SelectMany(d => d.Skip(8)).ToArray() : [];

    /// <summary>Sends each request, then a sentinel, and collects every datagram until the
    /// sentinel's reply: one server works through datagrams in order, so all earlier replies are in.</summary>
    private static Dictionary<ushort, List<byte[]>> Exchange(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.ReceiveTimeout = 5000;
        var server = new IPEndPoint(IPAddress.Loopback, port);
        var replies = new Dictionary<ushort, List<byte[]>>();
        var buffer = new byte[65536];
        foreach ((ushort id, byte[] datagram) in s_requests)
        {
            socket.SendTo(datagram, server);
            socket.SendTo(Datagram(SentinelId, "mn\r\n"), server);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (true)
            {
                Assert.True(DateTime.UtcNow < deadline, $"no sentinel reply after request {id}");
                int n = socket.Receive(buffer);
                ushort replyId = BinaryPrimitives.ReadUInt16BigEndian(buffer);
                if (replyId == SentinelId)
                {
                    break;
                }
                if (!replies.TryGetValue(replyId, out List<byte[]>? list))
                {
                    replies[replyId] = list = [];
                }
                list.Add(buffer.AsSpan(0, n).ToArray());
            }
        }
        return replies;
    }
}
