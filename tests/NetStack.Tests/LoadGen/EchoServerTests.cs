// The echo server: valid requests answered ok, malformed ones answered or ignored as the codec says, and it stops when told.
using System.Net;
using System.Net.Sockets;
using NetStack.LoadGen.Echo;
using NetStack.Runtime.Protocol;
using Xunit;

namespace NetStack.Tests.LoadGen;

public class EchoServerTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(5);

    private static byte[] Request(byte type, ulong id, long intendedNs)
    {
        byte[] datagram = new byte[WireProtocol.HeaderSize];
        WireProtocol.WriteRequest(datagram, new RequestHeader { Type = type, Id = id, IntendedSendNs = intendedNs, ServiceNs = 1000 });
        return datagram;
    }

    private static ResponseHeader? Exchange(Socket client, byte[] datagram)
    {
        client.Send(datagram);
        byte[] buffer = new byte[2048];
        if (!client.Poll((int)s_wait.TotalMicroseconds, SelectMode.SelectRead))
        {
            return null;
        }
        int n = client.Receive(buffer);
        Assert.True(WireProtocol.TryParseResponse(buffer.AsSpan(0, n), out ResponseHeader h));
        return h;
    }

    private static Socket Client(EchoServer server)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Connect(server.LocalEndPoint);
        return client;
    }

    [Fact]
    public void ValidRequestIsAnsweredOkEchoingTypeIdAndIntendedSendTime()
    {
        using var server = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0));
        server.Start();
        using Socket client = Client(server);

        ResponseHeader? h = Exchange(client, Request(3, 0xABCDEF0123, 123_456_789));

        Assert.NotNull(h);
        Assert.Equal(ResponseStatus.Ok, h.Value.Status);
        Assert.Equal((byte)3, h.Value.Type);
        Assert.Equal(0xABCDEF0123UL, h.Value.Id);
        Assert.Equal(123_456_789L, h.Value.IntendedSendNs);
        Assert.True(server.Stop(s_wait));
        Assert.Equal(1, server.Received);
        Assert.Equal(1, server.AnsweredOk);
    }

    [Fact]
    public void MalformedRequestIsAnsweredBadRequestAndGarbageIsIgnoredButCounted()
    {
        using var server = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0));
        server.Start();
        using Socket client = Client(server);

        byte[] badVersion = Request(1, 7, 99);
        badVersion[4] = 9;
        ResponseHeader? h = Exchange(client, badVersion);
        client.Send(new byte[] { 1, 2, 3 });          // too short: not answered
        client.Send(new byte[WireProtocol.HeaderSize]); // no magic: not answered
        ResponseHeader? after = Exchange(client, Request(0, 8, 100)); // still serving afterwards

        Assert.NotNull(h);
        Assert.Equal(ResponseStatus.BadRequest, h.Value.Status);
        Assert.Equal(7UL, h.Value.Id);
        Assert.NotNull(after);
        Assert.Equal(8UL, after.Value.Id);
        Assert.True(server.Stop(s_wait));
        Assert.Equal(4, server.Received);
        Assert.Equal(1, server.AnsweredBadRequest);
        Assert.Equal(2, server.Ignored);
        Assert.Equal(1, server.AnsweredOk);
    }

    [Fact]
    public void EchoVerbServesForItsDurationAndPrintsItsCounts()
    {
        (int code, string output, string error) = UdpCommandTests.RunMain("echo", "--port", "0", "--duration-s", "0.2");

        Assert.True(code == 0, error);
        Assert.Contains("echo: listening on udp 127.0.0.1:", output);
        Assert.Contains("answered ok 0", output);
    }
}
