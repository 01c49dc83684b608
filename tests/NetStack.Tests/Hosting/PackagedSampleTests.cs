// The samples as a user builds them: from the packed packages alone, outside the repository, answering over UDP and TCP, drained by SIGTERM.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using NetStack.Runtime.Protocol;
using Xunit;

namespace NetStack.Tests.Hosting;

public sealed class PackagedSampleTests(PackagedSamples samples) : IClassFixture<PackagedSamples>
{
    [Fact]
    public void EchoSampleBuiltFromThePackagesAnswersUdpAndTcpByteForByteAndDrainsOnSigterm()
    {
        string dll = samples.Build("Echo");
        Assert.Equal("package", samples.HostingReferenceKind("Echo"));
        byte[][] payloads = [[], "hello, netstack"u8.ToArray(), Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray()];
        using var service = SampleService.Start(dll, "echo");
        ulong id = 1;
        foreach (byte[] payload in payloads)
        {
            AssertReply(service.Udp(id, 3, payload), id++, 3, payload);
        }
        using (var tcp = service.Tcp())
        {
            foreach (byte[] payload in payloads)
            {
                AssertReply(tcp.Call(id, 5, payload), id++, 5, payload);
            }
        }
        string output = service.Stop();
        AssertDrained(output, requests: 6);
    }

    [Fact]
    public void LookupSampleBuiltFromThePackagesAnswersEachKeyFromItsTableAndDrainsOnSigterm()
    {
        string dll = samples.Build("Lookup");
        Assert.Equal("package", samples.HostingReferenceKind("Lookup"));
        using var service = SampleService.Start(dll, "lookup");
        // Present keys are the multiples of 3 below 3 << 20, each worth its row number; the others are missing.
        uint[] keys = [0, 3, 4, 3000, 3 * ((1u << 20) - 1), 3u << 20];
        AssertReply(service.Udp(1, 0, Encode(keys)), 1, 0, Encode([0, 1, uint.MaxValue, 1000, (1u << 20) - 1, uint.MaxValue]));
        // A long request over TCP: 50,000 lookups, with a checkpoint after each.
        uint[] many = Enumerable.Range(0, 50_000).Select(i => (uint)i * 2).ToArray();
        using (var tcp = service.Tcp())
        {
            AssertReply(tcp.Call(2, 1, Encode(many)), 2, 1, Encode(many.Select(k => k % 3 == 0 ? k / 3 : uint.MaxValue).ToArray()));
        }
        string output = service.Stop();
        AssertDrained(output, requests: 2);
    }

    /// <summary>The whole reply, header and payload, byte for byte; only the server's three stamps
    /// (queued and service time, preemptions) are taken from the reply itself.</summary>
    private static void AssertReply(byte[] reply, ulong id, byte type, byte[] payload)
    {
        Assert.True(WireProtocol.TryParseResponseHeader(reply, out ResponseHeader got), $"not a spin reply: {reply.Length} bytes");
        ResponseHeader header = WireProtocol.ReplyTo(new RequestHeader { Id = id, Type = type, IntendedSendNs = (long)id * 1000 }, ResponseStatus.Ok);
        header.QueuedNs = got.QueuedNs;
        header.ServiceNs = got.ServiceNs;
        header.Preemptions = got.Preemptions;
        header.PayloadLength = (uint)payload.Length;
        var expected = new byte[WireProtocol.HeaderSize + payload.Length];
        WireProtocol.WriteResponse(expected, header);
        payload.CopyTo(expected.AsSpan(WireProtocol.HeaderSize));
        Assert.Equal(expected, reply);
    }

    private static void AssertDrained(string output, int requests)
    {
        Assert.Contains($"netstack: received {requests}, completed {requests} (errors 0), rejected 0, refused shutting down 0", output);
        Assert.Contains("unfinished 0", output);
        Assert.DoesNotContain("stuck carriers", output);
    }

    private static byte[] Encode(uint[] keys)
    {
        var bytes = new byte[keys.Length * sizeof(uint)];
        for (int i = 0; i < keys.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * sizeof(uint)), keys[i]);
        }
        return bytes;
    }
}

/// <summary>A built sample running as its own process, on the ports the kernel chose, stopped with SIGTERM.</summary>
internal sealed partial class SampleService : IDisposable
{
    private const int Sigterm = 15;
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly List<string> _output = [];

    private SampleService(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Add(e.Data);
        _process.ErrorDataReceived += (_, e) => Add(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int UdpPort { get; private set; }

    public int TcpPort { get; private set; }

    /// <summary>Runs <paramref name="dll"/> (its app <paramref name="app"/> on ports the kernel picks) until it logs what it serves.</summary>
    public static SampleService Start(string dll, string app)
    {
        Process process = Process.Start(DotNet.StartInfo(Path.GetDirectoryName(dll)!, dll,
            $"--NetStack:Apps:{app}:UdpPort", "0", $"--NetStack:Apps:{app}:TcpPort", "0"))!;
        var service = new SampleService(process);
        try
        {
            string line = service.WaitFor("netstack: serving");
            service.UdpPort = int.Parse(Regex.Match(line, $@"{app}: udp://127\.0\.0\.1:(\d+)").Groups[1].Value);
            service.TcpPort = int.Parse(Regex.Match(line, $@"{app}: tcp://127\.0\.0\.1:(\d+)").Groups[1].Value);
            return service;
        }
        catch
        {
            service.Dispose();
            throw;
        }
    }

    /// <summary>One request in one datagram; the reply datagram.</summary>
    public byte[] Udp(ulong id, byte type, byte[] payload)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)s_deadline.TotalMilliseconds };
        socket.Connect(IPAddress.Loopback, UdpPort);
        socket.Send(Request(id, type, payload));
        var buffer = new byte[65536];
        return buffer[..socket.Receive(buffer)];
    }

    /// <summary>A connection to the TCP port.</summary>
    public TcpConnection Tcp() => new(TcpPort);

    /// <summary>SIGTERM, then everything the service printed once it exited (exit code 0 asserted).</summary>
    public string Stop()
    {
        Assert.Equal(0, Kill(_process.Id, Sigterm));
        Assert.True(_process.WaitForExit(s_deadline), $"no exit {s_deadline.TotalSeconds} s after SIGTERM:\n{Output}");
        _process.WaitForExit();
        Assert.True(_process.ExitCode == 0, $"exit code {_process.ExitCode}:\n{Output}");
        return Output;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    internal static byte[] Request(ulong id, byte type, byte[] payload)
    {
        var request = new byte[WireProtocol.HeaderSize + payload.Length];
        WireProtocol.WriteRequest(request, new RequestHeader { Id = id, Type = type, IntendedSendNs = (long)id * 1000, PayloadLength = (uint)payload.Length });
        payload.CopyTo(request.AsSpan(WireProtocol.HeaderSize));
        return request;
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    private string WaitFor(string text)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < s_deadline)
        {
            lock (_output)
            {
                if (_output.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line)
                {
                    return line;
                }
            }
            Assert.False(_process.HasExited, $"the service exited before '{text}':\n{Output}");
            Thread.Sleep(20);
        }
        throw new Xunit.Sdk.XunitException($"no '{text}' within {s_deadline.TotalSeconds} s:\n{Output}");
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>One TCP connection: frames in, whole replies out.</summary>
    internal sealed class TcpConnection : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)s_deadline.TotalMilliseconds,
            NoDelay = true,
        };

        public TcpConnection(int port) => _socket.Connect(IPAddress.Loopback, port);

        /// <summary>Sends one request; reads its reply, header and payload.</summary>
        public byte[] Call(ulong id, byte type, byte[] payload)
        {
            _socket.Send(Request(id, type, payload));
            byte[] header = Read(WireProtocol.HeaderSize);
            Assert.True(WireProtocol.TryParseResponseHeader(header, out ResponseHeader parsed), "not a spin reply header");
            return [.. header, .. Read(checked((int)parsed.PayloadLength))];
        }

        public void Dispose() => _socket.Dispose();

        private byte[] Read(int count)
        {
            var bytes = new byte[count];
            for (int read = 0; read < count;)
            {
                int n = _socket.Receive(bytes, read, count - read, SocketFlags.None);
                if (n == 0)
                {
                    throw new Xunit.Sdk.XunitException($"the server closed the connection after {read} of {count} bytes");
                }
                read += n;
            }
            return bytes;
        }
    }
}
