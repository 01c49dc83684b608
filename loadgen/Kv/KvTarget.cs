// A server the kv verb measures: a running memcached-compatible server at HOST:PORT, or kv hosted by the verb itself.
using NetStack.LoadGen.Cli;
using NetStack.LoadGen.Udp;

namespace NetStack.LoadGen.Kv;

/// <summary>One <c>--target</c> entry of the kv verb.</summary>
/// <param name="Server">Label, policy and address (for an in-process target, the address is its first point's).</param>
/// <param name="InProcess">kv served by NetStack inside this process (<c>LABEL[/POLICY]=inprocess</c>), so the
/// data path's allocations can be counted per thread.</param>
/// <param name="UdpPort">With <c>--transport udp</c>, where gets go (the loading still goes to the TCP port).</param>
internal sealed record KvTarget(UdpTarget Server, bool InProcess, int UdpPort)
{
    /// <summary>What <see cref="ParseList"/> accepts, for messages.</summary>
    public const string Syntax = "[LABEL[/POLICY]=]HOST:PORT or LABEL[/POLICY]=inprocess, comma-separated, " +
        "e.g. netstack/ps=127.0.0.1:11211,memcached=127.0.0.1:21211";

    /// <summary>How the target appears in progress lines.</summary>
    public string Label => Server.Label;

    /// <summary>Parses <c>--target</c>; <paramref name="udpPorts"/> (<c>--udp-ports</c>) gives each target's UDP port, by position.</summary>
    public static List<KvTarget> ParseList(string text, IReadOnlyList<int>? udpPorts)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var inProcess = new bool[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            int eq = parts[i].IndexOf('=');
            string address = eq < 0 ? parts[i] : parts[i][(eq + 1)..].Trim();
            if (address.Equals("inprocess", StringComparison.OrdinalIgnoreCase))
            {
                inProcess[i] = true;
                // The label goes through the same checks as any; the port is the in-process server's, known per point.
                parts[i] = (eq < 0 ? "netstack/ps" : parts[i][..eq]) + "=127.0.0.1:1";
            }
        }
        List<UdpTarget> servers = UdpTarget.ParseList(string.Join(',', parts), "kv");
        if (udpPorts is not null && udpPorts.Count != servers.Count)
        {
            throw new UsageException($"kv: --udp-ports gives {udpPorts.Count} port(s) for {servers.Count} target(s); give one per target, in order");
        }
        return servers.Select((s, i) => new KvTarget(s, inProcess[i], udpPorts?[i] ?? s.EndPoint.Port)).ToList();
    }
}
