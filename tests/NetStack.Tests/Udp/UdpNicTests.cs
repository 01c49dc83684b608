// The UDP NIC's own contracts: native struct layouts, reply tokens, flow hashes, binding and options.
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NetStack.IOKernel.Nic;
using Xunit;

namespace NetStack.Tests.Udp;

public class UdpNicTests
{
    [Fact]
    public void NativeStructsHaveTheLinuxX64Layout()
    {
        Assert.Equal(16, Marshal.SizeOf<IoVec>());
        Assert.Equal(56, Marshal.SizeOf<MsgHdr>());
        Assert.Equal(64, Marshal.SizeOf<MMsgHdr>());
        Assert.Equal(28, Marshal.SizeOf<SockAddr>());
        Assert.Equal(12, Marshal.SizeOf<EpollEvent>());
        Assert.Equal(4, (int)Marshal.OffsetOf<EpollEvent>(nameof(EpollEvent.Data)));
        Assert.Equal(8, (int)Marshal.OffsetOf<IoVec>(nameof(IoVec.Length)));
        Assert.Equal(8, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.NameLength)));
        Assert.Equal(16, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Iov)));
        Assert.Equal(24, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.IovLength)));
        Assert.Equal(32, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Control)));
        Assert.Equal(40, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.ControlLength)));
        Assert.Equal(48, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Flags)));
        Assert.Equal(56, (int)Marshal.OffsetOf<MMsgHdr>(nameof(MMsgHdr.Length)));
        // sockaddr_in and sockaddr_in6 overlaid: family, port, then the IPv4 address or the IPv6 flow info,
        // address and scope id (<netinet/in.h>).
        Assert.Equal(2, (int)Marshal.OffsetOf<SockAddr>(nameof(SockAddr.Port)));
        Assert.Equal(4, (int)Marshal.OffsetOf<SockAddr>(nameof(SockAddr.Address)));
        Assert.Equal(4, (int)Marshal.OffsetOf<SockAddr>(nameof(SockAddr.FlowInfo)));
        Assert.Equal(8, (int)Marshal.OffsetOf<SockAddr>(nameof(SockAddr.Address6High)));
        Assert.Equal(16, (int)Marshal.OffsetOf<SockAddr>(nameof(SockAddr.Address6Low)));
        Assert.Equal(24, (int)Marshal.OffsetOf<SockAddr>(nameof(SockAddr.ScopeId)));
    }

    [Fact]
    public void ReceiveBuffersAreLongerThanTheLargestValidDatagram()
    {
        Assert.True(UdpQueue.RxSlotBytes > global::NetStack.Runtime.Protocol.WireProtocol.MaxDatagramSize);
        // io_uring lays the recvmsg header and the peer's address out in front of the payload.
        Assert.True(global::NetStack.IOKernel.Nic.IoUring.IoUringUdpNic.PayloadRoom > global::NetStack.Runtime.Protocol.WireProtocol.MaxDatagramSize);
    }

    [Theory]
    [InlineData("127.0.0.1", 9000)]
    [InlineData("10.1.2.3", 1)]
    [InlineData("::1", 65535)]
    [InlineData("fe80::1:2:3:4", 11211)]
    public void PeerAddressRoundTripsThroughTheKernelsSocketAddress(string address, int port)
    {
        var endpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address), port);
        var peer = global::NetStack.Runtime.Scheduling.PeerAddress.From(endpoint);
        Assert.Equal(endpoint, peer.ToEndPoint());
        SockAddr native = SockAddr.FromPeer(peer);
        Assert.Equal(peer, native.ToPeer());
        Assert.Equal(endpoint.AddressFamily == AddressFamily.InterNetwork ? 16u : 28u, native.Length);
    }

    [Fact]
    public void OnePeerIsOneFlowAndPeersSpread()
    {
        static SockAddr Peer(int port) => SockAddr.FromPeer(global::NetStack.Runtime.Scheduling.PeerAddress.From(
            new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port)));
        Assert.Equal(UdpNic.FlowHash(Peer(5000)), UdpNic.FlowHash(Peer(5000)));
        var hashes = Enumerable.Range(40000, 64).Select(p => UdpNic.FlowHash(Peer(p)) % 2).ToArray();
        Assert.Contains(0u, hashes);
        Assert.Contains(1u, hashes);
    }

    [Theory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void PortZeroBindsEveryQueueToTheSameChosenPort(NicBackend backend)
    {
        using var nic = UdpNic.Open(new UdpNicOptions { Port = 0, Queues = 3 }, 16, backend);
        Assert.NotEqual(0, nic.Port);
        Assert.Equal(3, nic.QueueCount);
        Assert.False(nic.Exhausted);
        Assert.False(nic.Saturating);
    }

    [Theory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void PortAlreadyServedIsAnErrorNotASilentShare(NicBackend backend)
    {
        using var first = UdpNic.Open(new UdpNicOptions { Port = 0 }, 16, backend);
        var e = Assert.Throws<SocketException>(() => UdpNic.Open(new UdpNicOptions { Port = first.Port }, 16, backend));
        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
    }

    [Theory]
    [InlineData("::1", 0, 1, "IPv4")]
    [InlineData("127.0.0.1", 70000, 1, "0 (any free port) to 65535")]
    [InlineData("127.0.0.1", 0, 0, "1 to 64")]
    public void InvalidOptionsNameTheValidValues(string address, int port, int queues, string valid)
    {
        var e = Assert.Throws<ArgumentException>(() => new UdpNicOptions { Address = address, Port = port, Queues = queues }.Validate());
        Assert.Contains(valid, e.Message);
    }

    [Theory]
    [InlineData(NicBackend.Syscalls)]
    [InlineData(NicBackend.IoUring)]
    public void IdleNicReceivesNothingAndSendsNothing(NicBackend backend)
    {
        using var nic = UdpNic.Open(new UdpNicOptions { Port = 0 }, 16, backend);
        var batch = new Arrival[32];
        Assert.Equal(0, nic.RxBurst(0, batch));
        // The first loop submits the arms (io_uring); from then on an idle loop does nothing.
        nic.TxBurst();
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(0, nic.RxBurst(0, batch));
            Assert.False(nic.TxBurst());
        }
        Assert.Equal(0, nic.Counters.ReceiveFailures);
    }
}
