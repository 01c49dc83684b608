// Where a request came from, as its handler sees it: the transport, the connection, the peer's address.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace NetStack.Runtime.Scheduling;

/// <summary>How a request reached the host.</summary>
public enum Transport : byte
{
    /// <summary>Made up in the process (the synthetic NIC, a test).</summary>
    InProcess,
    /// <summary>A UDP datagram.</summary>
    Udp,
    /// <summary>A TCP connection.</summary>
    Tcp,
}

/// <summary>
/// A peer's IP address and port, kept by value (no allocation per request): IPv4 as its four bytes,
/// IPv6 as its sixteen. <see cref="ToEndPoint"/> builds an <see cref="IPEndPoint"/> when a handler
/// wants one (that allocates).
/// </summary>
public readonly struct PeerAddress : IEquatable<PeerAddress>
{
    private readonly ulong _high;
    private readonly ulong _low;

    /// <summary>An IPv4 peer from the address and port as the kernel gives them (network byte order).</summary>
    internal static PeerAddress FromIPv4(uint addressNetworkOrder, ushort portNetworkOrder) =>
        new(AddressFamily.InterNetwork, 0, addressNetworkOrder, BinaryPrimitives.ReverseEndianness(portNetworkOrder));

    /// <summary>An IPv6 peer from its 16 address bytes and its port in network byte order.</summary>
    internal static PeerAddress FromIPv6(ReadOnlySpan<byte> address16, ushort portNetworkOrder) =>
        new(AddressFamily.InterNetworkV6,
            BinaryPrimitives.ReadUInt64LittleEndian(address16),
            BinaryPrimitives.ReadUInt64LittleEndian(address16[8..]),
            BinaryPrimitives.ReverseEndianness(portNetworkOrder));

    /// <summary>A peer from an endpoint (the baseline servers, tests).</summary>
    public static PeerAddress From(IPEndPoint endpoint)
    {
        ushort portNetworkOrder = BinaryPrimitives.ReverseEndianness((ushort)endpoint.Port);
        if (endpoint.AddressFamily == AddressFamily.InterNetworkV6)
        {
            Span<byte> bytes = stackalloc byte[16];
            endpoint.Address.TryWriteBytes(bytes, out _);
            return FromIPv6(bytes, portNetworkOrder);
        }
        Span<byte> v4 = stackalloc byte[4];
        endpoint.Address.TryWriteBytes(v4, out _);
        return FromIPv4(BinaryPrimitives.ReadUInt32LittleEndian(v4), portNetworkOrder);
    }

    private PeerAddress(AddressFamily family, ulong high, ulong low, ushort port)
    {
        Family = family;
        _high = high;
        _low = low;
        Port = port;
    }

    /// <summary>InterNetwork, InterNetworkV6, or Unspecified for an in-process request.</summary>
    public AddressFamily Family { get; }

    /// <summary>The port, in host byte order.</summary>
    public ushort Port { get; }

    /// <summary>The IPv4 address in network byte order (IPv4 peers only).</summary>
    internal uint IPv4NetworkOrder => (uint)_low;

    /// <summary>The IPv6 address bytes (IPv6 peers only).</summary>
    internal void WriteIPv6(Span<byte> destination16)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination16, _high);
        BinaryPrimitives.WriteUInt64LittleEndian(destination16[8..], _low);
    }

    /// <summary>The peer as an endpoint (allocates), or null for an in-process request.</summary>
    public IPEndPoint? ToEndPoint()
    {
        switch (Family)
        {
            case AddressFamily.InterNetwork:
                return new IPEndPoint(new IPAddress(IPv4NetworkOrder), Port);
            case AddressFamily.InterNetworkV6:
                Span<byte> bytes = stackalloc byte[16];
                WriteIPv6(bytes);
                return new IPEndPoint(new IPAddress(bytes), Port);
            default:
                return null;
        }
    }

    /// <inheritdoc />
    public override string ToString() => ToEndPoint()?.ToString() ?? "in-process";

    /// <inheritdoc />
    public bool Equals(PeerAddress other) => Family == other.Family && _high == other._high && _low == other._low && Port == other.Port;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PeerAddress other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Family, _high, _low, Port);
}

/// <summary>The connection (or datagram socket) a request came on.</summary>
/// <param name="Transport">UDP, TCP or in-process.</param>
/// <param name="Id">A number unique to the connection for the host's lifetime (TCP); the NIC queue (UDP).</param>
/// <param name="Peer">The client's address and port.</param>
/// <param name="LocalPort">The port it reached, which names the app.</param>
public readonly record struct ConnectionInfo(Transport Transport, long Id, PeerAddress Peer, int LocalPort);
