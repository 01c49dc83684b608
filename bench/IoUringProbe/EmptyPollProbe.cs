// The cost of a poll that finds nothing: recvmmsg on empty sockets against an io_uring loop over multishot receives that have nothing.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using NetStack.IOKernel.Nic;
using NetStack.IOKernel.Nic.IoUring;

namespace NetStack.IoUringProbe;

/// <summary>ns per empty poll, over <c>sockets</c> idle UDP sockets.</summary>
internal static unsafe class EmptyPollProbe
{
    private const int Batch = 64;

    /// <summary>One recvmmsg(MSG_DONTWAIT, 64 slots) per socket per poll, as UdpQueue.Receive makes it.</summary>
    public static double RecvMMsg(int sockets, int polls)
    {
        Socket[] socks = Enumerable.Range(0, sockets).Select(_ => Probe.BoundUdpSocket()).ToArray();
        MMsgHdr* msgs = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(MMsgHdr)));
        IoVec* iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(IoVec)));
        byte* buf = (byte*)NativeMemory.AllocZeroed((nuint)(Batch * 2048));
        SockAddrIn* addr = (SockAddrIn*)NativeMemory.AllocZeroed((nuint)(Batch * sizeof(SockAddrIn)));
        try
        {
            for (int i = 0; i < Batch; i++)
            {
                iov[i].Base = buf + i * 2048;
                iov[i].Length = 2048;
                msgs[i].Header.Name = &addr[i];
                msgs[i].Header.NameLength = (uint)sizeof(SockAddrIn);
                msgs[i].Header.Iov = &iov[i];
                msgs[i].Header.IovLength = 1;
            }
            int[] fds = socks.Select(Probe.Fd).ToArray();
            long got = 0;
            for (int i = 0; i < polls / 10; i++)
            {
                foreach (int fd in fds)
                {
                    got += Math.Max(0, NativeUdp.RecvMMsg(fd, msgs, Batch, NativeUdp.MsgDontWait, null));
                }
            }
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < polls; i++)
            {
                foreach (int fd in fds)
                {
                    got += Math.Max(0, NativeUdp.RecvMMsg(fd, msgs, Batch, NativeUdp.MsgDontWait, null));
                }
            }
            double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / polls;
            if (got != 0)
            {
                throw new InvalidOperationException($"an idle socket received {got} datagrams");
            }
            return ns;
        }
        finally
        {
            NativeMemory.Free(msgs);
            NativeMemory.Free(iov);
            NativeMemory.Free(buf);
            NativeMemory.Free(addr);
            foreach (Socket s in socks)
            {
                s.Dispose();
            }
        }
    }

    /// <summary>
    /// The whole idle loop of an io_uring backend with a multishot recvmsg armed on each socket:
    /// reap (finds nothing), publish buffers (nothing to publish), submit (nothing queued, no flag:
    /// no system call). Returns ns per loop and the io_uring_enter calls the loops made (expected 0).
    /// </summary>
    public static (double Ns, long Enters) Ring(int sockets, int polls, IoUringTaskRun mode)
    {
        Socket[] socks = Enumerable.Range(0, sockets).Select(_ => Probe.BoundUdpSocket()).ToArray();
        MsgHdr* msg = (MsgHdr*)NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
        msg->NameLength = (uint)sizeof(SockAddrIn);
        if (!IoUringRing.TryCreate(new IoUringOptions { TaskRun = mode }, out IoUringRing? ring, out string reason))
        {
            throw new InvalidOperationException(reason);
        }
        try
        {
            IoUringBufferRing buffers = ring.RegisterBufferRing(1, 256, 2048);
            for (int i = 0; i < sockets; i++)
            {
                IoUringPrep.RecvMsgMultishot(ref ring.GetSqe(), Probe.Fd(socks[i]), msg, buffers.Group, IoUringUserData.Pack(1, (uint)i));
            }
            ring.Submit();
            Span<IoUringCqe> batch = stackalloc IoUringCqe[Batch];
            long got = 0;
            for (int i = 0; i < polls / 10; i++)
            {
                got += ring.Reap(batch);
                buffers.Publish();
                ring.Submit();
            }
            long enters = ring.Counters.Enters;
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < polls; i++)
            {
                got += ring.Reap(batch);
                buffers.Publish();
                ring.Submit();
            }
            double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / polls;
            if (got != 0)
            {
                throw new InvalidOperationException($"idle sockets produced {got} completions");
            }
            return (ns, ring.Counters.Enters - enters);
        }
        finally
        {
            ring.Dispose();
            NativeMemory.Free(msg);
            foreach (Socket s in socks)
            {
                s.Dispose();
            }
        }
    }
}
