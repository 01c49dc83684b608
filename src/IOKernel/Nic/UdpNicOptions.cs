// Configuration of the UDP NIC: where it listens, how many queues, and its socket and batch sizes.
using System.Net;
using System.Net.Sockets;

namespace NetStack.IOKernel.Nic;

/// <summary>The UDP NIC's configuration (bound from appsettings.json section "Udp").</summary>
public sealed class UdpNicOptions
{
    /// <summary>IPv4 address to listen on. Loopback by default: a benchmark server should not be
    /// reachable from the network unless asked.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>UDP port; 0 lets the kernel choose one (tests), which <see cref="UdpNic.Port"/> then reports.</summary>
    public int Port { get; set; } = 9000;

    /// <summary>NIC queues: one socket each on the same port (SO_REUSEPORT), the kernel spreading
    /// flows across them the way a NIC's RSS spreads them across its queues.</summary>
    public int Queues { get; set; } = 1;

    /// <summary>SO_RCVBUF requested per socket. Large, so a burst waits in the kernel instead of being
    /// dropped while the IOKernel is descheduled (the kernel caps it at net.core.rmem_max).</summary>
    public int ReceiveBufferBytes { get; set; } = 4 << 20;

    /// <summary>SO_SNDBUF requested per socket (capped at net.core.wmem_max).</summary>
    public int SendBufferBytes { get; set; } = 4 << 20;

    /// <summary>Datagrams one recvmmsg may take per queue. 64: PLATFORM.md measured ~1.65 M/s at 64,
    /// and the IOKernel's receive burst (NetStack:RxBatch) bounds each call further.</summary>
    public int RxBatchPerQueue { get; set; } = 64;

    /// <summary>Replies batched per queue before a sendmmsg must go out (the batch is also flushed
    /// at every loop turn by TxBurst, so this only bounds a single burst).</summary>
    public int TxBatchPerQueue { get; set; } = 256;

    /// <summary>Native memory for received datagrams (2 KiB blocks): every request holds its datagram's
    /// block until it completes, so this bounds the requests a UDP NIC can have in flight.</summary>
    public int ReceiveMemoryMegabytes { get; set; } = 64;

    /// <summary>This NIC's backend (<c>auto</c>, <c>io_uring</c>, <c>syscalls</c>); empty: <c>Nic:Backend</c>'s.</summary>
    public string Backend { get; set; } = "";

    /// <summary>Queue bound: the queue index travels in 16 bits of the reply token, and more sockets
    /// than cores would only be polled in turn.</summary>
    public const int MaxQueues = 64;

    /// <summary>Batch bound, for both directions (Linux's UIO_MAXIOV is 1024).</summary>
    public const int MaxBatch = 1024;

    /// <summary>The address parsed; valid after <see cref="Validate"/>.</summary>
    internal IPAddress ParsedAddress =>
        IPAddress.TryParse(Address, out IPAddress? ip) && ip.AddressFamily == AddressFamily.InterNetwork
            ? ip
            : throw new ArgumentException($"address '{Address}' is not an IPv4 address; valid: a dotted quad such as 127.0.0.1 or 0.0.0.0");

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> saying what is wrong and what is valid.</summary>
    public void Validate()
    {
        _ = ParsedAddress;
        if (Port < 0 || Port > 65535)
        {
            throw new ArgumentException($"port {Port} is out of range; valid: 0 (any free port) to 65535");
        }
        if (Queues < 1 || Queues > MaxQueues)
        {
            throw new ArgumentException($"{Queues} NIC queues is out of range; valid: 1 to {MaxQueues}");
        }
        if (ReceiveBufferBytes < 1 || SendBufferBytes < 1 || ReceiveMemoryMegabytes < 1)
        {
            throw new ArgumentException("socket buffer sizes and receive memory must be positive");
        }
        if (!string.IsNullOrWhiteSpace(Backend))
        {
            NicOptions.Parse(Backend, "Udp:Backend");
        }
        if (RxBatchPerQueue < 1 || RxBatchPerQueue > MaxBatch || TxBatchPerQueue < 1 || TxBatchPerQueue > MaxBatch)
        {
            throw new ArgumentException($"receive and send batches must be 1 to {MaxBatch}");
        }
    }
}
