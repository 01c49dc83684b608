// Configuration of the TCP NIC: connection limits, per-connection backpressure, receive memory.
namespace NetStack.IOKernel.Nic;

/// <summary>The TCP NIC's configuration (bound from appsettings.json section "Tcp").</summary>
public sealed class TcpNicOptions
{
    /// <summary>Connections open at once, all ports together; past it new ones are accepted and closed
    /// at once (refused, counted).</summary>
    public int MaxConnections { get; set; } = 4096;

    /// <summary>Requests a connection may have in flight (framed and not yet answered on the wire): the
    /// reorder window. Past it the connection is not read until replies go out.</summary>
    public int MaxInFlightPerConnection { get; set; } = 64;

    /// <summary>Reply bytes a connection may have waiting to be written; past it the connection is not
    /// read (a client that sends but never reads stops being read).</summary>
    public int MaxUnsentBytesPerConnection { get; set; } = 4 << 20;

    /// <summary>A connection's receive block (requests larger than it get a block of their own size).</summary>
    public int ReceiveBlockBytes { get; set; } = 16 << 10;

    /// <summary>Native memory for receive blocks, all connections together.</summary>
    public int ReceiveMemoryMegabytes { get; set; } = 256;

    /// <summary>Requests framed from one connection per receive burst, so one pipelining client cannot
    /// starve the others.</summary>
    public int RequestsPerConnectionPerBurst { get; set; } = 32;

    /// <summary>Connections accepted per receive burst.</summary>
    public int AcceptsPerBurst { get; set; } = 64;

    /// <summary>The listen backlog.</summary>
    public int Backlog { get; set; } = 1024;

    /// <summary>A carrier writes its request's reply to the socket itself when nothing earlier on the
    /// connection is unsent (<see cref="Runtime.Scheduling.IReplySender"/>), so the send's system call
    /// runs on the worker's core, not on the IOKernel's; false: the IOKernel writes every reply.</summary>
    public bool WorkerSends { get; set; }

    /// <summary>This NIC's backend (<c>auto</c>, <c>io_uring</c>, <c>syscalls</c>); empty: <c>Nic:Backend</c>'s.</summary>
    public string Backend { get; set; } = "";

    /// <summary>Checks every value; throws naming what is wrong and what is valid.</summary>
    public void Validate()
    {
        if (MaxConnections < 1 || MaxConnections > 1 << 20)
        {
            throw new ArgumentException($"MaxConnections {MaxConnections} is out of range; valid: 1 to {1 << 20}");
        }
        if (MaxInFlightPerConnection < 1 || MaxInFlightPerConnection > 1 << 16 || (MaxInFlightPerConnection & (MaxInFlightPerConnection - 1)) != 0)
        {
            throw new ArgumentException($"MaxInFlightPerConnection {MaxInFlightPerConnection} must be a power of two from 1 to 65536");
        }
        if (MaxUnsentBytesPerConnection < 1 || ReceiveMemoryMegabytes < 1 || RequestsPerConnectionPerBurst < 1 || AcceptsPerBurst < 1 || Backlog < 1)
        {
            throw new ArgumentException("TCP limits must be positive");
        }
        if (!string.IsNullOrWhiteSpace(Backend))
        {
            NicOptions.Parse(Backend, "Tcp:Backend");
        }
        if (ReceiveBlockBytes < 1024 || (ReceiveBlockBytes & (ReceiveBlockBytes - 1)) != 0)
        {
            throw new ArgumentException($"ReceiveBlockBytes {ReceiveBlockBytes} must be a power of two of at least 1024");
        }
    }
}
