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
        Assert.Equal(16, Marshal.SizeOf<SockAddrIn>());
        Assert.Equal(8, (int)Marshal.OffsetOf<IoVec>(nameof(IoVec.Length)));
        Assert.Equal(8, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.NameLength)));
        Assert.Equal(16, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Iov)));
        Assert.Equal(24, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.IovLength)));
        Assert.Equal(32, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Control)));
        Assert.Equal(40, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.ControlLength)));
        Assert.Equal(48, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Flags)));
        Assert.Equal(56, (int)Marshal.OffsetOf<MMsgHdr>(nameof(MMsgHdr.Length)));
        Assert.Equal(2, (int)Marshal.OffsetOf<SockAddrIn>(nameof(SockAddrIn.Port)));
        Assert.Equal(4, (int)Marshal.OffsetOf<SockAddrIn>(nameof(SockAddrIn.Address)));
    }

    [Fact]
    public void ReceiveBuffersAreLongerThanTheLargestValidDatagram()
    {
        Assert.True(UdpQueue.RxSlotBytes > global::NetStack.Runtime.Protocol.WireProtocol.MaxDatagramSize);
    }

    [Theory]
    [InlineData(0x0100007Fu, (ushort)0x2823, 0)]
    [InlineData(0xFFFFFFFFu, (ushort)0xFFFF, 63)]
    [InlineData(0u, (ushort)1, 7)]
    public void ReplyTokenCarriesAddressPortAndQueue(uint address, ushort port, int queue)
    {
        Assert.Equal((address, port, queue), UdpNic.UnpackToken(UdpNic.PackToken(address, port, queue)));
    }

    [Fact]
    public void OnePeerIsOneFlowAndPeersSpread()
    {
        Assert.Equal(UdpNic.FlowHash(0x0100007F, 5000), UdpNic.FlowHash(0x0100007F, 5000));
        var hashes = Enumerable.Range(40000, 64).Select(p => UdpNic.FlowHash(0x0100007F, (ushort)p) % 2).ToArray();
        Assert.Contains(0u, hashes);
        Assert.Contains(1u, hashes);
    }

    [Fact]
    public void PortZeroBindsEveryQueueToTheSameChosenPort()
    {
        using var nic = new UdpNic(new UdpNicOptions { Port = 0, Queues = 3 }, 16);
        Assert.NotEqual(0, nic.Port);
        Assert.Equal(3, nic.QueueCount);
        Assert.False(nic.Exhausted);
        Assert.False(nic.Saturating);
    }

    [Fact]
    public void PortAlreadyServedIsAnErrorNotASilentShare()
    {
        using var first = new UdpNic(new UdpNicOptions { Port = 0 }, 16);
        var e = Assert.Throws<SocketException>(() => new UdpNic(new UdpNicOptions { Port = first.Port }, 16));
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

    [Fact]
    public void IdleNicReceivesNothingAndSendsNothing()
    {
        using var nic = new UdpNic(new UdpNicOptions { Port = 0 }, 16);
        var batch = new Arrival[32];
        Assert.Equal(0, nic.RxBurst(0, batch));
        Assert.False(nic.TxBurst());
        Assert.Equal(0, nic.Counters.ReceiveFailures);
    }
}
