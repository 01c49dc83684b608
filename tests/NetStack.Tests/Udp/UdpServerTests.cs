// Loopback behaviour of both UDP servers, NetStack on each backend: round trips, every bad-input class, overload, and counts that add up.
using System.Buffers.Binary;
using NetStack.IOKernel.Nic;
using NetStack.Runtime.Protocol;
using Xunit;

namespace NetStack.Tests.Udp;

public class UdpServerTests
{
    /// <summary>NetStack under each policy on each backend, and the baseline.</summary>
    public static TheoryData<string, NicBackend> Servers => WithBackends("cfcfs", "ps", "dfcfs");

    /// <summary><paramref name="policies"/> on both backends, then the ThreadPool baseline (which has no backend).</summary>
    public static TheoryData<string, NicBackend> WithBackends(params string[] policies)
    {
        var data = new TheoryData<string, NicBackend>();
        foreach (string policy in policies)
        {
            data.Add(policy, NicBackend.Syscalls);
            data.Add(policy, NicBackend.IoUring);
        }
        data.Add("threadpool", NicBackend.Syscalls);
        return data;
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public void EveryRequestIsAnsweredOkEchoingItsIdTypeAndIntendedSendTime(string server, NicBackend backend)
    {
        const int Count = 64;
        using ITestServer s = TestServers.Start(server, backend);
        using var client = new UdpTestClient(s.Port);
        var requests = Enumerable.Range(0, Count)
            .Select(i => UdpTestClient.Request(id: 1000UL + (ulong)i, type: (byte)(i % 16), serviceNs: 2_000, intendedSendNs: 7_000_000_000L + i, payloadLength: i % 3 * 8));

        List<ResponseHeader> replies = client.SendAndCollect(requests, Count);
        s.Stop();

        Assert.Equal(Count, replies.Count);
        Assert.Equal(0, client.InvalidReplies);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => 1000UL + (ulong)i), replies.Select(r => r.Id).Order());
        Assert.All(replies, r =>
        {
            int i = (int)(r.Id - 1000);
            Assert.Equal(ResponseStatus.Ok, r.Status);
            Assert.Equal((byte)(i % 16), r.Type);
            Assert.Equal(7_000_000_000L + i, r.IntendedSendNs);
            Assert.True(r.ServiceNs > 0, "the handler's time in service is stamped");
        });
        Assert.Equal(Count, s.Counters.Received);
        Assert.Equal(Count, s.Counters.OkReplies);
        Assert.Equal(Count, s.Completed);
        Assert.Equal(0, s.Counters.BadInput);
        Assert.Equal(0, s.Counters.SendFailures);
    }

    private static TheoryData<string, NicBackend, byte[], ParseError, bool> BadInputs(string server, NicBackend backend)
    {
        byte[] Valid(ulong id) => UdpTestClient.Request(id, type: 3, serviceNs: 1_000, intendedSendNs: 555);
        byte[] WithByte(ulong id, int offset, byte value) { byte[] d = Valid(id); d[offset] = value; return d; }
        byte[] badLength = Valid(4);
        BinaryPrimitives.WriteUInt32LittleEndian(badLength.AsSpan(32), 9);
        byte[] negative = Valid(5);
        BinaryPrimitives.WriteInt64LittleEndian(negative.AsSpan(24), -1);
        return new TheoryData<string, NicBackend, byte[], ParseError, bool>
        {
            { server, backend, new byte[10], ParseError.TooShort, false },
            { server, backend, WithByte(1, 0, (byte)'X'), ParseError.BadMagic, false },
            { server, backend, WithByte(2, 4, 9), ParseError.BadVersion, true },
            { server, backend, badLength, ParseError.LengthMismatch, true },
            { server, backend, WithByte(6, 5, 16), ParseError.UnknownType, true },   // SpinApp knows 0..15
            { server, backend, WithByte(7, 5, 255), ParseError.UnknownType, true },  // reserved
            { server, backend, UdpTestClient.Request(8, payloadLength: 1500), ParseError.Oversized, true },
            { server, backend, UdpTestClient.Request(9, payloadLength: 4000), ParseError.Oversized, true }, // longer than a receive buffer
            { server, backend, negative, ParseError.NegativeServiceTime, true },
        };
    }

    public static IEnumerable<object[]> AllBadInputs() =>
        WithBackends("ps").SelectMany(s => BadInputs((string)s[0], (NicBackend)s[1]));

    [Theory]
    [MemberData(nameof(AllBadInputs))]
    public void BadInputIsCountedByReasonAnsweredWhenTheHeaderCanBeReadAndTheServerKeepsServing(
        string server, NicBackend backend, byte[] garbage, ParseError reason, bool answered)
    {
        using ITestServer s = TestServers.Start(server, backend);
        using var client = new UdpTestClient(s.Port);
        byte[] valid = UdpTestClient.Request(id: 99, type: 1, serviceNs: 1_000, intendedSendNs: 42);

        // One socket, loopback: the reply to the garbage (if any) comes before the valid one's.
        List<ResponseHeader> replies = client.SendAndCollect([garbage, valid], answered ? 2 : 1);
        // Nothing more may follow: an unanswerable datagram gets no reply at all.
        replies.AddRange(client.Collect(1, TimeSpan.FromMilliseconds(200)));
        s.Stop();

        Assert.Equal(0, client.InvalidReplies);
        Assert.Equal(answered ? 2 : 1, replies.Count);
        ResponseHeader last = replies.Single(r => r.Id == 99);
        Assert.Equal(ResponseStatus.Ok, last.Status);
        Assert.Equal(42, last.IntendedSendNs);
        if (answered)
        {
            ResponseHeader bad = replies.Single(r => r.Id != 99);
            WireProtocol.TryParseRequest(garbage, 16, out RequestHeader sent);
            Assert.Equal(ResponseStatus.BadRequest, bad.Status);
            Assert.Equal(sent.Id, bad.Id);
            Assert.Equal(sent.Type, bad.Type);
            Assert.Equal(sent.IntendedSendNs, bad.IntendedSendNs);
            Assert.Equal(0u, bad.QueuedNs + bad.ServiceNs + bad.Preemptions);
        }
        Assert.Equal(1, s.Counters[reason]);
        Assert.Equal(1, s.Counters.BadInput);
        Assert.Equal(answered ? 1 : 0, s.Counters.BadRequestReplies);
        Assert.Equal(1, s.Counters.OkReplies);
        Assert.Equal(2, s.Counters.Received);
    }

    [Theory]
    [MemberData(nameof(Servers))]
    public void OverloadIsAnsweredWithRejectionsAndEveryRequestGetsExactlyOneAnswer(string server, NicBackend backend)
    {
        // A bound of 4 and 200 requests of 1 ms sent at once: most are turned away, none in silence.
        const int Count = 200;
        using ITestServer s = TestServers.Start(server, backend, queueCapacity: 4);
        using var client = new UdpTestClient(s.Port);
        var requests = Enumerable.Range(0, Count).Select(i => UdpTestClient.Request((ulong)i, serviceNs: 1_000_000, intendedSendNs: i));

        List<ResponseHeader> replies = client.SendAndCollect(requests, Count);
        s.Stop();

        int ok = replies.Count(r => r.Status == ResponseStatus.Ok);
        int rejected = replies.Count(r => r.Status == ResponseStatus.RejectedOverload);
        int lost = Count - replies.Count;
        Assert.Equal(0, lost);
        Assert.Equal(Count, ok + rejected);
        Assert.True(rejected > 0, "a full queue must answer rejected-overload");
        Assert.Equal(Count, replies.Select(r => r.Id).Distinct().Count());
        Assert.All(replies.Where(r => r.Status == ResponseStatus.RejectedOverload), r => Assert.Equal((long)r.Id, r.IntendedSendNs));
        // The server's counts agree with the client's.
        Assert.Equal(rejected, s.Rejected);
        Assert.Equal(rejected, s.Counters.RejectedReplies);
        Assert.Equal(ok, s.Counters.OkReplies);
        Assert.Equal(Count, s.Counters.Received);
        Assert.Equal(0, s.Counters.SendFailures);
    }

    public static TheoryData<string, NicBackend> CfcfsAndBaseline => WithBackends("cfcfs");

    [Theory]
    [MemberData(nameof(CfcfsAndBaseline))]
    public void MixedTrafficCountsAddUp(string server, NicBackend backend)
    {
        // sent = ok + rejected + bad-request + unanswerable + lost, with lost = 0.
        using ITestServer s = TestServers.Start(server, backend);
        using var client = new UdpTestClient(s.Port);
        var datagrams = new List<byte[]>();
        int answerable = 0, unanswerable = 0;
        for (int i = 0; i < 90; i++)
        {
            switch (i % 3)
            {
                case 0: datagrams.Add(UdpTestClient.Request((ulong)i)); answerable++; break;
                case 1: datagrams.Add(UdpTestClient.Request((ulong)i, type: 200)); answerable++; break;
                default: datagrams.Add(new byte[i % 40]); unanswerable++; break;
            }
        }

        List<ResponseHeader> replies = client.SendAndCollect(datagrams, answerable);
        // The unanswerable datagrams give the client nothing to wait for, and the last one was sent
        // after the last answerable one: wait (bounded) until the server has read them all.
        SpinWait.SpinUntil(() => Volatile.Read(ref s.Counters.Received) >= datagrams.Count, TimeSpan.FromSeconds(10));
        s.Stop();

        int ok = replies.Count(r => r.Status == ResponseStatus.Ok);
        int bad = replies.Count(r => r.Status == ResponseStatus.BadRequest);
        int rejected = replies.Count(r => r.Status == ResponseStatus.RejectedOverload);
        Assert.Equal(datagrams.Count, ok + rejected + bad + unanswerable + (answerable - replies.Count));
        Assert.Equal(answerable, replies.Count);
        Assert.Equal(30, ok);
        Assert.Equal(30, bad);
        Assert.Equal(datagrams.Count, s.Counters.Received);
        Assert.Equal(30, s.Counters[ParseError.UnknownType]);
        Assert.Equal(30, s.Counters[ParseError.TooShort]);
        Assert.Equal(s.Counters.RepliesSent, replies.Count);
    }

    [Theory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void SeveralNicQueuesShareOnePortAndAnswerEveryClient(NicBackend backend)
    {
        using ITestServer s = TestServers.Start("cfcfs", backend, queues: 2);
        var clients = Enumerable.Range(0, 8).Select(_ => new UdpTestClient(s.Port)).ToArray();
        try
        {
            foreach (var (client, c) in clients.Select((client, c) => (client, c)))
            {
                List<ResponseHeader> replies = client.SendAndCollect(
                    Enumerable.Range(0, 10).Select(i => UdpTestClient.Request((ulong)(c * 100 + i))), 10);
                Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)(c * 100 + i)), replies.Select(r => r.Id).Order());
                Assert.All(replies, r => Assert.Equal(ResponseStatus.Ok, r.Status));
            }
        }
        finally
        {
            foreach (UdpTestClient client in clients)
            {
                client.Dispose();
            }
        }
        s.Stop();
        Assert.Equal(80, s.Counters.OkReplies);
    }
}
