// The differential harness: the same bytes to memcached and to kv, each reply read up to a sentinel, then normalized narrowly.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetStack.Tests.Kv;

/// <summary>One write (or a few, when split) and how its reply ends.</summary>
/// <param name="Build">The bytes, given the last CAS unique this connection has seen (for cas steps).</param>
/// <param name="ExpectClose">The server closes the connection after this step; read to the end.</param>
/// <param name="SplitAt">Byte offsets at which the step is cut into separate writes, with a pause between.</param>
internal sealed record DiffStep(Func<ulong, byte[]> Build, bool ExpectClose = false, int[]? SplitAt = null);

/// <summary>A sequence of steps on one fresh connection.</summary>
internal sealed record DiffCase(string Name, bool Binary, DiffStep[] Steps);

/// <summary>What one server answered to a case: the normalized reply of each step, and whether it closed.</summary>
internal sealed record DiffOutcome(string[] Replies, bool Closed);

/// <summary>Builds binary requests.</summary>
internal static class Bin
{
    public static byte[] Request(byte opcode, string key = "", byte[]? extras = null, byte[]? value = null, ulong cas = 0, uint opaque = 0, uint? bodyLength = null)
    {
        byte[] k = Encoding.Latin1.GetBytes(key);
        extras ??= [];
        value ??= [];
        var packet = new byte[24 + extras.Length + k.Length + value.Length];
        packet[0] = 0x80;
        packet[1] = opcode;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)k.Length);
        packet[4] = (byte)extras.Length;
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), bodyLength ?? (uint)(extras.Length + k.Length + value.Length));
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(12), opaque);
        BinaryPrimitives.WriteUInt64BigEndian(packet.AsSpan(16), cas);
        extras.CopyTo(packet, 24);
        k.CopyTo(packet, 24 + extras.Length);
        value.CopyTo(packet, 24 + extras.Length + k.Length);
        return packet;
    }

    public static byte[] SetExtras(uint flags, uint exptime)
    {
        var e = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(e, flags);
        BinaryPrimitives.WriteUInt32BigEndian(e.AsSpan(4), exptime);
        return e;
    }

    public static byte[] ArithExtras(ulong delta, ulong initial, uint expiration)
    {
        var e = new byte[20];
        BinaryPrimitives.WriteUInt64BigEndian(e, delta);
        BinaryPrimitives.WriteUInt64BigEndian(e.AsSpan(8), initial);
        BinaryPrimitives.WriteUInt32BigEndian(e.AsSpan(16), expiration);
        return e;
    }

    public static byte[] U32(uint v)
    {
        var e = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(e, v);
        return e;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}

/// <summary>Drives one connection to one server.</summary>
internal static class DiffRunner
{
    /// <summary>The text sentinel: an mg miss whose reply ("EN O...") ends a step's reply unambiguously.</summary>
    private static byte[] TextSentinel(int n) => Encoding.ASCII.GetBytes($"mg __diff_sentinel__ O{n}\r\n");

    private static byte[] TextSentinelReply(int n) => Encoding.ASCII.GetBytes($"EN O{n}\r\n");

    /// <summary>The binary sentinel: a NOOP with a distinct opaque.</summary>
    private static byte[] BinarySentinel(int n) => Bin.Request(0x0a, opaque: 0x5e000000u + (uint)n);

    private static byte[] BinarySentinelReply(int n)
    {
        var reply = new byte[24];
        reply[0] = 0x81;
        reply[1] = 0x0a;
        BinaryPrimitives.WriteUInt32BigEndian(reply.AsSpan(12), 0x5e000000u + (uint)n);
        return reply;
    }

    public static DiffOutcome Run(string host, int port, DiffCase c)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.NoDelay = true;
        socket.ReceiveTimeout = 10_000;
        socket.Connect(IPAddress.Parse(host), port);
        var replies = new List<string>();
        ulong lastCas = 0;
        bool closed = false;
        for (int i = 0; i < c.Steps.Length && !closed; i++)
        {
            DiffStep step = c.Steps[i];
            byte[] bytes = step.Build(lastCas);
            int[] cuts = step.SplitAt ?? [];
            int from = 0;
            try
            {
                foreach (int cut in cuts.Where(x => x > 0 && x < bytes.Length).Order())
                {
                    socket.Send(bytes, from, cut - from, SocketFlags.None);
                    from = cut;
                    // Gives the server a chance to read the part alone; the result must not depend on it.
                    Thread.Sleep(3);
                }
                socket.Send(bytes, from, bytes.Length - from, SocketFlags.None);
            }
            catch (SocketException) when (step.ExpectClose)
            {
                // The server may close before the last part arrives; what it answered is still read below.
            }
            byte[] reply;
            if (step.ExpectClose)
            {
                reply = ReadToEnd(socket, c.Name, i);
                closed = true;
            }
            else
            {
                byte[] sentinel = c.Binary ? BinarySentinel(i) : TextSentinel(i);
                byte[] sentinelReply = c.Binary ? BinarySentinelReply(i) : TextSentinelReply(i);
                socket.Send(sentinel);
                reply = ReadUntil(socket, sentinelReply, c.Name, i, out closed);
            }
            lastCas = c.Binary ? LastBinaryCas(reply, lastCas) : LastTextCas(reply, lastCas);
            replies.Add(c.Binary ? Normalizer.Binary(reply) : Normalizer.Text(reply));
        }
        return new DiffOutcome([.. replies], closed);
    }

    private static byte[] ReadToEnd(Socket socket, string name, int step)
    {
        var data = new List<byte>();
        var buffer = new byte[65536];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                return [.. data];
            }
            if (n == 0)
            {
                return [.. data];
            }
            data.AddRange(buffer.AsSpan(0, n));
        }
        throw new InvalidOperationException($"{name}, step {step}: the connection was expected to close and did not.");
    }

    private static byte[] ReadUntil(Socket socket, byte[] suffix, string name, int step, out bool closed)
    {
        var data = new List<byte>();
        var buffer = new byte[65536];
        closed = false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            int n;
            try
            {
                n = socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                closed = true;
                return [.. data];
            }
            if (n == 0)
            {
                closed = true;
                return [.. data];
            }
            data.AddRange(buffer.AsSpan(0, n));
            if (data.Count >= suffix.Length && data.GetRange(data.Count - suffix.Length, suffix.Length).SequenceEqual(suffix))
            {
                data.RemoveRange(data.Count - suffix.Length, suffix.Length);
                return [.. data];
            }
        }
        throw new InvalidOperationException($"{name}, step {step}: no sentinel reply; got {Normalizer.Escape([.. data])}");
    }

    /// <summary>The CAS of the last VALUE line with one, or of the last meta c flag.</summary>
    private static ulong LastTextCas(byte[] reply, ulong previous)
    {
        ulong cas = previous;
        string text = Encoding.Latin1.GetString(reply);
        foreach (string line in text.Split("\r\n"))
        {
            string[] t = line.Split(' ');
            if (t.Length == 5 && t[0] == "VALUE" && ulong.TryParse(t[4], out ulong v))
            {
                cas = v;
            }
            else if (t.Length > 1 && t[0] is "VA" or "HD" or "EN" or "NF" or "NS" or "EX")
            {
                foreach (string token in t.Skip(1))
                {
                    if (token.Length > 1 && token[0] == 'c' && ulong.TryParse(token[1..], out ulong c) && c != 0)
                    {
                        cas = c;
                    }
                }
            }
        }
        return cas;
    }

    private static ulong LastBinaryCas(byte[] reply, ulong previous)
    {
        ulong cas = previous;
        int p = 0;
        while (p + 24 <= reply.Length)
        {
            ulong c = BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(p + 16));
            if (c != 0)
            {
                cas = c;
            }
            p += 24 + (int)BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(p + 8));
        }
        return cas;
    }
}

/// <summary>
/// Rewrites only what may differ between two correct servers: CAS uniques (kept as zero or not
/// zero), the version string, and statistics other than the counters both must agree on. All else
/// is compared byte for byte.
/// </summary>
internal static class Normalizer
{
    /// <summary>Statistics whose values must match memcached's exactly after the same commands.</summary>
    private static readonly HashSet<string> s_exactStats =
    [
        "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "cmd_meta", "get_hits", "get_misses",
        "delete_misses", "delete_hits", "incr_misses", "incr_hits", "decr_misses", "decr_hits",
        "cas_misses", "cas_hits", "cas_badval", "touch_hits", "touch_misses", "store_too_large",
        "store_no_memory", "auth_cmds", "auth_errors", "limit_maxbytes", "threads", "pointer_size",
        "evictions", "accepting_conns",
    ];

    /// <summary>
    /// Whether two normalized replies agree, allowing only what the second boundary can change
    /// between two servers' runs: a meta TTL (t), last-access (l) or meta-debug time (exp=, la=)
    /// one second apart, when a clock tick fell between the command that set a time and the one
    /// that read it on one server and not on the other.
    /// </summary>
    public static bool Agree(string expected, string actual)
    {
        if (expected == actual)
        {
            return true;
        }
        string[] e = expected.Split(' ', '\n');
        string[] a = actual.Split(' ', '\n');
        if (e.Length != a.Length)
        {
            return false;
        }
        for (int i = 0; i < e.Length; i++)
        {
            if (e[i] != a[i] && !WithinASecond(e[i], a[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static bool WithinASecond(string x, string y)
    {
        foreach (string prefix in (string[])["t", "l", "exp=", "la="])
        {
            if (Split(x, prefix, out long u, out string xs) && Split(y, prefix, out long v, out string ys) && xs == ys && Math.Abs(u - v) <= 1)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A token as prefix, signed number, and the escaped rest (a line end).</summary>
    private static bool Split(string token, string prefix, out long number, out string rest)
    {
        number = 0;
        rest = "";
        if (!token.StartsWith(prefix))
        {
            return false;
        }
        int i = prefix.Length;
        int start = i;
        if (i < token.Length && token[i] == '-')
        {
            i++;
        }
        while (i < token.Length && char.IsAsciiDigit(token[i]))
        {
            i++;
        }
        rest = token[i..];
        return long.TryParse(token.AsSpan(start, i - start), out number);
    }

    public static string Escape(byte[] bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes)
        {
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n\n",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7f => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }
        return sb.ToString();
    }

    public static string Text(byte[] reply)
    {
        var output = new List<byte>();
        int p = 0;
        while (p < reply.Length)
        {
            int end = IndexOfCrlf(reply, p);
            if (end < 0)
            {
                output.AddRange(reply.AsSpan(p));
                break;
            }
            string line = Encoding.Latin1.GetString(reply, p, end - p);
            p = end + 2;
            string[] t = line.Split(' ');
            int data = -1;
            if (t[0] == "VALUE" && t.Length >= 4)
            {
                if (t.Length == 5)
                {
                    t[4] = "<cas>";
                }
                int.TryParse(t[3], out data);
            }
            else if (t[0] is "VA" or "HD" or "EN" or "NF" or "NS" or "EX")
            {
                if (t[0] == "VA" && t.Length > 1)
                {
                    int.TryParse(t[1], out data);
                }
                for (int i = 1; i < t.Length; i++)
                {
                    if (t[i].Length > 1 && t[i][0] == 'c' && ulong.TryParse(t[i][1..], out ulong c) && c != 0)
                    {
                        t[i] = "c<cas>";
                    }
                }
            }
            else if (t[0] == "ME")
            {
                // Meta debug: kv's CAS, slab class and item size are its own.
                for (int i = 2; i < t.Length; i++)
                {
                    if (t[i].StartsWith("cas=") || t[i].StartsWith("cls=") || t[i].StartsWith("size="))
                    {
                        t[i] = t[i][..(t[i].IndexOf('=') + 1)] + "<n>";
                    }
                }
            }
            else if (t[0] == "VERSION")
            {
                t = ["VERSION", "<version>"];
            }
            else if (t[0] == "STAT" && t.Length >= 3 && !s_exactStats.Contains(t[1]))
            {
                t = ["STAT", t[1], "<value>"];
            }
            output.AddRange(Encoding.Latin1.GetBytes(string.Join(' ', t) + "\r\n"));
            if (data >= 0)
            {
                int n = Math.Min(data + 2, reply.Length - p);
                output.AddRange(Encoding.Latin1.GetBytes($"<{data} bytes: "));
                output.AddRange(reply.AsSpan(p, n));
                output.AddRange(">"u8.ToArray());
                p += n;
            }
        }
        return Escape([.. output]);
    }

    public static string Binary(byte[] reply)
    {
        var sb = new StringBuilder();
        int p = 0;
        while (p + 24 <= reply.Length)
        {
            ReadOnlySpan<byte> h = reply.AsSpan(p, 24);
            int keyLength = BinaryPrimitives.ReadUInt16BigEndian(h[2..]);
            int extras = h[4];
            ushort status = BinaryPrimitives.ReadUInt16BigEndian(h[6..]);
            int body = (int)BinaryPrimitives.ReadUInt32BigEndian(h[8..]);
            uint opaque = BinaryPrimitives.ReadUInt32BigEndian(h[12..]);
            ulong cas = BinaryPrimitives.ReadUInt64BigEndian(h[16..]);
            int available = Math.Min(body, reply.Length - p - 24);
            byte[] bodyBytes = reply.AsSpan(p + 24, available).ToArray();
            string bodyText;
            string bodyLength = body.ToString();
            if (h[1] == 0x0b && status == 0)
            {
                bodyText = "<version>";
                bodyLength = "?";
            }
            else if (h[1] == 0x10 && keyLength > 0)
            {
                string name = Encoding.Latin1.GetString(bodyBytes, 0, Math.Min(keyLength, bodyBytes.Length));
                bodyText = s_exactStats.Contains(name) ? Escape(bodyBytes) : name + "=<value>";
                bodyLength = s_exactStats.Contains(name) ? bodyLength : "?";
            }
            else
            {
                bodyText = Escape(bodyBytes);
            }
            sb.Append($"[magic {h[0]:x2} op {h[1]:x2} key {keyLength} ext {extras} type {h[5]} status {status:x4} body {bodyLength} opaque {opaque:x8} cas {(cas == 0 ? "0" : "set")}] {bodyText}\n");
            p += 24 + available;
        }
        if (p < reply.Length)
        {
            sb.Append("<trailing> ").Append(Escape(reply.AsSpan(p).ToArray()));
        }
        return sb.ToString();
    }

    private static int IndexOfCrlf(byte[] data, int from)
    {
        for (int i = from; i + 1 < data.Length; i++)
        {
            if (data[i] == '\r' && data[i + 1] == '\n')
            {
                return i;
            }
        }
        return -1;
    }
}
