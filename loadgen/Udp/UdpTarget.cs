// A server the udp verb measures: its report label (system and policy) and its address.
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using NetStack.LoadGen.Cli;

namespace NetStack.LoadGen.Udp;

/// <summary>One <c>--target</c> entry: <c>[SYSTEM[/POLICY]=]HOST:PORT</c>.</summary>
/// <param name="System">Goes into <c>PointReport.System</c>: "netstack", "threadpool", or any label.</param>
/// <param name="Policy">Goes into <c>PointReport.Policy</c>; the client cannot see the server's policy, so the user names it.</param>
/// <param name="EndPoint">Where requests go.</param>
internal sealed partial record UdpTarget(string System, string Policy, IPEndPoint EndPoint)
{
    /// <summary>What <see cref="ParseList"/> accepts, for messages.</summary>
    public const string Syntax = "[LABEL[/POLICY]=]HOST:PORT[,...] with HOST an IP address or localhost, e.g. netstack/ps=127.0.0.1:9000,threadpool=127.0.0.1:9001";

    /// <summary>How the target appears in progress lines.</summary>
    public string Label => Policy.Length == 0 || Policy == System ? System : $"{System}/{Policy}";

    /// <summary>Parses the comma list of <c>--target</c>; unlabelled targets are target1, target2, ... by position.</summary>
    /// <param name="text">The list.</param>
    /// <param name="verb">The verb, for messages.</param>
    public static List<UdpTarget> ParseList(string text, string verb = "udp")
    {
        var targets = new List<UdpTarget>();
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            targets.Add(Parse(parts[i], "target" + (i + 1).ToString(CultureInfo.InvariantCulture), verb));
        }
        List<string> repeated = targets.GroupBy(t => t.Label).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (repeated.Count > 0)
        {
            throw new UsageException($"{verb}: --target label '{repeated[0]}' is given twice; each target needs its own label ({Syntax})");
        }
        return targets;
    }

    /// <summary>One entry; <paramref name="defaultLabel"/> when it has no label.</summary>
    public static UdpTarget Parse(string text, string defaultLabel, string verb = "udp")
    {
        string label = defaultLabel;
        string address = text;
        int eq = text.IndexOf('=');
        if (eq >= 0)
        {
            label = text[..eq].Trim();
            address = text[(eq + 1)..].Trim();
            if (!LabelPattern().IsMatch(label))
            {
                throw Bad(verb, text, "a label is letters, digits, '-', '_' or '.', with an optional /POLICY");
            }
        }
        string system = label;
        string policy = "";
        int slash = label.IndexOf('/');
        if (slash >= 0)
        {
            system = label[..slash];
            policy = label[(slash + 1)..];
        }
        // The report labels a netstack point by its policy alone, so a netstack target needs one to be told apart.
        if (system == "netstack" && policy.Length == 0)
        {
            policy = "netstack";
        }
        if (address.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            address = "127.0.0.1" + address["localhost".Length..];
        }
        // No DNS: a benchmark should not depend on a resolver, and a literal says exactly where the load goes.
        if (!IPEndPoint.TryParse(address, out IPEndPoint? ep) || ep.Port == 0 || !HasPort(address))
        {
            throw Bad(verb, text, "expected HOST:PORT with HOST an IP address or localhost and PORT 1-65535");
        }
        return new UdpTarget(system, policy, ep);
    }

    private static bool HasPort(string address)
    {
        int colon = address.LastIndexOf(':');
        int bracket = address.LastIndexOf(']');
        return colon > 0 && colon > bracket;
    }

    private static UsageException Bad(string verb, string text, string why) =>
        new($"{verb}: malformed --target '{text}': {why}; syntax: {Syntax}");

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)?$")]
    private static partial Regex LabelPattern();
}
