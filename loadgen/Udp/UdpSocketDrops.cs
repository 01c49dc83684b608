// How many datagrams the kernel dropped at one of our UDP sockets: its receive queue was full.
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace NetStack.LoadGen.Udp;

/// <summary>
/// Reads a socket's drop counter from /proc/net/udp (or udp6): the kernel's count of datagrams that
/// found the socket's receive queue full. For the generator's socket these are answers the server
/// sent and the generator lost, which must not count as the server's. Linux only; elsewhere, or if
/// the file cannot be read, the count is unknown (null).
/// </summary>
internal static class UdpSocketDrops
{
    /// <summary>The socket's drops so far, or null when they cannot be read.</summary>
    public static long? Read(Socket socket)
    {
        if (socket.LocalEndPoint is not IPEndPoint local || socket.RemoteEndPoint is not IPEndPoint remote)
        {
            return null;
        }
        string path = local.AddressFamily == AddressFamily.InterNetworkV6 ? "/proc/net/udp6" : "/proc/net/udp";
        try
        {
            return Find(File.ReadLines(path), local.Port, remote.Port);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The drops column of the line whose local and remote ports are these (the table's
    /// format: "sl local_address rem_address st ... drops", addresses as HEXADDR:HEXPORT).</summary>
    public static long? Find(IEnumerable<string> lines, int localPort, int remotePort)
    {
        string localSuffix = ":" + localPort.ToString("X4", CultureInfo.InvariantCulture);
        string remoteSuffix = ":" + remotePort.ToString("X4", CultureInfo.InvariantCulture);
        foreach (string line in lines)
        {
            string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 13 && f[1].EndsWith(localSuffix, StringComparison.Ordinal) && f[2].EndsWith(remoteSuffix, StringComparison.Ordinal)
                && long.TryParse(f[^1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long drops))
            {
                return drops;
            }
        }
        return null;
    }
}
