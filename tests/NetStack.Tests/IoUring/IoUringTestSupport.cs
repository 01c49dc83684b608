// Helpers for the io_uring tests: a ring or a failed test, a bounded poll loop, descriptor counts, payload patterns.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;
using Xunit;

namespace NetStack.Tests.IoUring;

internal static class IoUringTestSupport
{
    /// <summary>How long any io_uring test waits for completions before it fails (a busy 2-core machine can stall for seconds).</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>A ring with these options, or a failed test that says why the kernel refused.</summary>
    public static IoUringRing CreateRing(IoUringOptions? options = null)
    {
        bool created = IoUringRing.TryCreate(options ?? new IoUringOptions(), out IoUringRing? ring, out string reason);
        Assert.True(created, $"io_uring unavailable: {reason}");
        return ring!;
    }

    /// <summary>
    /// Polls <paramref name="ring"/> the way a NIC backend would, until <paramref name="done"/>: reap,
    /// handle each completion, <paramref name="beforeSubmit"/> (publish buffers, re-arm), submit.
    /// Yields now and then when idle, so a sender on the same core gets to run. Fails the test at
    /// the deadline.
    /// </summary>
    public static void PollUntil(IoUringRing ring, Func<bool> done, Action<IoUringCqe> handle, Action? beforeSubmit = null, string? what = null)
    {
        Span<IoUringCqe> batch = stackalloc IoUringCqe[64];
        var clock = Stopwatch.StartNew();
        int idle = 0;
        while (!done())
        {
            int n = ring.Reap(batch);
            for (int i = 0; i < n; i++)
            {
                handle(batch[i]);
            }
            beforeSubmit?.Invoke();
            ring.Submit();
            if (n == 0 && ++idle % 64 == 0)
            {
                if (clock.Elapsed > Deadline)
                {
                    Assert.Fail($"timed out after {Deadline.TotalSeconds} s waiting for {what ?? "completions"}");
                }
                Thread.Yield();
            }
        }
    }

    /// <summary>Descriptors open in this process.</summary>
    public static int OpenDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

    /// <summary>Descriptors open in this process that are io_uring instances (anon_inode:[io_uring]).</summary>
    public static int OpenIoUrings() =>
        Directory.GetFileSystemEntries("/proc/self/fd").Count(path =>
        {
            try
            {
                return new FileInfo(path).LinkTarget?.Contains("io_uring", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false; // closed between listing and reading
            }
        });

    /// <summary>A UDP socket bound to 127.0.0.1 on a port the kernel picks, with room for bursts.</summary>
    public static Socket BoundUdpSocket()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 4 << 20;
        socket.SendBufferSize = 4 << 20;
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    /// <summary>The socket's descriptor number (it stays owned by the Socket).</summary>
    public static int Fd(Socket socket) => (int)socket.SafeHandle.DangerousGetHandle();

    /// <summary>A port as sockaddr_in carries it (network byte order).</summary>
    public static ushort NetworkPort(Socket socket) =>
        (ushort)IPAddress.HostToNetworkOrder((short)((IPEndPoint)socket.LocalEndPoint!).Port);

    /// <summary>127.0.0.1 as sockaddr_in carries it (network byte order).</summary>
    public static readonly uint LoopbackNetworkOrder = BitConverter.ToUInt32(IPAddress.Loopback.GetAddressBytes());

    /// <summary>Datagram or stream byte <paramref name="i"/> of message <paramref name="seq"/>: every byte differs from its neighbours and from the other messages'.</summary>
    public static byte Pattern(int seq, int i) => (byte)(seq * 31 + i * 7 + (i >> 8));

    /// <summary>Fills <paramref name="into"/> with message <paramref name="seq"/>'s pattern.</summary>
    public static void FillPattern(Span<byte> into, int seq)
    {
        for (int i = 0; i < into.Length; i++)
        {
            into[i] = Pattern(seq, i);
        }
    }

    /// <summary>True when <paramref name="bytes"/> is message <paramref name="seq"/>'s pattern.</summary>
    public static bool MatchesPattern(ReadOnlySpan<byte> bytes, int seq)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != Pattern(seq, i))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A msghdr giving a multishot recvmsg room for an IPv4 peer address and no control data, in native memory.</summary>
    public static unsafe MsgHdr* AllocRecvMsgHdr()
    {
        var msg = (MsgHdr*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
        msg->NameLength = (uint)sizeof(SockAddrIn);
        return msg;
    }
}
