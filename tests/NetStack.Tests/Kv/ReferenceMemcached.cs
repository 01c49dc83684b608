// The reference memcached the differential tests compare kv with, and a helper that runs external tools with a time bound.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace NetStack.Tests.Kv;

/// <summary>Runs a program to its end or a deadline, capturing its output.</summary>
internal static class ExternalTool
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, bool TimedOut);

    /// <summary>The program's full path from PATH, or null.</summary>
    public static string? Find(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0)
            {
                continue;
            }
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    public static Result Run(string file, string arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit((int)timeout.TotalMilliseconds);
        if (!exited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        stdout.Wait(5000);
        stderr.Wait(5000);
        return new Result(exited ? process.ExitCode : -1, stdout.IsCompleted ? stdout.Result : "", stderr.IsCompleted ? stderr.Result : "", !exited);
    }

    /// <summary>A TCP port nobody listens on right now.</summary>
    public static int FreePort(SocketType type = SocketType.Stream)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}

/// <summary>
/// The test classes that talk to the reference memcached, run one at a time: with MEMCACHED_ADDRESS
/// they share one server, and each differential case starts with <c>flush_all</c>, which would wipe
/// another class's keys mid-case (seen in CI: an <c>incr</c> that found another case's value).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReferenceMemcachedUsers
{
    /// <summary>The collection's name.</summary>
    public const string Name = "reference memcached";
}

/// <summary>
/// memcached 1.6 on loopback: the one named by MEMCACHED_ADDRESS (host:port), or else one started
/// here from PATH with kv's test limits (<c>-m 64</c>, default <c>-I 1m</c>, one thread), killed
/// at the end. Without memcached the tests that need it fail, saying so: they never skip.
/// </summary>
public class ReferenceMemcached : IDisposable
{
    private readonly Process? _process;

    public ReferenceMemcached()
        : this(udp: false)
    {
    }

    /// <param name="udp">Also serve UDP (on <see cref="UdpPort"/>); the address then comes from
    /// MEMCACHED_UDP_ADDRESS (host:port, the same port for TCP and UDP) when set.</param>
    protected ReferenceMemcached(bool udp)
    {
        string? address = Environment.GetEnvironmentVariable(udp ? "MEMCACHED_UDP_ADDRESS" : "MEMCACHED_ADDRESS");
        if (!string.IsNullOrEmpty(address))
        {
            int colon = address.LastIndexOf(':');
            Host = address[..colon];
            Port = int.Parse(address[(colon + 1)..]);
            UdpPort = Port;
            return;
        }
        string memcached = ExternalTool.Find("memcached")
            ?? throw new InvalidOperationException(
                "The differential tests need the reference memcached: install Debian's memcached package (apt-get install memcached) so it is on PATH, or set MEMCACHED_ADDRESS=host:port.");
        Host = "127.0.0.1";
        Port = ExternalTool.FreePort();
        UdpPort = udp ? ExternalTool.FreePort(SocketType.Dgram) : 0;
        // memcached refuses to run as root without -u.
        string user = Environment.UserName == "root" ? " -u root" : "";
        _process = Process.Start(new ProcessStartInfo(memcached, $"-p {Port} -U {UdpPort} -l 127.0.0.1 -t 1 -m 64{user}")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"could not start {memcached}");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(20);
            }
            catch (SocketException)
            {
                string error = _process.HasExited ? _process.StandardError.ReadToEnd() : "no answer within 15 s";
                throw new InvalidOperationException($"memcached did not start on port {Port}: {error}");
            }
        }
    }

    public string Host { get; }

    public int Port { get; }

    /// <summary>The UDP port, when serving UDP.</summary>
    public int UdpPort { get; }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }
        _process?.Dispose();
    }
}

/// <summary>The reference memcached with UDP on, for the datagram tests.</summary>
public sealed class ReferenceMemcachedUdp : ReferenceMemcached
{
    public ReferenceMemcachedUdp()
        : base(udp: true)
    {
    }
}
